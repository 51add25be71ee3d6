// End-to-end: serve the repository, drive the page in Debian's Chromium (WebGPU on through
// SwiftShader), check that every step was drawn, that log p moves the right way with q, that
// bad input shows a message and leaves a working page, that 50 runs do not grow memory, and
// that a WebGPU device lost mid-run leaves the run finished on the CPU backend.
import { serve, launch, root } from './browser.mjs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const port = process.env.E2E_PORT ?? '8765';
const server = await serve(port);
const artifacts = join(root, 'tests/artifacts');
mkdirSync(artifacts, { recursive: true });
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const url = (query) => `http://127.0.0.1:${port}/index.html?${query}`;

try {
  const browser = await launch();
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  const panics = [];
  page.on('console', (m) => { if (/panicked|wgpu error/.test(m.text())) panics.push(m.text()); });
  const settle = async () => {
    await page.waitForFunction(() => window.dgLastRun !== undefined, null, { timeout: 600_000 });
    return page.evaluate(() => ({ record: window.dgLastRun, error: document.querySelector('.dg-error')?.textContent ?? '',
      status: document.querySelector('.dg-status')?.textContent ?? '' }));
  };
  const runAt = async (query) => { await page.goto(url(`${query}&run=1&trace=1`)); return settle(); };

  // 1. DG on the CPU backend: every step drawn, log p grows with q (moons and Fashion-MNIST)
  const finals = {};
  for (const [model, batch, steps] of [['moons', 256, 24], ['fashion', 4, 12]]) {
    for (const q of [0.2, 0.8]) {
      const { record, error } = await runAt(`model=${model}&method=dg&q=${q}&steps=${steps}&batch=${batch}&backend=cpu&logp=hutchinson`);
      assert.equal(error, '', error);
      assert.equal(record.steps_drawn, steps);
      assert.equal(record.backend, 'cpu');
      const sums = record.canvas_checksums;
      for (let i = 1; i < sums.length; i++) assert.notEqual(sums[i], sums[i - 1], `${model}: canvas unchanged at step ${i + 1}`);
      finals[`${model}@${q}`] = mean(record.logp_final);
      console.log(`${model} q=${q}: mean final log p ${finals[`${model}@${q}`].toFixed(2)}, ms/step ${record.timings.ms_per_step.toFixed(1)}`);
      await page.locator('#demo').screenshot({ path: join(artifacts, `${model}-q${q}.png`) });
    }
    assert.ok(finals[`${model}@0.8`] > finals[`${model}@0.2`], `${model}: log p did not grow with q`);
  }

  // 2. side by side: the same latents at three q, ordered log p
  {
    const { record, error } = await runAt('model=fashion&method=dg&compare=0.2,0.5,0.8&steps=8&batch=4&backend=cpu&class=7');
    assert.equal(error, '', error);
    const m = record.lanes.map((l) => mean(l.logp_final));
    console.log(`side by side q=0.2/0.5/0.8: mean log p ${m.map((v) => v.toFixed(1)).join(' / ')}`);
    assert.ok(m[0] < m[1] && m[1] < m[2], `side-by-side log p not increasing with q: ${m}`);
    await page.locator('#demo').screenshot({ path: join(artifacts, 'fashion-side-by-side.png') });
  }

  // 3. bad input: a message naming the setting, then the same page still runs
  for (const [query, name] of [['q=1.5&method=dg', 'invalid q'], ['steps=0', 'invalid steps'], ['q=NaN&method=prior', 'invalid q'],
    ['model=nope', 'invalid model'], ['model=moons&weights=models/README.md', 'model weights'],
    ['model=moons&weights=models/missing.safetensors', 'invalid weights'], ['method=dg&compare=0.2,2', 'invalid q'],
    ['backend=tpu', 'invalid backend'], ['model=moons&class=3', 'invalid class']]) {
    const { error, record } = await runAt(query);
    assert.equal(record, null);
    assert.ok(error.includes(name), `${query}: '${error}'`);
    console.log(`${query}: ${error}`);
  }
  const again = await page.evaluate(() => window.dgDemo.run({ model: 'moons', weights: '', steps: 4, batch: 32, q: 0.4, method: 'dg', backend: 'cpu', compare: '', class: 'any' }));
  assert.equal(again.steps_drawn, 4, 'the page did not recover after bad input');
  assert.equal(await page.locator('.dg-error').textContent(), '');

  // 4. WebGPU: auto picks it when the adapter exists; the run really ran there
  {
    const { record, error, status } = await runAt('model=gmm-exact&method=dg&q=0.3&steps=6&batch=64&backend=auto&logp=exact');
    assert.equal(error, '', error);
    assert.equal(record.backend, 'webgpu', `auto did not pick WebGPU: ${record.backend_reason}`);
    assert.ok(record.memory.gpu && record.memory.gpu.bytes_reserved > 0, 'nothing was allocated on the WebGPU device');
    console.log(`webgpu: ${record.backend_reason}; warm-up ${record.timings.warmup_ms.toFixed(0)} ms, ${record.timings.ms_per_step.toFixed(1)} ms/step; ${status}`);
    await page.locator('#demo').screenshot({ path: join(artifacts, 'gmm-exact-webgpu.png') });
  }

  // 4b. WebGPU, drawn with wgpu from the state's buffer (draw=gpu): the run stays on WebGPU with
  //     no wgpu error, changes the WebGPU canvas at every step, reads back only log p, and its
  //     numbers and (images) last frame equal the readback-drawn run's.
  for (const [model, batch] of [['fashion', 4], ['moons', 256], ['gmm-exact', 64]]) {
    const both = {};
    for (const draw of ['gpu', 'readback']) {
      const { record, error } = await runAt(`model=${model}&method=dg&q=0.3&steps=4&batch=${batch}&backend=webgpu&draw=${draw}`);
      assert.equal(error, '', error);
      assert.equal(record.backend, 'webgpu', `${model} draw=${draw}: ${record.backend_reason}`);
      assert.equal(record.draw, draw);
      assert.equal(record.steps_drawn, 4);
      const sums = record.canvas_checksums;
      for (let i = 1; i < sums.length; i++) assert.notEqual(sums[i], sums[i - 1], `${model} draw=${draw}: canvas unchanged at step ${i + 1}`);
      both[draw] = { ...record, canvas: await page.evaluate(() => document.querySelector('.dg-canvas').toDataURL()) };
    }
    assert.deepEqual(panics, [], `wgpu errors while drawing on the GPU: ${panics}`);
    const dl = Math.max(...both.gpu.logp_final.map((v, i) => Math.abs(v - both.readback.logp_final[i])));
    assert.ok(dl < 1e-3, `${model}: log p differs between the drawing modes by ${dl}`);
    // images settle to the same frame; particles lose their trails when the GPU layer goes
    if (model === 'fashion') {
      assert.equal(both.gpu.canvas, both.readback.canvas, 'final frames differ between the drawing modes');
      assert.ok(both.gpu.gpu_vs_readback_max_diff <= 1, `the GPU-drawn frame differs from the readback-drawn one by ${both.gpu.gpu_vs_readback_max_diff}`);
      console.log(`fashion: GPU-drawn last frame vs readback-drawn: max difference ${both.gpu.gpu_vs_readback_max_diff} of 255`);
    }
    const ms = (r) => r.timings.steps.slice(1).reduce((a, t) => a + t.readback_ms + t.draw_ms, 0) / 3;
    console.log(`${model} on webgpu drawn on the GPU: readback + draw ${ms(both.gpu).toFixed(1)} ms/step vs ${ms(both.readback).toFixed(1)} from a readback; same log p (max |Δ| ${dl.toExponential(1)})`);
  }

  // 5. 50 repeated runs grow neither wasm nor GPU memory (CPU and WebGPU)
  for (const [backend, draw] of [['cpu', 'readback'], ['webgpu', 'readback'], ['webgpu', 'gpu']]) {
    const samples = await page.evaluate(async ([backend, draw]) => {
      const out = [];
      for (let i = 1; i <= 50; i++) {
        const r = await window.dgDemo.run({ model: 'gmm-exact', method: 'dg', q: 0.3, steps: 3, batch: 64, logp: 'exact', backend, draw, compare: '', trace: false });
        if (i === 5 || i === 50) out.push(r.memory);
      }
      return out;
    }, [backend, draw]);
    const [at5, at50] = samples;
    console.log(`${backend} (draw ${draw}): memory after run 5 ${JSON.stringify(at5)}, after run 50 ${JSON.stringify(at50)}`);
    assert.equal(at50.wasm_bytes, at5.wasm_bytes, `${backend}: wasm memory grew over 45 runs`);
    if (backend === 'webgpu') {
      assert.ok(at50.gpu.bytes_in_use <= at5.gpu.bytes_in_use, `GPU bytes in use grew: ${at5.gpu.bytes_in_use} -> ${at50.gpu.bytes_in_use}`);
      assert.ok(at50.gpu.bytes_reserved <= at5.gpu.bytes_reserved, `GPU bytes reserved grew: ${at5.gpu.bytes_reserved} -> ${at50.gpu.bytes_reserved}`);
    }
  }

  // 6. WebGPU missing: asked for, the page says why and runs on the CPU backend
  {
    const ctx = await browser.newContext();
    await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    const p2 = await ctx.newPage();
    await p2.goto(url('model=moons&method=dg&q=0.3&steps=4&batch=64&backend=webgpu&run=1'));
    await p2.waitForFunction(() => window.dgLastRun !== undefined, null, { timeout: 120_000 });
    const { record, status } = await p2.evaluate(() => ({ record: window.dgLastRun, status: document.querySelector('.dg-status').textContent }));
    assert.equal(record.backend, 'cpu');
    assert.ok(record.backend_reason.includes('no navigator.gpu') && status.includes('no navigator.gpu'), status);
    console.log(`without WebGPU: ${record.backend_reason}`);
    await ctx.close();
  }
  // 7. the WebGPU device lost mid-run (destroyed from outside): the page says so, finishes the
  //    run on the CPU backend, and the next run works
  {
    const ctx = await browser.newContext();
    await ctx.addInitScript(() => {
      window.testDevices = [];
      const request = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = async function (...a) { const d = await request.apply(this, a); window.testDevices.push(d); return d; };
    });
    const p3 = await ctx.newPage();
    await p3.goto(url('model=moons&method=dg&q=0.3&steps=12&batch=64&backend=webgpu&run=1'));
    await p3.waitForFunction(() => /step [3-9]\//.test(document.querySelector('.dg-status')?.textContent ?? ''), null, { timeout: 300_000 });
    assert.equal(await p3.evaluate(() => { window.testDevices.forEach((d) => d.destroy()); return window.testDevices.length; }), 1);
    await p3.waitForFunction(() => window.dgLastRun !== undefined, null, { timeout: 300_000 });
    const { record, error } = await p3.evaluate(() => ({ record: window.dgLastRun, error: document.querySelector('.dg-error').textContent }));
    assert.equal(error, '', error);
    assert.equal(record.backend, 'cpu');
    assert.equal(record.steps_drawn, 12, 'the run did not finish on the CPU backend');
    assert.ok(record.backend_reason.includes('device was lost (destroyed'), record.backend_reason);
    const next = await p3.evaluate(() => window.dgDemo.run({ steps: 4 }));
    assert.equal(next.steps_drawn, 4);
    console.log(`device lost mid-run: ${record.backend_reason}; the next run: ${next.backend}, ${next.steps_drawn} steps`);
    await ctx.close();
  }
  await browser.close();
  console.log('e2e: ok');
} finally {
  server.kill();
}
