// Charts on canvas: the loss (train, test and raced optimizers) and per-layer gradient norms
// (bars of the norms' geometric mean over recent frames, or their history as lines).

import { CLASS_COLOURS } from "./palette.js";

const PAD = { left: 52, right: 8, top: 18, bottom: 18 };
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

/**
 * scene = {width, height, norms, frames, grads, history}. By default one bar per weight layer
 * (1 … L, input side on the left) of the gradient norm averaged over the last `frames` frames (a
 * geometric mean, as the axis is log), each labelled with its value: vanishing gradients read
 * as bars falling towards the input, exploding ones as bars growing. `history: true` shows the
 * norms over time instead, one line per layer.
 */
export function drawGradients(ctx, scene) {
  if (scene.history) {
    const { grads } = scene;
    const series = grads.layers.map((values, l) => ({
      x: grads.iteration,
      y: values,
      colour: LAYER_COLOURS[l % LAYER_COLOURS.length],
      label: String(l + 1),
    }));
    drawLines(ctx, { ...scene, series, log: true, title: "gradient norm per layer", legendTitle: "layer" });
    return;
  }
  drawGradientBars(ctx, scene);
}

const BAR_PAD = { left: 46, right: 8, top: 18, bottom: 16 };
/** Titles from longest to shortest; each says the bars are a mean over recent frames. */
function gradientTitles(frames) {
  const last = frames === 1 ? "the last frame" : `the last ${frames} frames`;
  return [
    `gradient norm ‖∂L/∂W‖ per layer, geometric mean of ${last} (log)`,
    `‖∂L/∂W‖ per layer, mean of ${last} (log)`,
    `‖∂L/∂W‖, mean of ${last.replace("the ", "")} (log)`,
    `‖∂L/∂W‖, ${frames}-frame mean (log)`,
    `‖∂L/∂W‖ ${frames}-frame mean`,
  ];
}

function drawGradientBars(ctx, { width, height, norms, frames = 1 }) {
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#333";
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  // A narrow chart (presenter mode puts the two side by side) gets the shorter title that fits.
  // It may start left of the plot when that is what lets it fit.
  const titles = gradientTitles(frames);
  const fits = (text, left) => ctx.measureText(text).width <= width - left - BAR_PAD.right;
  const title = titles.find((text) => fits(text, BAR_PAD.left)) ?? titles.find((text) => fits(text, 4));
  const titleLeft = title ? BAR_PAD.left : 4;
  ctx.fillText(title ?? titles.at(-1), titleLeft, 3);
  const plot = {
    x: BAR_PAD.left,
    y: BAR_PAD.top,
    w: width - BAR_PAD.left - BAR_PAD.right,
    h: height - BAR_PAD.top - BAR_PAD.bottom,
  };
  ctx.strokeStyle = "#bbb";
  ctx.lineWidth = 1;
  ctx.strokeRect(plot.x, plot.y, plot.w, plot.h);
  const values = (norms ?? []).map((v) => (Number.isFinite(v) && v > 0 ? v : null));
  const shown = values.filter((v) => v !== null);
  if (!values.length || !shown.length) {
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#777";
    ctx.fillText("no gradient yet: step or play", plot.x + plot.w / 2, plot.y + plot.h / 2);
    return;
  }
  const slot = plot.w / values.length;
  const barWidth = Math.max(3, Math.min(40, slot * 0.6));
  ctx.font = "10px system-ui, sans-serif";
  const labels = values.map((v) => (v === null ? "—" : powerText(v)));
  // The values sit in a row along the top of the plot, on two staggered rows when neighbours
  // would touch; the axis gets whole decades above the tallest bar so no bar reaches them.
  const stagger = labels.some((text) => ctx.measureText(text).width > slot - 2);
  // Too narrow even for two rows: label the first and last layers only, the pair that matters.
  const sparse = labels.some((text) => ctx.measureText(text).width > 2 * slot - 2);
  if (sparse) labels.forEach((_, l) => l > 0 && l < labels.length - 1 && (labels[l] = ""));
  const rowsHeight = stagger ? 24 : 13;
  const lo = Math.floor(Math.log10(Math.min(...shown)));
  const top = Math.log10(Math.max(...shown));
  const free = Math.max(0.2, 1 - rowsHeight / plot.h);
  let hi = Math.max(lo + 1, Math.ceil(top));
  while ((top - lo) / (hi - lo) > free) hi += 1;
  const sy = (exponent) => plot.y + (1 - (exponent - lo) / (hi - lo)) * plot.h;
  drawDecades(ctx, plot, lo, hi, sy, rowsHeight);
  values.forEach((value, l) => {
    const centre = plot.x + slot * (l + 0.5);
    const colour = LAYER_COLOURS[l % LAYER_COLOURS.length];
    const barTop = value === null ? plot.y + plot.h : sy(Math.log10(value));
    ctx.fillStyle = colour;
    ctx.globalAlpha = 0.8;
    ctx.fillRect(centre - barWidth / 2, barTop, barWidth, plot.y + plot.h - barTop);
    ctx.globalAlpha = 1;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    const labelY = plot.y + 12 + (stagger && l % 2 === 1 ? 11 : 0);
    const textWidth = ctx.measureText(labels[l]).width;
    const half = textWidth / 2 + 1;
    const labelX = Math.min(Math.max(centre, plot.x + half + 1), plot.x + plot.w - half - 1);
    ctx.fillStyle = colour;
    if (labels[l]) ctx.fillRect(centre - 0.5, labelY + 1, 1, barTop - labelY - 1); // label to bar
    ctx.fillStyle = "#111";
    ctx.fillText(labels[l], labelX, labelY);
    ctx.fillStyle = "#333";
    ctx.textBaseline = "top";
    ctx.fillText(String(l + 1), centre, plot.y + plot.h + 2);
  });
}

/** Grid lines and labels at whole powers of ten between exponents lo and hi. */
function drawDecades(ctx, plot, lo, hi, sy, reserved) {
  const every = Math.max(1, Math.ceil((hi - lo) / Math.max(1, Math.floor(plot.h / 14))));
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let exponent = lo; exponent <= hi; exponent++) {
    if ((exponent - lo) % every) continue;
    const y = sy(exponent);
    if (y < plot.y + reserved + 2) continue; // the row of value labels lives up there
    ctx.strokeStyle = "#eee";
    ctx.beginPath();
    ctx.moveTo(plot.x + 1, y);
    ctx.lineTo(plot.x + plot.w - 1, y);
    ctx.stroke();
    ctx.fillStyle = "#333";
    ctx.fillText(decadeText(exponent), plot.x - 4, y);
  }
}

const SUPERSCRIPTS = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

function superscript(n) {
  return [...String(n)].map((c) => SUPERSCRIPTS[c] ?? c).join("");
}

/** 10^exponent as a person writes it: 1, 10, 0.1, then 10², 10⁻² … */
export function decadeText(exponent) {
  if (exponent === 0) return "1";
  if (exponent === 1) return "10";
  if (exponent === -1) return "0.1";
  return `10${superscript(exponent)}`;
}

/** A value with two significant digits: 0.52, 31, 3.1·10⁻⁵ (exponent form outside 0.01 … 1000). */
export function powerText(value) {
  const magnitude = Math.abs(value);
  if (magnitude >= 0.01 && magnitude < 1000) return String(Number(value.toPrecision(2)));
  const exponent = Math.floor(Math.log10(magnitude));
  let mantissa = Number((value / 10 ** exponent).toPrecision(2));
  let power = exponent;
  if (Math.abs(mantissa) >= 10) {
    mantissa /= 10;
    power += 1;
  }
  return `${mantissa}·10${superscript(power)}`;
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
  if (log) {
    // Whole powers of ten inside the range (at least the nearest one), never "1e-2.1".
    const sy = (v) =>
      PAD.top + (1 - (v - bounds.y0) / (bounds.y1 - bounds.y0 || 1)) * (height - PAD.top - PAD.bottom);
    let first = Math.ceil(bounds.y0);
    let last = Math.floor(bounds.y1);
    if (first > last) first = last = Math.round((bounds.y0 + bounds.y1) / 2);
    const every = Math.max(1, Math.ceil((last - first + 1) / 4));
    for (let exponent = first; exponent <= last; exponent += every) {
      const y = Math.min(Math.max(sy(exponent), PAD.top + 4), height - PAD.bottom - 4);
      ctx.fillText(decadeText(exponent), PAD.left - 4, y);
    }
  } else {
    ctx.fillText(readable(bounds.y1), PAD.left - 4, PAD.top + 4);
    ctx.fillText(readable(bounds.y0), PAD.left - 4, height - PAD.bottom - 4);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillText(String(bounds.x1), width - PAD.right - 16, height - PAD.bottom + 3);
  ctx.fillText(String(bounds.x0), PAD.left + 8, height - PAD.bottom + 3);
}

/** Labels in their colours, right-aligned just inside the top of the plot. */
/** Three significant digits, in exponent form only when very small or large. */
function readable(value) {
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-2 || magnitude >= 1e4)) return powerText(value);
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
