// End-to-end test of what ./build.sh pack makes: the static site (target/static) served from a
// sub-path and from a server's root, and the npm tarball (target/npm) installed offline into the fixture site
// (tests/e2e/site), its types compiled with a site's TypeScript, and run there. Every request must stay under the folder it was served from
// (no absolute paths), and both must draw every step of a run.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, root, serve } from "./browser.mjs";

const port = Number(process.env.E2E_PORT ?? "8766");
const origin = `http://127.0.0.1:${port}`;
const rootOrigin = `http://127.0.0.1:${port + 1}`;
const subFolder = "hosted/under/density-guidance";
const subPath = `/${subFolder}/`;
const testStarted = performance.now();

/** The one tarball ./build.sh pack left in target/npm. */
function tarballPath() {
  const folder = join(root, "target/npm");
  const tarballs = readdirSync(folder).filter((name) => name.endsWith(".tgz"));
  assert.equal(tarballs.length, 1, `expected one tarball in ${folder}, found ${tarballs}`);
  return join(folder, tarballs[0]);
}

/** A scratch folder holding the static site at `subPath` and the fixture site with the
 * tarball installed into it, offline. */
function stage() {
  const scratch = mkdtempSync(join(tmpdir(), "dg-package-e2e-"));
  mkdirSync(join(scratch, subFolder, ".."), { recursive: true });
  symlinkSync(join(root, "target/static"), join(scratch, subFolder));
  const site = join(scratch, "site");
  cpSync(join(root, "tests/e2e/site"), site, { recursive: true });
  const tarball = tarballPath();
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: site, stdio: "inherit" });
  const installed = join(site, "node_modules/density-guidance");
  const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
  for (const file of [
    manifest.types,
    manifest.exports["."].default,
    "www/pkg/dg_bg.wasm",
    "models/fashion-f16.safetensors",
    "models/emoji-f16.safetensors",
  ]) {
    assert.ok(existsSync(join(installed, file)), `the package lacks ${file}`);
  }
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "--project", join(site, "tsconfig.json")], { stdio: "inherit" });
  console.log(
    `installed ${tarball.split("/").at(-1)} offline; its types (${manifest.types}) compile in a site's TypeScript`,
  );
  return scratch;
}

/** Opens `address` and collects every request the page and its workers make. */
async function openWatched(context, address) {
  const page = await context.newPage();
  const requests = [];
  context.on("request", (request) => requests.push(request.url()));
  page.on("pageerror", (error) => console.error("page error:", error.message));
  await page.goto(address);
  return { page, requests };
}

function assertUnder(requests, prefix) {
  const outside = requests.filter((url) => url.startsWith("http") && !url.startsWith(prefix));
  assert.deepEqual(outside, [], `requests outside ${prefix}`);
}

const scratch = stage();
const server = await serve(String(port), scratch, "/site/index.html");
const rootServer = await serve(String(port + 1), join(root, "target/static"));
try {
  const browser = await launch();

  // the static site from a sub-path and from the root (a second server): a query's run, and
  // every file fetched from under where it is served
  for (const [host, where, query] of [
    [origin, subPath, "model=fashion&method=dg&q=0.3&steps=4&batch=2&backend=cpu&run=1"],
    [rootOrigin, "/", "model=moons&method=dg&q=0.3&steps=4&batch=64&backend=cpu&run=1"],
  ]) {
    const context = await browser.newContext();
    const { page, requests } = await openWatched(context, `${host}${where}index.html?${query}`);
    await page.waitForFunction(() => window.dgLastRun !== undefined, null, { timeout: 120_000 });
    const record = await page.evaluate(() => window.dgLastRun);
    assert.ok(record, await page.locator(".dg-error").textContent());
    assert.equal(record.steps_drawn, 4);
    assertUnder(requests, `${host}${where}`);
    console.log(
      `static site at ${host}${where}: ${record.steps_drawn} steps drawn, ${requests.length} requests, all under it`,
    );
    await context.close();
  }

  // the fixture site: the installed package's element and mount() both run
  {
    const context = await browser.newContext();
    const { page, requests } = await openWatched(context, `${origin}/site/index.html`);
    await page.waitForFunction(() => window.siteResults?.element && window.siteResults?.mounted, null, {
      timeout: 120_000,
    });
    const { element, mounted } = await page.evaluate(() => window.siteResults);
    assert.equal(mounted.error, undefined, mounted.error);
    assert.equal(element.steps_drawn, 6);
    assert.equal(element.settings.model, "emoji", "the element runs the colour model from the package");
    assert.equal(mounted.steps_drawn, 4);
    assertUnder(requests, `${origin}/site/`);
    console.log(
      `fixture site: <density-guidance> drew ${element.steps_drawn} steps (${element.settings.model}), ` +
        `mount() drew ${mounted.steps_drawn} (${mounted.settings.model})`,
    );
    await context.close();
  }
  await browser.close();
  console.log(`package e2e: ok (${((performance.now() - testStarted) / 1000).toFixed(0)} s)`);
} finally {
  server.kill();
  rootServer.kill();
  rmSync(scratch, { recursive: true, force: true });
}
