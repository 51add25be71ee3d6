// The log p plot: per lane, log p along λ as the batch mean (line) and min..max (band), with
// the target of DG to a target dashed.

export const LANE_COLOURS = ["#c0392b", "#2471a3", "#1e8449", "#7d3c98", "#b9770e", "#566573"];
const LEFT_MARGIN = 40;
const RIGHT_MARGIN = 10;
const BOTTOM_MARGIN = 16;
const TOP_MARGIN = 10;

/** `lanes[i].trajectory` is [{ lambda, mean, min, max }] per step drawn; `target` a number or
 * undefined. */
export function plotLogp(ctx, lanes, target) {
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

  ctx.fillStyle = "#555";
  ctx.font = "10px system-ui";
  ctx.fillText(high.toFixed(1), 2, 12);
  ctx.fillText(low.toFixed(1), 2, height - BOTTOM_MARGIN);
  ctx.fillText(`λ ${lambdaStart.toFixed(1)} → ${lambdaEnd.toFixed(2)}`, width / 2 - 30, height - 3);
  if (target !== undefined) {
    ctx.strokeStyle = "#888";
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
    ctx.beginPath();
    for (const point of trajectory) {
      ctx.lineTo(toX(point.lambda), toY(point.mean));
    }
    ctx.stroke();
  });
}
