// A recurrent network drawn unrolled in time: a column per time step (x_t on top, h_t as a
// column of coloured cells, ŷ_t against its target below), W_hh edges between consecutive h's,
// and under it the gradient through time (‖∂L/∂h_t‖, log scale; an lstm's forget gates) and the
// focus sequence (input, target, prediction). Every number drawn is one the engine sent (a
// frame's `recurrent` header and arrays, or a phase); nothing is computed here but positions.

import { BACKWARD_COLOUR, FORWARD_COLOUR, UPDATE_COLOUR, divergingCss } from "./palette.js";
import { predictionAt, scaleOf, shortNumber, targetAt, values } from "./sequenceValues.js";
import { chartBox, drawGradientChart, drawSequenceChart, outlineChart } from "./timeCharts.js";

const MARGIN = 34;
const COMPRESS_AFTER = 20; // steps: beyond this the columns lose their per-step labels
const MAX_EDGES = 4000; // W_hh edges drawn in every gap; above this only the active gap's

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
    margin: MARGIN,
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
