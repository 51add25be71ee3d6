// The in-browser benchmark, headless: loads www/bench.html in Debian's Chromium and prints its
// numbers (`./build.sh bench`; extra query settings as the first argument). First the cold
// start of each case, each in a fresh browser context (empty caches), then the rest in one.
import { launch, serve } from "./browser.mjs";

const port = process.env.E2E_PORT ?? "8766";
const query = process.argv[2] ?? "";
const coldCases = (process.env.BENCH_COLD ?? "fashion,emoji,moons").split(",").filter(Boolean);
const server = await serve(port);

async function benchPage(browser, pageQuery) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (message) => console.log(message.text()));
  await page.goto(`http://127.0.0.1:${port}/www/bench.html?${pageQuery}`);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 0 });
  const result = await page.evaluate(() => window.benchResult);
  await context.close();
  return result;
}

try {
  const browser = await launch();
  const results = [];
  for (const name of coldCases) {
    results.push(await benchPage(browser, `cold=${name}`));
  }
  results.push(await benchPage(browser, query));
  console.log(JSON.stringify(results));
  await browser.close();
} finally {
  server.kill();
}
