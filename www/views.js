// The page's views (`view` in the URL): each turns the options into the lanes a run draws side
// by side, the text on what they show, and what the view does around the run.
//   samples  the options as they are: one lane, or q side by side (`compare`)
//   align    the batch drawn as set, and Score Alignment (SPEC 4) checked for its latents
//   sdg      one set of latents under SDG at q with no noise, early noise and late noise
//   pg-dg    Prior Guidance at q beside DG to a target at PG's own final log p
// No DOM, no wasm: what runs where is the controller's (dg.js) and the workers'.
import { describe } from "./explain.js";
import { dimOf } from "./models.js";
import { fail, lanesOf, settingsOf, VIEWS } from "./settings.js";

export { VIEWS };

/** SDG's noise off: the same Euler–Maruyama run with φ̃ = 0 (guidance.rs `Noise::NONE`). */
const NO_NOISE = { level: 0, from: 0, to: 0 };

/** The text under each view's lanes, on what it shows and how to read it. */
const TEXTS = {
  align:
    "Score Alignment (SA): moving a latent along its prior score, that is shrinking it towards the origin, raises the log p of the sample it flows to where SA holds. " +
    "Prior Guidance rests on it: it shrinks the latents for a high q and expects a smoother sample. " +
    "Each sample below says whether SA holds for its latent, checked both ways along the plain ODE: with the score at the end (s(x)ᵀu) and without it (ω); a positive margin means it holds.",
  sdg:
    "Stochastic Density Guidance, the same latents at the same q three ways: no noise, noise early in the flow (λ from −10 to −4) and noise late (λ from −3 to 9). " +
    "The noise is orthogonal to the score, so log p stays on the quantile's path; early noise changes the structure, late noise only the fine detail.",
  "pg-dg":
    "Prior Guidance at q beside Density Guidance steered to the same final log p: first Prior Guidance runs and its batch's mean final log p is measured, then DG to a target runs to that value. " +
    "At equal log p the paper finds the two alike in quality; DG reaches log p that Prior Guidance cannot.",
};

function checkedView(options) {
  const view = options.view || "samples";
  if (!VIEWS.includes(view)) {
    fail("view", `'${view}' is not ${VIEWS.slice(0, -1).join(", ")} or ${VIEWS.at(-1)}`);
  }
  return view;
}

/** The default view: the options' own lanes (q side by side, or one). */
function samplesPlan(options) {
  const qs = lanesOf(options);
  const lanes = qs.map((q) => ({ q, label: qs.length > 1 ? `q = ${q}` : null, settings: settingsOf(options, q) }));
  return { view: "samples", lanes, explain: describe(options, qs) };
}

/** SA beside the batch as set (one lane: a side-by-side `compare` is not taken). */
function alignPlan(options) {
  const single = { ...options, compare: "" };
  const plan = samplesPlan(single);
  return { ...plan, view: "align", explain: `${TEXTS.align} ${describe(single, [Number(options.q)])}` };
}

function sdgPlan(options) {
  const sdg = { ...options, method: "sdg", compare: "", strength: "", noiseFrom: -3, noiseTo: 9 };
  const q = Number(options.q);
  const none = settingsOf({ ...sdg, noise: "late" }, q);
  none.method.noise = { ...NO_NOISE };
  const lanes = [
    { q, label: "no noise", settings: none },
    { q, label: "early noise", settings: settingsOf({ ...sdg, noise: "early" }, q) },
    { q, label: "late noise", settings: settingsOf({ ...sdg, noise: "late" }, q) },
  ];
  return { view: "sdg", lanes, explain: TEXTS.sdg };
}

/** PG at q, and DG to a target whose value `prepare` measures: PG's mean final log p. */
function pgDgPlan(options) {
  if (options.logp === "off") {
    fail("view", "pg-dg compares final log p: set logp to exact or hutchinson");
  }
  const q = Number(options.q);
  const prior = settingsOf({ ...options, method: "prior", compare: "" }, q);
  const exact = settingsOf({ ...options, method: "dg-exact", compare: "" }, q);
  const lanes = [
    { q, label: `Prior Guidance, q = ${q}`, settings: prior },
    { q, label: "DG to PG's log p", settings: exact },
  ];
  /** Runs PG once unseen (the same latents and probes as the lane will use, so the same
   * result), and sets DG's target to its batch's mean final log p. */
  const prepare = async ({ finalLogp, say }) => {
    say("measuring Prior Guidance's final log p…");
    const logp = await finalLogp(prior);
    const target = logp.reduce((sum, value) => sum + value, 0) / logp.length;
    exact.method.target_logp = target;
    lanes[1].label = `DG to log p ${target.toFixed(1)}`;
    return { pg_logp_final: Array.from(logp), target };
  };
  return { view: "pg-dg", lanes, prepare, explain: TEXTS["pg-dg"] };
}

/** The lanes a run with `options` draws ({q, label, settings} each), the text beside them, and
 * a view's `prepare` (before the run, given the backend). Throws on bad settings. */
export function planOf(options) {
  const view = checkedView(options);
  if (view === "align") {
    return alignPlan(options);
  }
  if (view === "sdg") {
    return sdgPlan(options);
  }
  if (view === "pg-dg") {
    return pgDgPlan(options);
  }
  return samplesPlan(options);
}

/** The sampler settings of the SA check for a run's `settings` on `model`: the plain ODE over
 * the same window; on images a one-probe Hutchinson divergence (the exact one costs a backward
 * pass per pixel) and at most `IMAGE_ALIGN_STEPS` Euler steps, which keeps the check within
 * a few times one run (page.md, "Views"). */
export function alignSettingsOf(settings, model) {
  const images = dimOf(model) > 2;
  return {
    ...settings,
    method: { method: "plain" },
    solver: images ? "euler" : settings.solver,
    steps: images ? Math.min(settings.steps, IMAGE_ALIGN_STEPS) : settings.steps,
    divergence: images ? { kind: "hutchinson", probes: 1 } : { kind: "exact" },
  };
}

export const IMAGE_ALIGN_STEPS = 16;

/** Per sample, whether SA holds and its margins, as the text of its entry. */
export function alignRows(alignment) {
  return Array.from(alignment.with_score, (withScore, sample) => {
    const without = alignment.without_score[sample];
    const holds = withScore > 0 && without > 0;
    const fails = withScore <= 0 && without <= 0;
    const verdict = holds ? "SA holds" : fails ? "SA fails" : "SA unclear (the two ways disagree)";
    return `${verdict}: s(x)ᵀu ${signed(withScore)}, ω ${signed(without)}`;
  });
}

/** A margin with its sign and three significant figures. */
export function signed(value) {
  const text = Math.abs(value).toPrecision(3);
  return `${value >= 0 ? "+" : "−"}${text}`;
}

/** How many samples SA holds for, each way: the view's one-line summary. */
export function alignSummary(alignment, ms) {
  const count = alignment.with_score.length;
  const holdsWith = alignment.with_score.filter((value) => value > 0).length;
  const holdsWithout = alignment.without_score.filter((value) => value > 0).length;
  return `SA holds for ${holdsWith} of ${count} latents with the end score, ${holdsWithout} without it (checked in ${(ms / 1000).toFixed(1)} s)`;
}
