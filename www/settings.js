// Settings: the options a page, a URL or an embedder gives, checked and turned into what the
// sampler takes. Every bad value throws an Error that names the setting
// ("invalid q: must lie strictly between 0 and 1, got 1.5"). No DOM, no wasm.

import { autoDgStartOf, classesOf, MODELS } from "./models.js";

export { dimOf, LAB_MODELS, MODELS, weightsFile } from "./models.js";

/** SDG noise windows on λ (SPEC 6): the authors' early (structure) and late (detail) ones. */
const NOISE_PRESETS = {
  early: { level: 0.2, from: -10, to: -4 },
  late: { level: 0.3, from: -3, to: 9 },
};

/** The page's views (www/views.js): the samples as set, Score Alignment of their latents, SDG's
 * noise windows side by side, Prior Guidance beside DG at the same log p. */
export const VIEWS = ["samples", "align", "sdg", "pg-dg"];

/** The views whose lanes are set by the view, not by the method. */
const FIXED_METHOD_VIEWS = ["sdg", "pg-dg"];

/** The method the options' own lanes run, unless the view sets it. */
function ownMethod(options) {
  return !FIXED_METHOD_VIEWS.includes(options.view);
}

/** The most workers a CPU run is split across. */
export const MAX_WORKERS = 8;

/** Every option `mount()` takes, with its default; the URL query uses the same names. */
export const DEFAULTS = {
  view: "samples",
  model: "moons",
  method: "dg",
  q: 0.4,
  dgStart: "auto",
  target: -2.5,
  noise: "late",
  strength: "",
  noiseFrom: -3,
  noiseTo: 9,
  steps: 64,
  solver: "euler",
  seed: 0,
  batch: 512,
  backend: "auto",
  class: "any",
  cfg: 1,
  logp: "hutchinson",
  lambdaMin: -10,
  lambdaMax: 10,
  compare: "",
  weights: "",
  draw: "auto",
  workers: "auto",
  ui: "full",
  trace: false,
};

/** Options that shape the page rather than the run: never written to the URL. */
const PAGE_ONLY_OPTIONS = ["ui", "trace"];

export function fail(name, why) {
  throw new Error(`invalid ${name}: ${why}`);
}

export function usesQ(method) {
  return ["prior", "dg", "sdg"].includes(method);
}

/** When each option matters; the others are left out of the form's view and take their
 * defaults (a hidden class must not fail a moons run). */
const APPLIES = {
  method: (options) => ownMethod(options),
  q: (options) => usesQ(options.method) || !ownMethod(options),
  compare: (options) => usesQ(options.method) && (options.view ?? "samples") === "samples",
  dgStart: (options) => ownMethod(options) && options.method === "dg",
  target: (options) => ownMethod(options) && options.method === "dg-exact",
  noise: (options) => ownMethod(options) && options.method === "sdg",
  strength: (options) => ownMethod(options) && options.method === "sdg",
  noiseFrom: (options) => ownMethod(options) && options.method === "sdg" && options.noise === "custom",
  noiseTo: (options) => ownMethod(options) && options.method === "sdg" && options.noise === "custom",
  solver: (options) => options.view !== "sdg" && (!ownMethod(options) || options.method !== "sdg"),
  class: (options) => classesOf(options.model).length > 0,
  cfg: (options) => classesOf(options.model).length > 0 && !["any", "none"].includes(options.class),
  draw: (options) => options.backend !== "cpu",
  workers: (options) => options.backend !== "webgpu",
};

/** Whether option `name` changes a run with these options. */
export function applies(name, options) {
  return APPLIES[name]?.(options) ?? true;
}

/** The options with every one that does not apply set back to its default. */
export function applicableOptions(options) {
  const kept = { ...options };
  for (const name of Object.keys(APPLIES)) {
    if (name in kept && !applies(name, kept)) {
      kept[name] = DEFAULTS[name];
    }
  }
  return kept;
}

/** What the bare page (no query) runs at once: the paper's point in one picture, the same
 * four Fashion-MNIST starts at a low, a middle and a high q, DG pushing from λ = -2 (the
 * model's "auto"; at 32 steps the classifier names the garment asked for in 83.5–86.5 % of
 * each lane's samples, the plain ODE's in 85.5 %, docs/page.md). On the
 * backend `auto` picks: the CPU backend beside a software adapter, else the faster as
 * measured for this model and batch (about a second, once per device and build; see
 * backend-choice.js). */
export const FIRST_VISIT = {
  model: "fashion",
  method: "dg",
  q: 0.5,
  compare: "0.2,0.5,0.8",
  batch: 4,
  steps: 32,
  backend: "auto",
};

function isBlank(value) {
  return value === "" || value === null || value === undefined;
}

function numberOf(name, value) {
  const number = Number(value);
  if (isBlank(value) || !Number.isFinite(number)) {
    fail(name, `must be a finite number, got ${value}`);
  }
  return number;
}

function integerOf(name, value, min) {
  const number = numberOf(name, value);
  if (!Number.isInteger(number) || number < min) {
    fail(name, `must be an integer >= ${min}, got ${value}`);
  }
  return number;
}

function oneOf(name, value, allowed) {
  if (!allowed.includes(value)) {
    const last = allowed.at(-1);
    const list = `${allowed.slice(0, -1).join(", ")} or ${last}`;
    fail(name, `'${value}' is not ${list}`);
  }
  return value;
}

function sdgNoiseOf(options) {
  let preset;
  if (options.noise === "custom") {
    preset = { level: 0.3, from: numberOf("noiseFrom", options.noiseFrom), to: numberOf("noiseTo", options.noiseTo) };
  } else {
    preset = NOISE_PRESETS[options.noise] ?? fail("noise", `'${options.noise}' is not early, late or custom`);
  }
  const level = isBlank(options.strength) ? preset.level : numberOf("strength", options.strength);
  if (level < 0) {
    fail("strength", `must be >= 0, got ${level}`);
  }
  if (!(preset.from < preset.to)) {
    fail("noise", `the window needs from < to, got ${preset.from}..${preset.to}`);
  }
  return { ...preset, level };
}

/** The λ where DG's push starts, or null for the whole path: "auto" (or blank) takes the
 * model's (models.js), a number is that λ. */
export function dgStartOf(options) {
  const start = options.dgStart ?? "auto";
  if (isBlank(start) || start === "auto") {
    return autoDgStartOf(options.model);
  }
  return numberOf("dgStart", start);
}

function methodOf(options, q) {
  switch (options.method) {
    case "plain":
      return { method: "plain" };
    case "prior":
      return { method: "prior", q };
    case "dg": {
      const start = dgStartOf(options);
      return start === null ? { method: "dg", q } : { method: "dg", q, start };
    }
    case "dg-exact":
      return { method: "dg-exact", target_logp: numberOf("target", options.target) };
    case "sdg":
      return { method: "sdg", q, noise: sdgNoiseOf(options), exact: true };
    default:
      return fail("method", `'${options.method}' is not plain, prior, dg, dg-exact or sdg`);
  }
}

const DIVERGENCES = {
  exact: { kind: "exact" },
  hutchinson: { kind: "hutchinson", probes: 1 },
  off: { kind: "off" },
};

/** Checks the options and turns them into the sampler's settings for the whole batch;
 * `q` overrides `options.q` (a lane of a side-by-side run). */
export function settingsOf(options, q = options.q) {
  const qValue = numberOf("q", q);
  if (usesQ(options.method) && !(qValue > 0 && qValue < 1)) {
    fail("q", `must lie strictly between 0 and 1, got ${q}`);
  }
  const method = methodOf(options, qValue);
  oneOf("solver", options.solver, ["euler", "heun", "rk4"]);
  const divergence = DIVERGENCES[options.logp] ?? fail("logp", `'${options.logp}' is not exact, hutchinson or off`);
  if (options.method === "dg-exact" && options.logp === "off") {
    fail("logp", "density guidance to a target needs a divergence (exact or hutchinson)");
  }
  oneOf("backend", options.backend, ["auto", "webgpu", "cpu"]);
  oneOf("draw", options.draw, ["auto", "gpu", "readback"]);
  workersWanted(options);
  return {
    method,
    solver: options.method === "sdg" ? "euler" : options.solver,
    steps: integerOf("steps", options.steps, 1),
    batch: integerOf("batch", options.batch, 1),
    first: 0,
    seed: integerOf("seed", options.seed, 0),
    window: {
      lambda_min: numberOf("lambdaMin", options.lambdaMin),
      lambda_max: numberOf("lambdaMax", options.lambdaMax),
    },
    divergence,
    guards: { norm_floor: 1e-3, eta_cap: 10 },
  };
}

/** The q values of a side-by-side run: `compare` ("0.2,0.5,0.8") or the one q. */
export function lanesOf(options) {
  if (isBlank(options.compare)) {
    return [Number(options.q)];
  }
  if (!usesQ(options.method)) {
    fail("compare", `side by side varies q, which ${options.method} does not use`);
  }
  const qs = String(options.compare)
    .split(",")
    .map((text) => text.trim());
  if (qs.length < 2 || qs.length > 6) {
    fail("compare", `give 2 to 6 q values, got '${options.compare}'`);
  }
  for (const q of qs) {
    settingsOf(options, q);
  }
  return qs.map(Number);
}

/** The class and classifier-free guidance scale a network is conditioned on. */
export function conditioningOf(options) {
  const anyClass = isBlank(options.class) || options.class === "any";
  const classCount = classesOf(options.model).length;
  if (!anyClass && classCount === 0) {
    fail("class", "only the image models (fashion, emoji) are class-conditional");
  }
  if (options.class === "none") {
    // the unconditional model, through the null label that follows the classes
    return { class: classCount, cfg: 1 };
  }
  const classIndex = anyClass ? undefined : Number(options.class);
  if (!anyClass && !(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < classCount)) {
    fail("class", `'${options.class}' is not any, none or 0..${classCount - 1}`);
  }
  const cfg = numberOf("cfg", options.cfg);
  return { class: classIndex, cfg };
}

export function checkModel(options) {
  oneOf("model", options.model, MODELS);
}

/** `workers`: `auto` or a forced count (1..8). */
function workersWanted(options) {
  if (isBlank(options.workers) || options.workers === "auto") {
    return undefined;
  }
  const count = Number(options.workers);
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    fail("workers", `must be auto or an integer from 1 to ${MAX_WORKERS}, got ${options.workers}`);
  }
  return count;
}

/** How many workers a run on `backend` is split across: one on WebGPU (one device); on the
 * CPU backend min(cores, batch, 8), or the forced `workers` (never more than the batch). */
export function workerCountOf(options, backend, batch, cores) {
  if (backend === "webgpu") {
    return 1;
  }
  const forced = workersWanted(options);
  const wanted = forced ?? Math.min(cores || 1, MAX_WORKERS);
  return Math.max(1, Math.min(wanted, batch));
}

/** The options a URL query sets (only the names mount() knows). */
export function optionsFromQuery(params) {
  const options = {};
  for (const name of Object.keys(DEFAULTS)) {
    if (params.has(name)) {
      options[name] = params.get(name);
    }
  }
  options.trace = params.get("trace") === "1";
  return options;
}

/** The URL query that reproduces a run: the options that differ from the defaults, and run=1. */
export function queryOf(options) {
  const params = new URLSearchParams();
  for (const name of Object.keys(DEFAULTS)) {
    if (!PAGE_ONLY_OPTIONS.includes(name) && String(options[name]) !== String(DEFAULTS[name])) {
      params.set(name, options[name]);
    }
  }
  params.set("run", "1");
  return params.toString();
}
