// The sampler's WebAssembly module, compiled once per page (off the main thread, by the
// browser's streaming compiler) and handed to every worker, which instantiates it.

/** A tiny module with one function returning a v128 (i32.const 0, i8x16.splat,
 * i8x16.popcnt; the probe wasm-feature-detect uses): valid only where wasm SIMD is. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export const NO_SIMD_MESSAGE =
  "this browser cannot run the sampler: it lacks WebAssembly SIMD (128-bit vectors), which every " +
  "current Chrome, Edge, Firefox and Safari has; please update the browser";

export function hasWasmSimd() {
  return WebAssembly.validate(SIMD_PROBE);
}

const wasmUrl = new URL("./pkg/dg_bg.wasm", import.meta.url);
let compiling = null;
/** Which build of the module this page loaded, from its response's headers (ETag,
 * Last-Modified, Content-Length): a rebuilt module changes it. */
let build = "unknown";

function buildOf(response) {
  const headers = ["etag", "last-modified", "content-length"].map((name) => response.headers.get(name) ?? "");
  return headers.join(" ");
}

async function compile() {
  if (!hasWasmSimd()) {
    throw new Error(NO_SIMD_MESSAGE);
  }
  const response = await fetch(wasmUrl);
  if (!response.ok) {
    throw new Error(`the sampler's module ${wasmUrl.pathname} could not be loaded (HTTP ${response.status})`);
  }
  build = buildOf(response);
  const isWasmType = response.headers.get("content-type")?.startsWith("application/wasm");
  if (isWasmType) {
    return WebAssembly.compileStreaming(response);
  }
  // a server that labels .wasm otherwise: compile from the bytes (still off the main thread)
  return WebAssembly.compile(await response.arrayBuffer());
}

/** The compiled module, shared by every mount() on the page. */
export function compiledModule() {
  compiling ??= compile().catch((error) => {
    compiling = null;
    throw error;
  });
  return compiling;
}

/** The loaded module's build (see buildOf); "unknown" before compiledModule() resolves. */
export function moduleBuild() {
  return build;
}
