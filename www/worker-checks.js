// What the views ask of a sampler worker besides stepping a drawn run (www/views.js): Score
// Alignment of its slice's latents (the wasm `align`), and the final log p of a run it steps
// to the end unseen (Prior Guidance's, which DG is then steered to). Imported by worker.js.
import { align, Run } from "./pkg/dg.js";
import { release } from "./run-release.js";

/** SA of this slice's latents: `{latent, with_score, without_score, dim, ms}`, the arrays'
 * buffers transferred. */
async function alignSlice({ model, weights, settings, backend }) {
  const started = performance.now();
  const found = await align(model, weights, settings, backend);
  const value = { ...found, ms: performance.now() - started };
  return { value, transfer: [found.latent.buffer, found.with_score.buffer, found.without_score.buffer] };
}

/** Steps a run of this slice to its end and answers its final log p (one per sample). */
async function finalLogp({ model, weights, settings, backend }) {
  const run = await Run.create(model, weights, settings, backend);
  try {
    while (run.step()) {
      // each step is queued on the device; only the end is read back
    }
    const state = await run.read(false);
    return { value: state.logp, transfer: [state.logp.buffer] };
  } finally {
    release(run);
  }
}

export const checkOperations = { align: alignSlice, finalLogp };
