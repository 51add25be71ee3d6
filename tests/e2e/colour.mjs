// End-to-end: the colour emoji model in the page. A run of ?model=emoji on the CPU backend
// draws every step, and its last frame is checked against the sampler's final rows decoded
// here, independently of www/draw.js: each row is 3 × 32 × 32 values, channel-major, in
// [-1, 1]; each image pixel must be one crisp square of canvas pixels (a whole-number scale,
// the grid centred) in that pixel's RGB, and the picture must be in colour (R, G, B differ).

import assert from "node:assert/strict";
import { join } from "node:path";

const SIDE = 32;
const PLANE = SIDE * SIDE;
const DIM = 3 * PLANE;
const BATCH = 4;
const STEPS = 6;
/** One 8-bit level of rounding between the page's Uint8ClampedArray and this decoding. */
const LEVEL_TOLERANCE = 1;
/** A pixel is coloured when its channels spread over more than this many levels. */
const COLOURED_SPREAD = 16;
/** At least this share of the images' pixels must be coloured. */
const MIN_COLOURED_SHARE = 0.01;

function levelOf(value) {
  return Math.min(255, Math.max(0, Math.round((value + 1) * 127.5)));
}

/** Image `k`'s pixel (x, y) as RGB levels, read from the channel-major rows. */
function rgbOf(samples, k, x, y) {
  const start = k * DIM + y * SIDE + x;
  return [0, 1, 2].map((channel) => levelOf(samples[start + channel * PLANE]));
}

/** The lane's canvas as { width, height, data } (RGBA bytes). */
function lanePixels(page) {
  return page.evaluate(() => {
    const canvas = document.querySelector(".dg-canvas");
    const image = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    return { width: image.width, height: image.height, data: Array.from(image.data) };
  });
}

/** Compares every canvas pixel of every image pixel's square with its RGB from the rows;
 * returns the largest difference and how many image pixels are coloured. */
function compareGrid(pixels, samples) {
  const columns = Math.ceil(Math.sqrt(BATCH));
  const rows = Math.ceil(BATCH / columns);
  const scale = Math.floor(Math.min(pixels.width / (columns * SIDE), pixels.height / (rows * SIDE)));
  const left = Math.floor((pixels.width - columns * SIDE * scale) / 2);
  const top = Math.floor((pixels.height - rows * SIDE * scale) / 2);
  let maxDifference = 0;
  let coloured = 0;
  for (let k = 0; k < BATCH; k++) {
    const imageLeft = left + (k % columns) * SIDE * scale;
    const imageTop = top + Math.floor(k / columns) * SIDE * scale;
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const want = rgbOf(samples, k, x, y);
        if (Math.max(...want) - Math.min(...want) > COLOURED_SPREAD) {
          coloured += 1;
        }
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const offset = 4 * ((imageTop + y * scale + dy) * pixels.width + imageLeft + x * scale + dx);
            for (let channel = 0; channel < 3; channel++) {
              maxDifference = Math.max(maxDifference, Math.abs(pixels.data[offset + channel] - want[channel]));
            }
          }
        }
      }
    }
  }
  return { scale, maxDifference, coloured };
}

/** Runs the emoji model in `page` (runAt: a query run with trace on, settled) and checks it. */
export async function emojiInColour(page, runAt, artifacts) {
  const query = `model=emoji&method=dg&q=0.5&steps=${STEPS}&batch=${BATCH}&backend=cpu&class=2&seed=1`;
  const { record, error } = await runAt(query);
  assert.equal(error, "", error);
  assert.equal(record.steps_drawn, STEPS);
  assert.equal(record.samples.length, BATCH * DIM, "an emoji sample is 3 × 32 × 32 values");
  const sums = record.canvas_checksums;
  for (let i = 1; i < sums.length; i++) {
    assert.notEqual(sums[i], sums[i - 1], `emoji: canvas unchanged at step ${i + 1}`);
  }
  const pixels = await lanePixels(page);
  const { scale, maxDifference, coloured } = compareGrid(pixels, record.samples);
  const share = coloured / (BATCH * PLANE);
  console.log(
    `emoji (Animals & Nature, q=0.5, ${STEPS} steps): each image pixel a ${scale}×${scale} square; ` +
      `max |canvas - rows decoded here| ${maxDifference} levels; ${(100 * share).toFixed(1)}% of pixels coloured`,
  );
  assert.ok(scale >= 4, `emoji drawn too small: ${scale} canvas pixels per image pixel`);
  assert.ok(maxDifference <= LEVEL_TOLERANCE, `emoji: the canvas differs from the rows by ${maxDifference} levels`);
  assert.ok(share >= MIN_COLOURED_SHARE, `emoji: only ${(100 * share).toFixed(2)}% of pixels have R, G, B apart`);
  await page.locator("#demo").screenshot({ path: join(artifacts, "emoji.png") });
  // class=none: the unconditional model through the null label, from the same noise
  const unconditional = await runAt(query.replace("class=2", "class=none"));
  assert.equal(unconditional.error, "", unconditional.error);
  assert.equal(unconditional.record.steps_drawn, STEPS);
  const moved = unconditional.record.samples.filter((value, i) => Math.abs(value - record.samples[i]) > 0.01);
  console.log(`emoji class=none: ${moved.length} of ${record.samples.length} values differ from class 2's`);
  assert.ok(moved.length > record.samples.length / 10, "class=none drew what class 2 draws: the null label was lost");
}
