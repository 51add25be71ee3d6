#!/usr/bin/env bash
# One entry point for building, serving and testing; installs what is missing first.
#   ./build.sh serve   build what the demo needs and serve the repository on 127.0.0.1:${PORT:-8080}
#   ./build.sh test    run every test (what .ci/run runs)
#   ./build.sh web     only build the browser package (www/pkg)
#   ./build.sh pack    the npm package (target/npm/density-guidance-X.tgz) and the static site (target/static)
#   ./build.sh bench   the in-browser benchmark, headless (optional query, e.g. "backends=cpu")
#   ./build.sh deps    only install the tools and packages
set -euo pipefail
cd "$(dirname "$0")"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
APT_PACKAGES=(mesa-vulkan-drivers libvulkan1 chromium chromium-driver dataset-fashion-mnist)

log() { printf '\033[1m[build.sh]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

deps() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v cargo >/dev/null || { log "cargo is missing: install Rust (rustup) first"; exit 1; }
  # lavapipe (software Vulkan) prints a harmless warning without a runtime directory
  if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
    export XDG_RUNTIME_DIR
    XDG_RUNTIME_DIR="$(mktemp -d)"
    chmod 0700 "$XDG_RUNTIME_DIR"
  fi
}

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pinned in Cargo.toml
WASM_PACK_VERSION=0.15.1     # runs the browser tests; never downloads (--mode no-install)

web_deps() {
  rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown || {
    log "adding the wasm32 target"; rustup target add wasm32-unknown-unknown; }
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (about 2 minutes)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"   # not --locked: see TOOLCHAIN
  fi
}

# The browser package: the library for wasm32 (WebGPU through burn-wgpu, CPU through flex),
# built with the size-tuned `web` profile, then wasm-bindgen's JS glue, into www/pkg/.
build_web() {
  web_deps
  log "building the wasm package"
  cargo build --profile web --lib --target wasm32-unknown-unknown
  wasm-bindgen --target web --out-dir www/pkg --out-name dg --remove-name-section --remove-producers-section \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/web/dg.wasm"
  log "www/pkg/dg_bg.wasm: $(stat -c %s www/pkg/dg_bg.wasm) bytes, $(gzip -9c www/pkg/dg_bg.wasm | wc -c) gzipped"
}

# What a copy of the page needs beside www/pkg: the models the page loads (weightsFile() in
# www/models.js) and the analytic mixture.
PAGE_MODELS=(moons.safetensors 8gaussians.safetensors checkerboard.safetensors gmm.safetensors
  fashion-f16.safetensors emoji-f16.safetensors lab-gmm.json)

# The embedding module into $1: www/ (its modules but not the page's own, the stylesheet, the
# types, the wasm package) and models/ side by side, as the module finds them.
copy_module() {
  local into="$1" file
  mkdir -p "$into/www/pkg" "$into/models"
  for file in www/*.js; do
    [ "$file" = www/page.js ] || cp "$file" "$into/www/"
  done
  cp www/dg.css www/dg.d.ts "$into/www/"
  cp www/pkg/dg.js www/pkg/dg.d.ts www/pkg/dg_bg.wasm "$into/www/pkg/"
  for file in "${PAGE_MODELS[@]}"; do cp "models/$file" "$into/models/"; done
}

# target/static: the demo as a self-contained folder (page, module, wasm, weights) with only
# relative paths, so any static host serves it from its root or a sub-path. target/npm: the npm
# package (www/npm/ holds its package.json and README; the version is Cargo.toml's), packed.
build_dist() {
  rm -rf target/static target/npm
  copy_module target/static
  cp index.html target/static/
  cp www/page.js www/page.css www/embed.html www/bench.html target/static/www/
  local package=target/npm/package version
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
  copy_module "$package"
  cp www/npm/package.json www/npm/README.md "$package/"
  (cd "$package" && npm pkg set version="$version" && npm pack --silent --pack-destination .. >/dev/null)
  log "target/static: $(du -sh target/static | cut -f1); $(ls target/npm/*.tgz): $(stat -c %s target/npm/*.tgz) bytes"
}

serve() {
  local port="${PORT:-8080}"
  log "serving $PWD on http://127.0.0.1:$port/index.html"
  exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$PWD"
}

# Runs one stage and says how long it took (the README's table of stage times).
stage() {
  local name="$1" start=$SECONDS
  shift
  log "$name"
  "$@"
  log "$name: done in $((SECONDS - start)) s"
}

# tests/web.rs as the design card says: wasm-pack test in headless Chromium (Debian's
# chromedriver), on the `web` profile the package is built with, so burn is built once.
wasm_tests() {
  if [ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]; then
    log "installing wasm-pack $WASM_PACK_VERSION from crates.io (about 3 minutes)"
    cargo install wasm-pack --version "$WASM_PACK_VERSION"
  fi
  WASM_BINDGEN_TEST_TIMEOUT=900 wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver \
    --mode no-install -- --profile web --test web
}

run_tests() {
  # first, as it takes a second: the JavaScript's format and lint (Biome, pinned in package.json);
  # npm ci again whenever a dev dependency is missing (a checkout from before one was added)
  npm ls --depth=0 >/dev/null 2>&1 || npm ci --no-audit --no-fund
  stage "format and lint of the JavaScript (Biome)" npx biome ci www tests/e2e
  rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt
  stage "format of the Rust (rustfmt)" cargo fmt --check
  stage "native tests (f64 CPU backend, f32 wgpu on lavapipe, the dg CLI, the shipped models)" \
    cargo test --all-targets
  stage "the wasm package" build_web
  stage "wasm API tests in headless Chromium (CPU backend and WebGPU)" wasm_tests
  stage "the npm package and the static site (target/npm, target/static)" build_dist
  stage "end-to-end test of the page in Debian's Chromium" node tests/e2e/page.mjs
  stage "end-to-end test of the page's views and detail meter (issue 19)" node tests/e2e/views.mjs
  stage "end-to-end test of the static site from a sub-path and of the npm package in a website" \
    node tests/e2e/package.mjs
}

bench() {
  log "in-browser benchmark (www/bench.html) in headless Chromium"
  [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
  node tests/e2e/bench.mjs "${1:-}"   # BENCH_COLD=fashion,emoji,moons: the cold starts measured first
}

case "${1:-}" in
  deps) deps ;;
  serve) deps; build_web; serve ;;
  web) deps; build_web ;;
  pack) deps; build_web; build_dist ;;
  test) stage "tools and packages" deps; run_tests ;;
  bench) deps; build_web; bench "${2:-}" ;;
  *) echo "usage: ./build.sh serve|test|web|pack|bench|deps" >&2; exit 2 ;;
esac
