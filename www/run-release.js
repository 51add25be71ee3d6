// Ending a sampler run in a worker, written once for the drawn runs (worker.js) and the views'
// unseen ones (worker-checks.js).

/** Frees a run's tensors and then the Run itself (left to the garbage collector, each Run
 * would hold its bit of wasm memory until collected). */
export function release(run) {
  run.dispose();
  run.free();
}
