// The paper's central finding measured in front of the visitor: every image sample of this visit
// as a point (bits per pixel of its PNG across, log p up), per model, with the Pearson
// correlation printed (docs/eval finds r = -0.71 on 2,000 Fashion-MNIST samples). Points
// accumulate over the runs of a visit; the last run's are filled, earlier ones hollow.
import { LANE_COLOURS } from "./plot.js";

const MARGIN = { left: 52, right: 10, top: 10, bottom: 34 };
const FONT = "11px system-ui, sans-serif";

/** Pearson's correlation of two equally long lists; NaN with fewer than 3 points or no spread. */
export function pearson(xs, ys) {
  const count = xs.length;
  if (count < 3) {
    return Number.NaN;
  }
  const meanX = xs.reduce((sum, x) => sum + x, 0) / count;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / count;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < count; i++) {
    sxy += (xs[i] - meanX) * (ys[i] - meanY);
    sxx += (xs[i] - meanX) ** 2;
    syy += (ys[i] - meanY) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function extent(values) {
  const low = Math.min(...values);
  const high = Math.max(...values);
  const pad = (high - low) * 0.05 || Math.abs(high) * 0.05 || 1;
  return { low: low - pad, high: high + pad };
}

/** The caption's sentence: how many points, from how many runs, and r. */
export function scatterSummary(points, runs) {
  const r = pearson(
    points.map((point) => point.bpp),
    points.map((point) => point.logp),
  );
  const rText = Number.isNaN(r) ? "r needs 3 points or more" : `Pearson r = ${r.toFixed(2).replace("-", "−")}`;
  return `${points.length} samples from ${runs} run${runs === 1 ? "" : "s"}: ${rText}`;
}

/** The scatter of one mounted demo: a figure in `aside`, hidden until a run draws images. */
export class DetailScatter {
  constructor(aside) {
    this.byModel = new Map();
    this.model = null;
    this.figure = document.createElement("figure");
    this.figure.className = "dg-scatterbox";
    this.figure.hidden = true;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "dg-plot dg-scatter";
    this.canvas.width = 448;
    this.canvas.height = 200;
    this.canvas.setAttribute("role", "img");
    this.caption = document.createElement("figcaption");
    this.figure.append(this.canvas, this.caption);
    aside.append(this.figure);
  }

  /** Adds a run's samples of `model` ({bpp, logp, lane} each) and redraws. */
  add(model, points) {
    const seen = this.byModel.get(model) ?? { points: [], runs: 0 };
    seen.runs += 1;
    for (const point of seen.points) {
      point.latest = false;
    }
    seen.points.push(...points.map((point) => ({ ...point, latest: true })));
    this.byModel.set(model, seen);
    this.model = model;
    this.draw();
  }

  /** The current model's points and r, for the run record and tests. */
  get current() {
    const seen = this.byModel.get(this.model);
    if (!seen) {
      return null;
    }
    const points = seen.points.map(({ bpp, logp }) => [bpp, logp]);
    const r = pearson(
      points.map((point) => point[0]),
      points.map((point) => point[1]),
    );
    return { model: this.model, runs: seen.runs, points, r: Number.isNaN(r) ? null : r };
  }

  draw() {
    const { points, runs } = this.byModel.get(this.model);
    const summary = scatterSummary(points, runs);
    this.figure.hidden = false;
    this.caption.textContent = `Detail against density (${this.model}), every image of this visit: ${summary}. Lower log p, more bits per pixel: more detail.`;
    this.canvas.setAttribute("aria-label", `scatter of log p against PNG bits per pixel, ${this.model}: ${summary}`);
    const ctx = this.canvas.getContext("2d");
    const ink = getComputedStyle(this.canvas).color;
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    const frame = {
      left: MARGIN.left,
      right: width - MARGIN.right,
      top: MARGIN.top,
      bottom: height - MARGIN.bottom,
    };
    const xs = extent(points.map((point) => point.bpp));
    const ys = extent(points.map((point) => point.logp));
    const toX = (value) => frame.left + ((value - xs.low) / (xs.high - xs.low)) * (frame.right - frame.left);
    const toY = (value) => frame.bottom - ((value - ys.low) / (ys.high - ys.low)) * (frame.bottom - frame.top);
    drawFrame(ctx, frame, xs, ys, ink);
    for (const point of points) {
      ctx.beginPath();
      ctx.arc(toX(point.bpp), toY(point.logp), 3, 0, 2 * Math.PI);
      const colour = LANE_COLOURS[point.lane % LANE_COLOURS.length];
      if (point.latest) {
        ctx.fillStyle = colour;
        ctx.fill();
      } else {
        ctx.strokeStyle = colour;
        ctx.stroke();
      }
    }
  }
}

/** Axes with their end values and names, in the plot's ink (dark mode follows). */
function drawFrame(ctx, frame, xs, ys, ink) {
  ctx.strokeStyle = ink;
  ctx.fillStyle = ink;
  ctx.globalAlpha = 0.6;
  ctx.beginPath();
  ctx.moveTo(frame.left, frame.top);
  ctx.lineTo(frame.left, frame.bottom);
  ctx.lineTo(frame.right, frame.bottom);
  ctx.stroke();
  ctx.globalAlpha = 1;
  ctx.font = FONT;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.fillText(ys.high.toFixed(0), frame.left - 4, frame.top + 4);
  ctx.fillText(ys.low.toFixed(0), frame.left - 4, frame.bottom - 4);
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(xs.low.toFixed(2), frame.left, frame.bottom + 3);
  ctx.textAlign = "right";
  ctx.fillText(xs.high.toFixed(2), frame.right, frame.bottom + 3);
  ctx.textAlign = "center";
  ctx.fillText("PNG bits per pixel: more detail →", (frame.left + frame.right) / 2, frame.bottom + 17);
  ctx.save();
  ctx.translate(12, (frame.top + frame.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText("log p", 0, 0);
  ctx.restore();
}
