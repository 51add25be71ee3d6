// Types of the embedding module (www/dg.js): mount()'s options, the controller it resolves
// to, the run record, and the <density-guidance> element. Numbers may also be given as
// strings (a URL query or an element attribute), as the module reads both.

/** The 2-D lab's models, and two class-conditional image models: `fashion` (Fashion-MNIST,
 * 28×28 grey) and `emoji` (Noto Color Emoji, 32×32 RGB; samples are rows of 3·32·32 values,
 * channel-major, in [-1, 1]). */
export type Model = "moons" | "8gaussians" | "checkerboard" | "gmm" | "gmm-exact" | "fashion" | "emoji";
export type Method = "plain" | "prior" | "dg" | "dg-exact" | "sdg";
export type Backend = "auto" | "webgpu" | "cpu";
type NumberLike = number | string;

/** mount()'s options; every one has a default (DEFAULTS), and the URL query uses the same names. */
export interface MountOptions {
  /** What the page shows (www/views.js): the samples as set (default); `align`, Score
   * Alignment of the batch's latents; `sdg`, no, early and late noise at q; `pg-dg`, Prior
   * Guidance at q beside DG to PG's mean final log p. */
  view?: "samples" | "align" | "sdg" | "pg-dg";
  model?: Model;
  method?: Method;
  /** The log p quantile to aim at, strictly between 0 and 1 (prior, dg, sdg). */
  q?: NumberLike;
  /** Where on λ DG's push starts (dg): "auto" (default) starts the image models at -2, where
   * earlier pushes turn low q into speckle, and the 2-D lab at lambdaMin (the paper's whole
   * path); a number is that λ. */
  dgStart?: "auto" | NumberLike;
  /** The log p every sample is steered to (dg-exact). */
  target?: NumberLike;
  /** SDG's noise window: the authors' early or late preset, or noiseFrom..noiseTo. */
  noise?: "early" | "late" | "custom";
  /** SDG's noise level; blank for the preset's. */
  strength?: NumberLike;
  noiseFrom?: NumberLike;
  noiseTo?: NumberLike;
  steps?: NumberLike;
  solver?: "euler" | "heun" | "rk4";
  seed?: NumberLike;
  /** Samples per run (per lane when side by side). */
  batch?: NumberLike;
  /** "auto": the CPU backend when the only WebGPU adapter is a software fallback, else the
   * faster of the two for this model and batch, measured (a few forwards of each in the
   * workers, about a second) and remembered in localStorage per build, device, model and batch.
   * The choice and why: `backendchoice`, the record's `backend_choice`, the controller's
   * `backendChoice`. */
  backend?: Backend;
  /** The image models' class: "any" (every class in turn over the batch), its index, or
   * "none" (the unconditional model, through the null label).
   * fashion, 0..9: t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag,
   * ankle boot. emoji, 0..8, the groups of Unicode's emoji-test.txt: Smileys & Emotion,
   * People & Body, Animals & Nature, Food & Drink, Travel & Places, Activities, Objects,
   * Symbols, Flags. */
  class?: "any" | "none" | NumberLike;
  /** Classifier-free guidance scale (an image model with a class). */
  cfg?: NumberLike;
  logp?: "hutchinson" | "exact" | "off";
  lambdaMin?: NumberLike;
  lambdaMax?: NumberLike;
  /** Two to six q values run side by side from the same noise, e.g. "0.2,0.5,0.8". */
  compare?: string;
  /** The URL of other .safetensors weights, resolved against the page; blank for the shipped ones. */
  weights?: string;
  draw?: "auto" | "gpu" | "readback";
  /** "auto", or how many workers (1-8) a CPU run is split across. */
  workers?: "auto" | NumberLike;
  /** "full": controls, canvas and log p plot; "canvas": only the canvas. */
  ui?: "full" | "canvas";
  /** Keep the page URL's query in step with the run. */
  url?: boolean;
  /** A test option: the record also holds canvas checksums and the final samples. */
  trace?: boolean;
}

/** log p of one step: its λ and the batch's mean, min and max. */
export interface TrajectoryPoint {
  lambda: number;
  mean: number;
  min: number;
  max: number;
}

export interface StepTiming {
  /** The slowest worker's compute (on WebGPU the kernels' queueing; their run is in the readback). */
  compute_ms: number;
  readback_ms: number;
  /** From the last worker's post to the joined state on the page: the replies' transit and join. */
  messaging_ms: number;
  /** Drawing, in the worker (GPU drawing) and on the page. */
  draw_ms: number;
  step_ms: number;
}

export interface Timings {
  /** Loading the sampler at mount. */
  cold_start_ms: number;
  /** Choosing the backend: the adapter probe and, under `auto`, the measurement if one ran. */
  choose_backend_ms: number;
  /** WebGPU shader compilation before the first run of a kind. */
  warmup_ms: number;
  create_ms: number;
  /** From run() to the first drawn step. */
  first_step_ms: number;
  /** The first drawn step on the page's clock (performance.now()). */
  first_drawn_at_ms?: number;
  /** What run() costs beyond its first step's compute and readback: from the call to the first
   * drawn step, less those. */
  fixed_ms?: number;
  steps: StepTiming[];
  /** The mean time between drawn steps after the first. */
  ms_per_step?: number;
}

export interface WorkerMemory {
  wasm_bytes: number;
  gpu?: GpuMemory | null;
}

export interface GpuMemory {
  bytes_in_use: number;
  bytes_reserved: number;
  [key: string]: number;
}

export interface Memory {
  /** Summed over the workers. */
  wasm_bytes: number;
  /** The WebGPU pool's bytes, or null on the CPU backend. */
  gpu: GpuMemory | null;
  workers: WorkerMemory[];
}

/** One lane of a side-by-side run. */
export interface LaneRecord {
  q: number;
  /** What the lane shows ("q = 0.2", "late noise", "DG to log p 1443.4"). */
  label: string;
  logp_final: number[];
  trajectory: TrajectoryPoint[];
  nfe: number;
}

/** The measurement behind `auto` on a hardware adapter (remembered as it is). */
export interface BackendMeasurement {
  /** The model measured (its name, or the `weights` URL) and the batch per lane. */
  model: string;
  batch: number;
  /** ms per forward of the network, the slowest of the CPU workers. */
  cpu_ms_per_forward: number;
  cpu_workers: number;
  /** ms per forward on WebGPU; null when WebGPU missed its deadline or failed (`webgpu_note`). */
  webgpu_ms_per_forward: number | null;
  webgpu_note: string;
  /** What the measurement cost: in all, the CPU part, the WebGPU part. */
  cost_ms: number;
  cpu_cost_ms: number;
  webgpu_cost_ms: number;
  /** When it ran ("YYYY-MM-DD HH:MM", UTC). */
  measured_at: string;
}

/** Which backend a run used and why: the `backendchoice` event's detail, the record's
 * `backend_choice` and the controller's `backendChoice`. */
export interface BackendChoice {
  /** The `backend` option. */
  wanted: Backend;
  backend: "webgpu" | "cpu";
  /** Why, in a line (also in the status line). */
  reason: string;
  /** asked: the option named it; no-webgpu: no usable adapter; webgpu-failed: WebGPU failed
   * earlier in this page; software-adapter: auto beside a software fallback adapter;
   * measured / remembered: auto, the faster as measured now or on an earlier visit;
   * not-measured: chooseBackend() without a `compare`. */
  basis: "asked" | "no-webgpu" | "webgpu-failed" | "software-adapter" | "measured" | "remembered" | "not-measured";
  /** measured / remembered only. */
  measurement?: BackendMeasurement;
  /** How long the choice took, in ms. */
  choose_ms: number;
}

/** The detail meter of one image lane: per sample its log p and the bits per pixel of its 8-bit
 * PNG (8 × bytes / pixels); with `trace` the PNGs themselves. */
export interface DetailLane {
  label: string;
  logp: number[];
  bpp: number[];
  bpp_mean: number;
  png_base64?: string[];
}

/** The visit's scatter of the current model: [bits per pixel, log p] per image sample. */
export interface DetailScatter {
  model: string;
  runs: number;
  points: [number, number][];
  /** Pearson's r of the points; null with fewer than 3. */
  r: number | null;
}

/** Score Alignment of the batch's latents (view `align`), joined over the workers. */
export interface AlignmentRecord {
  /** The latents, row-major; SA holds for sample k where its margins are positive. */
  latent: number[];
  /** s(x_end)ᵀu_end and ω_end per sample. */
  with_score: number[];
  without_score: number[];
  steps: number;
  solver: string;
  divergence: string;
  /** What the check cost, in ms. */
  ms: number;
}

/** What run() resolves to, the `done` event's detail and what the JSON button saves. */
export interface RunRecord {
  settings: MountOptions;
  /** The backend that ran, and why it was chosen. */
  backend: "webgpu" | "cpu";
  backend_reason: string;
  backend_choice: BackendChoice;
  draw: "gpu" | "readback";
  workers: number;
  steps_drawn: number;
  stopped: boolean;
  nfe: number;
  /** One number per sample (the first lane's). */
  logp_final: number[];
  trajectory: TrajectoryPoint[];
  guard_steps: number;
  /** Present when several lanes ran side by side (q values, or a view's). */
  lanes?: LaneRecord[];
  /** The view and what it measured before the run (pg-dg: PG's final log p and the target). */
  view: { name: string; pg_logp_final?: number[]; target?: number };
  /** Image models only: the detail meter per lane and the visit's scatter (full UI). */
  detail?: { lanes: DetailLane[]; scatter?: DetailScatter };
  /** View `align` only. */
  alignment?: AlignmentRecord;
  timings: Timings;
  memory: Memory;
  gpu_vs_readback_max_diff?: number;
  canvas_checksums?: number[];
  /** The final state, one row per sample (2 values, or an image's channel-major values). */
  samples?: number[];
}

export interface Controller {
  /** Runs with the current options plus `overrides`; rejects with an Error naming a bad setting.
   * Resolves to null when a newer run took over. */
  run(overrides?: MountOptions): Promise<RunRecord | null>;
  /** Ends the run after the step in flight. */
  stop(): void;
  /** Stops any run, ends the workers and empties the element. */
  dispose(): void;
  readonly lastRun: RunRecord | null;
  /** The last run's choice of backend and why; null before the first run. */
  readonly backendChoice: BackendChoice | null;
}

/** Mounts the demo into `element`; resolves once the sampler is loaded. The element fires
 * `runstart`, `backendchoice` (once the backend is chosen) and `done` (the record, or null
 * after a failure) per run. */
export function mount(element: HTMLElement, options?: MountOptions): Promise<Controller>;

export interface AdapterProbe {
  name?: string;
  isFallbackAdapter?: boolean;
  storageBuffers: number;
}

/** Which backend a run would use, and why. Under `auto` a software fallback adapter gives
 * the CPU backend; a hardware one goes to `compare` (mount() measures there), or without it
 * is taken unmeasured. */
export function chooseBackend(
  wanted: Backend,
  probe?: () => Promise<AdapterProbe | null>,
  options?: {
    /** Why WebGPU failed earlier, if it did: the CPU backend then. */
    broken?: string | null;
    compare?: (adapter: AdapterProbe) => Promise<Omit<BackendChoice, "wanted" | "choose_ms">>;
  },
): Promise<Omit<BackendChoice, "wanted" | "choose_ms">>;

/** Every option's default. */
export const DEFAULTS: Required<Omit<MountOptions, "url">>;

/** The sampler's settings for `options` (q overriding options.q); throws an Error naming a bad setting. */
export function settingsOf(options: MountOptions, q?: NumberLike): Record<string, unknown>;

/** The shipped weights of a model, relative to the package root (models/...). */
export function weightsFile(model: Model): string;

/** `<density-guidance model="fashion" q="0.3" ui="canvas" autorun>`: attributes are mount's
 * options (camelCase options as kebab-case attributes). */
export class DensityGuidanceElement extends HTMLElement {
  /** Set once the element has mounted (after its `ready` event). */
  controller?: Controller;
}

export interface DensityGuidanceEventMap extends HTMLElementEventMap {
  ready: Event;
  runstart: CustomEvent<MountOptions>;
  backendchoice: CustomEvent<BackendChoice>;
  done: CustomEvent<RunRecord | null>;
}

declare global {
  interface HTMLElementTagNameMap {
    "density-guidance": DensityGuidanceElement;
  }
}
