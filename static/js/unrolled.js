// A recurrent network drawn unrolled in time: a column per time step (x_t on top, h_t as a
// column of coloured cells, ŷ_t against its target below), W_hh edges between consecutive h's,
// and under it the gradient through time (‖∂L/∂h_t‖, log scale; an lstm's forget gates) and the
// focus sequence (input, target, prediction). Every number drawn is one the engine sent (a
// frame's `recurrent` header and arrays, or a phase); nothing is computed here but positions.

import { BACKWARD_COLOUR, FORWARD_COLOUR, UPDATE_COLOUR, divergingCss } from "./palette.js";

const MARGIN = 34;
const COMPRESS_AFTER = 20; // steps: beyond this the columns lose their per-step labels
const MAX_EDGES = 4000; // W_hh edges drawn in every gap; above this only the active gap's

// Each decoded array's values, expanded once: a frame is drawn, hit-tested and read for the
// prediction at every step, and a frame's arrays never change.
const expanded = new WeakMap();

/** Values of a decoded array ({data, shape, range?}): u8 arrays expanded over their range. */
export function values(array) {
  if (!array) return null;
  if (!expanded.has(array)) expanded.set(array, expand(array));
  return expanded.get(array);
}

function expand(array) {
  if (!array.range) return Array.from(array.data);
  const [lo, hi] = array.range;
  return Array.from(array.data, (q) => lo + (q / 255) * (hi - lo));
}

function scaleOf(list) {
  let largest = 0;
  for (const value of list ?? []) if (Number.isFinite(value)) largest = Math.max(largest, Math.abs(value));
  return largest || 1;
}

/** Where everything sits for `steps` columns of `hidden` cells in a width × height box. */
export function unrolledLayout(steps, hidden, width, height) {
  const top = 44;
  const hTop = top + 40;
  const below = 64; // under the cells: δ, ŷ_t, its target and the step's loss bar
  const chartGap = 20; // room for a chart's title
  const bottom = 6;
  const chartMin = Math.max(90, Math.round(height * 0.3));
  const columnWidth = (width - 2 * MARGIN) / steps;
  const cellRoom = height - bottom - chartMin - chartGap - below - hTop;
  const cellHeight = Math.max(3, Math.min(22, cellRoom / hidden));
  const cellWidth = Math.max(3, Math.min(30, columnWidth * 0.55));
  // The charts take whatever height the cells leave (a small network: larger charts).
  const chartTop = hTop + hidden * cellHeight + below + chartGap;
  const centre = (t) => MARGIN + (t + 0.5) * columnWidth;
  return {
    steps,
    hidden,
    width,
    height,
    top,
    columnWidth,
    cellWidth,
    cellHeight,
    hTop,
    hBottom: hTop + hidden * cellHeight,
    compressed: steps > COMPRESS_AFTER,
    centre,
    cell: (t, j) => ({ x: centre(t) - cellWidth / 2, y: hTop + j * cellHeight, w: cellWidth, h: cellHeight }),
    chartTop,
    chartHeight: height - bottom - chartTop + 10, // the box is 10 shorter (chartBox)
  };
}

/** What is under a point of the canvas: a hidden cell {kind: "hidden", t, j}, the W_hh edge
 * nearest to it in a gap {kind: "edge", t, i, j} (from unit i at step t−1 into unit j at step
 * t, as drawn), or null. */
export function hitTest(layout, x, y) {
  if (!layout) return null;
  const t = Math.floor((x - MARGIN) / layout.columnWidth);
  if (t < 0 || t >= layout.steps || y < layout.hTop - 4 || y > layout.hBottom + 4) return null;
  const offset = x - layout.centre(t);
  if (Math.abs(offset) <= layout.cellWidth / 2 + 1) {
    const j = Math.max(0, Math.min(layout.hidden - 1, Math.floor((y - layout.hTop) / layout.cellHeight)));
    return { kind: "hidden", t, j };
  }
  const to = offset < 0 ? t : t + 1;
  return to >= 1 && to < layout.steps ? nearestEdge(layout, to, x, y) : null;
}

/** The edge of gap `t` (between steps t−1 and t) whose drawn line passes nearest to (x, y). */
function nearestEdge(layout, t, x, y) {
  const x0 = layout.centre(t - 1) + layout.cellWidth / 2;
  const x1 = layout.centre(t) - layout.cellWidth / 2;
  const along = Math.max(0, Math.min(1, (x - x0) / (x1 - x0)));
  const middle = (unit) => layout.hTop + (unit + 0.5) * layout.cellHeight;
  let best = null;
  for (let i = 0; i < layout.hidden; i++) {
    for (let j = 0; j < layout.hidden; j++) {
      const rise = middle(j) - middle(i);
      // Distance across the line, not straight down: steep edges are as easy to hit as flat ones.
      const distance = Math.abs(middle(i) + along * rise - y) / Math.hypot(1, rise / (x1 - x0));
      if (!best || distance < best.distance) best = { distance, i, j };
    }
  }
  return { kind: "edge", t, i: best.i, j: best.j };
}

/**
 * Draws the unrolled view. `scene`: {width, height, recurrent (the frame header's figures),
 * arrays (the frame's), trace (the phases of the step being stepped through, or null),
 * selection (a hitTest result, or null), gate (an lstm's gate whose W_h the edges show, 0-3),
 * cellLabel (the cell's name, hello.schema's), highlight (the name of a chart to outline, or
 * null)}. Returns the layout, with each chart's box in `charts`.
 */
export function draw(ctx, scene) {
  const { width, height, recurrent, trace } = scene;
  ctx.clearRect(0, 0, width, height);
  if (!recurrent || !scene.arrays) return null;
  // From the loss phase on, the predictions drawn are the step's own, every digit (f64).
  const arrays = trace?.focusYhat ? new Map([...scene.arrays, ["yhat", trace.focusYhat]]) : scene.arrays;
  const layout = unrolledLayout(recurrent.steps, recurrent.hidden, width, height);
  const h = values(arrays.get("h"));
  const active = trace?.last ?? null;
  drawTitle(ctx, layout, recurrent, active, scene.cellLabel);
  drawEdges(ctx, layout, values(arrays.get("W/W_hh") ?? arrays.get("W/W_h")), active, scene.gate ?? 0);
  drawColumns(ctx, layout, { h, arrays, recurrent, trace, active });
  const charts = { gradient_through_time: chartBox(layout, 0), sequence: chartBox(layout, 1) };
  drawGradientChart(ctx, layout, recurrent, trace);
  drawSequenceChart(ctx, layout, arrays, recurrent, trace);
  if (charts[scene.highlight]) outlineChart(ctx, charts[scene.highlight]);
  if (scene.selection) outlineSelection(ctx, layout, scene.selection);
  return { ...layout, charts };
}

function drawTitle(ctx, layout, recurrent, active, cellLabel) {
  ctx.fillStyle = "#333";
  ctx.font = "13px system-ui, sans-serif";
  ctx.textAlign = "left";
  const truncate = recurrent.truncate ? `, truncated to ${recurrent.truncate} steps` : "";
  ctx.fillText(`${cellLabel ?? recurrent.cell} unrolled over ${layout.steps} steps, ${layout.hidden} hidden units${truncate}`, MARGIN, 18);
  if (active) {
    const words = { forward: "forward", loss: "loss", backward: "backward through time", update: "update" };
    const colour = { forward: FORWARD_COLOUR, backward: BACKWARD_COLOUR, update: UPDATE_COLOUR }[active.phase] ?? "#333";
    ctx.fillStyle = colour;
    ctx.textAlign = "right";
    const at = active.t !== undefined ? ` at t = ${active.t}` : "";
    ctx.fillText(`${words[active.phase] ?? active.phase}${at}`, layout.width - MARGIN, 18);
  }
}

/** The W_hh edges; an lstm's W_h has four columns per unit (gates i, f, g, o): the edges show
 * the chosen `gate`'s weights, the ones a click on them inspects. */
function drawEdges(ctx, layout, W, active, gate) {
  if (!W || layout.steps < 2) return;
  const H = layout.hidden;
  const width = W.length / H; // H for an rnn, 4H for an lstm
  const column = (width > H ? gate : 0) * H;
  const scale = scaleOf(W);
  const all = H * H * (layout.steps - 1) <= MAX_EDGES;
  const activeGap = active?.t;
  for (let t = 1; t < layout.steps; t++) {
    const lit = activeGap === t || (active?.phase === "backward" && activeGap === t - 1);
    if (!all && !lit) {
      drawArrow(ctx, layout, t);
      continue;
    }
    ctx.lineWidth = lit ? 1.2 : 0.6;
    for (let i = 0; i < H; i++) {
      const from = layout.cell(t - 1, i);
      for (let j = 0; j < H; j++) {
        ctx.strokeStyle = divergingCss(W[i * width + column + j] / scale, lit ? 0.8 : 0.25);
        const to = layout.cell(t, j);
        ctx.beginPath();
        ctx.moveTo(from.x + from.w, from.y + from.h / 2);
        ctx.lineTo(to.x, to.y + to.h / 2);
        ctx.stroke();
      }
    }
  }
}

function drawArrow(ctx, layout, t) {
  const y = layout.hTop - 8;
  const x0 = layout.centre(t - 1) + layout.cellWidth / 2;
  const x1 = layout.centre(t) - layout.cellWidth / 2;
  ctx.strokeStyle = "#999";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x0, y);
  ctx.lineTo(x1, y);
  ctx.stroke();
}

/** Which columns a phase has reached: forward lights t ≤ the phase's t; backward t ≥ it. */
function reached(active, t) {
  if (!active) return true;
  if (active.phase === "forward") return t <= active.t;
  return true;
}

function drawColumns(ctx, layout, { h, arrays, recurrent, trace, active }) {
  const H = layout.hidden;
  const hScale = scaleOf(h);
  const dh = values(arrays.get("dh"));
  const backwardFrom = active?.phase === "backward" ? active.t : active?.phase === "update" ? 0 : null;
  const dhScale = scaleOf(trace?.backward ? [...trace.backward.values()].flatMap((d) => d.dh ?? []) : dh);
  const x = values(arrays.get("x"));
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "center";
  for (let t = 0; t < layout.steps; t++) {
    const lit = reached(active, t);
    const own = trace?.forward?.get(t)?.h;
    for (let j = 0; j < H; j++) {
      const cell = layout.cell(t, j);
      const value = own ? own[j] : h?.[t * H + j];
      ctx.fillStyle = lit ? divergingCss(value / hScale) : "#eee";
      ctx.fillRect(cell.x, cell.y, cell.w, cell.h);
      if (backwardFrom !== null && t >= backwardFrom) {
        const delta = trace?.backward?.get(t)?.dh?.[j] ?? dh?.[t * H + j] ?? 0;
        ctx.strokeStyle = BACKWARD_COLOUR;
        ctx.globalAlpha = Math.min(1, 0.15 + Math.abs(delta) / dhScale);
        ctx.lineWidth = 2;
        ctx.strokeRect(cell.x + 1, cell.y + 1, cell.w - 2, cell.h - 2);
        ctx.globalAlpha = 1;
      }
    }
    if (backwardFrom !== null && t >= backwardFrom && trace?.backward?.has(t)) {
      ctx.fillStyle = BACKWARD_COLOUR;
      if (!layout.compressed || t % 5 === 0) ctx.fillText("δ", layout.centre(t), layout.hBottom + 11);
    }
    drawInput(ctx, layout, t, recurrent, x, lit);
    drawOutput(ctx, layout, t, arrays, recurrent, lit, trace);
    if (!layout.compressed || t % 5 === 0) {
      ctx.fillStyle = "#555";
      ctx.fillText(`t=${t}`, layout.centre(t), layout.top + 6);
    }
  }
}

function drawInput(ctx, layout, t, recurrent, x, lit) {
  const y = layout.top + 14;
  const size = Math.min(18, layout.columnWidth * 0.8);
  ctx.fillStyle = lit ? "#f4f4f4" : "#fafafa";
  ctx.strokeStyle = FORWARD_COLOUR;
  ctx.lineWidth = 1;
  ctx.fillRect(layout.centre(t) - size / 2, y, size, size);
  ctx.strokeRect(layout.centre(t) - size / 2, y, size, size);
  if (layout.compressed) return;
  ctx.fillStyle = "#222";
  const text = recurrent.alphabet ? recurrent.alphabet[x?.[t]] ?? "?" : shortNumber(x?.[t * recurrent.inputs]);
  ctx.fillText(text === " " ? "␣" : text, layout.centre(t), y + size / 2 + 3);
}

function drawOutput(ctx, layout, t, arrays, recurrent, lit, trace) {
  const mask = arrays.get("mask")?.data;
  const y = layout.hBottom + 16;
  const size = Math.min(18, layout.columnWidth * 0.8);
  const predicted = predictionAt(arrays, recurrent, t);
  const target = targetAt(arrays, recurrent, t);
  const counts = mask ? mask[t] === 1 : true;
  ctx.fillStyle = lit ? divergingCss(recurrent.alphabet ? 0 : predicted / 1.5) : "#eee";
  ctx.fillRect(layout.centre(t) - size / 2, y, size, size);
  ctx.strokeStyle = counts ? "#333" : "#ccc";
  ctx.strokeRect(layout.centre(t) - size / 2, y, size, size);
  const loss = trace?.stepLosses?.[t];
  if (Number.isFinite(loss) && trace.stepLossMax > 0) {
    const bar = (loss / trace.stepLossMax) * 20;
    ctx.fillStyle = BACKWARD_COLOUR;
    ctx.fillRect(layout.centre(t) - 2, y + size + 4, 4, bar);
  }
  if (layout.compressed) return;
  ctx.fillStyle = "#222";
  const shown = recurrent.alphabet ? recurrent.alphabet[predicted] ?? "?" : shortNumber(predicted);
  ctx.fillText(lit ? shown : "", layout.centre(t), y + size / 2 + 3);
  if (counts) {
    ctx.fillStyle = "#777";
    const wanted = recurrent.alphabet ? recurrent.alphabet[target] ?? "?" : shortNumber(target);
    ctx.fillText(wanted, layout.centre(t), y + size + 12);
  }
}

/** ŷ_t of the focus sequence: its one output, or the most likely character's index. */
export function predictionAt(arrays, recurrent, t) {
  const yhat = values(arrays.get("yhat"));
  const K = recurrent.outputs;
  if (!recurrent.alphabet) return yhat?.[t * K];
  let best = 0;
  for (let k = 1; k < K; k++) if (yhat[t * K + k] > yhat[t * K + best]) best = k;
  return best;
}

function targetAt(arrays, recurrent, t) {
  const y = arrays.get("y")?.data;
  return recurrent.alphabet ? y?.[t] : y?.[t * recurrent.outputs];
}

export function shortNumber(value) {
  if (!Number.isFinite(value)) return "";
  return Math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(Math.abs(value) >= 1 ? 1 : 2);
}

/** The selected cell, or the selected edge with the two cells it joins, in black over white so
 * it shows on any colour. */
function outlineSelection(ctx, layout, selection) {
  const ring = (cell) => {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 4;
    ctx.strokeRect(cell.x - 2, cell.y - 2, cell.w + 4, cell.h + 4);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.strokeRect(cell.x - 2, cell.y - 2, cell.w + 4, cell.h + 4);
  };
  if (selection.kind === "hidden") return ring(layout.cell(selection.t, selection.j));
  const from = layout.cell(selection.t - 1, selection.i);
  const to = layout.cell(selection.t, selection.j);
  for (const [colour, width] of [["#fff", 5], ["#000", 2.5]]) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(from.x + from.w, from.y + from.h / 2);
    ctx.lineTo(to.x, to.y + to.h / 2);
    ctx.stroke();
  }
  ring(from);
  ring(to);
}

// ----- the two charts under the unrolled view ---------------------------------------------

function chartBox(layout, index) {
  const gap = 30;
  const width = (layout.width - 2 * MARGIN - gap) / 2;
  return { x: MARGIN + index * (width + gap), y: layout.chartTop, w: width, h: layout.chartHeight - 10 };
}

/** A chart a lesson is about, outlined as the page outlines its other charts (main.css). */
function outlineChart(ctx, box) {
  ctx.strokeStyle = BACKWARD_COLOUR;
  ctx.lineWidth = 3;
  ctx.strokeRect(box.x - 1, box.y - 1, box.w + 2, box.h + 2);
}

/** A chart's frame and its title above it; `key` names its lines in their colours, after the
 * title (above the plot, so no line runs through a label). */
function frameBox(ctx, box, title, key = []) {
  ctx.strokeStyle = "#ccc";
  ctx.lineWidth = 1;
  ctx.strokeRect(box.x, box.y, box.w, box.h);
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "left";
  let x = box.x + 4;
  for (const [text, colour] of [[title, "#333"], ...key]) {
    ctx.fillStyle = colour;
    ctx.fillText(text, x, box.y - 6);
    x += ctx.measureText(text).width + 8;
  }
}

/** ‖∂L/∂h_t‖ per step on a log scale (the frame's, or the step being stepped through), and for
 * an lstm the mean forget gate per step on a 0-1 scale. */
function drawGradientChart(ctx, layout, recurrent, trace) {
  const box = chartBox(layout, 0);
  const key = recurrent.forget_gates ? [["forget gate 0-1 (dashed)", UPDATE_COLOUR]] : [];
  frameBox(ctx, box, "‖∂L/∂h_t‖ through time (log scale)", key);
  const norms = trace?.dhNorms ?? recurrent.dh_norms ?? [];
  const positive = norms.filter((n) => n > 0);
  if (!positive.length) return;
  // Whole decades that hold every point, one at least.
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
  const px = (t) => box.x + ((t + 0.5) / norms.length) * box.w;
  const py = (n) => box.y + box.h - 4 - ((Math.log10(n) - lo) / (hi - lo)) * (box.h - 14);
  ctx.fillStyle = "#777";
  ctx.textAlign = "right";
  ctx.fillText(`1e${Math.round(hi)}`, box.x - 2, box.y + 10);
  ctx.fillText(`1e${Math.round(lo)}`, box.x - 2, box.y + box.h - 4);
  ctx.strokeStyle = BACKWARD_COLOUR;
  ctx.fillStyle = BACKWARD_COLOUR;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let started = false;
  norms.forEach((n, t) => {
    if (!(n > 0)) return;
    if (started) ctx.lineTo(px(t), py(n));
    else ctx.moveTo(px(t), py(n));
    started = true;
  });
  ctx.stroke();
  norms.forEach((n, t) => n > 0 && ctx.fillRect(px(t) - 2, py(n) - 2, 4, 4));
  const gates = recurrent.forget_gates;
  if (!gates) return;
  ctx.strokeStyle = UPDATE_COLOUR;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  gates.forEach((g, t) => {
    const y = box.y + box.h - 4 - g * (box.h - 14);
    if (t) ctx.lineTo(px(t), y);
    else ctx.moveTo(px(t), y);
  });
  ctx.stroke();
  ctx.setLineDash([]);
}

/** The focus sequence: input, target and prediction per step (text: predicted characters). */
function drawSequenceChart(ctx, layout, arrays, recurrent, trace) {
  const box = chartBox(layout, 1);
  const T = layout.steps;
  const px = (t) => box.x + ((t + 0.5) / T) * box.w;
  if (recurrent.alphabet) {
    frameBox(ctx, box, "focus sequence: input, target, prediction");
    drawTextSequence(ctx, box, arrays, recurrent, px);
    return;
  }
  const D = recurrent.inputs;
  const x = values(arrays.get("x"));
  const series = [
    { name: "input", colour: "#999", value: (t) => x?.[t * D] },
    { name: "target", colour: "#333", value: (t) => targetAt(arrays, recurrent, t), masked: true },
    { name: "prediction", colour: FORWARD_COLOUR, value: (t) => predictionAt(arrays, recurrent, t) },
  ];
  frameBox(ctx, box, "focus sequence:", series.map((s) => [s.name, s.colour]));
  const all = series.flatMap((s) => Array.from({ length: T }, (_, t) => s.value(t)));
  const scale = scaleOf(all);
  const py = (v) => box.y + box.h / 2 - (v / scale) * (box.h / 2 - 8);
  const mask = arrays.get("mask")?.data;
  series.forEach((s) => {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = s.name === "prediction" ? 2 : 1;
    ctx.beginPath();
    let started = false;
    for (let t = 0; t < T; t++) {
      const v = s.value(t);
      if (!Number.isFinite(v) || (s.masked && mask && !mask[t])) {
        started = false;
        continue;
      }
      if (started) ctx.lineTo(px(t), py(v));
      else ctx.moveTo(px(t), py(v));
      started = true;
    }
    ctx.stroke();
  });
  if (trace?.last?.phase === "forward") {
    ctx.strokeStyle = FORWARD_COLOUR;
    ctx.beginPath();
    ctx.moveTo(px(trace.last.t), box.y);
    ctx.lineTo(px(trace.last.t), box.y + box.h);
    ctx.stroke();
  }
}

function drawTextSequence(ctx, box, arrays, recurrent, px) {
  const x = arrays.get("x")?.data;
  const y = arrays.get("y")?.data;
  const T = x?.length ?? 0;
  ctx.font = "12px ui-monospace, monospace";
  ctx.textAlign = "center";
  const rows = [
    ["input", (t) => recurrent.alphabet[x[t]], "#999"],
    ["target", (t) => recurrent.alphabet[y[t]], "#333"],
    ["predicted", (t) => recurrent.alphabet[predictionAt(arrays, recurrent, t)], FORWARD_COLOUR],
  ];
  rows.forEach(([name, at, colour], row) => {
    const yPos = box.y + 22 + row * ((box.h - 26) / 3);
    ctx.fillStyle = colour;
    ctx.textAlign = "left";
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillText(name, box.x + 3, yPos - 10);
    ctx.font = "12px ui-monospace, monospace";
    ctx.textAlign = "center";
    for (let t = 0; t < T; t++) {
      const char = at(t) ?? "?";
      const wrong = name === "predicted" && char !== rows[1][1](t);
      ctx.fillStyle = wrong ? BACKWARD_COLOUR : colour;
      ctx.fillText(char === " " ? "␣" : char, px(t), yPos);
    }
  });
}

/** The folded view: one cell with its loop, the current step's values. */
export function drawFolded(ctx, scene) {
  const { width, height, recurrent, arrays } = scene;
  ctx.clearRect(0, 0, width, height);
  if (!recurrent || !arrays) return null;
  const H = recurrent.hidden;
  const t = recurrent.steps - 1;
  const h = values(arrays.get("h"));
  const scale = scaleOf(h);
  const cx = width / 2;
  const cellHeight = Math.min(20, (height * 0.5) / H);
  const top = height * 0.25;
  ctx.fillStyle = "#333";
  ctx.font = "13px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.fillText(`folded: x_t → h_t (carried by W_hh to the next step) → ŷ_t; shown at t = ${t}`, cx, 20);
  for (let j = 0; j < H; j++) {
    ctx.fillStyle = divergingCss(h[t * H + j] / scale);
    ctx.fillRect(cx - 15, top + j * cellHeight, 30, cellHeight - 1);
  }
  ctx.strokeStyle = "#777";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(cx + 45, top + (H * cellHeight) / 2, 28, -Math.PI * 0.8, Math.PI * 0.8);
  ctx.stroke();
  ctx.fillStyle = "#555";
  ctx.fillText("W_hh", cx + 95, top + (H * cellHeight) / 2 + 4);
  ctx.fillText("x_t", cx, top - 14);
  ctx.fillText("ŷ_t", cx, top + H * cellHeight + 20);
  return null;
}
