// Types of the embedding module (www/dg.js): mount()'s options, the controller it resolves
// to, the run record, and the <density-guidance> element. Numbers may also be given as
// strings (a URL query or an element attribute), as the module reads both.

export type Model = "moons" | "8gaussians" | "checkerboard" | "gmm" | "gmm-exact" | "fashion";
export type Method = "plain" | "prior" | "dg" | "dg-exact" | "sdg";
export type Backend = "auto" | "webgpu" | "cpu";
type NumberLike = number | string;

/** mount()'s options; every one has a default (DEFAULTS), and the URL query uses the same names. */
export interface MountOptions {
  model?: Model;
  method?: Method;
  /** The log p quantile to aim at, strictly between 0 and 1 (prior, dg, sdg). */
  q?: NumberLike;
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
  backend?: Backend;
  /** Fashion-MNIST's garment: "any" or 0..9. */
  class?: "any" | NumberLike;
  /** Classifier-free guidance scale (Fashion-MNIST with a class). */
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
  compute_ms: number;
  readback_ms: number;
  draw_ms: number;
  step_ms: number;
}

export interface Timings {
  /** Loading the sampler at mount. */
  cold_start_ms: number;
  /** WebGPU shader compilation before the first run of a kind. */
  warmup_ms: number;
  create_ms: number;
  /** From run() to the first drawn step. */
  first_step_ms: number;
  /** The first drawn step on the page's clock (performance.now()). */
  first_drawn_at_ms?: number;
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
  logp_final: number[];
  trajectory: TrajectoryPoint[];
  nfe: number;
}

/** What run() resolves to, the `done` event's detail and what the JSON button saves. */
export interface RunRecord {
  settings: MountOptions;
  /** The backend that ran, and why it was chosen. */
  backend: "webgpu" | "cpu";
  backend_reason: string;
  draw: "gpu" | "readback";
  workers: number;
  steps_drawn: number;
  stopped: boolean;
  nfe: number;
  /** One number per sample (the first lane's). */
  logp_final: number[];
  trajectory: TrajectoryPoint[];
  guard_steps: number;
  /** Present when several q values ran side by side. */
  lanes?: LaneRecord[];
  timings: Timings;
  memory: Memory;
  gpu_vs_readback_max_diff?: number;
  canvas_checksums?: number[];
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
}

/** Mounts the demo into `element`; resolves once the sampler is loaded. The element fires
 * `runstart` and `done` (the record, or null after a failure) per run. */
export function mount(element: HTMLElement, options?: MountOptions): Promise<Controller>;

/** Which backend a run would use, and why. */
export function chooseBackend(
  wanted: Backend,
  probe?: () => Promise<{ name?: string; isFallbackAdapter?: boolean; storageBuffers: number } | null>,
): Promise<{ backend: "webgpu" | "cpu"; reason: string }>;

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
  done: CustomEvent<RunRecord | null>;
}

declare global {
  interface HTMLElementTagNameMap {
    "density-guidance": DensityGuidanceElement;
  }
}
