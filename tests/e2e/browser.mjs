// Shared by the e2e test and the headless benchmark: serve the repository on loopback and
// start Debian's Chromium (headless, fresh profile, WebGPU through SwiftShader).

import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

export const root = new URL("../..", import.meta.url).pathname;

/** Serves `directory` (the repository unless given) on loopback; resolves once `probe` loads. */
export async function serve(port, directory = root, probe = "/index.html") {
  // a server already there (another checkout's test) would answer the probe with its own files
  const answers = () =>
    fetch(`http://127.0.0.1:${port}${probe}`).then(
      (r) => r.ok,
      () => false,
    );
  if (await answers()) {
    throw new Error(`port ${port} is already served: stop that server or set E2E_PORT`);
  }
  const server = spawn("python3", ["-m", "http.server", port, "--bind", "127.0.0.1", "--directory", directory], {
    stdio: "ignore",
  });
  for (let i = 0; i < 50; i++) {
    if (await answers()) {
      return server;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  server.kill();
  throw new Error(`the file server on port ${port} did not start`);
}

export function launch(extra = [], headless = process.env.DISPLAY === undefined) {
  return chromium.launch({
    headless,
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      "--enable-unsafe-webgpu",
      // SwiftShader for Vulkan, ANGLE and WebGPU alike: without these a WebGPU canvas loses the
      // device at its first present (see ../shared/TOOLCHAIN.md).
      "--enable-features=Vulkan",
      "--use-vulkan=swiftshader",
      "--use-angle=swiftshader",
      "--use-webgpu-adapter=swiftshader",
      ...extra,
    ],
  });
}
