// The per-layer gradient bars, hand-drawn on a canvas (uPlot draws the line charts): one bar per
// weight layer of the norms' geometric mean over recent frames, on a log axis.

export const LAYER_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999"];

/** Titles from longest to shortest; each says the bars are a mean over recent frames. */
function gradientTitles(frames) {
  const last = frames === 1 ? "the last frame" : `the last ${frames} frames`;
  return [
    `gradient norm ‖∂L/∂W‖ per weight layer, geometric mean of ${last} (log)`,
    `‖∂L/∂W‖ per layer, mean of ${last} (log)`,
    `‖∂L/∂W‖, mean of ${last.replace("the ", "")} (log)`,
    `‖∂L/∂W‖, ${frames}-frame mean (log)`,
    `‖∂L/∂W‖ ${frames}-frame mean`,
  ];
}

/** A weight layer by the column it feeds, as the network's column titles say, long and short. */
export function layerNames(l, weightLayers) {
  return l === weightLayers - 1 ? ["output", "out"] : [`hidden ${l + 1}`, `h${l + 1}`];
}

/**
 * scene = {width, height, norms, frames, fontPx}: one bar per weight layer (input side on the
 * left) of the gradient norm averaged over the last `frames` frames (a geometric mean, as the
 * axis is log), each labelled with its value: vanishing gradients read as bars falling towards
 * the input, exploding ones as bars growing. Labels never overlap: a value that finds no room in
 * the two rows above the bars is left out (the canvas's accessible name lists every value).
 */
export function drawGradients(ctx, { width, height, norms, frames = 1, fontPx = 11 }) {
  const small = Math.round(fontPx * 0.9);
  const pad = {
    left: Math.round(fontPx * 4.2),
    right: 8,
    top: Math.round(fontPx * 1.6),
    bottom: Math.round(fontPx * 1.5),
  };
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.font = `${fontPx}px system-ui, sans-serif`;
  ctx.fillStyle = "#333";
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  // A narrow chart gets the shorter title that fits; it may start left of the plot to fit.
  const titles = gradientTitles(frames);
  const fits = (text, left) => ctx.measureText(text).width <= width - left - pad.right;
  const title = titles.find((text) => fits(text, pad.left)) ?? titles.find((text) => fits(text, 4));
  ctx.fillText(title ?? titles.at(-1), title && fits(title, pad.left) ? pad.left : 4, 3);
  const plot = { x: pad.left, y: pad.top, w: width - pad.left - pad.right, h: height - pad.top - pad.bottom };
  ctx.strokeStyle = "#bbb";
  ctx.lineWidth = 1;
  ctx.strokeRect(plot.x, plot.y, plot.w, plot.h);
  const values = (norms ?? []).map((v) => (Number.isFinite(v) && v > 0 ? v : null));
  const shown = values.filter((v) => v !== null);
  if (!values.length || !shown.length) {
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#555";
    const idle = ["no gradient yet: step or play", "no gradient yet", "none yet"];
    const text = idle.find((words) => ctx.measureText(words).width <= plot.w - 6) ?? "";
    ctx.fillText(text, plot.x + plot.w / 2, plot.y + plot.h / 2);
    return;
  }
  const slot = plot.w / values.length;
  const barWidth = Math.max(3, Math.min(40, slot * 0.6));
  ctx.font = `${small}px system-ui, sans-serif`;
  const { labels, rows } = placeValueLabels(ctx, values, plot, slot);
  const rowHeight = small + 4;
  const reserved = rows * rowHeight + 2;
  const lo = Math.floor(Math.log10(Math.min(...shown)));
  const top = Math.log10(Math.max(...shown));
  const free = Math.max(0.2, 1 - reserved / plot.h);
  let hi = Math.max(lo + 1, Math.ceil(top));
  while ((top - lo) / (hi - lo) > free) hi += 1;
  const sy = (exponent) => plot.y + (1 - (exponent - lo) / (hi - lo)) * plot.h;
  drawDecades(ctx, plot, lo, hi, sy, reserved, small);
  const names = layerAxisNames(ctx, values.length, slot);
  values.forEach((value, l) => {
    const centre = plot.x + slot * (l + 0.5);
    const colour = LAYER_COLOURS[l % LAYER_COLOURS.length];
    const barTop = value === null ? plot.y + plot.h : sy(Math.log10(value));
    ctx.fillStyle = colour;
    ctx.globalAlpha = 0.8;
    ctx.fillRect(centre - barWidth / 2, barTop, barWidth, plot.y + plot.h - barTop);
    ctx.globalAlpha = 1;
    const label = labels[l];
    if (label) {
      const labelBottom = plot.y + 2 + (label.row + 1) * rowHeight;
      ctx.fillStyle = colour;
      ctx.fillRect(centre - 0.5, labelBottom, 1, Math.max(0, barTop - labelBottom)); // label to bar
      ctx.fillStyle = "#111";
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText(label.text, label.x, labelBottom);
    }
    ctx.fillStyle = "#333";
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    if (names[l]) ctx.fillText(names[l], centre, plot.y + plot.h + 2);
  });
}

/**
 * Puts each bar's value in the top row where it touches no other label, else in the second row
 * where it touches no label and no line leading from a top-row label down to its bar; a value
 * with room in neither is left out. Returns {labels: [{text, x, row} or null], rows: 1 or 2}.
 */
function placeValueLabels(ctx, values, plot, slot) {
  const centre = (l) => plot.x + slot * (l + 0.5);
  const candidates = values.map((value, l) => {
    if (value === null) return null;
    const text = powerText(value);
    const half = ctx.measureText(text).width / 2;
    const x = Math.min(Math.max(centre(l), plot.x + half + 2), plot.x + plot.w - half - 2);
    return { text, x, half, row: -1 };
  });
  const apart = (a, b) => Math.abs(a.x - b.x) >= a.half + b.half + 4;
  const fitsRow = (label, row) =>
    candidates.every((other) => !other || other === label || other.row !== row || apart(other, label));
  for (const label of candidates) if (label && fitsRow(label, 0)) label.row = 0;
  const leaders = candidates.flatMap((label, l) => (label?.row === 0 ? [centre(l)] : []));
  for (const label of candidates) {
    if (!label || label.row === 0) continue;
    const clearOfLeaders = leaders.every((x) => Math.abs(x - label.x) > label.half + 2);
    if (clearOfLeaders && fitsRow(label, 1)) label.row = 1;
  }
  const labels = candidates.map((label) => (label && label.row >= 0 ? label : null));
  return { labels, rows: labels.some((label) => label?.row === 1) ? 2 : 1 };
}

/** The layer names under the bars: long if every one fits its slot, else short, else every other. */
function layerAxisNames(ctx, count, slot) {
  for (const form of [0, 1]) {
    const names = Array.from({ length: count }, (_, l) => layerNames(l, count)[form]);
    if (names.every((name) => ctx.measureText(name).width <= slot - 4)) return names;
  }
  const names = Array.from({ length: count }, (_, l) => layerNames(l, count)[1]);
  return names.map((name, l) => (l % 2 === (count - 1) % 2 ? name : "")); // keep "out"
}

/** Grid lines and labels at whole powers of ten between exponents lo and hi. */
function drawDecades(ctx, plot, lo, hi, sy, reserved, fontPx) {
  const every = Math.max(1, Math.ceil((hi - lo) / Math.max(1, Math.floor(plot.h / (fontPx + 4)))));
  ctx.font = `${fontPx}px system-ui, sans-serif`;
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
