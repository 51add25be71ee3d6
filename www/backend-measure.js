// The measurement behind `backend=auto`: a few forwards of the network at the run's batch on
// the CPU workers, then on WebGPU, all in the sampler's workers (never on the page's main
// thread), within about a second; remembered (backend-memory.js) so that it runs once per
// build, device, model and batch.

import { fasterOf, measuredReason } from "./backend-choice.js";
import { recallMeasurement, rememberMeasurement } from "./backend-memory.js";

/** Timed forwards per backend (after one untimed), and the time each backend may take: the
 * CPU workers stop stepping after their budget; WebGPU is given up after its deadline (its
 * first forward compiles shaders, which a busy or slow GPU can stretch to seconds). */
export const MEASUREMENT = { forwards: 3, cpuBudgetMs: 400, webgpuDeadlineMs: 1000 };

/** The run's settings turned into one forward per step: the plain ODE, Euler, no log p. */
function forwardSettings(settings) {
  return { ...settings, method: { method: "plain" }, solver: "euler", divergence: { kind: "off" } };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** The CPU workers' time per forward: they step together, so the slowest worker's median. */
function slowestMedian(workerTimings) {
  return Math.max(...workerTimings.map((timing) => median(timing.forward_ms)));
}

function afterDeadline(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}

/** Times the two backends for `sampler` (model, weights) at the batch of `settings`:
 * resolves to `{ cpu_ms_per_forward, cpu_workers, webgpu_ms_per_forward (null when WebGPU
 * missed its deadline or failed), webgpu_note, cost_ms, cpu_cost_ms, webgpu_cost_ms,
 * spoiled }`. `spoiled`: the first worker may still be busy with (or broken by) WebGPU, so the
 * caller replaces the pool. */
export async function measureBackends(pool, { sampler, settings, cpuWorkers }) {
  const started = performance.now();
  const common = {
    model: sampler.model,
    weights: sampler.weights,
    settings: forwardSettings(settings),
    forwards: MEASUREMENT.forwards,
  };
  const cpuTimings = await pool.timeForwards({
    ...common,
    count: cpuWorkers,
    backend: "cpu",
    budgetMs: MEASUREMENT.cpuBudgetMs,
  });
  const cpuDone = performance.now();
  const measurement = {
    cpu_ms_per_forward: slowestMedian(cpuTimings),
    cpu_workers: cpuWorkers,
    webgpu_ms_per_forward: null,
    webgpu_note: "",
    spoiled: false,
  };
  const onWebGpu = pool.timeForwards({
    ...common,
    count: 1,
    backend: "webgpu",
    budgetMs: MEASUREMENT.webgpuDeadlineMs,
  });
  onWebGpu.catch(() => {}); // after the deadline nobody awaits it; the pool is replaced
  try {
    const webgpuTimings = await Promise.race([onWebGpu, afterDeadline(MEASUREMENT.webgpuDeadlineMs)]);
    if (webgpuTimings) {
      measurement.webgpu_ms_per_forward = slowestMedian(webgpuTimings);
    } else {
      measurement.webgpu_note = `did not finish its first forwards within ${MEASUREMENT.webgpuDeadlineMs} ms`;
      measurement.spoiled = true;
    }
  } catch (error) {
    measurement.webgpu_note = `failed (${String(error.message ?? error).split("\n")[0]})`;
    measurement.spoiled = true;
  }
  const finished = performance.now();
  measurement.cpu_cost_ms = cpuDone - started;
  measurement.webgpu_cost_ms = finished - cpuDone;
  measurement.cost_ms = finished - started;
  return measurement;
}

function minuteNow() {
  return new Date().toISOString().slice(0, 16).replace("T", " ");
}

/** `auto`'s choice on a hardware adapter: the measurement remembered under `key` (this build,
 * device, model and batch), else a new one, remembered. Resolves to `{ choice, spoiled }`:
 * the choice as chooseBackend gives it, with its measurement; `spoiled` as measureBackends. */
export async function measuredChoice({ pool, key, sampler, settings, cpuWorkers, modelName, onMeasuring }) {
  const recalled = recallMeasurement(key);
  if (recalled) {
    const choice = { backend: fasterOf(recalled), reason: measuredReason(recalled, true), basis: "remembered" };
    return { choice: { ...choice, measurement: recalled }, spoiled: false };
  }
  onMeasuring();
  const { spoiled, ...times } = await measureBackends(pool, { sampler, settings, cpuWorkers });
  const measurement = { ...times, model: modelName, batch: settings.batch, measured_at: minuteNow() };
  rememberMeasurement(key, measurement);
  const choice = { backend: fasterOf(measurement), reason: measuredReason(measurement, false), basis: "measured" };
  return { choice: { ...choice, measurement }, spoiled };
}
