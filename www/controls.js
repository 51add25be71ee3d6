// The demo's controls: a form whose field names are mount()'s option names, so the form, the
// URL and the options are one vocabulary. Building it, filling it from options, reading it
// back, and the q readout (with Prior Guidance's radius, asked of the sampler's worker).
import { CLASSES } from "./settings.js";

/** [value, label] pairs of each select. */
const CHOICES = {
  model: [
    ["moons"],
    ["8gaussians"],
    ["checkerboard"],
    ["gmm", "gmm (trained)"],
    ["gmm-exact", "gmm (analytic)"],
    ["fashion", "Fashion-MNIST"],
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
  class: [["any"], ...CLASSES.map((name, index) => [index, name])],
};

function optionsHtml(name) {
  return CHOICES[name].map(([value, label]) => `<option value="${value}">${label ?? value}</option>`).join("");
}

function selectHtml(label, name) {
  return `<label>${label} <select name="${name}">${optionsHtml(name)}</select></label>`;
}

function inputHtml(label, name, attributes) {
  return `<label>${label} <input name="${name}" ${attributes}></label>`;
}

/** The form: every field is named after its option. */
export function controlsHtml() {
  return `<form class="dg-controls">
  ${selectHtml("model", "model")}
  ${selectHtml("method", "method")}
  <label>q <input name="q" type="range" min="0.01" max="0.99" step="0.01"><output class="dg-q"></output></label>
  ${inputHtml("compare q side by side", "compare", 'placeholder="e.g. 0.2,0.5,0.8"')}
  ${inputHtml("target log p", "target", 'type="number" step="0.5"')}
  ${selectHtml("SDG noise", "noise")}
  ${inputHtml("SDG strength", "strength", 'type="number" step="0.05" min="0" placeholder="preset"')}
  <label>SDG window λ from / to <span><input name="noiseFrom" type="number" step="0.5" size="4"> <input name="noiseTo" type="number" step="0.5" size="4"></span></label>
  ${inputHtml("steps", "steps", 'type="number" min="1"')}
  ${selectHtml("solver", "solver")}
  ${inputHtml("seed", "seed", 'type="number" min="0"')}
  ${inputHtml("batch", "batch", 'type="number" min="1"')}
  ${selectHtml("log p", "logp")}
  ${selectHtml("backend", "backend")}
  ${selectHtml("drawing (WebGPU)", "draw")}
  ${inputHtml("CPU workers", "workers", 'placeholder="auto"')}
  ${selectHtml("garment class", "class")}
  ${inputHtml("CFG scale", "cfg", 'type="number" step="0.5"')}
  <div class="dg-buttons">
    <button type="submit">Run</button>
    <button type="button" data-act="stop">Stop</button>
    <button type="button" data-act="png">PNG</button>
    <button type="button" data-act="json">JSON</button>
  </div>
</form>`;
}

/** Sets every field whose name is an option to that option's value. */
export function fillForm(form, options) {
  for (const field of form.elements) {
    if (field.name in options) {
      field.value = options[field.name];
    }
  }
}

/** The options the form holds. */
export function readForm(form) {
  return Object.fromEntries(new FormData(form));
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

/** Wires the buttons to the controller's actions. */
export function wireButtons(form, actions) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    actions.run(readForm(form));
  });
  for (const button of form.querySelectorAll("[data-act]")) {
    button.addEventListener("click", () => actions[button.dataset.act]());
  }
}
