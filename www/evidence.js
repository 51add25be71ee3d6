// What the page measures once a run's last step is drawn, so the paper's claims are checked in
// front of the visitor: the detail meter of every image lane (bits per pixel of each sample's
// PNG beside its log p, and the visit's scatter), and in the `align` view Score Alignment of
// the batch's latents, computed in the workers. Results go into the run record too.
import { detailRows, detailSummary, meanOf, measureDetail, showSamples } from "./detail.js";
import { alignRows, alignSettingsOf, alignSummary } from "./views.js";

/** Base64 of bytes (the record's PNGs, with `trace`). */
function base64Of(bytes) {
  let text = "";
  for (const byte of bytes) {
    text += String.fromCharCode(byte);
  }
  return btoa(text);
}

function figureOf(lane) {
  return lane.ctx.canvas.closest("figure");
}

function labelOf(lane) {
  return lane.label ?? "samples";
}

/** Measures every lane's detail and (`show`: the full UI, not the bare canvas) shows it; adds
 * the samples to the scatter (when the demo has one) and `record.detail`. Nothing for the 2-D
 * lab. */
export async function meterLanes(lanes, record, { scatter, model, trace, show }) {
  const measured = [];
  for (const lane of lanes) {
    const detail = await measureDetail(lane.state);
    if (!detail) {
      return;
    }
    lane.detail = detail;
    const logp = Array.from(lane.state.logp);
    lane.meterRows = detailRows(logp, detail.bpp);
    if (show) {
      showSamples(figureOf(lane), {
        summary: detailSummary(logp, detail.bpp, Boolean(lane.caption)),
        rows: lane.meterRows,
        label: labelOf(lane),
        dim: lane.state.dim,
      });
    }
    const entry = { label: labelOf(lane), logp, bpp: detail.bpp, bpp_mean: meanOf(detail.bpp) };
    if (trace) {
      entry.png_base64 = detail.pngs.map(base64Of);
    }
    measured.push(entry);
  }
  record.detail = { lanes: measured };
  if (scatter) {
    const points = lanes.flatMap((lane, index) =>
      lane.detail.bpp.map((bpp, sample) => ({ bpp, logp: lane.state.logp[sample], lane: index })),
    );
    scatter.add(model, points);
    record.detail.scatter = scatter.current;
  }
}

/** SA of the batch's latents (the `align` view): split over the run's workers as its batch
 * was, joined in order, shown per sample under the lane and kept in `record.alignment`. */
export async function checkAlignment(lane, record, { pool, count, backend, sampler, settings, model, say }) {
  const started = performance.now();
  const alignSettings = alignSettingsOf(settings, model);
  say(`checking score alignment of the ${settings.batch} latents (${alignSettings.steps} steps)…`);
  const slices = await pool.sliced("align", {
    count,
    backend,
    model: sampler.model,
    weights: sampler.weights,
    settings: alignSettings,
  });
  const join = (key) => slices.flatMap((slice) => Array.from(slice[key]));
  const alignment = {
    with_score: join("with_score"),
    without_score: join("without_score"),
    latent: join("latent"),
    steps: alignSettings.steps,
    solver: alignSettings.solver,
    divergence: alignSettings.divergence.kind,
    ms: performance.now() - started,
  };
  const rows = alignRows(alignment);
  const meter = lane.meterRows ?? Array.from(lane.state.logp, (value) => `log p ${value.toFixed(2)}`);
  const joined = rows.map((row, sample) => `${meter[sample]} · ${row}`);
  showSamples(figureOf(lane), {
    summary: alignSummary(alignment, alignment.ms),
    rows: joined,
    label: labelOf(lane),
    dim: lane.state.dim,
    open: true,
  });
  record.alignment = alignment;
  say(alignSummary(alignment, alignment.ms));
}
