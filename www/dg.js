// The embedding module. `mount(element, options)` puts the density-guidance demo (controls,
// canvas, log p plot; or only the canvas with `ui: 'canvas'`) into any element and resolves to
// a controller { run(overrides), stop(), dispose() }. `<density-guidance>` wraps it.
import init, { Run, chiQuantile, memoryUsage } from './pkg/dg.js';

const base = new URL('..', import.meta.url);
const LAB = ['moons', '8gaussians', 'checkerboard', 'gmm', 'gmm-exact'];
const MODELS = [...LAB, 'fashion'];
const CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'];
/** SDG noise windows on λ (SPEC 6): the authors' early (structure) and late (detail) ones. */
const NOISE = { early: { level: 0.2, from: -10, to: -4 }, late: { level: 0.3, from: -3, to: 9 } };
export const DEFAULTS = { model: 'moons', method: 'dg', q: 0.4, target: -2.5, noise: 'late', strength: '', noiseFrom: -3,
  noiseTo: 9, steps: 64, solver: 'euler', seed: 0, batch: 512, backend: 'auto', class: 'any', cfg: 1, logp: 'hutchinson',
  lambdaMin: -10, lambdaMax: 10, compare: '', weights: '', draw: 'auto', ui: 'full', trace: false };
const COLOURS = ['#c0392b', '#2471a3', '#1e8449', '#7d3c98', '#b9770e', '#566573'];

let ready = null;
const wasm = () => (ready ??= init());
/** WebGPU that failed once (device lost, a kernel error) is not tried again in this page. */
let webgpuBroken = null;
/** Why the WebGPU device that burn-wgpu asked for was lost, once it is: burn's own error for
 * the step that failed says only that a buffer could not be mapped. */
let deviceLost = null;
let lostPromise = null;
if (globalThis.GPUAdapter && !GPUAdapter.prototype.requestDevice.dgWatched) {
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function requestDevice(...args) {
    const device = await request.apply(this, args);
    lostPromise = device.lost.then((info) => { deviceLost = `the WebGPU device was lost (${info.reason}${info.message ? ': ' + info.message : ''})`; });
    return device;
  };
  GPUAdapter.prototype.requestDevice.dgWatched = true;
}
const warmed = new Set();

function fail(name, why) { throw new Error(`invalid ${name}: ${why}`); }
const usesQ = (m) => ['prior', 'dg', 'sdg'].includes(m);

/** The shipped weights the page loads: Fashion-MNIST's in half precision (`dg half`: 233 KB
 * instead of 460 KB, samples within one 8-bit grey level of the f32 file's). */
export const weightsFile = (model) => `models/${model === 'fashion' ? 'fashion-f16' : model}.safetensors`;

/** Checks the options and turns them into the sampler's settings; `q` overrides `o.q`. */
export function settingsOf(o, q = o.q) {
  const num = (k, v = o[k]) => { const x = Number(v); if (v === '' || v === null || !Number.isFinite(x)) fail(k, `must be a finite number, got ${v}`); return x; };
  const int = (k, min) => { const v = num(k); if (!Number.isInteger(v) || v < min) fail(k, `must be an integer >= ${min}, got ${o[k]}`); return v; };
  const qv = num('q', q);
  if (usesQ(o.method) && !(qv > 0 && qv < 1)) fail('q', `must lie strictly between 0 and 1, got ${q}`);
  const noise = () => {
    const preset = o.noise === 'custom' ? { level: 0.3, from: num('noiseFrom'), to: num('noiseTo') } : NOISE[o.noise]
      ?? fail('noise', `'${o.noise}' is not early, late or custom`);
    const level = o.strength === '' || o.strength === undefined ? preset.level : num('strength');
    if (level < 0) fail('strength', `must be >= 0, got ${level}`);
    if (!(preset.from < preset.to)) fail('noise', `the window needs from < to, got ${preset.from}..${preset.to}`);
    return { ...preset, level };
  };
  const method = { plain: () => ({ method: 'plain' }), prior: () => ({ method: 'prior', q: qv }), dg: () => ({ method: 'dg', q: qv }),
    'dg-exact': () => ({ method: 'dg-exact', target_logp: num('target') }),
    sdg: () => ({ method: 'sdg', q: qv, noise: noise(), exact: true }) }[o.method]
    ?? fail('method', `'${o.method}' is not plain, prior, dg, dg-exact or sdg`);
  if (!['euler', 'heun', 'rk4'].includes(o.solver)) fail('solver', `'${o.solver}' is not euler, heun or rk4`);
  const divergence = { exact: { kind: 'exact' }, hutchinson: { kind: 'hutchinson', probes: 1 }, off: { kind: 'off' } }[o.logp]
    ?? fail('logp', `'${o.logp}' is not exact, hutchinson or off`);
  if (o.method === 'dg-exact' && o.logp === 'off') fail('logp', 'density guidance to a target needs a divergence (exact or hutchinson)');
  if (!['auto', 'webgpu', 'cpu'].includes(o.backend)) fail('backend', `'${o.backend}' is not auto, webgpu or cpu`);
  if (!['auto', 'gpu', 'readback'].includes(o.draw)) fail('draw', `'${o.draw}' is not auto, gpu or readback`);
  return { method: method(), solver: o.method === 'sdg' ? 'euler' : o.solver, steps: int('steps', 1), batch: int('batch', 1),
    seed: int('seed', 0), window: { lambda_min: num('lambdaMin'), lambda_max: num('lambdaMax') }, divergence,
    guards: { norm_floor: 1e-3, eta_cap: 10 } };
}

/** The q values of a side-by-side run: `compare` ("0.2,0.5,0.8") or the one q. */
function lanesOf(o) {
  if (o.compare === '' || o.compare === undefined || o.compare === null) return [Number(o.q)];
  if (!usesQ(o.method)) fail('compare', `side by side varies q, which ${o.method} does not use`);
  const qs = String(o.compare).split(',').map((s) => s.trim());
  if (qs.length < 2 || qs.length > 6) fail('compare', `give 2 to 6 q values, got '${o.compare}'`);
  return qs.map((q) => { settingsOf(o, q); return Number(q); });
}

/** Which backend to use, and why: burn panics without an adapter, so probe first. */
export async function chooseBackend(wanted) {
  if (wanted === 'cpu') return { backend: 'cpu', reason: 'asked for the CPU backend' };
  const cpu = (why) => ({ backend: 'cpu', reason: wanted === 'webgpu' ? `WebGPU was asked for, but ${why}; running on the CPU backend` : why });
  if (webgpuBroken) return cpu(webgpuBroken);
  if (!globalThis.navigator?.gpu) return cpu('this browser has no navigator.gpu');
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return cpu('navigator.gpu offers no adapter');
  if (adapter.limits.maxStorageBuffersPerShaderStage < 8) return cpu(`the adapter allows only ${adapter.limits.maxStorageBuffersPerShaderStage} storage buffers per shader stage`);
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
  return { backend: 'webgpu', reason: `WebGPU adapter${name ? ': ' + name : ''}${info.isFallbackAdapter ? ' (software fallback)' : ''}` };
}

/** Fetches with progress, so a slow network shows how far the weights have come. */
async function fetchBytes(url, what, progress) {
  const res = await fetch(url).catch((e) => fail(what, `${url} could not be fetched (${e.message})`));
  if (!res.ok) fail(what, `${url} could not be loaded (HTTP ${res.status})`);
  const total = Number(res.headers.get('content-length')) || 0;
  const reader = res.body.getReader(), parts = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value); got += value.length;
    progress(`loading ${what} ${total ? Math.round(100 * got / total) + '%' : (got / 1024).toFixed(0) + ' KB'}`);
  }
  const out = new Uint8Array(got);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

const modelCache = new Map();
async function modelOf(o, progress) {
  if (!MODELS.includes(o.model)) fail('model', `'${o.model}' is not one of ${MODELS.join(', ')}`);
  const cls = o.class === 'any' || o.class === '' || o.class === undefined ? undefined : Number(o.class);
  if (cls !== undefined && !(Number.isInteger(cls) && cls >= 0 && cls < 10)) fail('class', `'${o.class}' is not any or 0..9`);
  if (o.model !== 'fashion' && cls !== undefined) fail('class', 'only the fashion model is class-conditional');
  const cfg = Number(o.cfg);
  if (o.cfg === '' || !Number.isFinite(cfg)) fail('cfg', `must be a finite number, got ${o.cfg}`);
  if (o.model === 'gmm-exact' && !o.weights) {
    const key = 'gmm-exact';
    if (!modelCache.has(key)) modelCache.set(key, await (await fetch(new URL('models/lab-gmm.json', base))).json());
    const spec = modelCache.get(key);
    return { model: { gmm: spec }, weights: undefined, spec, dim: 2 };
  }
  const url = o.weights ? new URL(o.weights, location.href) : new URL(weightsFile(o.model), base);
  const key = url.href;
  if (!modelCache.has(key)) modelCache.set(key, await fetchBytes(url, 'weights', progress));
  return { model: { class: cls, cfg }, weights: modelCache.get(key), dim: o.model === 'fashion' ? 784 : 2 };
}

const VIEW = 3.5; // the 2-D view spans [-VIEW, VIEW]² (SPAN in src/canvas.rs)
/** On WebGPU, `draw: 'gpu'` draws with wgpu straight from the state's buffer (`Run.draw`), so a
 * step reads back only log p; `readback` reads the state and draws it here. `auto` takes the
 * faster as measured (README, "Browser budgets"): on SwiftShader the readback (Fashion b16
 * 6.7 vs 7.5 s/step, moons 2,048 a tie), since the wait on log p is paid either way. */
const GPU_DRAW_AUTO = false;

/** 2-D: a heat map of p_λ (exact for the analytic mixture, else a histogram of the
 * particles), the particles' recent trails, the particles. Images: a grid of the batch. */
function draw(ctx, lane, state, spec) {
  const { width: w, height: h } = ctx.canvas;
  const x = state.x, d = state.dim, n = x.length / d;
  if (d === 2) {
    const s = w / (2 * VIEW), px = (v) => w / 2 + v * s, py = (v) => h / 2 - v * s;
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, w, h);
    if (spec) exactHeat(ctx, spec, state.lambda); else histogramHeat(ctx, x);
    lane.trail.push(x); if (lane.trail.length > 8) lane.trail.shift();
    ctx.strokeStyle = 'rgba(192,57,43,0.18)'; ctx.lineWidth = 1; ctx.beginPath();
    for (let i = 0; i < n; i++) lane.trail.forEach((t, k) => (k ? ctx.lineTo : ctx.moveTo).call(ctx, px(t[2 * i]), py(t[2 * i + 1])));
    ctx.stroke();
    ctx.fillStyle = '#c0392b';
    for (let i = 0; i < n; i++) ctx.fillRect(px(x[2 * i]) - 1, py(x[2 * i + 1]) - 1, 2, 2);
    return;
  }
  const side = Math.round(Math.sqrt(d)), cols = Math.ceil(Math.sqrt(n)), rows = Math.ceil(n / cols);
  const img = new ImageData(cols * side, rows * side);
  for (let k = 0; k < n; k++) for (let p = 0; p < d; p++) {
    const v = Math.max(0, Math.min(255, (x[k * d + p] + 1) * 127.5));
    const r = Math.floor(k / cols) * side + Math.floor(p / side), c = (k % cols) * side + (p % side), o = 4 * (r * img.width + c);
    img.data[o] = img.data[o + 1] = img.data[o + 2] = v; img.data[o + 3] = 255;
  }
  const tmp = new OffscreenCanvas(img.width, img.height);
  tmp.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, w, h);
  const scale = Math.min(w / img.width, h / img.height);
  ctx.drawImage(tmp, 0, 0, img.width * scale, img.height * scale);
}

const GRID = 56;
function heatCells(ctx, value) {
  const { width: w, height: h } = ctx.canvas;
  let max = 0; const v = new Float64Array(GRID * GRID);
  for (let j = 0; j < GRID; j++) for (let i = 0; i < GRID; i++) { v[j * GRID + i] = value((i + 0.5) / GRID, (j + 0.5) / GRID); max = Math.max(max, v[j * GRID + i]); }
  for (let j = 0; j < GRID; j++) for (let i = 0; i < GRID; i++) {
    ctx.fillStyle = `rgba(41,128,185,${(0.55 * v[j * GRID + i] / (max || 1)).toFixed(3)})`;
    ctx.fillRect(i / GRID * w, j / GRID * h, w / GRID + 1, h / GRID + 1);
  }
}

/** The analytic mixture's marginal p_λ on the linear path: N(α μ_k, α²σ_k² + σ²). */
function exactHeat(ctx, spec, lambda) {
  const a = 1 / (1 + Math.exp(-lambda / 2)), sig = 1 - a, tot = spec.weights.reduce((p, q) => p + q, 0);
  heatCells(ctx, (u, v) => {
    const x = (2 * u - 1) * VIEW, y = (1 - 2 * v) * VIEW;
    return spec.weights.reduce((p, wk, k) => { const s2 = a * a * spec.stds[k] ** 2 + sig * sig;
      return p + wk / tot / (2 * Math.PI * s2) * Math.exp(-((x - a * spec.means[k][0]) ** 2 + (y - a * spec.means[k][1]) ** 2) / (2 * s2)); }, 0);
  });
}

/** A network's p_λ has no closed form: show the particles' own histogram. */
function histogramHeat(ctx, x) {
  const counts = new Float64Array(GRID * GRID);
  for (let i = 0; i < x.length; i += 2) {
    const c = Math.floor((x[i] / VIEW + 1) / 2 * GRID), r = Math.floor((1 - x[i + 1] / VIEW) / 2 * GRID);
    if (c >= 0 && c < GRID && r >= 0 && r < GRID) counts[r * GRID + c] += 1;
  }
  heatCells(ctx, (u, v) => counts[Math.min(GRID - 1, Math.floor(v * GRID)) * GRID + Math.min(GRID - 1, Math.floor(u * GRID))]);
}

/** log p along λ: per lane the mean and the min..max band; the target line for DG (target). */
function plot(ctx, lanes, target) {
  const { width: w, height: h } = ctx.canvas;
  ctx.clearRect(0, 0, w, h);
  const all = lanes.flatMap((l) => l.trajectory);
  if (all.length < 2) return;
  let lo = Math.min(...all.map((t) => t.min)), hi = Math.max(...all.map((t) => t.max));
  if (target !== undefined) { lo = Math.min(lo, target); hi = Math.max(hi, target); }
  const l0 = all[0].lambda, l1 = Math.max(...all.map((t) => t.lambda));
  const X = (l) => 40 + (l - l0) / (l1 - l0 || 1) * (w - 50), Y = (v) => h - 16 - (v - lo) / (hi - lo || 1) * (h - 26);
  ctx.fillStyle = '#555'; ctx.font = '10px system-ui';
  ctx.fillText(hi.toFixed(1), 2, 12); ctx.fillText(lo.toFixed(1), 2, h - 16); ctx.fillText(`λ ${l0.toFixed(1)} → ${l1.toFixed(2)}`, w / 2 - 30, h - 3);
  if (target !== undefined) { ctx.strokeStyle = '#888'; ctx.setLineDash([4, 3]); ctx.beginPath(); ctx.moveTo(40, Y(target)); ctx.lineTo(w - 10, Y(target)); ctx.stroke(); ctx.setLineDash([]); }
  lanes.forEach((lane, i) => {
    const t = lane.trajectory, c = COLOURS[i % COLOURS.length];
    ctx.globalAlpha = 0.15; ctx.fillStyle = c; ctx.beginPath();
    t.forEach((p) => ctx.lineTo(X(p.lambda), Y(p.max))); [...t].reverse().forEach((p) => ctx.lineTo(X(p.lambda), Y(p.min))); ctx.fill();
    ctx.globalAlpha = 1; ctx.strokeStyle = c; ctx.beginPath(); t.forEach((p) => ctx.lineTo(X(p.lambda), Y(p.mean))); ctx.stroke();
  });
}

/** What lies under the GPU-drawn layer: white, and the exact heat map of the analytic mixture
 * (it needs only λ); the GPU layer draws the rest. */
function under(ctx, state, spec) {
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  if (spec && state.dim === 2) exactHeat(ctx, spec, state.lambda);
}

/** A cheap fingerprint of a canvas's pixels, for tests that check every step was drawn. */
function checksum(pixels) {
  let h = 0;
  for (let i = 0; i < pixels.data.length; i += 7) h = (h * 31 + pixels.data[i]) | 0;
  return h;
}
const pixelsOf = (ctx) => ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height);
/** A WebGPU canvas's pixels: readable only in the task that drew it. */
function gpuPixels(canvas) {
  const ctx = new OffscreenCanvas(canvas.width, canvas.height).getContext('2d');
  ctx.drawImage(canvas, 0, 0);
  return pixelsOf(ctx);
}

const errorMessage = (e) => (e instanceof Error ? e.message : String(e));
const mean = (v) => v.reduce((p, q) => p + q, 0) / v.length;

function controlsHtml() {
  const opts = (xs) => xs.map(([v, t]) => `<option value="${v}">${t ?? v}</option>`).join('');
  return `<form class="dg-controls">
  <label>model <select name="model">${opts([['moons'], ['8gaussians'], ['checkerboard'], ['gmm', 'gmm (trained)'], ['gmm-exact', 'gmm (analytic)'], ['fashion', 'Fashion-MNIST']])}</select></label>
  <label>method <select name="method">${opts([['plain', 'plain ODE'], ['prior', 'prior guidance'], ['dg', 'density guidance (q)'], ['dg-exact', 'density guidance (target)'], ['sdg', 'stochastic density guidance']])}</select></label>
  <label>q <input name="q" type="range" min="0.01" max="0.99" step="0.01"><output class="dg-q"></output></label>
  <label>compare q side by side <input name="compare" placeholder="e.g. 0.2,0.5,0.8"></label>
  <label>target log p <input name="target" type="number" step="0.5"></label>
  <label>SDG noise <select name="noise">${opts([['early'], ['late'], ['custom', 'custom window']])}</select></label>
  <label>SDG strength <input name="strength" type="number" step="0.05" min="0" placeholder="preset"></label>
  <label>SDG window λ from / to <span><input name="noiseFrom" type="number" step="0.5" size="4"> <input name="noiseTo" type="number" step="0.5" size="4"></span></label>
  <label>steps <input name="steps" type="number" min="1"></label>
  <label>solver <select name="solver">${opts([['euler'], ['heun'], ['rk4']])}</select></label>
  <label>seed <input name="seed" type="number" min="0"></label>
  <label>batch <input name="batch" type="number" min="1"></label>
  <label>log p <select name="logp">${opts([['hutchinson'], ['exact'], ['off']])}</select></label>
  <label>backend <select name="backend">${opts([['auto'], ['webgpu', 'WebGPU'], ['cpu', 'CPU']])}</select></label>
  <label>drawing (WebGPU) <select name="draw">${opts([['auto'], ['gpu', 'on the GPU, no readback'], ['readback', 'from a readback']])}</select></label>
  <label>garment class <select name="class">${opts([['any'], ...CLASSES.map((c, i) => [i, c])])}</select></label>
  <label>CFG scale <input name="cfg" type="number" step="0.5"></label>
  <div class="dg-buttons"><button type="submit">Run</button> <button type="button" data-act="stop">Stop</button>
    <button type="button" data-act="png">PNG</button> <button type="button" data-act="json">JSON</button></div>
</form>`;
}

const STYLE = `.dg-controls{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem 1rem;margin-bottom:1rem}
.dg-controls label{display:flex;flex-direction:column;gap:.2rem}.dg-lanes{display:flex;flex-wrap:wrap;gap:.5rem}
.dg-lane figcaption{font-size:12px}.dg-canvas,.dg-plot{border:1px solid #ccc;display:block;image-rendering:pixelated;max-width:100%}
.dg-stack{position:relative}.dg-gpu{position:absolute;left:0;top:0}.dg-error{color:#b00;white-space:pre-wrap}.dg-status{font-size:12px;color:#333}`;

/** Mounts the demo into `element`; `options` are the URL's settings (see DEFAULTS). */
export async function mount(element, options = {}) {
  const o = { ...DEFAULTS, ...options };
  const full = o.ui !== 'canvas';
  element.innerHTML = `<style>${STYLE}</style>${full ? controlsHtml() : ''}<div class="dg-lanes"></div>
    ${full ? '<canvas class="dg-plot" width="448" height="130"></canvas>' : ''}<div class="dg-status" role="status"></div>
    <div class="dg-error" role="alert"></div>`;
  const $ = (s) => element.querySelector(s);
  const status = $('.dg-status'), errorBox = $('.dg-error'), lanesBox = $('.dg-lanes');
  const pctx = $('.dg-plot')?.getContext('2d');
  const form = $('.dg-controls');
  let current = [], token = 0, last = null, dim = 2;
  const t0 = performance.now();
  status.textContent = 'loading the wasm module…';
  await wasm();
  const cold = performance.now() - t0;
  status.textContent = `ready (wasm loaded in ${cold.toFixed(0)} ms)`;

  const showQ = () => {
    const q = Number(form.elements.q.value);
    let text = q.toFixed(2);
    try { text += ` · PG radius χ⁻¹(1-q) = ${chiQuantile(dim, 1 - q).toFixed(2)}σ (D=${dim})`; } catch { /* q at an end */ }
    $('.dg-q').textContent = text;
  };
  if (form) {
    for (const el of form.elements) if (el.name in o) el.value = o[el.name];
    dim = o.model === 'fashion' ? 784 : 2; showQ();
    form.elements.q.addEventListener('input', showQ);
    form.elements.model.addEventListener('change', () => { dim = form.elements.model.value === 'fashion' ? 784 : 2; showQ(); });
    form.addEventListener('submit', (e) => { e.preventDefault(); controller.run(Object.fromEntries(new FormData(form))).catch(() => {}); });
    $('[data-act=stop]').onclick = () => controller.stop();
    $('[data-act=png]').onclick = () => snapshot().toBlob((b) => save(b, 'density-guidance.png'));
    $('[data-act=json]').onclick = () => last && save(new Blob([JSON.stringify(last, null, 1)], { type: 'application/json' }), 'density-guidance-run.json');
  }
  const save = (blob, name) => { const a = document.createElement('a'); a.href = URL.createObjectURL(blob); a.download = name; a.click(); };
  /** All lanes side by side on one canvas, for the PNG export. */
  function snapshot() {
    const cs = [...lanesBox.querySelectorAll('canvas')], out = document.createElement('canvas');
    out.width = cs.reduce((s, c) => s + c.width, 0); out.height = Math.max(...cs.map((c) => c.height));
    let x = 0; for (const c of cs) { out.getContext('2d').drawImage(c, x, 0); x += c.width; }
    return out;
  }
  const free = () => { current.forEach((r) => r.dispose()); current = []; };

  /** One run on one backend; throws on bad settings or a backend failure. */
  async function attempt(my, settingsList, qs, backend, reason, model, spec) {
    const gpuDraw = backend === 'webgpu' && (o.draw === 'gpu' || (o.draw === 'auto' && GPU_DRAW_AUTO));
    const record = { settings: { ...o }, backend, backend_reason: reason, draw: gpuDraw ? 'gpu' : 'readback', steps_drawn: 0, nfe: 0,
      logp_final: [], trajectory: [], timings: { cold_start_ms: cold, warmup_ms: 0, create_ms: 0, steps: [] } };
    const key = `${backend}|${o.model}|${settingsList[0].batch}|${o.method}|${o.logp}|${gpuDraw}`;
    if (backend === 'webgpu' && !warmed.has(key)) {
      status.textContent = 'warming up WebGPU (compiling shaders)…';
      const tw = performance.now();
      const w = await Run.create(model.model, model.weights, { ...settingsList[0], steps: 2 }, backend);
      const scratch = gpuDraw && new OffscreenCanvas(64, 64);
      const once = async () => { w.step(); if (gpuDraw) w.draw(scratch, !spec); await w.read(!gpuDraw); };
      try { await once(); await once(); } finally { w.dispose(); }
      record.timings.warmup_ms = performance.now() - tw;
      warmed.add(key);
    }
    const tc = performance.now();
    const runs = (current = []);
    for (const s of settingsList) runs.push(await Run.create(model.model, model.weights, s, backend));
    record.timings.create_ms = performance.now() - tc;
    lanesBox.innerHTML = '';
    const size = qs.length > 1 ? 288 : 448;
    const lanes = qs.map((q) => {
      const fig = document.createElement('figure'); fig.className = 'dg-lane'; fig.style.margin = '0';
      const canvas = (cls) => `<canvas class="dg-canvas${cls}" width="${size}" height="${size}"></canvas>`;
      fig.innerHTML = `<div class="dg-stack">${canvas('')}${gpuDraw ? canvas(' dg-gpu') : ''}</div>${qs.length > 1 ? `<figcaption>q = ${q}</figcaption>` : ''}`;
      lanesBox.append(fig);
      return { q, ctx: fig.querySelector('canvas').getContext('2d'), gpu: fig.querySelector('.dg-gpu'), caption: fig.querySelector('figcaption'),
        trail: [], trajectory: [], checksums: [] };
    });
    const target = o.method === 'dg-exact' ? Number(o.target) : undefined;
    for (;;) {
      const a = performance.now();
      const more = runs.map((r) => r.step()).every(Boolean);
      const b = performance.now();
      if (gpuDraw) {
        runs.forEach((r, i) => {
          r.draw(lanes[i].gpu, !spec);
          if (o.trace) { lanes[i].lastGpu = gpuPixels(lanes[i].gpu); lanes[i].checksums.push(checksum(lanes[i].lastGpu)); }
        });
      }
      const drawn = performance.now() - b;
      const states = [];
      for (const r of runs) states.push(await r.read(!gpuDraw));
      const c = performance.now();
      if (my !== token) return null;
      states.forEach((state, i) => {
        const lane = lanes[i], lp = Array.from(state.logp);
        if (gpuDraw) under(lane.ctx, state, spec); else draw(lane.ctx, lane, state, spec);
        lane.trajectory.push({ lambda: state.lambda, mean: mean(lp), min: Math.min(...lp), max: Math.max(...lp) });
        lane.logp_final = lp; lane.nfe = state.nfe; lane.guard_steps = state.guard_steps;
        if (lane.caption) lane.caption.textContent = `q = ${lane.q} · mean log p ${mean(lp).toFixed(2)}`;
        if (o.trace && !gpuDraw) lane.checksums.push(checksum(pixelsOf(lane.ctx)));
      });
      if (pctx) plot(pctx, lanes, target);
      const t = { compute_ms: b - a, readback_ms: c - b - drawn, draw_ms: drawn + performance.now() - c };
      record.timings.steps.push(t);
      record.steps_drawn += 1;
      const s = states[0];
      status.textContent = `${backend} (${reason}) · step ${s.steps_done}/${settingsList[0].steps} · λ ${s.lambda.toFixed(2)} · mean log p ${lanes[0].trajectory.at(-1).mean.toFixed(2)} · `
        + `NFE ${s.nfe} · guards ${s.guard_steps} · ms compute ${t.compute_ms.toFixed(1)} / readback ${t.readback_ms.toFixed(1)} / draw ${t.draw_ms.toFixed(1)}`;
      await new Promise((r) => requestAnimationFrame(r));
      if (!more || s.done || stopped) break;
    }
    if (gpuDraw) await settleOnCanvas(runs, lanes, spec, record);
    Object.assign(record, { nfe: lanes.reduce((n, l) => n + l.nfe, 0), logp_final: lanes[0].logp_final, trajectory: lanes[0].trajectory,
      guard_steps: lanes[0].guard_steps, stopped });
    if (qs.length > 1) record.lanes = lanes.map((l) => ({ q: l.q, logp_final: l.logp_final, trajectory: l.trajectory, nfe: l.nfe }));
    if (o.trace) record.canvas_checksums = lanes[0].checksums;
    const steps = record.timings.steps.slice(1);
    if (steps.length) record.timings.ms_per_step = mean(steps.map((t) => t.compute_ms + t.readback_ms + t.draw_ms));
    free();
    record.memory = memoryUsage();
    if (record.timings.warmup_ms) status.textContent += ` · WebGPU warm-up (shader compilation) ${record.timings.warmup_ms.toFixed(0)} ms`;
    return record;
  }

  /** The last GPU-drawn frame, drawn again on the 2-D canvas from one readback: that canvas is
   * what the PNG export takes (a WebGPU canvas's pixels are readable only while it is drawn).
   * With `trace`, images record how far the two drawings of the last frame differ. */
  async function settleOnCanvas(runs, lanes, spec, record) {
    const finals = [];
    for (const r of runs) finals.push(await r.read(true));
    lanes.forEach((lane, i) => {
      lane.trail = [];
      draw(lane.ctx, lane, finals[i], spec);
      lane.gpu.hidden = true;
      if (i === 0 && lane.lastGpu && finals[i].dim > 2) {
        const a = lane.lastGpu.data, b = pixelsOf(lane.ctx).data;
        record.gpu_vs_readback_max_diff = a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k])), 0);
      }
    });
  }

  let stopped = false;
  const controller = {
    /** Runs with the current options (plus `overrides`); resolves to the run record. */
    async run(overrides = {}) {
      const my = ++token;
      stopped = false;
      errorBox.textContent = '';
      free();
      try {
        Object.assign(o, overrides);
        if (form) for (const el of form.elements) if (el.name in o) el.value = o[el.name];
        const qs = lanesOf(o);
        const settingsList = qs.map((q) => settingsOf(o, q));
        if (o.url) history.replaceState(null, '', '?' + new URLSearchParams(Object.fromEntries(
          Object.keys(DEFAULTS).filter((k) => !['ui', 'trace'].includes(k) && String(o[k]) !== String(DEFAULTS[k])).map((k) => [k, o[k]]).concat([['run', 1]]))));
        const model = await modelOf(o, (m) => { status.textContent = m; });
        dim = model.dim; if (form) showQ();
        let { backend, reason } = await chooseBackend(o.backend);
        let record;
        try {
          record = await attempt(my, settingsList, qs, backend, reason, model, model.spec);
        } catch (e) {
          if (my !== token) return null; // superseded by a newer run, which freed this one
          const msg = errorMessage(e);
          if (backend !== 'webgpu' || msg.startsWith('invalid ')) throw e;
          // a lost device or a failed kernel: say so, and finish the run on the CPU backend
          free();
          // a failed readback can come before the device's lost promise settles: give it a moment
          if (lostPromise) await Promise.race([lostPromise, new Promise((r) => setTimeout(r, 500))]);
          webgpuBroken = deviceLost ?? `WebGPU failed (${msg.split('\n')[0]})`;
          ({ backend, reason } = await chooseBackend(o.backend));
          record = await attempt(my, settingsList, qs, backend, reason, model, model.spec);
        }
        if (record) last = record;
        return record;
      } catch (e) {
        if (my !== token) return null;
        free();
        const msg = errorMessage(e);
        errorBox.textContent = msg;
        status.textContent = 'stopped: see the message below';
        throw e instanceof Error ? e : new Error(msg);
      }
    },
    stop() { stopped = true; },
    dispose() { token++; free(); element.innerHTML = ''; },
    get lastRun() { return last; },
  };
  return controller;
}

/** `<density-guidance model="fashion" method="dg" q="0.3" ui="canvas" autorun>`: attributes are
 * mount's options. */
class DensityGuidanceElement extends HTMLElement {
  async connectedCallback() {
    const opts = Object.fromEntries([...this.attributes].map((a) => [a.name.replace(/-([a-z])/g, (_, c) => c.toUpperCase()), a.value]));
    delete opts.autorun;
    this.controller = await mount(this, opts);
    this.dispatchEvent(new CustomEvent('ready'));
    if (this.hasAttribute('autorun')) this.controller.run().then((r) => this.dispatchEvent(new CustomEvent('done', { detail: r })), () => {});
  }
  disconnectedCallback() { this.controller?.dispose(); }
}
if (globalThis.customElements && !customElements.get('density-guidance')) customElements.define('density-guidance', DensityGuidanceElement);
