// The embedding module. `mount(element, options)` puts the density-guidance demo (controls,
// canvas, log p plot; or only the canvas with `ui: 'canvas'`) into any element and resolves to
// a controller { run(overrides), stop(), dispose(), backendChoice }; the element fires
// `runstart`, `backendchoice` and `done` per run. `<density-guidance>` wraps it.
//
// The page never runs the sampler: module workers do (www/worker.js, www/pool.js), one per
// core on the CPU backend, each over a slice of the batch, and one on WebGPU. This module
// handles the options, the controls and the drawing of each step they post.
import { chooseBackend } from "./backend-choice.js";
import { measuredChoice } from "./backend-measure.js";
import { measurementKey } from "./backend-memory.js";
import { controlsHtml, fillForm, watchQ, wireButtons } from "./controls.js";
import { canvasChecksum, drawState, drawUnderGpuLayer, maxPixelDifference, pixelsOf, sideBySide } from "./draw.js";
import { checkAlignment, meterLanes } from "./evidence.js";
import { legendItems, plotLogp } from "./plot.js";
import { concatenated, SamplerPool } from "./pool.js";
import { DetailScatter } from "./scatter.js";
import {
  checkModel,
  conditioningOf,
  DEFAULTS,
  dimOf,
  fail,
  queryOf,
  settingsOf,
  usesQ,
  weightsFile,
  workerCountOf,
} from "./settings.js";
import { planOf } from "./views.js";
import { compiledModule, moduleBuild } from "./wasm.js";

export { chooseBackend, DEFAULTS, settingsOf, weightsFile };

const repositoryRoot = new URL("..", import.meta.url);
const stylesheetUrl = new URL("./dg.css", import.meta.url);

/** On WebGPU, `draw: 'gpu'` draws with wgpu straight from the state's buffer (`Run.draw`, in
 * the worker, on an OffscreenCanvas), so a step reads back only log p; `readback` reads the
 * state and draws it here. `auto` takes the faster as measured (README, "Browser budgets"): on
 * SwiftShader the readback, since the wait on log p is paid either way. */
const GPU_DRAW_AUTO = false;

/** Why WebGPU failed once in this page (device lost, a kernel error): it is not tried again. */
let webgpuBroken = null;

/** Fetches with progress, so a slow network shows how far the weights have come. */
async function fetchBytes(url, what, progress) {
  const response = await fetch(url).catch((error) => fail(what, `${url} could not be fetched (${error.message})`));
  if (!response.ok) {
    fail(what, `${url} could not be loaded (HTTP ${response.status})`);
  }
  const total = Number(response.headers.get("content-length")) || 0;
  const reader = response.body.getReader();
  const parts = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    parts.push(value);
    received += value.length;
    const howFar = total ? `${Math.round((100 * received) / total)}%` : `${(received / 1024).toFixed(0)} KB`;
    progress(`loading ${what} ${howFar}`);
  }
  return concatenated(parts, Uint8Array);
}

/** Weights and mixture files already fetched in this page, by URL. */
const fetchedModels = new Map();

/** The model a run needs: the sampler's model description, the weights bytes (networks), the
 * mixture's spec (the analytic mixture, for its exact heat map) and the dimension. */
async function modelOf(options, progress) {
  checkModel(options);
  const conditioning = conditioningOf(options);
  if (options.model === "gmm-exact" && !options.weights) {
    const url = new URL("models/lab-gmm.json", repositoryRoot).href;
    if (!fetchedModels.has(url)) {
      fetchedModels.set(url, await (await fetch(url)).json());
    }
    const spec = fetchedModels.get(url);
    return { model: { gmm: spec }, weights: undefined, spec, dim: 2 };
  }
  const url = options.weights
    ? new URL(options.weights, location.href)
    : new URL(weightsFile(options.model), repositoryRoot);
  if (!fetchedModels.has(url.href)) {
    fetchedModels.set(url.href, await fetchBytes(url, "weights", progress));
  }
  return { model: conditioning, weights: fetchedModels.get(url.href), spec: undefined, dim: dimOf(options.model) };
}

function mean(values) {
  let sum = 0;
  for (const value of values) {
    sum += value;
  }
  return sum / values.length;
}

function range(values) {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  return { min, max };
}

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

function saveFile(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
}

/** The memory of every worker after a run: `wasm_bytes` summed, `gpu` of the WebGPU worker
 * (the first), and each worker's own. */
function memoryRecord(memories) {
  const wasmBytes = memories.reduce((sum, memory) => sum + memory.wasm_bytes, 0);
  return { wasm_bytes: wasmBytes, gpu: memories[0]?.gpu ?? null, workers: memories };
}

/** The element's content: the controls (full UI), the lanes with the text on what they show,
 * the log p plot with its legend, the status line and the error box. Screen readers hear the
 * start and end of a run (`dg-announce`), not every step's status. */
function layoutHtml(full) {
  const lanes = '<div class="dg-lanes" role="group" aria-label="generated samples"></div>';
  const stylesheet = `<link rel="stylesheet" href="${stylesheetUrl}">`;
  const messages = `<div class="dg-status"></div><div class="dg-announce" role="status"></div>
    <div class="dg-error" role="alert"></div>`;
  if (!full) {
    return `${stylesheet}${lanes}${messages}`;
  }
  const plot = `<figure class="dg-plotbox">
      <canvas class="dg-plot" width="448" height="170" role="img" aria-label="log p along λ, one line per lane"></canvas>
      <figcaption><ul class="dg-legend"></ul></figcaption>
    </figure>`;
  return `${stylesheet}${controlsHtml()}<div class="dg-view">${lanes}<div class="dg-aside"><p class="dg-explain"></p>
    ${plot}</div></div>${messages}`;
}

/** The legend's entries as list items: a colour swatch (solid, or dashed for the target) and
 * what it marks. */
function renderLegend(list, items) {
  list.replaceChildren(
    ...items.map((item) => {
      const entry = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = item.dashed ? "dg-swatch dg-dashed" : "dg-swatch";
      swatch.style.borderColor = item.colour;
      entry.append(swatch, item.text);
      return entry;
    }),
  );
}

/** How many workers mount() starts for a CPU run: one where the settings are bad (the run
 * then says what is wrong, as mount() must not throw on them). */
function workersToStart(options, cores) {
  const batch = Number.isInteger(Number(options.batch)) ? Number(options.batch) : 1;
  try {
    return workerCountOf(options, "cpu", batch, cores);
  } catch {
    return 1;
  }
}

/** Mounts the demo into `element`; `options` are the URL's settings (see DEFAULTS). */
export async function mount(element, options = {}) {
  const o = { ...DEFAULTS, ...options };
  const full = o.ui !== "canvas";
  element.classList.add("dg-root");
  element.innerHTML = layoutHtml(full);
  const status = element.querySelector(".dg-status");
  const announce = element.querySelector(".dg-announce");
  const errorBox = element.querySelector(".dg-error");
  const lanesBox = element.querySelector(".dg-lanes");
  const explain = element.querySelector(".dg-explain");
  const legend = element.querySelector(".dg-legend");
  const plotContext = element.querySelector(".dg-plot")?.getContext("2d");
  const form = element.querySelector(".dg-controls");
  /** Every image sample of this visit, log p against bits per pixel (full UI only). */
  const scatter = full ? new DetailScatter(element.querySelector(".dg-aside")) : null;
  const cores = navigator.hardwareConcurrency || 1;

  const mountStarted = performance.now();
  status.textContent = "loading the sampler…";
  const module = await compiledModule();
  let pool = new SamplerPool(module);
  await pool.ensure(1);
  const coldStartMs = performance.now() - mountStarted;
  status.textContent = `ready (sampler loaded in ${coldStartMs.toFixed(0)} ms)`;
  if (o.backend !== "webgpu") {
    // the CPU run's other workers (which `auto` measures too) start now, not at the first run
    pool.ensure(workersToStart(o, cores)).catch(() => {});
  }

  /** The run in progress: a newer run or dispose() bumps it, and the older run then stops. */
  let token = 0;
  /** When the latest run() was called: its fixed cost runs from here to its first step. */
  let runCalledAt = 0;
  /** The WebGPU adapter as this pool's worker found it (a promise), once a run asked. */
  let adapterProbe = null;
  let stopped = false;
  let lastRecord = null;
  /** The last run's choice of backend (record.backend_choice). */
  let lastChoice = null;
  let dim = dimOf(o.model);

  const chiQuantile = (d, p) => pool.ask("chiQuantile", { dim: d, p });
  const showQ = form ? watchQ(form, element.querySelector(".dg-q"), () => dim, chiQuantile) : () => {};
  if (form) {
    fillForm(form, o);
    form.elements.model.addEventListener("change", () => {
      dim = dimOf(form.elements.model.value);
    });
    showQ();
    wireButtons(form, {
      run: (formOptions) => controller.run(formOptions).catch(() => {}),
      stop: () => controller.stop(),
      png: () =>
        sideBySide([...lanesBox.querySelectorAll(".dg-canvas:not(.dg-gpu)")]).toBlob((blob) =>
          saveFile(blob, "density-guidance.png"),
        ),
      json: () => {
        if (lastRecord) {
          saveFile(
            new Blob([JSON.stringify(lastRecord, null, 1)], { type: "application/json" }),
            "density-guidance-run.json",
          );
        }
      },
    });
  }

  /** The plot's axes colour: its canvas's CSS colour, which follows dark mode. */
  let plotInk = "gray";

  /** The text beside the picture, the plot's legend and colour, for a run of the view's `plan`. */
  function explainRun(plan) {
    if (!explain) {
      return;
    }
    plotInk = getComputedStyle(plotContext.canvas).color;
    explain.textContent = plan.explain;
    const target = o.method === "dg-exact" && o.view !== "sdg" && o.view !== "pg-dg" ? Number(o.target) : undefined;
    renderLegend(legend, legendItems(plan.lanes, target, usesQ(o.method)));
  }

  /** Frees the runs in every worker (GPU memory included); resolves to their memory after. */
  const free = () => pool.dispose();

  /** One canvas (and with GPU drawing one more on top, for the worker) per lane ({q, label}). */
  function buildLanes(planLanes, gpuDraw) {
    lanesBox.replaceChildren();
    const size = planLanes.length > 1 ? 288 : 448;
    return planLanes.map(({ q, label }) => {
      const figure = document.createElement("figure");
      figure.className = "dg-lane";
      const stack = document.createElement("div");
      stack.className = "dg-stack";
      const canvas = document.createElement("canvas");
      canvas.className = "dg-canvas";
      canvas.width = size;
      canvas.height = size;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", label ? `samples: ${label}` : "samples");
      stack.append(canvas);
      let gpuCanvas = null;
      if (gpuDraw) {
        gpuCanvas = canvas.cloneNode();
        gpuCanvas.className = "dg-canvas dg-gpu";
        stack.append(gpuCanvas);
      }
      figure.append(stack);
      let caption = null;
      if (label) {
        caption = document.createElement("figcaption");
        caption.textContent = label;
        figure.append(caption);
      }
      lanesBox.append(figure);
      return { q, label, ctx: canvas.getContext("2d"), gpuCanvas, caption, trail: [], trajectory: [], checksums: [] };
    });
  }

  /** Draws one step's joined state of every lane, and the plot; returns the ms it took. */
  function drawStep(lanes, states, gpuDraw, spec, target) {
    const started = performance.now();
    states.forEach((state, index) => {
      const lane = lanes[index];
      if (gpuDraw) {
        drawUnderGpuLayer(lane.ctx, state, spec);
      } else {
        drawState(lane.ctx, lane, state, spec);
      }
      const { min, max } = range(state.logp);
      lane.trajectory.push({ lambda: state.lambda, mean: mean(state.logp), min, max });
      lane.state = state;
      if (lane.caption) {
        lane.caption.textContent = `${lane.label} · mean log p ${lane.trajectory.at(-1).mean.toFixed(2)}`;
      }
      if (o.trace) {
        lane.checksums.push(gpuDraw ? state.checksum : canvasChecksum(pixelsOf(lane.ctx)));
      }
    });
    if (plotContext) {
      plotLogp(plotContext, lanes, target, plotInk);
    }
    return performance.now() - started;
  }

  /** The last GPU-drawn frame, drawn again on the 2-D canvas from one readback of the state:
   * that canvas is what the PNG export takes. With `trace`, images record how far the two
   * drawings of the last frame differ. */
  async function settleOnCanvas(run, lanes, spec, record) {
    const { states, lastGpuFrame } = await run.readFinal();
    lanes.forEach((lane, index) => {
      lane.trail = [];
      lane.state = states[index];
      drawState(lane.ctx, lane, states[index], spec);
      lane.gpuCanvas.hidden = true;
    });
    if (lastGpuFrame && states[0].dim > 2) {
      record.gpu_vs_readback_max_diff = maxPixelDifference(lastGpuFrame, pixelsOf(lanes[0].ctx).data);
    }
  }

  /** One run on one backend; throws on bad settings or a backend failure, null when a newer
   * run took over. */
  async function attempt(myToken, laneSettings, planLanes, choice, model) {
    const runStarted = performance.now();
    const { backend, reason } = choice;
    const spec = model.spec;
    const gpuDraw = backend === "webgpu" && (o.draw === "gpu" || (o.draw === "auto" && GPU_DRAW_AUTO));
    const workers = workerCountOf(o, backend, laneSettings[0].batch, cores);
    const timings = {
      cold_start_ms: coldStartMs,
      choose_backend_ms: choice.choose_ms,
      warmup_ms: 0,
      create_ms: 0,
      first_step_ms: 0,
      steps: [],
    };
    const record = {
      settings: { ...o },
      backend,
      backend_reason: reason,
      backend_choice: choice,
      draw: gpuDraw ? "gpu" : "readback",
      workers,
      steps_drawn: 0,
      nfe: 0,
      logp_final: [],
      trajectory: [],
      timings,
    };
    const sampler = { model: model.model, weights: model.weights, backend };
    if (backend === "webgpu") {
      const key = `${o.model}|${laneSettings[0].batch}|${o.method}|${o.logp}|${gpuDraw}`;
      if (!pool.warmed.has(key)) {
        status.textContent = "warming up WebGPU (compiling shaders)…";
        timings.warmup_ms = await pool.warmUp({ ...sampler, settings: laneSettings[0], gpuDraw, heat: !spec });
        pool.warmed.add(key);
      }
    }
    if (myToken !== token) {
      return null;
    }
    const lanes = buildLanes(planLanes, gpuDraw);
    const canvases = gpuDraw ? lanes.map((lane) => lane.gpuCanvas.transferControlToOffscreen()) : null;
    const createStarted = performance.now();
    const run = await pool.create({
      ...sampler,
      count: workers,
      lanes: laneSettings,
      canvases,
      heat: !spec,
      trace: o.trace,
    });
    timings.create_ms = performance.now() - createStarted;
    const target = o.method === "dg-exact" && o.view !== "sdg" && o.view !== "pg-dg" ? Number(o.target) : undefined;
    let pending = run.step();
    let previousArrival = performance.now();
    for (;;) {
      const result = await pending;
      const arrived = performance.now();
      if (myToken !== token) {
        return null;
      }
      const head = result.lanes[0];
      const more = result.more && !head.done && !stopped;
      if (more) {
        // the workers compute the next step while this one is drawn
        pending = run.step();
      }
      const pageDrawMs = drawStep(lanes, result.lanes, gpuDraw, spec, target);
      const step = {
        compute_ms: result.compute_ms,
        readback_ms: result.readback_ms,
        messaging_ms: result.messaging_ms,
        draw_ms: result.draw_ms + pageDrawMs,
        step_ms: arrived - previousArrival,
      };
      previousArrival = arrived;
      timings.steps.push(step);
      record.steps_drawn += 1;
      if (record.steps_drawn === 1) {
        timings.first_step_ms = performance.now() - runStarted;
        timings.first_drawn_at_ms = performance.now();
        // what run() costs beyond the first step's own compute and readback
        timings.fixed_ms = timings.first_drawn_at_ms - runCalledAt - step.compute_ms - step.readback_ms;
      }
      const meanLogp = lanes[0].trajectory.at(-1).mean;
      status.textContent =
        `${backend} (${reason}) · ${workers} worker${workers > 1 ? "s" : ""} · step ${head.steps_done}/${laneSettings[0].steps} · ` +
        `λ ${head.lambda.toFixed(2)} · mean log p ${meanLogp.toFixed(2)} · NFE ${head.nfe} · guards ${lanes.map((lane) => lane.state.guard_steps).join(" / ")} · ` +
        `ms compute ${step.compute_ms.toFixed(1)} / readback ${step.readback_ms.toFixed(1)} / ` +
        `messaging ${step.messaging_ms.toFixed(1)} / draw ${step.draw_ms.toFixed(1)}`;
      if (!more) {
        break;
      }
    }
    if (gpuDraw) {
      await settleOnCanvas(run, lanes, spec, record);
    }
    const lead = lanes[0];
    record.nfe = lanes.reduce((sum, lane) => sum + lane.state.nfe, 0);
    record.logp_final = Array.from(lead.state.logp);
    record.trajectory = lead.trajectory;
    record.guard_steps = lead.state.guard_steps;
    record.stopped = stopped;
    if (lanes.length > 1) {
      record.lanes = lanes.map((lane) => ({
        q: lane.q,
        label: lane.label,
        logp_final: Array.from(lane.state.logp),
        trajectory: lane.trajectory,
        nfe: lane.state.nfe,
        guard_steps: lane.state.guard_steps,
      }));
    }
    if (o.trace) {
      record.canvas_checksums = lead.checksums;
      record.samples = Array.from(lead.state.x);
    }
    const later = timings.steps.slice(1);
    if (later.length) {
      timings.ms_per_step = mean(later.map((step) => step.step_ms));
    }
    await meterLanes(lanes, record, { scatter, model: o.weights || o.model, trace: o.trace, show: full });
    if (o.view === "align") {
      const say = (text) => {
        status.textContent = text;
      };
      const context = { pool, count: workers, backend, sampler, settings: laneSettings[0], model: o.model, say };
      await checkAlignment(lead, record, context);
    }
    record.memory = memoryRecord(await free());
    if (timings.warmup_ms) {
      status.textContent += ` · WebGPU warm-up (shader compilation) ${timings.warmup_ms.toFixed(0)} ms`;
    }
    return record;
  }

  /** `auto` on a hardware adapter: the faster backend for this model and batch, measured in
   * the workers or remembered (backend-measure.js). */
  async function compareBackends(adapter, settings, model) {
    const modelName = o.weights || o.model;
    const device = `${adapter.name} · ${cores} cores · ${navigator.userAgent}`;
    const key = measurementKey({ build: moduleBuild(), device, model: modelName, batch: settings.batch });
    const { choice, spoiled } = await measuredChoice({
      pool,
      key,
      sampler: { model: model.model, weights: model.weights },
      settings,
      cpuWorkers: workerCountOf(o, "cpu", settings.batch, cores),
      modelName,
      onMeasuring: () => {
        status.textContent = `auto: measuring WebGPU and the CPU backend (${modelName}, batch ${settings.batch})…`;
      },
    });
    if (spoiled) {
      restartPool();
    }
    return choice;
  }

  /** The backend of a run and why (record.backend_choice), announced by `backendchoice`. */
  async function chooseRunBackend(settings, model) {
    const started = performance.now();
    const probe = () => {
      // the adapter stays for the page's life: a move of q does not ask for it again
      adapterProbe ??= pool.ask("probeWebGpu").catch((error) => {
        adapterProbe = null;
        throw error;
      });
      return adapterProbe;
    };
    const compare = (adapter) => compareBackends(adapter, settings, model);
    const choice = await chooseBackend(o.backend, probe, { broken: webgpuBroken, compare });
    lastChoice = { wanted: o.backend, ...choice, choose_ms: performance.now() - started };
    element.dispatchEvent(new CustomEvent("backendchoice", { detail: lastChoice }));
    return lastChoice;
  }

  /** What a view does before its run, on the chosen backend (pg-dg: measures PG's final log p
   * in the workers); resolves to what it found, for the record's `view`. */
  async function prepareView(plan, choice, model) {
    if (!plan.prepare) {
      return {};
    }
    const count = workerCountOf(o, choice.backend, plan.lanes[0].settings.batch, cores);
    const finalLogp = async (settings) => {
      const sampler = { backend: choice.backend, model: model.model, weights: model.weights };
      return concatenated(await pool.sliced("finalLogp", { count, settings, ...sampler }));
    };
    const say = (text) => {
      status.textContent = text;
    };
    const found = await plan.prepare({ finalLogp, say });
    explainRun(plan);
    return found;
  }

  /** After a WebGPU failure the worker that held the device may be unusable: start afresh. */
  function restartPool() {
    pool.terminate();
    pool = new SamplerPool(module);
    adapterProbe = null;
  }

  const controller = {
    /** Runs with the current options (plus `overrides`); resolves to the run record. */
    async run(overrides = {}) {
      const myToken = ++token;
      runCalledAt = performance.now();
      stopped = false;
      errorBox.textContent = "";
      try {
        await free();
        Object.assign(o, overrides);
        if (form) {
          fillForm(form, o);
        }
        const plan = planOf(o);
        const laneSettings = plan.lanes.map((lane) => lane.settings);
        element.dispatchEvent(new CustomEvent("runstart", { detail: { ...o } }));
        announce.textContent = "running…";
        explainRun(plan);
        if (o.url) {
          history.replaceState(null, "", `?${queryOf(o)}`);
        }
        const model = await modelOf(o, (message) => {
          status.textContent = message;
        });
        dim = model.dim;
        showQ();
        let choice = await chooseRunBackend(laneSettings[0], model);
        const prepared = await prepareView(plan, choice, model);
        let record;
        try {
          record = await attempt(myToken, laneSettings, plan.lanes, choice, model);
        } catch (error) {
          if (myToken !== token) {
            return null; // superseded by a newer run, which freed this one
          }
          const message = messageOf(error);
          if (choice.backend !== "webgpu" || message.startsWith("invalid ")) {
            throw error;
          }
          // a lost device or a failed kernel: say so, and finish the run on the CPU backend
          restartPool();
          webgpuBroken = error.deviceLost ?? `WebGPU failed (${message.split("\n")[0]})`;
          choice = await chooseRunBackend(laneSettings[0], model);
          record = await attempt(myToken, laneSettings, plan.lanes, choice, model);
        }
        if (record) {
          record.view = { name: plan.view, ...prepared };
          lastRecord = record;
          announce.textContent = `done: ${record.steps_drawn} steps drawn`;
          element.dispatchEvent(new CustomEvent("done", { detail: record }));
        }
        return record;
      } catch (error) {
        if (myToken !== token) {
          return null;
        }
        await free().catch(() => {});
        const message = messageOf(error);
        errorBox.textContent = message;
        status.textContent = "stopped: see the message below";
        announce.textContent = "";
        element.dispatchEvent(new CustomEvent("done", { detail: null }));
        throw error instanceof Error ? error : new Error(message);
      }
    },
    /** Ends the run after the step in progress. */
    stop() {
      stopped = true;
    },
    /** Stops any run, ends the workers (their memory, GPU included, goes with them) and empties
     * the element. */
    dispose() {
      token++;
      pool.terminate();
      element.replaceChildren();
    },
    get lastRun() {
      return lastRecord;
    },
    /** The last run's backend, why, and (auto) the measurement behind it; null before a run. */
    get backendChoice() {
      return lastChoice;
    },
    /** Test hook: destroys the WebGPU device inside the worker, as a lost GPU would. */
    destroyWebGpuDevice() {
      return pool.ask("destroyWebGpuDevices");
    },
  };
  return controller;
}

/** `<density-guidance model="fashion" method="dg" q="0.3" ui="canvas" autorun>`: attributes are
 * mount's options. Like any mounted element it fires `ready`, then per run `runstart`,
 * `backendchoice` (the backend and why) and `done` (the record, or null when the run failed). */
export class DensityGuidanceElement extends HTMLElement {
  async connectedCallback() {
    const options = {};
    for (const attribute of this.attributes) {
      const name = attribute.name.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase());
      options[name] = attribute.value;
    }
    delete options.autorun;
    this.controller = await mount(this, options);
    this.dispatchEvent(new CustomEvent("ready"));
    if (this.hasAttribute("autorun")) {
      this.controller.run().catch(() => {}); // mount() fires `done`, and shows the message
    }
  }

  disconnectedCallback() {
    this.controller?.dispose();
  }
}

if (globalThis.customElements && !customElements.get("density-guidance")) {
  customElements.define("density-guidance", DensityGuidanceElement);
}
