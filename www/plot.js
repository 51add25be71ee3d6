// The log p plot: per lane, log p along λ as the batch mean (line) and min..max (band), with
// the target of DG to a target dashed; labelled axes in the page's text colour (dark mode).

export const LANE_COLOURS = ["#c0392b", "#2471a3", "#1e8449", "#7d3c98", "#b9770e", "#566573"];
const LEFT_MARGIN = 52;
const RIGHT_MARGIN = 10;
const BOTTOM_MARGIN = 34;
const TOP_MARGIN = 10;
const FONT = "11px system-ui, sans-serif";

/** The axes: ticks at the ends of each range and what each axis holds. */
function drawAxes(ctx, frame, ranges) {
  const { left, right, top, bottom } = frame;
  ctx.strokeStyle = ctx.fillStyle;
  ctx.globalAlpha = 0.6;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, bottom);
  ctx.lineTo(right, bottom);
  ctx.stroke();
  ctx.globalAlpha = 1;
  ctx.font = FONT;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.fillText(ranges.high.toFixed(1), left - 4, top + 4);
  ctx.fillText(ranges.low.toFixed(1), left - 4, bottom - 4);
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(ranges.lambdaStart.toFixed(1), left, bottom + 3);
  ctx.textAlign = "right";
  ctx.fillText(ranges.lambdaEnd.toFixed(1), right, bottom + 3);
  ctx.textAlign = "center";
  ctx.fillText("λ (log signal-to-noise): noise → data", (left + right) / 2, bottom + 17);
  ctx.save();
  ctx.translate(12, (top + bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText("log p", 0, 0);
  ctx.restore();
}

/** `lanes[i].trajectory` is [{ lambda, mean, min, max }] per step drawn; `target` a number or
 * undefined; `ink` the colour of the axes and their text (the canvas's CSS colour, read once
 * per run by the caller: reading styles at every step would cost the main thread a style pass). */
export function plotLogp(ctx, lanes, target, ink) {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  const points = lanes.flatMap((lane) => lane.trajectory);
  if (points.length < 2) {
    return;
  }
  let low = Math.min(...points.map((point) => point.min));
  let high = Math.max(...points.map((point) => point.max));
  if (target !== undefined) {
    low = Math.min(low, target);
    high = Math.max(high, target);
  }
  const lambdaStart = points[0].lambda;
  const lambdaEnd = Math.max(...points.map((point) => point.lambda));
  const plotWidth = width - LEFT_MARGIN - RIGHT_MARGIN;
  const plotHeight = height - BOTTOM_MARGIN - TOP_MARGIN;
  const toX = (lambda) => LEFT_MARGIN + ((lambda - lambdaStart) / (lambdaEnd - lambdaStart || 1)) * plotWidth;
  const toY = (logp) => height - BOTTOM_MARGIN - ((logp - low) / (high - low || 1)) * plotHeight;

  ctx.fillStyle = ink;
  const frame = { left: LEFT_MARGIN, right: width - RIGHT_MARGIN, top: TOP_MARGIN, bottom: height - BOTTOM_MARGIN };
  drawAxes(ctx, frame, { low, high, lambdaStart, lambdaEnd });
  if (target !== undefined) {
    ctx.strokeStyle = ctx.fillStyle;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(LEFT_MARGIN, toY(target));
    ctx.lineTo(width - RIGHT_MARGIN, toY(target));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  lanes.forEach((lane, index) => {
    const trajectory = lane.trajectory;
    const colour = LANE_COLOURS[index % LANE_COLOURS.length];
    ctx.globalAlpha = 0.15;
    ctx.fillStyle = colour;
    ctx.beginPath();
    for (const point of trajectory) {
      ctx.lineTo(toX(point.lambda), toY(point.max));
    }
    for (const point of [...trajectory].reverse()) {
      ctx.lineTo(toX(point.lambda), toY(point.min));
    }
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (const point of trajectory) {
      ctx.lineTo(toX(point.lambda), toY(point.mean));
    }
    ctx.stroke();
    ctx.lineWidth = 1;
  });
}

/** The legend under the plot: one entry per lane (its colour, and its q where the method has
 * one) and the target. */
export function legendItems(lanes, target, withQ) {
  const items = lanes.map((lane, index) => ({
    colour: LANE_COLOURS[index % LANE_COLOURS.length],
    text: `${lane.label ? `${lane.label}: ` : withQ ? `q = ${lane.q}: ` : ""}mean log p (line), batch min–max (band)`,
    dashed: false,
  }));
  if (target !== undefined) {
    items.push({ colour: "currentColor", text: `target log p ${target}`, dashed: true });
  }
  return items;
}
