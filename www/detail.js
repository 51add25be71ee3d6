// The detail meter: how much detail each generated image holds, measured as the paper does (the
// bits per pixel of the image as an 8-bit PNG), beside its log p. Under each lane: one line with
// the lane's means, and a list of its samples; pointing at a sample on the canvas, or focusing
// its entry in the list, outlines it and names its numbers, so the claim "lower log p, more
// detail" can be checked sample by sample.
import { gridPlacement } from "./draw.js";
import { imageShapeOf } from "./models.js";
import { encodePng, pixelsOfSample } from "./png.js";

/** Per sample of a lane's final state, its PNG bytes and bits per pixel; null for the 2-D lab,
 * whose samples are points. */
export async function measureDetail(state) {
  const shape = imageShapeOf(state.dim);
  if (!shape) {
    return null;
  }
  const { channels, side } = shape;
  const count = state.x.length / state.dim;
  const pngs = [];
  const bpp = [];
  for (let sample = 0; sample < count; sample++) {
    const values = state.x.subarray(sample * state.dim, (sample + 1) * state.dim);
    const png = await encodePng(pixelsOfSample(values, channels), side, side, channels);
    pngs.push(png);
    bpp.push((8 * png.length) / (side * side));
  }
  return { pngs, bpp };
}

export function meanOf(values) {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** A number for the eye: log p to one decimal (it spans thousands of nats on images). */
export function logpText(value) {
  return value.toFixed(1);
}

/** The figure's part that holds the meter: made once per lane, kept across calls. */
function meterBox(figure) {
  let box = figure.querySelector(".dg-meterbox");
  if (!box) {
    box = document.createElement("div");
    box.className = "dg-meterbox";
    figure.append(box);
  }
  return box;
}

/** The sample under the pointer on a grid of `count` images of `side` pixels, or -1. */
function sampleAt(canvas, event, count, side) {
  const columns = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const { scale, left, top } = gridPlacement(columns, rows, side, canvas.width, canvas.height);
  const bounds = canvas.getBoundingClientRect();
  const x = ((event.clientX - bounds.left) * canvas.width) / bounds.width;
  const y = ((event.clientY - bounds.top) * canvas.height) / bounds.height;
  const column = Math.floor((x - left) / (side * scale));
  const row = Math.floor((y - top) / (side * scale));
  if (column < 0 || column >= columns || row < 0 || row >= rows) {
    return -1;
  }
  const sample = row * columns + column;
  return sample < count ? sample : -1;
}

/** Where sample `sample` lies on its canvas, in percent of the canvas (for the outline). */
function sampleBox(canvas, sample, count, side) {
  const columns = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const { scale, left, top } = gridPlacement(columns, rows, side, canvas.width, canvas.height);
  const size = side * scale;
  const x = left + (sample % columns) * size;
  const y = top + Math.floor(sample / columns) * size;
  return {
    left: `${(100 * x) / canvas.width}%`,
    top: `${(100 * y) / canvas.height}%`,
    width: `${(100 * size) / canvas.width}%`,
    height: `${(100 * size) / canvas.height}%`,
  };
}

/** At most this many samples are listed (a 2-D lab batch holds hundreds of points). */
const MOST_LISTED = 16;

/** Shows a lane's meter: `summary` (one line) and one entry per sample (`rows`, texts in the
 * batch's order; `dim` the sample's dimension), the list folded unless `open`. On image lanes, pointing at a sample or focusing its entry outlines it and
 * repeats its entry in the readout line. */
export function showSamples(figure, { summary, rows, label, dim, open = false }) {
  const box = meterBox(figure);
  const canvas = figure.querySelector(".dg-canvas");
  const stack = figure.querySelector(".dg-stack");
  const shape = imageShapeOf(dim);
  const count = rows.length;
  const line = document.createElement("p");
  line.className = "dg-meter";
  line.textContent = summary;
  const readout = document.createElement("p");
  readout.className = "dg-readout";
  readout.setAttribute("aria-hidden", "true");
  const list = document.createElement("ol");
  list.className = "dg-samples";
  list.setAttribute("aria-label", `${label}: each sample`);
  const items = rows.slice(0, MOST_LISTED).map((text, sample) => {
    const item = document.createElement("li");
    item.textContent = text;
    item.tabIndex = 0;
    item.dataset.sample = String(sample);
    list.append(item);
    return item;
  });
  const fold = document.createElement("details");
  fold.className = "dg-fold";
  fold.open = open;
  const title = document.createElement("summary");
  title.textContent = count > MOST_LISTED ? `the first ${MOST_LISTED} of ${count} samples` : "each sample";
  fold.append(title, list);
  box.replaceChildren(line, readout, fold);
  let outline = stack.querySelector(".dg-mark");
  if (!outline) {
    outline = document.createElement("div");
    outline.className = "dg-mark";
    outline.hidden = true;
    stack.append(outline);
  }
  outline.hidden = true;
  const mark = (sample) => {
    for (const item of items) {
      item.classList.toggle("dg-current", Number(item.dataset.sample) === sample);
    }
    if (sample < 0 || !shape) {
      outline.hidden = true;
      readout.textContent = "";
      return;
    }
    Object.assign(outline.style, sampleBox(canvas, sample, count, shape.side));
    outline.hidden = false;
    readout.textContent = `sample ${sample + 1}: ${rows[sample]}`;
  };
  for (const item of items) {
    item.addEventListener("focus", () => mark(Number(item.dataset.sample)));
    item.addEventListener("blur", () => mark(-1));
  }
  if (shape) {
    stack.onpointermove = (event) => mark(sampleAt(canvas, event, count, shape.side));
    stack.onpointerleave = () => mark(-1);
  }
}

/** The meter of one image lane after a run: per sample log p and bits per pixel. */
export function detailRows(logp, bpp) {
  return Array.from(logp, (value, sample) => `log p ${logpText(value)} · ${bpp[sample].toFixed(2)} bits per pixel`);
}

/** The lane's one-line summary: mean bits per pixel, and mean log p unless the lane's caption
 * shows it already (`captioned`). */
export function detailSummary(logp, bpp, captioned = false) {
  const bits = `mean ${meanOf(bpp).toFixed(2)} bits per pixel (PNG)`;
  return captioned ? bits : `mean log p ${logpText(meanOf(logp))} · ${bits}`;
}
