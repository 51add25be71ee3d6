// The page's evidence (issue 19), checked where it can be against numbers computed here, not by
// the page: the detail meter (each sample's PNG decoded here must hold that sample's 8-bit
// pixels, and its bits per pixel is 8 × its bytes / pixels), the visit's scatter (Pearson r
// recomputed from its points), Score Alignment on the analytic mixture (against a finite
// difference of its closed-form log p through an RK4 solve of the probability-flow ODE written
// here), SDG's three lanes and PG beside DG at PG's log p. Each view is reached from the URL
// and by keyboard, fits 375 px without sideways scrolling, and axe-core finds no violation.
//   node tests/e2e/views.mjs      (after ./build.sh web; E2E_PORT to change the port)

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { launch, root, serve } from "./browser.mjs";
import { seriousViolations } from "./first-visit.mjs";

const port = process.env.E2E_PORT ?? "8766";
const server = await serve(port);
// the file server goes with this process, however it ends
process.on("exit", () => server.kill());
const url = (query) => `http://127.0.0.1:${port}/index.html?${query}`;

/** A printed number's text as the page writes it ("−0.97") back to a number. */
function numberOfText(text) {
  return Number(text.replace("−", "-"));
}

/** Pearson's r, written again here so that the page's (www/scatter.js) is checked against a
 * second implementation rather than itself. */
function pearson(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((sum, x) => sum + x, 0) / n;
  const my = ys.reduce((sum, y) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** A PNG's size and its pixels (interleaved, 8-bit grey or RGB), decoded here with node's zlib
 * and the five PNG row filters. */
function decodePng(bytes) {
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, "not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let header = null;
  const data = [];
  while (offset < bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      header = { width: view.getUint32(offset + 8), height: view.getUint32(offset + 12), colour: body[9] };
      assert.equal(body[8], 8, "8 bits per channel");
    } else if (type === "IDAT") {
      data.push(body);
    }
    offset += 12 + length;
  }
  const channels = header.colour === 2 ? 3 : 1;
  const raw = inflateSync(Buffer.concat(data));
  const stride = header.width * channels;
  const pixels = new Uint8Array(stride * header.height);
  for (let row = 0; row < header.height; row++) {
    const filter = raw[row * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const at = row * stride + i;
      const left = i >= channels ? pixels[at - channels] : 0;
      const up = row > 0 ? pixels[at - stride] : 0;
      const upLeft = row > 0 && i >= channels ? pixels[at - stride - channels] : 0;
      const estimate = left + up - upLeft;
      const paeth =
        Math.abs(estimate - left) <= Math.abs(estimate - up) && Math.abs(estimate - left) <= Math.abs(estimate - upLeft)
          ? left
          : Math.abs(estimate - up) <= Math.abs(estimate - upLeft)
            ? up
            : upLeft;
      const prediction = [0, left, up, (left + up) >> 1, paeth][filter];
      pixels[at] = (raw[row * (stride + 1) + 1 + i] + prediction) & 0xff;
    }
  }
  return { ...header, channels, pixels };
}

/** The analytic mixture the page's gmm-exact samples (models/lab-gmm.json). */
const mixture = JSON.parse(readFileSync(join(root, "models/lab-gmm.json"), "utf8"));
const alphaOf = (lambda) => 1 / (1 + Math.exp(-lambda / 2));
const sigmaOf = (lambda) => 1 / (1 + Math.exp(lambda / 2));

/** log p_λ(x) of the mixture's marginal on the linear path and its score, in f64. */
function mixtureAt(x, lambda) {
  const alpha = alphaOf(lambda);
  const sigma = sigmaOf(lambda);
  const total = mixture.weights.reduce((sum, weight) => sum + weight, 0);
  const terms = mixture.weights.map((weight, k) => {
    const variance = alpha ** 2 * mixture.stds[k] ** 2 + sigma ** 2;
    const d = x.map((value, j) => value - alpha * mixture.means[k][j]);
    const squared = d.reduce((sum, value) => sum + value * value, 0);
    return { d, variance, log: Math.log(weight / total) - Math.log(2 * Math.PI * variance) - squared / (2 * variance) };
  });
  const top = Math.max(...terms.map((term) => term.log));
  const sum = terms.reduce((acc, term) => acc + Math.exp(term.log - top), 0);
  const score = [0, 1].map((j) =>
    terms.reduce((acc, term) => acc - (Math.exp(term.log - top) / sum) * (term.d[j] / term.variance), 0),
  );
  return { logp: top + Math.log(sum), score };
}

/** The probability-flow ODE dx/dλ = ½σ·x + ½σ²·s(x, λ) (linear path) by RK4, λ from -10 to 10. */
function flow(x0, steps = 4000) {
  const drift = (x, lambda) => {
    const sigma = sigmaOf(lambda);
    const { score } = mixtureAt(x, lambda);
    return x.map((value, j) => 0.5 * sigma * value + 0.5 * sigma * sigma * score[j]);
  };
  const h = 20 / steps;
  let x = x0;
  for (let step = 0; step < steps; step++) {
    const lambda = -10 + step * h;
    const k1 = drift(x, lambda);
    const k2 = drift(
      x.map((value, j) => value + 0.5 * h * k1[j]),
      lambda + 0.5 * h,
    );
    const k3 = drift(
      x.map((value, j) => value + 0.5 * h * k2[j]),
      lambda + 0.5 * h,
    );
    const k4 = drift(
      x.map((value, j) => value + h * k3[j]),
      lambda + h,
    );
    x = x.map((value, j) => value + (h / 6) * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]));
  }
  return x;
}

/** SA of a latent, independently: d/dε log p_λmax(Φ(x₀ + ε·u₀)) at 0, u₀ = -x₀/σ(λ_min)² the
 * prior's score, by a central difference through the ODE solved here. */
function independentAlignment(latent) {
  const sigma0 = sigmaOf(-10);
  const u0 = latent.map((value) => -value / sigma0 ** 2);
  const norm = Math.hypot(...u0);
  const h = 1e-4 / norm;
  const end = (sign) => mixtureAt(flow(latent.map((value, j) => value + sign * h * u0[j])), 10).logp;
  return (end(1) - end(-1)) / (2 * h);
}

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
const page = await context.newPage();
page.on("pageerror", (error) => console.error("page error:", error.message));

async function settle() {
  await page.waitForFunction(() => window.dgLastRun !== undefined, null, { timeout: 600_000 });
  return page.evaluate(() => ({
    record: window.dgLastRun,
    error: document.querySelector(".dg-error")?.textContent ?? "",
  }));
}

async function runAt(query) {
  await page.goto(url(`${query}&run=1&trace=1`));
  const result = await settle();
  assert.equal(result.error, "", `${query}: ${result.error}`);
  return result.record;
}

/** No sideways scrolling at 375 px, and axe-core's serious and critical violations (none). */
async function checkNarrowAndAccessible(name) {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `axe-core on ${name}`);
  await page.setViewportSize({ width: 375, height: 800 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.setViewportSize({ width: 1200, height: 900 });
  console.log(`${name}: axe-core 0 serious or critical violations; ${width} px wide at 375 px`);
  assert.ok(width <= 375, `${name}: sideways scrolling at 375 px (${width} px)`);
}

// 1. A bad view is refused with a message naming the setting.
await page.goto(url("view=bogus&run=1"));
assert.equal((await settle()).record, null);
const refusal = await page.locator(".dg-error").textContent();
assert.equal(refusal, "invalid view: 'bogus' is not samples, align, sdg or pg-dg");
console.log(`view=bogus: ${refusal}`);

// 2. The detail meter and the scatter: Fashion-MNIST at q = 0.2 and 0.8, then q moved.
{
  const record = await runAt("model=fashion&batch=4&steps=16&compare=0.2,0.8&backend=cpu");
  assert.equal(record.view.name, "samples");
  const side = 28;
  record.detail.lanes.forEach((lane, index) => {
    lane.png_base64.forEach((encoded, sample) => {
      const png = Buffer.from(encoded, "base64");
      // bits per pixel: 8 × the PNG's bytes over the image's pixels (exact)
      const bpp = (8 * png.length) / (side * side);
      assert.ok(
        Math.abs(bpp - lane.bpp[sample]) < 1e-9,
        `lane ${index} sample ${sample}: ${bpp} vs ${lane.bpp[sample]}`,
      );
      const image = decodePng(new Uint8Array(png));
      assert.deepEqual([image.width, image.height, image.channels], [side, side, 1]);
      if (index === 0) {
        // the lead lane's samples are in the record (trace): the PNG holds their 8-bit levels
        const values = record.samples.slice(sample * side * side, (sample + 1) * side * side);
        let worst = 0;
        values.forEach((value, pixel) => {
          const level = Math.max(0, Math.min(255, Math.round((value + 1) * 127.5)));
          worst = Math.max(worst, Math.abs(level - image.pixels[pixel]));
        });
        assert.equal(worst, 0, `lane 0 sample ${sample}: the PNG's pixels differ from the sample by ${worst} levels`);
      }
    });
  });
  const means = record.detail.lanes.map((lane) => lane.bpp_mean);
  console.log(
    `detail meter: PNGs decoded here hold the samples; mean bits per pixel ${means.map((m) => m.toFixed(2))}`,
  );
  // the paper's finding, in the lanes: q = 0.2 (lower log p) has more bits per pixel than 0.8
  assert.ok(means[0] > means[1], `q = 0.2 should hold more detail than 0.8: ${means}`);
  const meterText = await page.locator(".dg-meter").first().textContent();
  assert.ok(meterText.includes(`${means[0].toFixed(2)} bits per pixel`), meterText);

  // the sample under focus: keyboard to the first sample's entry, which outlines it
  await page.locator(".dg-fold summary").first().focus();
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => ({
    text: document.activeElement?.textContent,
    outlined: !document.querySelector(".dg-mark")?.hidden,
    readout: document.querySelector(".dg-readout")?.textContent,
  }));
  assert.ok(focused.outlined && focused.readout.startsWith("sample 1: log p"), JSON.stringify(focused));
  console.log(`keyboard: the first sample's entry focused, the sample outlined ("${focused.readout}")`);

  // a second run adds its samples to the visit's scatter; r recomputed here from the points
  const rerun = await page.evaluate(() => window.dgDemo.run({ q: 0.5, compare: "" }));
  const scatter = rerun.detail.scatter;
  assert.equal(scatter.runs, 2);
  assert.equal(scatter.points.length, 12);
  const r = pearson(
    scatter.points.map((point) => point[0]),
    scatter.points.map((point) => point[1]),
  );
  const caption = await page.locator(".dg-scatterbox figcaption").textContent();
  const printed = numberOfText(caption.match(/Pearson r = (\S+)\./)[1]);
  console.log(`scatter: ${scatter.points.length} points, r = ${r.toFixed(4)} here, ${printed} printed`);
  assert.ok(Math.abs(printed - r) <= 0.005, `the printed r ${printed} is not r = ${r} of the points`);
  // the finding itself (docs/eval: -0.71 over 2,000 samples; measured about -0.95 here)
  assert.ok(r < -0.5, `log p and bits per pixel should correlate negatively: r = ${r}`);
  await checkNarrowAndAccessible("detail meter");
}

// 3. Score Alignment on the analytic mixture, against the finite difference computed here, on
// the CPU backend and on WebGPU (SwiftShader here).
for (const backend of ["cpu", "webgpu"]) {
  const record = await runAt(`view=align&model=gmm-exact&method=plain&batch=6&steps=200&solver=rk4&backend=${backend}`);
  assert.equal(record.backend, backend, record.backend_reason);
  const { latent, with_score: withScore, without_score: withoutScore } = record.alignment;
  let worst = 0;
  for (let sample = 0; sample < withScore.length; sample++) {
    const expected = independentAlignment(latent.slice(2 * sample, 2 * sample + 2));
    const error = Math.abs(withScore[sample] - expected) / (Math.abs(expected) + 0.01);
    worst = Math.max(worst, error);
    // the exact model: both ways agree
    assert.ok(Math.abs(withScore[sample] - withoutScore[sample]) <= 1e-3 * (Math.abs(withScore[sample]) + 1));
  }
  console.log(
    `align (gmm-exact, ${backend}): s(x)ᵀu of ${withScore.length} latents within ${worst.toExponential(2)} (relative, +0.01) of a finite difference through the ODE solved here; ${record.alignment.ms.toFixed(0)} ms`,
  );
  assert.ok(worst <= 0.01, `SA against the independent finite difference: worst relative error ${worst}`);
  const entries = await page.locator(".dg-samples li").allTextContents();
  assert.equal(entries.length, withScore.length);
  entries.forEach((entry, sample) => {
    assert.ok(entry.includes(withScore[sample] > 0 ? "SA holds" : "SA fails"), entry);
  });
  await checkNarrowAndAccessible(`align (gmm-exact, ${backend})`);
}

// 4. Score Alignment of Fashion-MNIST latents, reached by keyboard from the form; its cost.
{
  await page.goto(url("model=fashion&batch=4&steps=16&backend=cpu"));
  await page.waitForFunction(() => window.dgDemo !== undefined); // mounted: the form is filled
  await page.locator('select[name="view"]').focus();
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.locator('select[name="view"]').inputValue(), "align");
  await page.locator('button[type="submit"]').focus();
  await page.keyboard.press("Enter");
  const { record, error } = await settle();
  assert.equal(error, "");
  const alignment = record.alignment;
  assert.ok(alignment, `no SA in the record: ${JSON.stringify({ view: record.view, settings: record.settings })}`);
  assert.equal(alignment.with_score.length, 4);
  assert.ok([...alignment.with_score, ...alignment.without_score].every(Number.isFinite));
  const holds = alignment.with_score.filter((value) => value > 0).length;
  console.log(
    `align (fashion, by keyboard): SA holds for ${holds} of 4 with the end score; ${alignment.steps} Euler steps took ${alignment.ms.toFixed(0)} ms (a run of 16 steps: ${record.timings.steps.reduce((sum, step) => sum + step.step_ms, 0).toFixed(0)} ms)`,
  );
  assert.ok(new URL(page.url()).searchParams.get("view") === "align", "the URL holds the view");
  await checkNarrowAndAccessible("align (fashion)");
}

// 5. SDG: one set of latents with no, early and late noise at one q.
{
  const record = await runAt("view=sdg&model=fashion&batch=4&steps=16&q=0.5&backend=cpu");
  assert.deepEqual(
    record.lanes.map((lane) => lane.label),
    ["no noise", "early noise", "late noise"],
  );
  // without noise SDG is DG at q with Euler: the same latents give the same log p
  const dg = await page.evaluate(() =>
    window.dgDemo.run({ view: "samples", method: "dg", solver: "euler", q: 0.5, compare: "" }),
  );
  const gap = Math.max(...dg.logp_final.map((value, sample) => Math.abs(value - record.lanes[0].logp_final[sample])));
  console.log(`sdg: the no-noise lane's log p within ${gap.toExponential(2)} of DG's (Euler, same latents)`);
  assert.ok(gap <= 1e-3 * Math.max(...dg.logp_final.map(Math.abs)), `no-noise SDG is not DG: ${gap}`);
  const spread = record.lanes
    .map((lane) => lane.logp_final.join(","))
    .filter((text, i, all) => all.indexOf(text) === i);
  assert.equal(spread.length, 3, "the noise windows changed nothing");
  await page.goto(url("view=sdg&model=fashion&batch=4&steps=16&q=0.5&backend=cpu&run=1"));
  await settle();
  await checkNarrowAndAccessible("sdg");
}

// 6. PG beside DG to PG's mean final log p.
{
  const record = await runAt("view=pg-dg&model=fashion&batch=4&steps=32&q=0.8&backend=cpu");
  const pg = record.lanes[0].logp_final;
  const dg = record.lanes[1].logp_final;
  const pgMean = pg.reduce((sum, value) => sum + value, 0) / pg.length;
  const dgMean = dg.reduce((sum, value) => sum + value, 0) / dg.length;
  // the target is PG's mean, measured before the drawn run (which repeats PG exactly)
  assert.ok(Math.abs(record.view.target - pgMean) <= 1e-3 * Math.abs(pgMean), `${record.view.target} vs ${pgMean}`);
  const relative = Math.abs(dgMean - pgMean) / Math.abs(pgMean);
  console.log(
    `pg-dg: PG's mean final log p ${pgMean.toFixed(1)}, DG's ${dgMean.toFixed(1)} (${(100 * relative).toFixed(2)} % apart); bits per pixel ${record.detail.lanes.map((lane) => lane.bpp_mean.toFixed(2))}`,
  );
  // SPEC 5.1: where a safeguard acts, control is not exact, and the page must say so. On the
  // shipped Fashion-MNIST model the cap on the push acts at mid noise (λ ≈ -5.6 to -1.9: the
  // constant target rate fights the plain path's own rise there; docs/findings.md), so DG
  // ends short of the target; unguarded, it must land on it
  const guarded = record.lanes[1].guard_steps;
  const shown = await page.locator(".dg-status").textContent();
  console.log(`pg-dg: DG's lane guarded on ${guarded} steps; status "${shown}"`);
  assert.ok(
    shown.includes(`guards ${record.lanes[0].guard_steps} / ${guarded}`),
    `per-lane guards not shown: ${shown}`,
  );
  if (guarded === 0) {
    assert.ok(relative <= 0.03, `DG should reach PG's log p within 3 %: ${dgMean} vs ${pgMean}`);
  }
  await checkNarrowAndAccessible("pg-dg");
}

await browser.close();
server.kill();
console.log("views: all checks passed");
