// The in-browser benchmark, headless: loads www/bench.html in Debian's Chromium and prints
// its numbers (`./build.sh bench`; extra query settings as the first argument).
import { serve, launch } from './browser.mjs';

const port = process.env.E2E_PORT ?? '8766';
const server = await serve(port);
try {
  const browser = await launch();
  const page = await browser.newPage();
  page.on('console', (m) => console.log(m.text()));
  await page.goto(`http://127.0.0.1:${port}/www/bench.html?${process.argv[2] ?? ''}`);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 0 });
  console.log(JSON.stringify(await page.evaluate(() => window.benchResult)));
  await browser.close();
} finally {
  server.kill();
}
