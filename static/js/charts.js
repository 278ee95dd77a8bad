// Line charts on canvas: the loss (train, test and raced optimizers) and per-layer gradient norms.

import { CLASS_COLOURS } from "./palette.js";

const PAD = { left: 46, right: 8, top: 18, bottom: 18 };
const LAYER_COLOURS = [
  "#0072b2",
  "#d55e00",
  "#009e73",
  "#cc79a7",
  "#e69f00",
  "#56b4e9",
  "#000000",
  "#999999",
];

/** scene = {width, height, history, compare, log}: train solid, test dashed, variants coloured. */
export function drawLoss(ctx, scene) {
  const { history, compare } = scene;
  const series = [];
  if (compare?.size) {
    let k = 0;
    for (const [label, values] of compare) {
      series.push({
        x: values.iteration,
        y: values.loss,
        colour: CLASS_COLOURS[k++ % CLASS_COLOURS.length],
        label,
      });
    }
  } else {
    series.push({ x: history.iteration, y: history.train, colour: "#222", label: "train" });
    series.push({ x: history.iteration, y: history.test, colour: "#0072b2", label: "test", dash: [5, 3] });
  }
  drawLines(ctx, { ...scene, series, title: "loss" });
}

/** scene = {width, height, grads: {iteration, layers: [[norms per iteration] per layer]}}. Always log. */
export function drawGradients(ctx, scene) {
  const { grads } = scene;
  const series = grads.layers.map((values, l) => ({
    x: grads.iteration,
    y: values,
    colour: LAYER_COLOURS[l % LAYER_COLOURS.length],
    label: String(l),
  }));
  drawLines(ctx, { ...scene, series, log: true, title: "gradient norm per layer", legendTitle: "layer" });
}

function drawLines(ctx, { width, height, series, log, title, legendTitle }) {
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  const bounds = boundsOf(series, log);
  drawFrame(ctx, width, height, bounds, log, title);
  if (!bounds) return;
  const plotWidth = width - PAD.left - PAD.right;
  const plotHeight = height - PAD.top - PAD.bottom;
  const sx = (x) => PAD.left + ((x - bounds.x0) / (bounds.x1 - bounds.x0 || 1)) * plotWidth;
  const sy = (y) =>
    PAD.top + (1 - (transform(y, log) - bounds.y0) / (bounds.y1 - bounds.y0 || 1)) * plotHeight;
  for (const line of series) drawSeries(ctx, line, sx, sy, log, plotWidth);
  drawLegend(ctx, series, width, legendTitle);
}

function transform(y, log) {
  return log ? Math.log10(Math.max(y, 1e-12)) : y;
}

function boundsOf(series, log) {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const { x, y } of series) {
    for (let k = 0; k < y.length; k++) {
      if (!Number.isFinite(y[k]) || (log && y[k] <= 0)) continue;
      const value = transform(y[k], log);
      x0 = Math.min(x0, x[k]);
      x1 = Math.max(x1, x[k]);
      y0 = Math.min(y0, value);
      y1 = Math.max(y1, value);
    }
  }
  if (!Number.isFinite(x0)) return null;
  // A little headroom so a flat line is not glued to the frame.
  const pad = (y1 - y0) * 0.05 || Math.abs(y1) * 0.05 || 0.5;
  // Losses are never negative: keep the axis from dipping below zero for the padding's sake.
  y0 = !log && y0 >= 0 ? Math.max(0, y0 - pad) : y0 - pad;
  y1 += pad;
  return { x0, x1, y0, y1 };
}

/** Draws at most one point per pixel column so long histories stay cheap. */
function drawSeries(ctx, line, sx, sy, log, plotWidth) {
  const stride = Math.max(1, Math.floor(line.y.length / plotWidth));
  ctx.beginPath();
  let started = false;
  for (let k = 0; k < line.y.length; k += stride) {
    const y = line.y[k];
    if (!Number.isFinite(y) || (log && y <= 0)) {
      started = false;
      continue;
    }
    const px = sx(line.x[k]);
    const py = sy(y);
    if (started) ctx.lineTo(px, py);
    else ctx.moveTo(px, py);
    started = true;
  }
  ctx.strokeStyle = line.colour;
  ctx.lineWidth = 2;
  ctx.setLineDash(line.dash ?? []);
  ctx.stroke();
  ctx.setLineDash([]);
}

function drawFrame(ctx, width, height, bounds, log, title) {
  ctx.strokeStyle = "#bbb";
  ctx.lineWidth = 1;
  ctx.strokeRect(PAD.left, PAD.top, width - PAD.left - PAD.right, height - PAD.top - PAD.bottom);
  ctx.fillStyle = "#333";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(title + (log ? " (log)" : ""), PAD.left, 3);
  if (!bounds) return;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const tick = (value) => readable(log ? 10 ** value : value);
  ctx.fillText(tick(bounds.y1), PAD.left - 4, PAD.top + 4);
  ctx.fillText(tick(bounds.y0), PAD.left - 4, height - PAD.bottom - 4);
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillText(String(bounds.x1), width - PAD.right - 16, height - PAD.bottom + 3);
  ctx.fillText(String(bounds.x0), PAD.left + 8, height - PAD.bottom + 3);
}

/** Labels in their colours, right-aligned just inside the top of the plot. */
/** Three significant digits, in exponent form only when very small or large. */
function readable(value) {
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e4)) return value.toExponential(1);
  return String(Number(value.toPrecision(3)));
}

function drawLegend(ctx, series, width, legendTitle) {
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.textAlign = "right";
  let x = width - PAD.right - 4;
  const entries = [...series].reverse();
  if (legendTitle) entries.push({ label: legendTitle, colour: "#333" });
  for (const line of entries) {
    const textWidth = ctx.measureText(line.label).width;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(x - textWidth - 2, PAD.top + 2, textWidth + 4, 13);
    ctx.fillStyle = line.colour;
    ctx.fillText(line.label, x, PAD.top + 3);
    x -= textWidth + (legendTitle ? 6 : 10);
  }
}
