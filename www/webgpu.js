// The WebGPU adapter probe, shared by the page and the sampler's worker (burn panics where no
// adapter exists, so the adapter is asked for first).

/** The WebGPU adapter as this thread sees it: `null` without one, else its limits and names
 * (plain data, so that a worker can post it). */
export async function probeWebGpu() {
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) {
    return null;
  }
  const info = adapter.info ?? {};
  return {
    storageBuffers: adapter.limits.maxStorageBuffersPerShaderStage,
    name: [info.vendor, info.architecture, info.description].filter(Boolean).join(" "),
    isFallbackAdapter: Boolean(info.isFallbackAdapter),
  };
}
