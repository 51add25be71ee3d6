// The demo's controls: a form whose field names are mount()'s option names, so the form, the
// URL and the options are one vocabulary. Building it, filling it from options, reading it
// back, and the q readout (with Prior Guidance's radius, asked of the sampler's worker).
import { classesOf } from "./models.js";
import { applicableOptions, applies } from "./settings.js";

/** [value, label] pairs of each select. */
const CHOICES = {
  view: [
    ["samples", "samples (q side by side)"],
    ["align", "score alignment per sample"],
    ["sdg", "SDG: no, early and late noise"],
    ["pg-dg", "prior guidance beside DG"],
  ],
  model: [
    ["moons"],
    ["8gaussians"],
    ["checkerboard"],
    ["gmm", "gmm (trained)"],
    ["gmm-exact", "gmm (analytic)"],
    ["fashion", "Fashion-MNIST"],
    ["emoji", "emoji (colour)"],
  ],
  method: [
    ["plain", "plain ODE"],
    ["prior", "prior guidance"],
    ["dg", "density guidance (q)"],
    ["dg-exact", "density guidance (target)"],
    ["sdg", "stochastic density guidance"],
  ],
  noise: [["early"], ["late"], ["custom", "custom window"]],
  solver: [["euler"], ["heun"], ["rk4"]],
  logp: [["hutchinson"], ["exact"], ["off"]],
  backend: [["auto"], ["webgpu", "WebGPU"], ["cpu", "CPU"]],
  draw: [["auto"], ["gpu", "on the GPU, no readback"], ["readback", "from a readback"]],
  class: classChoices("fashion"),
};

/** The class select's choices for an image model: any (all in turn), its classes, then none
 * (the unconditional model). */
function classChoices(model) {
  return [["any"], ...classesOf(model).map((name, index) => [index, name]), ["none", "none (unconditional)"]];
}

/** One line on what each control does (shown under it, and read out with it). */
const HINTS = {
  view: "What to show: the samples, the score-alignment check of their latents, SDG's noise windows, or PG beside DG at one log p.",
  model: "The trained flow model: 2-D toy sets, Fashion-MNIST garments or colour emoji.",
  method: "The plain ODE, or how the sampler steers log p.",
  q: "Which quantile of log p to aim at: low q, rarer and more detailed; high q, typical and smoother.",
  target: "The log p every sample is steered to.",
  class: "Which class to draw: a garment (Fashion-MNIST) or an emoji group (emoji); none, the unconditional model.",
  compare: "Several q values side by side, from the same starting noise (e.g. 0.2,0.5,0.8).",
  dgStart:
    "Where on λ DG starts to push: auto, from -2 for the image models (pushed earlier, low q turns to speckle), the whole path for the 2-D lab.",
  noise: "When SDG adds noise: early shapes structure, late adds detail.",
  strength: "How much noise SDG adds (blank: the window's preset).",
  noiseWindow: "SDG's custom noise window, from and to on λ.",
  solver: "The ODE integrator (SDG always steps with Euler–Maruyama).",
  steps: "Integration steps from noise to data; every one is drawn.",
  seed: "The same seed gives the same starting noise.",
  batch: "Samples per run (per lane when side by side).",
  lambdaWindow: "λ (log signal-to-noise) from pure noise to data.",
  logp: "How log p is tracked: a one-probe Hutchinson estimate, the exact divergence, or off.",
  backend: "Where the sampler runs: auto takes the faster for this model and batch, never a software GPU.",
  draw: "WebGPU runs: draw on the GPU (no readback) or from a readback.",
  workers: "CPU runs: how many workers share the batch.",
  cfg: "Classifier-free guidance scale for the chosen class (1: none).",
};

/** The essential controls, shown first; the rest sit in the advanced section. */
const ESSENTIAL = ["view", "model", "method", "q", "target", "class"];
const ADVANCED = [
  "compare",
  "dgStart",
  "noise",
  "strength",
  "noiseWindow",
  "solver",
  "steps",
  "seed",
  "batch",
  "lambdaWindow",
  "logp",
  "backend",
  "draw",
  "workers",
  "cfg",
];

/** Pairs of number inputs under one caption: [caption, [name, accessible name]...]. */
const PAIRS = {
  noiseWindow: ["SDG window λ", ["noiseFrom", "SDG window from λ"], ["noiseTo", "SDG window to λ"]],
  lambdaWindow: ["λ window", ["lambdaMin", "λ window start"], ["lambdaMax", "λ window end"]],
};

/** Label and input attributes of the single-field controls that are not selects. */
const INPUTS = {
  q: ["q", 'type="range" min="0.01" max="0.99" step="0.01"'],
  target: ["target log p", 'type="number" step="0.5"'],
  compare: ["compare q side by side", 'placeholder="e.g. 0.2,0.5,0.8"'],
  dgStart: ["DG starts at λ", 'placeholder="auto"'],
  strength: ["SDG strength", 'type="number" step="0.05" min="0" placeholder="preset"'],
  steps: ["steps", 'type="number" min="1"'],
  seed: ["seed", 'type="number" min="0"'],
  batch: ["batch", 'type="number" min="1"'],
  workers: ["CPU workers", 'placeholder="auto"'],
  cfg: ["CFG scale", 'type="number" step="0.5"'],
};

const SELECT_LABELS = {
  view: "view",
  model: "model",
  method: "method",
  class: "class",
  noise: "SDG noise",
  solver: "solver",
  logp: "log p",
  backend: "backend",
  draw: "drawing (WebGPU)",
};

/** Ids stay unique when a page mounts the demo more than once. */
let mounts = 0;

/** Class names hold "&" (emoji groups): escaped for HTML. */
function escapedHtml(text) {
  return String(text).replaceAll("&", "&amp;").replaceAll("<", "&lt;");
}

function optionsHtml(choices) {
  return choices.map(([value, label]) => `<option value="${value}">${escapedHtml(label ?? value)}</option>`).join("");
}

function fieldHtml(prefix, name) {
  const hintId = `${prefix}-${name}-hint`;
  const hint = `<small class="dg-hint" id="${hintId}">${HINTS[name]}</small>`;
  const described = `aria-describedby="${hintId}"`;
  let control;
  if (name in PAIRS) {
    const [caption, ...fields] = PAIRS[name];
    const inputs = fields
      .map(([field, label]) => `<input name="${field}" type="number" step="0.5" aria-label="${label}" ${described}>`)
      .join(" ");
    control = `<span class="dg-caption">${caption}</span><span class="dg-pair">${inputs}</span>`;
  } else {
    const id = `${prefix}-${name}`;
    const [label, attributes] = INPUTS[name] ?? [SELECT_LABELS[name]];
    const input =
      name in INPUTS
        ? `<input id="${id}" name="${name}" ${attributes} ${described}>`
        : `<select id="${id}" name="${name}" ${described}>${optionsHtml(CHOICES[name])}</select>`;
    const readout = name === "q" ? '<output class="dg-q"></output>' : "";
    control = `<label for="${id}">${label} ${readout}</label>${input}`;
  }
  return `<div class="dg-field" data-field="${name}">${control}${hint}</div>`;
}

/** The form: every field is named after its option; essentials first, the rest folded away. */
export function controlsHtml() {
  const prefix = `dg${++mounts}`;
  const fields = (names) => names.map((name) => fieldHtml(prefix, name)).join("");
  return `<form class="dg-controls">
  <div class="dg-essential">${fields(ESSENTIAL)}</div>
  <div class="dg-buttons">
    <button type="submit">Run</button>
    <button type="button" data-act="stop">Stop</button>
    <button type="button" data-act="png">Save PNG</button>
    <button type="button" data-act="json">Save JSON</button>
  </div>
  <details class="dg-advanced"><summary>More settings</summary><div class="dg-grid">${fields(ADVANCED)}</div></details>
</form>`;
}

/** Lists the classes of `model` in the class select (kept as they are for a model without
 * classes, whose class control is hidden); a class the model lacks becomes any. */
function listClasses(form, model) {
  const select = form.elements.class;
  if (classesOf(model).length === 0 || select.dataset.model === model) {
    return;
  }
  const chosen = select.value;
  select.innerHTML = optionsHtml(classChoices(model));
  select.dataset.model = model;
  select.value = chosen;
  if (select.value !== chosen) {
    select.value = "any";
  }
}

/** Sets every field whose name is an option to that option's value. */
export function fillForm(form, options) {
  listClasses(form, options.model);
  for (const field of form.elements) {
    if (field.name in options) {
      field.value = options[field.name];
    }
  }
  showApplicable(form);
}

/** The options the form holds; those that do not apply take their defaults. */
export function readForm(form) {
  return applicableOptions(Object.fromEntries(new FormData(form)));
}

/** The field names a control's wrapper covers. */
function namesOf(wrapper) {
  const name = wrapper.dataset.field;
  return name in PAIRS ? PAIRS[name].slice(1).map(([field]) => field) : [name];
}

/** Hides the controls that do not apply to the chosen model, method and backend. */
export function showApplicable(form) {
  const options = Object.fromEntries(new FormData(form));
  for (const wrapper of form.querySelectorAll(".dg-field")) {
    wrapper.hidden = !namesOf(wrapper).every((name) => applies(name, options));
  }
}

/** Keeps the q readout in step with the slider: q, and Prior Guidance's radius χ_D⁻¹(1 - q)
 * in units of σ once `chiQuantile(dim, p)` (async: the sampler's worker answers) resolves. */
export function watchQ(form, readout, dimOfForm, chiQuantile) {
  let latest = 0;
  const show = async () => {
    const asked = ++latest;
    const q = Number(form.elements.q.value);
    const dim = dimOfForm();
    readout.textContent = q.toFixed(2);
    let radius;
    try {
      radius = await chiQuantile(dim, 1 - q);
    } catch {
      return; // q at an end of the slider
    }
    if (asked === latest) {
      readout.textContent = `${q.toFixed(2)} · PG radius χ⁻¹(1-q) = ${radius.toFixed(2)}σ (D=${dim})`;
    }
  };
  form.elements.q.addEventListener("input", show);
  form.elements.model.addEventListener("change", show);
  return show;
}

/** How long q must rest before it re-runs the sampler: a drag does not start a run per pixel. */
const RERUN_DELAY_MS = 250;

/** Wires the buttons to the controller's actions, hides what stops applying as the form
 * changes, and re-runs after q (or the target) comes to rest: one lane at the new q, so detail
 * follows q on the same starting noise. */
export function wireButtons(form, actions) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    actions.run(readForm(form));
  });
  for (const button of form.querySelectorAll("[data-act]")) {
    button.addEventListener("click", () => actions[button.dataset.act]());
  }
  form.addEventListener("change", (event) => {
    if (event.target.name === "model") {
      listClasses(form, event.target.value);
    }
    showApplicable(form);
  });
  let pause;
  const rerunAtRest = () => {
    clearTimeout(pause);
    pause = setTimeout(() => actions.run({ ...readForm(form), compare: "" }), RERUN_DELAY_MS);
  };
  form.elements.q.addEventListener("input", rerunAtRest);
  form.elements.target.addEventListener("change", rerunAtRest);
}
