// `backend=auto` in Chromium, whose only WebGPU adapter is SwiftShader (a software fallback):
// a URL that names no backend runs on the CPU backend and says why, without measuring. Then,
// with the probe made to report a hardware adapter (www/webgpu.js served with its answer
// renamed), auto measures in the workers, remembers the measurement in localStorage, and
// follows a remembered one either way (WebGPU faster, CPU faster); a rebuilt module (its
// response's Last-Modified changed) is measured anew. Run by page.mjs, or alone: node tests/e2e/auto-backend.mjs.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launch, root, serve } from "./browser.mjs";

const PREFIX = "density-guidance:backend:";
const QUERY = "model=moons&method=dg&q=0.3&steps=3&batch=64&run=1";
const HARDWARE_NAME = "Test Hardware GPU";

/** www/webgpu.js with its probe's answer relabelled as a hardware adapter's (the adapter
 * underneath is still SwiftShader). */
function hardwareProbeModule() {
  const original = readFileSync(join(root, "www/webgpu.js"), "utf8");
  const renamed = original.replace("export async function probeWebGpu()", "async function probeRealWebGpu()");
  assert.notEqual(renamed, original, "www/webgpu.js no longer exports probeWebGpu()");
  return `${renamed}
export async function probeWebGpu() {
  const adapter = await probeRealWebGpu();
  return adapter && { ...adapter, name: "${HARDWARE_NAME}", isFallbackAdapter: false };
}
`;
}

/** Opens `address`, waits for its run and collects the record, the status line while it
 * stepped, the `backendchoice` events and the controller's choice. */
async function runOf(page, address) {
  await page.goto(address);
  await page.waitForFunction(() => window.dgLastRun !== undefined && window.dgDemo !== undefined, null, {
    timeout: 300_000,
  });
  return page.evaluate(() => ({
    record: window.dgLastRun,
    error: document.querySelector(".dg-error").textContent,
    statusWhileStepping: window.stepStatus,
    choiceEvents: window.choiceEvents,
    controllerChoice: window.dgDemo.backendChoice,
  }));
}

/** Records every `backendchoice` event and the status line of the first drawn step. */
function watchChoice() {
  window.choiceEvents = [];
  window.stepStatus = "";
  document.addEventListener("DOMContentLoaded", () => {
    const demo = document.getElementById("demo");
    demo.addEventListener("backendchoice", (event) => window.choiceEvents.push(event.detail));
    new MutationObserver(() => {
      const text = demo.querySelector(".dg-status")?.textContent ?? "";
      if (/ step \d+\//.test(text) && !window.stepStatus) {
        window.stepStatus = text;
      }
    }).observe(demo, { subtree: true, childList: true, characterData: true });
  });
}

function storedMeasurements(page) {
  return page.evaluate((prefix) => {
    const keys = Object.keys(localStorage).filter((key) => key.startsWith(prefix));
    return keys.map((key) => ({ key, value: JSON.parse(localStorage.getItem(key)) }));
  }, PREFIX);
}

function store(page, entries) {
  return page.evaluate((pairs) => {
    localStorage.clear();
    for (const { key, value } of pairs) {
      localStorage.setItem(key, JSON.stringify(value));
    }
  }, entries);
}

/** The checks every run shares: it ran, the choice is the same in the record, the event and
 * the controller, and the status line gives its reason. */
function checkChoice(result, backend, basis) {
  const { record, error } = result;
  assert.equal(error, "", error);
  assert.ok(record, "the run failed");
  const choice = record.backend_choice;
  assert.equal(record.backend, backend, choice.reason);
  assert.equal(choice.backend, backend);
  assert.equal(choice.wanted, "auto");
  assert.equal(choice.basis, basis, choice.reason);
  assert.equal(record.backend_reason, choice.reason);
  assert.deepEqual(result.choiceEvents.at(-1), choice, "the backendchoice event differs from the record");
  assert.deepEqual(result.controllerChoice, choice, "controller.backendChoice differs from the record");
  assert.ok(result.statusWhileStepping.includes(choice.reason), `status line: ${result.statusWhileStepping}`);
  assert.equal(record.steps_drawn, 3);
  return choice;
}

export async function autoBackend(browser, pageUrl) {
  const address = `${pageUrl}?${QUERY}`;

  // 1. SwiftShader as it is: auto takes the CPU backend, says the adapter is a software
  //    fallback, and measures nothing
  {
    const context = await browser.newContext();
    await context.addInitScript(watchChoice);
    const page = await context.newPage();
    const result = await runOf(page, address);
    const choice = checkChoice(result, "cpu", "software-adapter");
    assert.match(choice.reason, /software fallback/);
    assert.match(choice.reason, /swiftshader/i);
    assert.equal(choice.measurement, undefined);
    assert.deepEqual(await storedMeasurements(page), [], "auto measured beside a software adapter");
    console.log(`auto on SwiftShader: ${record(result)}`);
    // an adapter whose name says it is software counts as one without isFallbackAdapter too
    const byName = await page.evaluate(async () => {
      const { chooseBackend } = await import("/www/backend-choice.js");
      const names = ["llvmpipe (LLVM 15.0.6, 256 bits)", "Google SwiftShader", "Microsoft Basic Render Driver"];
      const probes = names.map((name) => () => Promise.resolve({ name, isFallbackAdapter: false, storageBuffers: 10 }));
      const compare = () => Promise.resolve({ backend: "webgpu", reason: "measured", basis: "measured" });
      return Promise.all(probes.map((probe) => chooseBackend("auto", probe, { compare })));
    });
    for (const choice of byName) {
      assert.equal(choice.backend, "cpu", choice.reason);
      assert.equal(choice.basis, "software-adapter", choice.reason);
    }
    await context.close();
  }

  // 2. a hardware adapter (as the probe reports it): measured, remembered, and followed
  const context = await browser.newContext();
  await context.addInitScript(watchChoice);
  await context.route("**/www/webgpu.js", (route) =>
    route.fulfill({ body: hardwareProbeModule(), contentType: "text/javascript" }),
  );
  const page = await context.newPage();
  {
    const result = await runOf(page, address);
    // SwiftShader under the label: slower than the CPU workers, or past its deadline
    const choice = checkChoice(result, "cpu", "measured");
    const measurement = choice.measurement;
    assert.ok(measurement.cpu_ms_per_forward > 0, JSON.stringify(measurement));
    assert.ok(measurement.cost_ms > 0, JSON.stringify(measurement));
    assert.equal(measurement.model, "moons");
    assert.equal(measurement.batch, 64);
    const stored = await storedMeasurements(page);
    assert.equal(stored.length, 1, "the measurement was not remembered");
    assert.deepEqual(stored[0].value, measurement);
    assert.ok(stored[0].key.includes(HARDWARE_NAME), stored[0].key);
    console.log(`auto on a "hardware" adapter, measured: ${record(result)}; cost ${measurement.cost_ms.toFixed(0)} ms`);

    // the remembered measurement decides, either way, without measuring again
    const [{ key, value }] = stored;
    for (const [backend, webgpuMs] of [
      ["webgpu", value.cpu_ms_per_forward / 10],
      ["cpu", value.cpu_ms_per_forward * 10],
    ]) {
      await store(page, [{ key, value: { ...value, webgpu_ms_per_forward: webgpuMs } }]);
      const forced = await runOf(page, address);
      const forcedChoice = checkChoice(forced, backend, "remembered");
      assert.match(forcedChoice.reason, backend === "webgpu" ? /WebGPU is faster/ : /CPU is faster/);
      assert.match(forcedChoice.reason, /remembered/);
      if (backend === "webgpu") {
        assert.ok(forced.record.memory.gpu?.bytes_reserved > 0, "the run did not allocate on WebGPU");
      }
      console.log(`auto with a remembered measurement favouring ${backend}: ${record(forced)}`);
    }

    // a rebuilt module (served with another Last-Modified) does not use the measurement of
    // the build before, though it favours WebGPU: auto measures again, and remembers both
    await store(page, [{ key, value: { ...value, webgpu_ms_per_forward: value.cpu_ms_per_forward / 10 } }]);
    await page.route("**/www/pkg/dg_bg.wasm", async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers(), "last-modified": "Thu, 01 Jan 2026 00:00:00 GMT" };
      await route.fulfill({ response, headers });
    });
    const rebuilt = await runOf(page, address);
    await page.unroute("**/www/pkg/dg_bg.wasm");
    checkChoice(rebuilt, "cpu", "measured");
    const keys = (await storedMeasurements(page)).map((entry) => entry.key);
    assert.equal(keys.length, 2, "the rebuilt module's measurement was not remembered beside the old one");
    assert.ok(keys.includes(key), "the older build's measurement went");
    console.log(`auto after a rebuild: ${record(rebuilt)}`);
  }
  await context.close();
}

function record(result) {
  return `${result.record.backend} (${result.record.backend_choice.basis}): ${result.record.backend_reason}`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = process.env.E2E_PORT ?? "8767";
  const server = await serve(port);
  try {
    const browser = await launch();
    await autoBackend(browser, `http://127.0.0.1:${port}/index.html`);
    await browser.close();
    console.log("auto backend e2e: ok");
  } finally {
    server.kill();
  }
}
