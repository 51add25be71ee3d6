// Drawing a step's state on a 2-D canvas: for the 2-D lab a heat map of p_λ (exact for the
// analytic mixture, else the particles' histogram), the particles' recent trails and the
// particles; for images (grey or RGB, channel-major) a grid of the batch. Also the pixel
// fingerprints tests use. Works on the page and in a worker (no DOM beyond canvases).
import { imageShapeOf } from "./models.js";

/** The 2-D view spans [-VIEW_HALF_WIDTH, VIEW_HALF_WIDTH]² (SPAN in src/canvas.rs). */
const VIEW_HALF_WIDTH = 3.5;
/** Heat-map cells per side. */
const HEAT_GRID = 56;
/** The heat map's colour and its opacity at the maximum. */
const HEAT_RGB = [41, 128, 185];
const HEAT_MAX_ALPHA = 0.55;
/** Steps of trail drawn behind each particle, their colour and opacity. */
const TRAIL_LENGTH = 8;
const TRAIL_RGB = [192, 57, 43];
const TRAIL_ALPHA = 0.18;
const PARTICLE_RGB = [192, 57, 43];
const BACKGROUND = "#fff";

// The particles are painted into a pixel buffer here and put on the canvas at once: 2,048
// particles' anti-aliased trails stroked on a canvas cost the page's main thread seconds of
// rasterisation per frame in software, a pixel buffer a few milliseconds.

function clearTo(ctx, colour) {
  ctx.fillStyle = colour;
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
}

/** Per heat-map cell, the opacity of `density(u, v)` (u, v in [0, 1], v downwards) scaled to
 * its maximum. */
function heatAlphas(density) {
  const values = new Float64Array(HEAT_GRID * HEAT_GRID);
  let max = 0;
  for (let row = 0; row < HEAT_GRID; row++) {
    for (let column = 0; column < HEAT_GRID; column++) {
      const value = density((column + 0.5) / HEAT_GRID, (row + 0.5) / HEAT_GRID);
      values[row * HEAT_GRID + column] = value;
      max = Math.max(max, value);
    }
  }
  for (let cell = 0; cell < values.length; cell++) {
    values[cell] = (HEAT_MAX_ALPHA * values[cell]) / (max || 1);
  }
  return values;
}

/** The analytic mixture's marginal p_λ on the linear path: N(α μ_k, α²σ_k² + σ²). */
function exactHeatAlphas(spec, lambda) {
  const alpha = 1 / (1 + Math.exp(-lambda / 2));
  const sigma = 1 - alpha;
  const totalWeight = spec.weights.reduce((sum, weight) => sum + weight, 0);
  return heatAlphas((u, v) => {
    const x = (2 * u - 1) * VIEW_HALF_WIDTH;
    const y = (1 - 2 * v) * VIEW_HALF_WIDTH;
    let density = 0;
    spec.weights.forEach((weight, k) => {
      const variance = alpha * alpha * spec.stds[k] ** 2 + sigma * sigma;
      const dx = x - alpha * spec.means[k][0];
      const dy = y - alpha * spec.means[k][1];
      const normal = Math.exp(-(dx * dx + dy * dy) / (2 * variance)) / (2 * Math.PI * variance);
      density += (weight / totalWeight) * normal;
    });
    return density;
  });
}

/** A network's p_λ has no closed form: show the particles' own histogram. */
function histogramHeatAlphas(positions) {
  const counts = new Float64Array(HEAT_GRID * HEAT_GRID);
  for (let i = 0; i < positions.length; i += 2) {
    const column = Math.floor(((positions[i] / VIEW_HALF_WIDTH + 1) / 2) * HEAT_GRID);
    const row = Math.floor(((1 - positions[i + 1] / VIEW_HALF_WIDTH) / 2) * HEAT_GRID);
    if (column >= 0 && column < HEAT_GRID && row >= 0 && row < HEAT_GRID) {
      counts[row * HEAT_GRID + column] += 1;
    }
  }
  return heatAlphas((u, v) => {
    const row = Math.min(HEAT_GRID - 1, Math.floor(v * HEAT_GRID));
    const column = Math.min(HEAT_GRID - 1, Math.floor(u * HEAT_GRID));
    return counts[row * HEAT_GRID + column];
  });
}

/** `rgb` at `alpha` over the pixel at `offset` of an RGBA buffer. */
function blendPixel(pixels, offset, rgb, alpha) {
  pixels[offset] += (rgb[0] - pixels[offset]) * alpha;
  pixels[offset + 1] += (rgb[1] - pixels[offset + 1]) * alpha;
  pixels[offset + 2] += (rgb[2] - pixels[offset + 2]) * alpha;
}

/** White under the heat map's cells (`alphas` per cell, or none): each cell's colour is
 * blended once and copied to its pixels as 32-bit words. */
function paintBackground(image, alphas) {
  const { width, height, data } = image;
  data.fill(255);
  if (!alphas) {
    return;
  }
  const cellColours = new Uint32Array(alphas.length);
  const cellBytes = new Uint8ClampedArray(cellColours.buffer);
  cellBytes.fill(255);
  for (let cell = 0; cell < alphas.length; cell++) {
    blendPixel(cellBytes, 4 * cell, HEAT_RGB, alphas[cell]);
  }
  const columnOfX = new Uint32Array(width);
  for (let x = 0; x < width; x++) {
    columnOfX[x] = Math.floor((x * HEAT_GRID) / width);
  }
  const pixelWords = new Uint32Array(data.buffer, data.byteOffset, width * height);
  for (let y = 0; y < height; y++) {
    const rowStart = Math.floor((y * HEAT_GRID) / height) * HEAT_GRID;
    for (let x = 0; x < width; x++) {
      pixelWords[y * width + x] = cellColours[rowStart + columnOfX[x]];
    }
  }
}

/** Each particle's path over the last steps, one pixel wide; where trails cross, the pixel is
 * covered once (as one stroked path would be). */
function paintTrails(image, trail, toX, toY) {
  const { width, height, data } = image;
  const covered = new Uint8Array(width * height);
  const count = trail[0].length / 2;
  for (let age = 1; age < trail.length; age++) {
    const from = trail[age - 1];
    const to = trail[age];
    for (let i = 0; i < count; i++) {
      const x0 = toX(from[2 * i]);
      const y0 = toY(from[2 * i + 1]);
      const x1 = toX(to[2 * i]);
      const y1 = toY(to[2 * i + 1]);
      const steps = Math.min(2 * width, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
      for (let k = 0; k <= steps; k++) {
        const t = steps ? k / steps : 0;
        const x = Math.floor(x0 + (x1 - x0) * t);
        const y = Math.floor(y0 + (y1 - y0) * t);
        if (x >= 0 && x < width && y >= 0 && y < height) {
          covered[y * width + x] = 1;
        }
      }
    }
  }
  for (let pixel = 0; pixel < covered.length; pixel++) {
    if (covered[pixel]) {
      blendPixel(data, 4 * pixel, TRAIL_RGB, TRAIL_ALPHA);
    }
  }
}

/** Each particle as a 2×2 square. */
function paintParticles(image, positions, toX, toY) {
  const { width, height, data } = image;
  for (let i = 0; i < positions.length; i += 2) {
    const left = Math.floor(toX(positions[i])) - 1;
    const top = Math.floor(toY(positions[i + 1])) - 1;
    for (let y = Math.max(0, top); y < Math.min(height, top + 2); y++) {
      for (let x = Math.max(0, left); x < Math.min(width, left + 2); x++) {
        data.set(PARTICLE_RGB, 4 * (y * width + x));
      }
    }
  }
}

/** Particles in 2-D over the heat map, with the trails `lane.trail` keeps between steps. */
function drawParticles(ctx, lane, state, spec) {
  const { width, height } = ctx.canvas;
  const positions = state.x;
  const scale = width / (2 * VIEW_HALF_WIDTH);
  const toX = (value) => width / 2 + value * scale;
  const toY = (value) => height / 2 - value * scale;
  const image = ctx.createImageData(width, height);
  paintBackground(image, spec ? exactHeatAlphas(spec, state.lambda) : histogramHeatAlphas(positions));
  lane.trail.push(positions);
  if (lane.trail.length > TRAIL_LENGTH) {
    lane.trail.shift();
  }
  paintTrails(image, lane.trail, toX, toY);
  paintParticles(image, positions, toX, toY);
  ctx.putImageData(image, 0, 0);
}

/** How the grid of `columns` × `rows` images of `side` pixels sits on a `width` × `height`
 * canvas: scaled by a whole number where it fits at least once (every image pixel the same
 * square of canvas pixels), else shrunk to fit; centred. As src/web/canvas.wgsl's. */
export function gridPlacement(columns, rows, side, width, height) {
  const fit = Math.min(width / (columns * side), height / (rows * side));
  const scale = fit >= 1 ? Math.floor(fit) : fit;
  const left = Math.floor((width - columns * side * scale) / 2);
  const top = Math.floor((height - rows * side * scale) / 2);
  return { scale, left, top };
}

/** 8 bits of a value in [-1, 1]. */
function levelOf(value) {
  return Math.max(0, Math.min(255, (value + 1) * 127.5));
}

/** Images (values in [-1, 1]; one channel grey, three RGB, channel-major) as a grid of the
 * batch, scaled up without smoothing. */
function drawImageGrid(ctx, state) {
  const { width, height } = ctx.canvas;
  const pixels = state.x;
  const dim = state.dim;
  const { channels, side } = imageShapeOf(dim) ?? { channels: 1, side: Math.round(Math.sqrt(dim)) };
  const plane = side * side;
  const count = pixels.length / dim;
  const columns = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const grid = new ImageData(columns * side, rows * side);
  for (let image = 0; image < count; image++) {
    const top = Math.floor(image / columns) * side;
    const left = (image % columns) * side;
    const start = image * dim;
    for (let p = 0; p < plane; p++) {
      const offset = 4 * ((top + Math.floor(p / side)) * grid.width + left + (p % side));
      for (let colour = 0; colour < 3; colour++) {
        const channel = channels === 3 ? colour : 0;
        grid.data[offset + colour] = levelOf(pixels[start + channel * plane + p]);
      }
      grid.data[offset + 3] = 255;
    }
  }
  const unscaled = new OffscreenCanvas(grid.width, grid.height);
  unscaled.getContext("2d").putImageData(grid, 0, 0);
  ctx.imageSmoothingEnabled = false;
  clearTo(ctx, BACKGROUND);
  const { scale, left, top } = gridPlacement(columns, rows, side, width, height);
  ctx.drawImage(unscaled, left, top, grid.width * scale, grid.height * scale);
}

/** Draws one lane's state; `spec` is the analytic mixture's (exact heat map) or undefined. */
export function drawState(ctx, lane, state, spec) {
  if (state.dim === 2) {
    drawParticles(ctx, lane, state, spec);
  } else {
    drawImageGrid(ctx, state);
  }
}

/** What lies under a GPU-drawn layer: white, and the exact heat map of the analytic mixture
 * (it needs only λ); the GPU layer draws the rest. */
export function drawUnderGpuLayer(ctx, state, spec) {
  if (!(spec && state.dim === 2)) {
    clearTo(ctx, BACKGROUND);
    return;
  }
  const image = ctx.createImageData(ctx.canvas.width, ctx.canvas.height);
  paintBackground(image, exactHeatAlphas(spec, state.lambda));
  ctx.putImageData(image, 0, 0);
}

export function pixelsOf(ctx) {
  return ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height);
}

/** A cheap fingerprint of a canvas's pixels, for tests that check every step was drawn. */
export function canvasChecksum(pixels) {
  let hash = 0;
  for (let i = 0; i < pixels.data.length; i += 7) {
    hash = (hash * 31 + pixels.data[i]) | 0;
  }
  return hash;
}

/** The largest difference of two RGBA pixel arrays, per channel. */
export function maxPixelDifference(a, b) {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs(a[i] - b[i]));
  }
  return max;
}

/** All lanes' canvases side by side on one canvas (the PNG export). */
export function sideBySide(canvases) {
  const joined = document.createElement("canvas");
  joined.width = canvases.reduce((sum, canvas) => sum + canvas.width, 0);
  joined.height = Math.max(...canvases.map((canvas) => canvas.height));
  const ctx = joined.getContext("2d");
  let left = 0;
  for (const canvas of canvases) {
    ctx.drawImage(canvas, left, 0);
    left += canvas.width;
  }
  return joined;
}
