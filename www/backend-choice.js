// Which backend a run uses, and the words that say why (the status line, the run record). The
// rules: the CPU backend when asked, when WebGPU is missing or broken, and under `auto` when
// the only adapter is a software fallback; else under `auto` the faster of the two as
// measured (`compare`, given by mount(), which measures or recalls). No DOM, no workers.

import { probeWebGpu } from "./webgpu.js";

/** Adapter names that say they are a CPU rasteriser, for browsers that leave
 * `isFallbackAdapter` unset. */
const SOFTWARE_ADAPTER_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i;

/** Whether the adapter is a software one, slower than the CPU backend on these networks. */
export function isSoftwareAdapter(adapter) {
  return Boolean(adapter.isFallbackAdapter) || SOFTWARE_ADAPTER_NAMES.test(adapter.name ?? "");
}

function adapterLabel(adapter) {
  return adapter.name ? adapter.name : "unnamed";
}

function milliseconds(value) {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

/** The backend a measurement favours: WebGPU only when its forward was faster. */
export function fasterOf(measurement) {
  const webgpu = measurement.webgpu_ms_per_forward;
  return typeof webgpu === "number" && webgpu < measurement.cpu_ms_per_forward ? "webgpu" : "cpu";
}

/** Why `auto` took what the measurement favours, in a line. */
export function measuredReason(measurement, remembered) {
  const workers = measurement.cpu_workers;
  const cpu = `${milliseconds(measurement.cpu_ms_per_forward)} on ${workers} CPU worker${workers > 1 ? "s" : ""}`;
  const when = remembered ? `remembered from ${measurement.measured_at}` : "measured now";
  const what = `${measurement.model}, batch ${measurement.batch}; ${when}`;
  const webgpuMs = measurement.webgpu_ms_per_forward;
  if (typeof webgpuMs !== "number") {
    return `auto: CPU, as WebGPU ${measurement.webgpu_note} (${cpu} per forward; ${what})`;
  }
  const webgpu = `${milliseconds(webgpuMs)} on WebGPU`;
  if (fasterOf(measurement) === "webgpu") {
    return `auto: WebGPU is faster here, ${webgpu} per forward against ${cpu} (${what})`;
  }
  return `auto: CPU is faster here, ${cpu} per forward against ${webgpu} (${what})`;
}

/** Which backend to use, and why: `{ backend, reason, basis }`. burn panics without an
 * adapter, so `probe` asks for it first (mount() asks its worker: the first request for an
 * adapter can block its thread for a quarter of a second). `broken`: why WebGPU failed
 * earlier in this page, if it did. `compare(adapter)`: under `auto` with a hardware adapter,
 * resolves to the measured choice; without it a hardware adapter is taken unmeasured. */
export async function chooseBackend(wanted, probe = probeWebGpu, { broken = null, compare = null } = {}) {
  if (wanted === "cpu") {
    return { backend: "cpu", reason: "asked for the CPU backend", basis: "asked" };
  }
  const onCpu = (why, basis = "no-webgpu") => {
    const reason = wanted === "webgpu" ? `WebGPU was asked for, but ${why}; running on the CPU backend` : why;
    return { backend: "cpu", reason, basis };
  };
  if (broken) {
    return onCpu(broken, "webgpu-failed");
  }
  if (!globalThis.navigator?.gpu) {
    return onCpu("this browser has no navigator.gpu");
  }
  const adapter = await probe();
  if (!adapter) {
    return onCpu("navigator.gpu offers no adapter");
  }
  if (adapter.storageBuffers < 8) {
    return onCpu(`the adapter allows only ${adapter.storageBuffers} storage buffers per shader stage`);
  }
  const software = isSoftwareAdapter(adapter);
  if (wanted === "webgpu") {
    const kind = software ? " (software fallback)" : "";
    return { backend: "webgpu", reason: `WebGPU adapter: ${adapterLabel(adapter)}${kind}`, basis: "asked" };
  }
  if (software) {
    const reason = `auto: the only WebGPU adapter, ${adapterLabel(adapter)}, is a software fallback, slower than the CPU backend`;
    return { backend: "cpu", reason, basis: "software-adapter" };
  }
  if (!compare) {
    const reason = `auto: a hardware WebGPU adapter, ${adapterLabel(adapter)} (not measured)`;
    return { backend: "webgpu", reason, basis: "not-measured" };
  }
  return compare(adapter);
}
