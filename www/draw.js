// Drawing a step's state on a 2-D canvas: for the 2-D lab a heat map of p_λ (exact for the
// analytic mixture, else the particles' histogram), the particles' recent trails and the
// particles; for images a grid of the batch. Also the pixel fingerprints tests use. Works on
// the page and in a worker (no DOM beyond canvases).

/** The 2-D view spans [-VIEW_HALF_WIDTH, VIEW_HALF_WIDTH]² (SPAN in src/canvas.rs). */
const VIEW_HALF_WIDTH = 3.5;
/** Heat-map cells per side. */
const HEAT_GRID = 56;
/** Steps of trail drawn behind each particle. */
const TRAIL_LENGTH = 8;
const PARTICLE_COLOUR = "#c0392b";
const TRAIL_COLOUR = "rgba(192,57,43,0.18)";
const BACKGROUND = "#fff";

function clearTo(ctx, colour) {
  ctx.fillStyle = colour;
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
}

/** The heat map's colour (RGB) and its opacity at the maximum. */
const HEAT_RGB = [41, 128, 185];
const HEAT_MAX_ALPHA = 0.55;

/** Fills the heat-map cells with `density(u, v)` (u, v in [0, 1], v downwards), scaled to its
 * maximum: one pixel per cell, scaled up over the canvas without smoothing. */
function drawHeatCells(ctx, density) {
  const values = new Float64Array(HEAT_GRID * HEAT_GRID);
  let max = 0;
  for (let row = 0; row < HEAT_GRID; row++) {
    for (let column = 0; column < HEAT_GRID; column++) {
      const value = density((column + 0.5) / HEAT_GRID, (row + 0.5) / HEAT_GRID);
      values[row * HEAT_GRID + column] = value;
      max = Math.max(max, value);
    }
  }
  const cells = new ImageData(HEAT_GRID, HEAT_GRID);
  for (let cell = 0; cell < values.length; cell++) {
    const alpha = (HEAT_MAX_ALPHA * values[cell]) / (max || 1);
    cells.data.set(HEAT_RGB, 4 * cell);
    cells.data[4 * cell + 3] = Math.round(255 * alpha);
  }
  const unscaled = new OffscreenCanvas(HEAT_GRID, HEAT_GRID);
  unscaled.getContext("2d").putImageData(cells, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(unscaled, 0, 0, ctx.canvas.width, ctx.canvas.height);
}

/** The analytic mixture's marginal p_λ on the linear path: N(α μ_k, α²σ_k² + σ²). */
function drawExactHeat(ctx, spec, lambda) {
  const alpha = 1 / (1 + Math.exp(-lambda / 2));
  const sigma = 1 - alpha;
  const totalWeight = spec.weights.reduce((sum, weight) => sum + weight, 0);
  drawHeatCells(ctx, (u, v) => {
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
function drawHistogramHeat(ctx, positions) {
  const counts = new Float64Array(HEAT_GRID * HEAT_GRID);
  for (let i = 0; i < positions.length; i += 2) {
    const column = Math.floor(((positions[i] / VIEW_HALF_WIDTH + 1) / 2) * HEAT_GRID);
    const row = Math.floor(((1 - positions[i + 1] / VIEW_HALF_WIDTH) / 2) * HEAT_GRID);
    if (column >= 0 && column < HEAT_GRID && row >= 0 && row < HEAT_GRID) {
      counts[row * HEAT_GRID + column] += 1;
    }
  }
  drawHeatCells(ctx, (u, v) => {
    const row = Math.min(HEAT_GRID - 1, Math.floor(v * HEAT_GRID));
    const column = Math.min(HEAT_GRID - 1, Math.floor(u * HEAT_GRID));
    return counts[row * HEAT_GRID + column];
  });
}

/** Particles in 2-D over the heat map, with the trails `lane.trail` keeps between steps. */
function drawParticles(ctx, lane, state, spec) {
  const { width, height } = ctx.canvas;
  const positions = state.x;
  const count = positions.length / 2;
  const scale = width / (2 * VIEW_HALF_WIDTH);
  const toX = (value) => width / 2 + value * scale;
  const toY = (value) => height / 2 - value * scale;
  clearTo(ctx, BACKGROUND);
  if (spec) {
    drawExactHeat(ctx, spec, state.lambda);
  } else {
    drawHistogramHeat(ctx, positions);
  }
  lane.trail.push(positions);
  if (lane.trail.length > TRAIL_LENGTH) {
    lane.trail.shift();
  }
  ctx.strokeStyle = TRAIL_COLOUR;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 0; i < count; i++) {
    lane.trail.forEach((past, age) => {
      if (age === 0) {
        ctx.moveTo(toX(past[2 * i]), toY(past[2 * i + 1]));
      } else {
        ctx.lineTo(toX(past[2 * i]), toY(past[2 * i + 1]));
      }
    });
  }
  ctx.stroke();
  ctx.fillStyle = PARTICLE_COLOUR;
  for (let i = 0; i < count; i++) {
    ctx.fillRect(toX(positions[2 * i]) - 1, toY(positions[2 * i + 1]) - 1, 2, 2);
  }
}

/** Images (values in [-1, 1]) as a grid of the batch, scaled up without smoothing. */
function drawImageGrid(ctx, state) {
  const { width, height } = ctx.canvas;
  const pixels = state.x;
  const dim = state.dim;
  const count = pixels.length / dim;
  const side = Math.round(Math.sqrt(dim));
  const columns = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const grid = new ImageData(columns * side, rows * side);
  for (let image = 0; image < count; image++) {
    const top = Math.floor(image / columns) * side;
    const left = (image % columns) * side;
    for (let p = 0; p < dim; p++) {
      const grey = Math.max(0, Math.min(255, (pixels[image * dim + p] + 1) * 127.5));
      const offset = 4 * ((top + Math.floor(p / side)) * grid.width + left + (p % side));
      grid.data[offset] = grey;
      grid.data[offset + 1] = grey;
      grid.data[offset + 2] = grey;
      grid.data[offset + 3] = 255;
    }
  }
  const unscaled = new OffscreenCanvas(grid.width, grid.height);
  unscaled.getContext("2d").putImageData(grid, 0, 0);
  ctx.imageSmoothingEnabled = false;
  clearTo(ctx, BACKGROUND);
  const scale = Math.min(width / grid.width, height / grid.height);
  ctx.drawImage(unscaled, 0, 0, grid.width * scale, grid.height * scale);
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
  clearTo(ctx, BACKGROUND);
  if (spec && state.dim === 2) {
    drawExactHeat(ctx, spec, state.lambda);
  }
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
