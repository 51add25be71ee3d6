// The module worker that runs the sampler: it owns one instance of the wasm module and the
// runs of one slice of the batch (one Run per side-by-side lane), steps them when asked, and
// posts each step's state as transferred buffers; on WebGPU with draw=gpu it also draws each
// step with wgpu on the OffscreenCanvas the page handed over. The page never runs the sampler.
//
// Protocol: the page posts { id, op, ...arguments }; the worker answers each in order with
// { id, ok: true, value } or { id, ok: false, error, deviceLost }. Requests are handled one at
// a time (a run is never stepped while it is disposed).
import { canvasChecksum, pixelsOf } from "./draw.js";
import init, { chiQuantile, memoryUsage, Run } from "./pkg/dg.js";
import { release } from "./run-release.js";
import { probeWebGpu } from "./webgpu.js";
import { checkOperations } from "./worker-checks.js";

/** The runs of this worker's slice, one per lane. */
let runs = [];
/** Per lane: the OffscreenCanvas it draws on with wgpu (draw=gpu), or null. */
let gpuCanvases = [];
let drawHeat = false;
let tracing = false;
/** Per lane, with trace on: the pixels of the last GPU-drawn frame. */
let lastGpuPixels = [];
/** The next step, computed as soon as this one is posted (its reply, or its failure), so
 * that the runs step while the page draws; null when none is. Never with GPU drawing, whose
 * canvas would show a step the page has not asked for. */
let ahead = null;

/** Every WebGPU device burn asked for here, and why the last was lost once it is: burn's own
 * error for the step that failed says only that a buffer could not be mapped. */
const webgpuDevices = [];
let deviceLostReason = null;
let deviceLostSignal = null;
if (globalThis.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function requestWatchedDevice(...args) {
    const device = await requestDevice.apply(this, args);
    webgpuDevices.push(device);
    deviceLostSignal = device.lost.then((info) => {
      const detail = info.message ? `${info.reason}: ${info.message}` : info.reason;
      deviceLostReason = `the WebGPU device was lost (${detail})`;
    });
    return device;
  };
}

function disposeRuns() {
  ahead = null;
  for (const run of runs) {
    release(run);
  }
  runs = [];
  gpuCanvases = [];
  lastGpuPixels = [];
}

/** A copy of what a GPU-drawn canvas shows: readable only in the task that drew it. */
function gpuCanvasPixels(canvas) {
  const copy = new OffscreenCanvas(canvas.width, canvas.height).getContext("2d");
  copy.drawImage(canvas, 0, 0);
  return pixelsOf(copy);
}

/** The state posted to the page; its arrays' buffers are transferred, not copied. */
function stateMessage(state, checksum) {
  return {
    lambda: state.lambda,
    steps_done: state.steps_done,
    done: state.done,
    dim: state.dim,
    x: state.x,
    logp: state.logp,
    guard_steps: state.guard_steps,
    nfe: state.nfe,
    checksum,
  };
}

function transferablesOf(states) {
  const buffers = [];
  for (const state of states) {
    if (state.x) {
      buffers.push(state.x.buffer);
    }
    buffers.push(state.logp.buffer);
  }
  return buffers;
}

async function warmUp({ model, weights, settings, backend, gpuDraw, heat }) {
  const started = performance.now();
  const run = await Run.create(model, weights, { ...settings, steps: 2 }, backend);
  const scratch = gpuDraw ? new OffscreenCanvas(64, 64) : null;
  try {
    for (let step = 0; step < 2; step++) {
      run.step();
      if (scratch) {
        run.draw(scratch, heat);
      }
      await run.read(!gpuDraw);
    }
  } finally {
    release(run);
  }
  return { value: performance.now() - started };
}

/** Times up to `forwards` forwards of the network on `backend` at this slice's batch (the
 * settings given are the plain ODE without log p: one forward per step), after one untimed
 * forward (JIT tier-up, shader compilation). Each forward is read back, so a WebGPU one is
 * finished when timed; the loop stops early once `budgetMs` has passed since the start. */
async function timeForwards({ model, weights, settings, backend, forwards, budgetMs }) {
  const started = performance.now();
  const run = await Run.create(model, weights, { ...settings, steps: forwards + 1 }, backend);
  const forwardMs = [];
  let firstMs = 0;
  try {
    run.step();
    await run.read(false);
    firstMs = performance.now() - started;
    while (forwardMs.length < forwards && (forwardMs.length === 0 || performance.now() - started < budgetMs)) {
      const forwardStarted = performance.now();
      run.step();
      await run.read(false);
      forwardMs.push(performance.now() - forwardStarted);
    }
  } finally {
    release(run);
  }
  return { value: { first_ms: firstMs, forward_ms: forwardMs, cost_ms: performance.now() - started } };
}

async function create({ model, weights, lanes, backend, canvases, heat, trace }) {
  disposeRuns();
  drawHeat = heat;
  tracing = trace;
  try {
    for (const settings of lanes) {
      runs.push(await Run.create(model, weights, settings, backend));
    }
  } catch (error) {
    // no lane half made: the step asked for with the runs then steps nothing
    disposeRuns();
    throw error;
  }
  gpuCanvases = canvases ?? lanes.map(() => null);
  return { value: { lanes: runs.length } };
}

/** One step of every lane now: its reply (the states, what each part took). */
async function stepNow() {
  const started = performance.now();
  let more = true;
  for (const run of runs) {
    more = run.step() && more;
  }
  const stepped = performance.now();
  const checksums = [];
  runs.forEach((run, lane) => {
    const canvas = gpuCanvases[lane];
    if (!canvas) {
      checksums.push(null);
      return;
    }
    run.draw(canvas, drawHeat);
    if (tracing) {
      lastGpuPixels[lane] = gpuCanvasPixels(canvas);
      checksums.push(canvasChecksum(lastGpuPixels[lane]));
    } else {
      checksums.push(null);
    }
  });
  const drawn = performance.now();
  const states = [];
  for (const [lane, run] of runs.entries()) {
    const state = await run.read(!gpuCanvases[lane]);
    states.push(stateMessage(state, checksums[lane]));
  }
  const read = performance.now();
  const value = {
    more,
    states,
    compute_ms: stepped - started,
    draw_ms: drawn - stepped,
    readback_ms: read - drawn,
  };
  return { value, transfer: transferablesOf(states) };
}

/** The step asked for (computed ahead when it could be), and once it is posted the next one
 * (`after`): the page's request then finds it done or under way, never waiting on a message
 * between steps. Its failure waits for the request that asks for it. */
async function step() {
  const reply = ahead ?? stepNow();
  ahead = null;
  const { value, transfer } = await reply;
  // on the page's clock too (timeOrigin + now): the message's transit is what the page adds
  value.posted_at = performance.timeOrigin + performance.now();
  const runsAhead = value.more && !gpuCanvases.some(Boolean);
  const after = runsAhead
    ? () => {
        ahead = stepNow();
        return ahead;
      }
    : null;
  return { value, transfer, after };
}

/** Every lane's state with its samples (after a GPU-drawn run), and with trace on the last
 * GPU-drawn frame of lane 0. */
async function readFinal() {
  const states = [];
  for (const run of runs) {
    states.push(stateMessage(await run.read(true), null));
  }
  const lastGpuFrame = tracing ? (lastGpuPixels[0]?.data ?? null) : null;
  const transfer = transferablesOf(states);
  if (lastGpuFrame) {
    transfer.push(lastGpuFrame.buffer);
  }
  return { value: { states, lastGpuFrame }, transfer };
}

function dispose() {
  disposeRuns();
  return { value: memoryUsage() };
}

/** Test hook: destroys the WebGPU devices of this worker, as a lost GPU would. */
function destroyWebGpuDevices() {
  for (const device of webgpuDevices) {
    device.destroy();
  }
  return { value: webgpuDevices.length };
}

const operations = {
  init: async ({ module }) => {
    await init({ module_or_path: module });
    return { value: null };
  },
  warmUp,
  timeForwards,
  create,
  step,
  readFinal,
  dispose,
  memory: () => ({ value: memoryUsage() }),
  chiQuantile: ({ dim, p }) => ({ value: chiQuantile(dim, p) }),
  destroyWebGpuDevices,
  probeWebGpu: async () => ({ value: globalThis.navigator?.gpu ? await probeWebGpu() : null }),
  ...checkOperations,
};

/** A failure's message and, when the WebGPU device went, why (its lost promise can settle just
 * after the failed readback: give it a moment). */
async function failureOf(error) {
  const message = error instanceof Error ? error.message : String(error);
  const mayBeTheDevice = !message.startsWith("invalid ");
  if (mayBeTheDevice && deviceLostSignal && !deviceLostReason) {
    const moment = new Promise((resolve) => setTimeout(resolve, 500));
    await Promise.race([deviceLostSignal, moment]);
  }
  return { error: message, deviceLost: deviceLostReason };
}

async function handle(request) {
  const operation = operations[request.op];
  try {
    if (!operation) {
      throw new Error(`the worker has no operation '${request.op}'`);
    }
    const { value, transfer = [], after } = await operation(request);
    self.postMessage({ id: request.id, ok: true, value }, transfer);
    // work started once the answer is out (the next step); a failure there is kept for the
    // request that asks for its result
    await after?.().catch(() => {});
  } catch (error) {
    self.postMessage({ id: request.id, ok: false, ...(await failureOf(error)) });
  }
}

let queue = Promise.resolve();
self.onmessage = (event) => {
  queue = queue.then(() => handle(event.data));
};
