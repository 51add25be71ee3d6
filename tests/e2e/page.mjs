// End-to-end: serve the repository, drive the page in Debian's Chromium, check that every
// step was drawn, that log p moves the right way with q, and that bad input shows a message.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const root = new URL('../..', import.meta.url).pathname;
const port = process.env.E2E_PORT ?? '8765';
const server = spawn('python3', ['-m', 'http.server', port, '--bind', '127.0.0.1', '--directory', root], { stdio: 'ignore' });
const artifacts = join(root, 'tests/artifacts');
mkdirSync(artifacts, { recursive: true });
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;

try {
  await new Promise((r) => setTimeout(r, 800));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-quic'], // playwright starts it headless with a fresh profile
  });
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  const runAt = async (query) => {
    await page.goto(`http://127.0.0.1:${port}/index.html?${query}&run=1&trace=1`);
    await page.waitForFunction(() => window.dgLastRun || document.getElementById('error').textContent, null, { timeout: 300_000 });
    return page.evaluate(() => ({ record: window.dgLastRun, error: document.getElementById('error').textContent }));
  };
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
      console.log(`${model} q=${q}: mean final log p ${finals[`${model}@${q}`].toFixed(2)}, ms/step ${mean(record.timings.steps.map((s) => s.compute_ms + s.readback_ms + s.draw_ms)).toFixed(1)}`);
      await page.locator('#demo').screenshot({ path: join(artifacts, `${model}-q${q}.png`) });
    }
    assert.ok(finals[`${model}@0.8`] > finals[`${model}@0.2`], `${model}: log p did not grow with q`);
  }
  for (const [query, name] of [['q=1.5&method=dg', 'invalid q'], ['steps=0', 'invalid steps'], ['q=NaN&method=prior', 'invalid q'], ['model=nope', 'invalid model']]) {
    const { error } = await runAt(query);
    assert.ok(error.includes(name), `${query}: '${error}'`);
    console.log(`${query}: ${error}`);
  }
  await browser.close();
  console.log('e2e: ok');
} finally {
  server.kill();
}
