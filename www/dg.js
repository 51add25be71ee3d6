// The embedding module: mount(element, options) puts the density-guidance demo into any
// element and resolves to a controller { run(), stop(), dispose() }.
import init, { Run } from './pkg/dg.js';

const base = new URL('..', import.meta.url);
const LAB = ['moons', '8gaussians', 'checkerboard', 'gmm', 'gmm-exact'];
const NOISE = { early: { level: 0.2, from: -10, to: -4 }, late: { level: 0.3, from: -3, to: 9 }, none: { level: 0, from: 0, to: 0 } };
export const DEFAULTS = { model: 'moons', method: 'dg', q: 0.4, target: -2.5, noise: 'late', steps: 64, solver: 'euler',
  seed: 0, batch: 512, backend: 'auto', class: 'any', cfg: 1, logp: 'hutchinson', lambdaMin: -10, lambdaMax: 10 };

let ready = null;
const wasm = () => (ready ??= init());

function fail(name, why) { throw new Error(`invalid ${name}: ${why}`); }

/** Checks the options and turns them into the sampler's settings. */
export function settingsOf(o) {
  const num = (k) => { const v = Number(o[k]); if (!Number.isFinite(v)) fail(k, `must be a finite number, got ${o[k]}`); return v; };
  const int = (k, min) => { const v = num(k); if (!Number.isInteger(v) || v < min) fail(k, `must be an integer >= ${min}, got ${o[k]}`); return v; };
  const q = num('q');
  if (['prior', 'dg', 'sdg'].includes(o.method) && !(q > 0 && q < 1)) fail('q', `must lie strictly between 0 and 1, got ${o.q}`);
  const method = { plain: { method: 'plain' }, prior: { method: 'prior', q }, dg: { method: 'dg', q },
    'dg-exact': { method: 'dg-exact', target_logp: num('target') },
    sdg: { method: 'sdg', q, noise: NOISE[o.noise] ?? fail('noise', `'${o.noise}' is not early, late or none`), exact: true } }[o.method]
    ?? fail('method', `'${o.method}' is not plain, prior, dg, dg-exact or sdg`);
  if (!['euler', 'heun', 'rk4'].includes(o.solver)) fail('solver', `'${o.solver}' is not euler, heun or rk4`);
  const divergence = { exact: { kind: 'exact' }, hutchinson: { kind: 'hutchinson', probes: 1 }, off: { kind: 'off' } }[o.logp]
    ?? fail('logp', `'${o.logp}' is not exact, hutchinson or off`);
  return { method, solver: o.method === 'sdg' ? 'euler' : o.solver, steps: int('steps', 1), batch: int('batch', 1),
    seed: int('seed', 0), window: { lambda_min: num('lambdaMin'), lambda_max: num('lambdaMax') }, divergence,
    guards: { norm_floor: 1e-3, eta_cap: 10 } };
}

/** Which backend to use, and why: burn panics without an adapter, so probe first. */
export async function chooseBackend(wanted) {
  if (wanted === 'cpu') return { backend: 'cpu', reason: 'asked for the CPU backend' };
  if (!navigator.gpu) return { backend: 'cpu', reason: 'no navigator.gpu in this browser' };
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return { backend: 'cpu', reason: 'navigator.gpu offers no adapter' };
  return { backend: 'webgpu', reason: `WebGPU adapter${adapter.info?.vendor ? ' ' + adapter.info.vendor : ''}` };
}

async function modelOf(o) {
  if (o.model === 'gmm-exact') {
    const spec = await (await fetch(new URL('models/lab-gmm.json', base))).json();
    return { model: { gmm: spec }, weights: undefined, spec };
  }
  if (![...LAB, 'fashion'].includes(o.model)) fail('model', `'${o.model}' is not one of ${[...LAB, 'fashion'].join(', ')}`);
  const res = await fetch(new URL(`models/${o.model}.safetensors`, base));
  if (!res.ok) fail('model', `weights for '${o.model}' could not be loaded (${res.status})`);
  const weights = new Uint8Array(await res.arrayBuffer());
  const cls = o.class === 'any' || o.class === '' ? undefined : Number(o.class);
  return { model: { class: cls, cfg: Number(o.cfg) }, weights };
}

/** Draws the batch: particles with trails for 2-D, a grid of images otherwise. */
function draw(ctx, state, trails, spec) {
  const { width: w, height: h } = ctx.canvas;
  const x = state.x, d = state.dim, n = x.length / d;
  if (d === 2) {
    ctx.fillStyle = 'rgba(255,255,255,0.25)';
    ctx.fillRect(0, 0, w, h);
    if (spec) heat(ctx, spec, state.lambda);
    ctx.fillStyle = '#c0392b';
    const s = w / 7;
    for (let i = 0; i < n; i++) ctx.fillRect(w / 2 + x[2 * i] * s - 1, h / 2 - x[2 * i + 1] * s - 1, 2, 2);
    return;
  }
  const side = Math.round(Math.sqrt(d)), cols = Math.ceil(Math.sqrt(n)), img = ctx.createImageData(cols * side, Math.ceil(n / cols) * side);
  for (let k = 0; k < n; k++) for (let p = 0; p < d; p++) {
    const v = Math.max(0, Math.min(255, (x[k * d + p] + 1) * 127.5));
    const r = Math.floor(k / cols) * side + Math.floor(p / side), c = (k % cols) * side + (p % side), o = 4 * (r * img.width + c);
    img.data[o] = img.data[o + 1] = img.data[o + 2] = v; img.data[o + 3] = 255;
  }
  const tmp = new OffscreenCanvas(img.width, img.height);
  tmp.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, w, h);
}

/** The exact marginal density p_λ of the analytic mixture as a faint heat map. */
function heat(ctx, spec, lambda) {
  const { width: w, height: h } = ctx.canvas, g = 64, s = w / 7;
  const a = 1 / (1 + Math.exp(-lambda / 2)), sig = 1 - a, tot = spec.weights.reduce((p, q) => p + q, 0);
  for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) {
    const px = (i + 0.5) / g * w, py = (j + 0.5) / g * h, x = (px - w / 2) / s, y = (h / 2 - py) / s;
    let p = 0;
    spec.weights.forEach((wk, k) => { const v = a * a * spec.stds[k] ** 2 + sig * sig;
      p += wk / tot / (2 * Math.PI * v) * Math.exp(-((x - a * spec.means[k][0]) ** 2 + (y - a * spec.means[k][1]) ** 2) / (2 * v)); });
    ctx.fillStyle = `rgba(41,128,185,${Math.min(0.6, p)})`;
    ctx.fillRect(i / g * w, j / g * h, w / g + 1, h / g + 1);
  }
}

function plot(ctx, traj) {
  const { width: w, height: h } = ctx.canvas;
  ctx.clearRect(0, 0, w, h);
  if (traj.length < 2) return;
  const lo = Math.min(...traj.map((t) => t.min)), hi = Math.max(...traj.map((t) => t.max)), l0 = traj[0].lambda, l1 = traj.at(-1).lambda;
  const X = (l) => (l - l0) / (l1 - l0 || 1) * (w - 10) + 5, Y = (v) => h - 5 - (v - lo) / (hi - lo || 1) * (h - 10);
  ctx.fillStyle = 'rgba(192,57,43,0.15)';
  ctx.beginPath(); traj.forEach((t) => ctx.lineTo(X(t.lambda), Y(t.max))); [...traj].reverse().forEach((t) => ctx.lineTo(X(t.lambda), Y(t.min))); ctx.fill();
  ctx.strokeStyle = '#c0392b'; ctx.beginPath(); traj.forEach((t) => ctx.lineTo(X(t.lambda), Y(t.mean))); ctx.stroke();
}

/** A cheap fingerprint of the canvas, for tests that check every step was drawn. */
function checksum(ctx) {
  const d = ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) | 0;
  return h;
}

/** Mounts the demo into `element`; `options` are the URL's settings. */
export async function mount(element, options = {}) {
  const o = { ...DEFAULTS, ...options };
  element.innerHTML = `<canvas class="dg-canvas" width="448" height="448"></canvas>
    <canvas class="dg-plot" width="448" height="120"></canvas><div class="dg-status" role="status"></div>`;
  const [canvas, plotCanvas] = element.querySelectorAll('canvas'), status = element.querySelector('.dg-status');
  const ctx = canvas.getContext('2d'), pctx = plotCanvas.getContext('2d');
  let current = null, stopped = false;
  const t0 = performance.now();
  await wasm();
  const cold = performance.now() - t0;
  async function run(overrides = {}) {
    Object.assign(o, overrides);
    stopped = false;
    const settings = settingsOf(o);
    const { backend, reason } = await chooseBackend(o.backend);
    const { model, weights, spec } = await modelOf(o);
    const tc = performance.now();
    current?.dispose();
    current = await Run.create(model, weights, settings, backend);
    const record = { settings: o, backend, backend_reason: reason, steps_drawn: 0, nfe: 0, logp_final: [], trajectory: [],
      timings: { cold_start_ms: cold, create_ms: performance.now() - tc, steps: [] } };
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (;;) {
      const a = performance.now();
      const more = current.step();
      const b = performance.now();
      const state = await current.read();
      const c = performance.now();
      draw(ctx, state, null, spec);
      const lp = Array.from(state.logp);
      record.trajectory.push({ lambda: state.lambda, mean: lp.reduce((p, q) => p + q, 0) / lp.length, min: Math.min(...lp), max: Math.max(...lp) });
      plot(pctx, record.trajectory);
      record.steps_drawn += 1; record.nfe = state.nfe; record.logp_final = lp; record.guard_steps = state.guard_steps;
      record.timings.steps.push({ compute_ms: b - a, readback_ms: c - b, draw_ms: performance.now() - c });
      if (o.trace) (record.canvas_checksums ??= []).push(checksum(ctx));
      status.textContent = `${backend} (${reason}) · step ${state.steps_done}/${settings.steps} · λ ${state.lambda.toFixed(2)} · mean log p ${record.trajectory.at(-1).mean.toFixed(2)}`;
      await new Promise(requestAnimationFrame);
      if (!more || state.done || stopped) break;
    }
    return record;
  }
  return { run, stop: () => { stopped = true; }, dispose: () => { current?.dispose(); current = null; element.innerHTML = ''; } };
}
