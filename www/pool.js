// The sampler's workers: spawning them (each instantiates the one compiled module), splitting
// a batch across them (worker i runs samples [first, first + size) of every lane, which the
// sampler draws from (seed, sample index) alone), stepping them in lock step and joining their
// slices back into one state per lane, in order.

const workerUrl = new URL("./worker.js", import.meta.url);

/** `batch` samples in `parts` contiguous slices, the first ones one larger when it does not
 * divide: [{ first, size }]. */
export function splitBatch(batch, parts) {
  const slices = [];
  const base = Math.floor(batch / parts);
  const larger = batch % parts;
  let first = 0;
  for (let part = 0; part < parts; part++) {
    const size = base + (part < larger ? 1 : 0);
    slices.push({ first, size });
    first += size;
  }
  return slices;
}

/** Typed arrays joined end to end into one of `ArrayType` (state slices, fetched chunks). */
export function concatenated(arrays, ArrayType = Float32Array) {
  const length = arrays.reduce((total, array) => total + array.length, 0);
  const joined = new ArrayType(length);
  let offset = 0;
  for (const array of arrays) {
    joined.set(array, offset);
    offset += array.length;
  }
  return joined;
}

/** One worker: requests by id, answered in order. */
class SamplerWorker {
  constructor() {
    this.worker = new Worker(workerUrl, { type: "module", name: "density-guidance sampler" });
    this.pending = new Map();
    this.nextId = 0;
    this.worker.onmessage = (event) => this.settle(event.data);
    this.worker.onerror = (event) => this.failAll(`the sampler's worker failed: ${event.message ?? "could not start"}`);
    this.worker.onmessageerror = () => this.failAll("the sampler's worker sent a message that could not be read");
  }

  settle(reply) {
    const request = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (reply.ok) {
      request.resolve(reply.value);
      return;
    }
    const error = new Error(reply.error);
    error.deviceLost = reply.deviceLost;
    request.reject(error);
  }

  failAll(message) {
    for (const request of this.pending.values()) {
      request.reject(new Error(message));
    }
    this.pending.clear();
  }

  call(op, args = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, ...args }, transfer);
    });
  }

  terminate() {
    this.worker.terminate();
    this.failAll("the sampler's worker was stopped");
  }
}

/** The workers of one mounted demo. They live as long as it does and are reused from run to
 * run; a CPU run uses the first `count`, a WebGPU run the first one only. */
export class SamplerPool {
  constructor(module) {
    this.module = module;
    this.workers = [];
    this.starting = [];
    /** WebGPU settings whose shaders were compiled already in this pool's device. */
    this.warmed = new Set();
  }

  /** At least `count` workers, each with the module instantiated. */
  async ensure(count) {
    while (this.workers.length < count) {
      const worker = new SamplerWorker();
      this.workers.push(worker);
      this.starting.push(worker.call("init", { module: this.module }));
    }
    await Promise.all(this.starting.slice(0, count));
  }

  /** A request to the first worker alone (chi quantiles, the WebGPU test hook). */
  async ask(op, args = {}) {
    await this.ensure(1);
    return this.workers[0].call(op, args);
  }

  async warmUp(args) {
    await this.ensure(1);
    return this.workers[0].call("warmUp", args);
  }

  /** Times the network's forwards on `backend` over the first `count` workers, the batch of
   * `settings` split as a run's would be: resolves to each worker's timings (worker.js,
   * timeForwards). */
  timeForwards(args) {
    return this.sliced("timeForwards", args);
  }

  /** Creates the runs of every lane, the batch split across `count` workers: resolves to a
   * PoolRun that steps them. `lanes` are the whole batch's settings; `canvases` (WebGPU, one
   * worker) the lanes' OffscreenCanvases. The first step is asked for with the runs, so a
   * worker starts it without waiting for a message from the page. */
  async create({ count, backend, model, weights, lanes, canvases, heat, trace }) {
    await this.ensure(count);
    const workers = this.workers.slice(0, count);
    const slices = splitBatch(lanes[0].batch, count);
    const creations = workers.map((worker, index) => {
      const { first, size } = slices[index];
      const sliceLanes = lanes.map((settings) => ({ ...settings, batch: size, first: settings.first + first }));
      const transfer = canvases ? canvases.filter(Boolean) : [];
      const args = { backend, model, weights, lanes: sliceLanes, canvases, heat, trace };
      return worker.call("create", args, transfer);
    });
    const firstStep = workers.map((worker) => worker.call("step"));
    try {
      await Promise.all(creations);
    } catch (error) {
      // a failed creation says why; the step asked for with it then answers nothing useful
      Promise.allSettled(firstStep);
      throw error;
    }
    return new PoolRun(workers, lanes.length, firstStep);
  }

  /** Asks the first `count` workers for `op` (timeForwards, worker-checks.js) over their slices of
   * `settings.batch`, split as a run's is: resolves to their answers, in order. */
  async sliced(op, { count, settings, ...args }) {
    await this.ensure(count);
    const slices = splitBatch(settings.batch, count);
    const answers = this.workers.slice(0, count).map((worker, index) => {
      const { first, size } = slices[index];
      const slice = { ...settings, batch: size, first: settings.first + first };
      return worker.call(op, { ...args, settings: slice });
    });
    return Promise.all(answers);
  }

  /** Frees every worker's runs; resolves to each worker's memory use after it. */
  async dispose() {
    await Promise.allSettled(this.starting);
    const disposals = await Promise.allSettled(this.workers.map((worker) => worker.call("dispose")));
    const failed = disposals.find((disposal) => disposal.status === "rejected");
    if (failed) {
      throw failed.reason;
    }
    return disposals.map((disposal) => disposal.value);
  }

  terminate() {
    for (const worker of this.workers) {
      worker.terminate();
    }
    this.workers = [];
    this.starting = [];
  }
}

/** One run over the workers that hold its slices: stepped in lock step, slices joined. */
class PoolRun {
  constructor(workers, laneCount, firstStep) {
    this.workers = workers;
    /** Per worker, the reply to the step asked for with the runs (used by the first step). */
    this.firstStep = firstStep;
    /** Per worker and lane, the guarded steps that worker has counted in its slice. */
    this.sliceGuardSteps = workers.map(() => new Array(laneCount).fill(0));
    /** Per lane, the steps where a guard acted in any slice. */
    this.guardSteps = new Array(laneCount).fill(0);
  }

  /** One step in every worker; per lane the joined state, and the slowest worker's times.
   * `messaging_ms`: from the last worker's post to the joined state here (the replies' transit
   * and the join). */
  async step() {
    const asked = this.firstStep ?? this.workers.map((worker) => worker.call("step"));
    this.firstStep = null;
    const replies = await Promise.all(asked);
    const arrived = performance.timeOrigin + performance.now();
    const lanes = replies[0].states.map((_, lane) => this.joinLane(replies, lane));
    const slowest = (key) => Math.max(...replies.map((reply) => reply[key]));
    const joined = performance.timeOrigin + performance.now();
    return {
      more: replies.every((reply) => reply.more),
      lanes,
      compute_ms: slowest("compute_ms"),
      draw_ms: slowest("draw_ms"),
      readback_ms: slowest("readback_ms"),
      messaging_ms: Math.max(0, arrived - slowest("posted_at")) + (joined - arrived),
    };
  }

  /** One lane's slices joined in order. A step counts as guarded when a guard acted in any
   * slice (each worker counts its own slice's guarded steps). */
  joinLane(replies, lane) {
    const slices = replies.map((reply) => reply.states[lane]);
    let guardedNow = false;
    slices.forEach((slice, worker) => {
      if (slice.guard_steps > this.sliceGuardSteps[worker][lane]) {
        guardedNow = true;
      }
      this.sliceGuardSteps[worker][lane] = slice.guard_steps;
    });
    if (guardedNow) {
      this.guardSteps[lane] += 1;
    }
    const head = slices[0];
    return {
      lambda: head.lambda,
      steps_done: head.steps_done,
      done: head.done,
      dim: head.dim,
      nfe: head.nfe,
      guard_steps: this.guardSteps[lane],
      checksum: head.checksum,
      x: head.x ? concatenated(slices.map((slice) => slice.x)) : null,
      logp: concatenated(slices.map((slice) => slice.logp)),
    };
  }

  /** Every lane's final state with its samples, and (trace) the last GPU-drawn frame. */
  async readFinal() {
    const replies = await Promise.all(this.workers.map((worker) => worker.call("readFinal")));
    const states = replies[0].states.map((head, lane) => ({
      ...head,
      x: concatenated(replies.map((reply) => reply.states[lane].x)),
      logp: concatenated(replies.map((reply) => reply.states[lane].logp)),
    }));
    return { states, lastGpuFrame: replies[0].lastGpuFrame };
  }
}
