// Draws the network: neurons as small surface pictures, weights as edges, and the stepped phases
// (forward left→right, backward right→left in a second colour, the update moving every weight).

import { BACKWARD_COLOUR, FORWARD_COLOUR, UPDATE_COLOUR, divergingCss } from "./palette.js";

const PHASE_MS = 450;
const UPDATE_MS = 800;
const MAX_EDGE_LABELS = 16;

/** Node positions for `layers` in a width×height box; bias nodes ("1") when `biasNodes`. */
export function layout(layers, width, height, biasNodes = false) {
  const columns = layers.length;
  const tallest = Math.max(...layers) + (biasNodes ? 1 : 0);
  const top = 34;
  const bottom = 16;
  const pitch = (height - top - bottom) / tallest;
  const size = Math.max(14, Math.min(72, pitch * 0.72, (width / columns) * 0.32));
  const marginLeft = size / 2 + 44;
  const marginRight = size / 2 + 84; // room for the loss and δ labels beside the output
  const stepX = columns > 1 ? (width - marginLeft - marginRight) / (columns - 1) : 0;
  return {
    size,
    columns: layers.map((count, c) => {
      const x = marginLeft + c * stepX;
      const rows = count + (biasNodes && c < columns - 1 ? 1 : 0);
      const y0 = top + (height - top - bottom - rows * pitch) / 2 + pitch / 2;
      const nodes = Array.from({ length: count }, (_, r) => ({ x, y: y0 + r * pitch }));
      const bias = biasNodes && c < columns - 1 ? { x, y: y0 + count * pitch } : null;
      return { x, nodes, bias };
    }),
  };
}

/** Weight (l, i, j) of flat row-major W/{l} shaped (fan_in, fan_out). */
function weightAt(weights, l, i, j) {
  const W = weights?.W?.[l];
  return W ? W.data[i * W.shape[1] + j] : 0;
}

function biasAt(weights, l, j) {
  return weights?.b?.[l]?.data[j] ?? 0;
}

/** Source point of every edge into column l+1 (bias node edges have i = "b"). */
function edgesOf(scene, l) {
  const { columns } = scene.layout;
  const edges = [];
  columns[l].nodes.forEach((from, i) => {
    columns[l + 1].nodes.forEach((to, j) => edges.push({ l, i, j, from, to, param: "W" }));
  });
  if (columns[l].bias) {
    columns[l + 1].nodes.forEach((to, j) =>
      edges.push({ l, i: null, j, from: columns[l].bias, to, param: "b" }),
    );
  }
  return edges;
}

export function allEdges(scene) {
  const edges = [];
  for (let l = 0; l < scene.layout.columns.length - 1; l++) edges.push(...edgesOf(scene, l));
  return edges;
}

/** The value an edge shows now, easing from the old weights to the new during an update. */
function edgeValue(scene, edge) {
  const read = (weights) =>
    edge.param === "W" ? weightAt(weights, edge.l, edge.i, edge.j) : biasAt(weights, edge.l, edge.j);
  const now = read(scene.weights);
  const update = scene.update;
  if (!update || scene.now - update.startedAt > UPDATE_MS) return now;
  const t = easeInOut((scene.now - update.startedAt) / UPDATE_MS);
  const before = read(update.before);
  return before + (now - before) * t;
}

function easeInOut(t) {
  return t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
}

/** Draws the whole network onto ctx; scene = {layout, weights, canvases, trace, selection, ...}. */
export function draw(ctx, scene) {
  const { width, height } = scene;
  ctx.clearRect(0, 0, width, height);
  drawEdges(ctx, scene);
  drawPhasePulse(ctx, scene);
  drawNodes(ctx, scene);
  drawPhaseValues(ctx, scene);
  drawColumnTitles(ctx, scene);
}

function drawEdges(ctx, scene) {
  const updating = scene.update && scene.now - scene.update.startedAt < UPDATE_MS;
  for (const edge of allEdges(scene)) {
    const value = edgeValue(scene, edge);
    const selected = isSelected(scene.selection, edge);
    ctx.lineWidth = Math.min(8, 0.6 + Math.abs(value) * 2.2);
    ctx.strokeStyle = divergingCss(Math.tanh(value * 1.5), edge.param === "b" ? 0.7 : 0.9);
    if (edge.param === "b") {
      // A faint grey guide first, so a zero (or switched-off) bias still shows its edge.
      ctx.save();
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#bbb";
      line(ctx, edge.from, edge.to);
      ctx.restore();
      ctx.lineWidth = Math.min(8, 0.6 + Math.abs(value) * 2.2);
      ctx.strokeStyle = divergingCss(Math.tanh(value * 1.5), 0.7);
      ctx.setLineDash([4, 3]);
    }
    line(ctx, edge.from, edge.to);
    ctx.setLineDash([]);
    if (updating) {
      ctx.lineWidth = 1;
      ctx.strokeStyle = UPDATE_COLOUR;
      line(ctx, edge.from, edge.to);
    }
    if (selected) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#111";
      ctx.setLineDash([6, 4]);
      line(ctx, edge.from, edge.to);
      ctx.setLineDash([]);
    }
  }
}

function line(ctx, from, to) {
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

function isSelected(selection, edge) {
  if (!selection || selection.layer !== edge.l || selection.j !== edge.j) return false;
  if (edge.param === "b") return selection.kind === "bias";
  return selection.kind === "weight" && selection.i === edge.i;
}

/** The travelling dots of the newest phase: forward to the right, backward to the left. */
function drawPhasePulse(ctx, scene) {
  const last = scene.trace?.last;
  if (!last || (last.phase !== "forward" && last.phase !== "backward")) return;
  const backward = last.phase === "backward";
  const colour = backward ? BACKWARD_COLOUR : FORWARD_COLOUR;
  const edges = edgesOf(scene, last.layer);
  // The active layer keeps a coloured halo until the next phase, so a paused class sees where
  // the pass is; the dots run once along it when the phase arrives.
  ctx.save();
  ctx.globalAlpha = 0.35;
  ctx.lineWidth = 7;
  ctx.strokeStyle = colour;
  for (const edge of edges) line(ctx, edge.from, edge.to);
  ctx.restore();
  const t = Math.min(1, (scene.now - last.receivedAt) / PHASE_MS);
  if (t >= 1) return;
  ctx.fillStyle = colour;
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 1.5;
  for (const edge of edges) {
    const s = backward ? 1 - t : t;
    ctx.beginPath();
    ctx.arc(
      edge.from.x + (edge.to.x - edge.from.x) * s,
      edge.from.y + (edge.to.y - edge.from.y) * s,
      5,
      0,
      2 * Math.PI,
    );
    ctx.fill();
    ctx.stroke();
  }
}

function drawNodes(ctx, scene) {
  const { columns, size } = scene.layout;
  const half = size / 2;
  columns.forEach((column, c) => {
    column.nodes.forEach((node, r) => {
      const picture = scene.canvases[c]?.[r];
      ctx.fillStyle = "#eee";
      ctx.fillRect(node.x - half, node.y - half, size, size);
      if (picture) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(picture, node.x - half, node.y - half, size, size);
      }
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#555";
      ctx.strokeRect(node.x - half, node.y - half, size, size);
      if (c > 0) drawBiasMark(ctx, scene, c - 1, r, node, half);
      if (c === 0) label(ctx, scene.featureNames?.[r] ?? `x${r + 1}`, node.x - half - 6, node.y, "right");
      ringIfSelected(ctx, scene.selection, c, r, node, half);
    });
    if (column.bias) drawBiasNode(ctx, column.bias, half);
  });
}

/** A small square at the neuron's lower left, coloured by its bias (as TensorFlow Playground). */
function drawBiasMark(ctx, scene, l, j, node, half) {
  if (scene.layout.columns[l].bias) return;
  const side = Math.max(6, half * 0.38);
  const value = biasAt(scene.weights, l, j);
  ctx.fillStyle = divergingCss(Math.tanh(value * 1.5));
  ctx.fillRect(node.x - half - side / 2, node.y + half - side / 2, side, side);
  const selected = scene.selection?.kind === "bias" && scene.selection.layer === l && scene.selection.j === j;
  ctx.strokeStyle = selected ? "#111" : "#555";
  ctx.lineWidth = selected ? 2 : 1;
  ctx.strokeRect(node.x - half - side / 2, node.y + half - side / 2, side, side);
}

function drawBiasNode(ctx, at, half) {
  const radius = Math.max(8, half * 0.45);
  ctx.fillStyle = "#fff";
  ctx.strokeStyle = "#555";
  ctx.beginPath();
  ctx.arc(at.x, at.y, radius, 0, 2 * Math.PI);
  ctx.fill();
  ctx.stroke();
  ctx.fillStyle = "#222";
  ctx.font = `bold ${Math.round(radius)}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText("1", at.x, at.y);
}

function ringIfSelected(ctx, selection, c, r, node, half) {
  if (selection?.kind !== "neuron" || selection.layer !== c - 1 || selection.j !== r) return;
  ctx.lineWidth = 3;
  ctx.strokeStyle = "#111";
  ctx.strokeRect(node.x - half - 3, node.y - half - 3, 2 * half + 6, 2 * half + 6);
}

function label(ctx, text, x, y, align, colour = "#222", bold = false, px = 12) {
  ctx.font = `${bold ? "bold " : ""}${px * (ctx.fontScale ?? 1)}px system-ui, sans-serif`;
  ctx.textAlign = align;
  ctx.textBaseline = "middle";
  ctx.lineWidth = 3;
  ctx.strokeStyle = "rgba(255,255,255,0.9)";
  ctx.strokeText(text, x, y);
  ctx.fillStyle = colour;
  ctx.fillText(text, x, y);
}

export function formatNumber(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e4)) return value.toExponential(2);
  return value.toFixed(3);
}

/** Values the stepped iteration has produced: a on nodes, L at the output, δ and ∂L/∂w. */
function drawPhaseValues(ctx, scene) {
  const trace = scene.trace;
  if (!trace?.last) return;
  const { columns, size } = scene.layout;
  const half = size / 2;
  // Everything already on the canvas that a label must not cover: nodes first, then each label
  // as it is placed. Node labels (a, δ, L) have fixed places; edge labels look for a free one.
  const taken = columns.flatMap((column) => [
    ...column.nodes.map((node) => box(node.x, node.y, size + 4, size + 4)),
    ...(column.bias ? [box(column.bias.x, column.bias.y, size, size)] : []),
  ]);
  const nodeLabel = (text, x, y, align, colour) => {
    label(ctx, text, x, y, align, colour, true);
    const width = ctx.measureText(text).width;
    taken.push(box(align === "left" ? x + width / 2 : x, y, width + 4, 14));
  };
  for (const [l, values] of trace.forward) {
    columns[l + 1]?.nodes.forEach((node, j) =>
      nodeLabel(`a=${formatNumber(values.A?.[j])}`, node.x, node.y - half - 8, "center", FORWARD_COLOUR),
    );
  }
  if (trace.loss !== null) {
    const out = columns.at(-1).nodes[0];
    nodeLabel(`L=${formatNumber(trace.loss)}`, out.x + half + 6, out.y, "left", "#111");
  }
  for (const [l, values] of trace.backward) {
    columns[l + 1]?.nodes.forEach((node, j) =>
      nodeLabel(`δ=${formatNumber(values.dZ?.[j])}`, node.x, node.y + half + 10, "center", BACKWARD_COLOUR),
    );
  }
  // Once the update starts, the ΔW labels take over the edges.
  if (trace.update && trace.last.phase === "update") drawUpdateLabels(ctx, scene, taken);
  else for (const [l, values] of trace.backward) drawEdgeGradients(ctx, scene, l, values, taken);
}

function drawEdgeGradients(ctx, scene, l, values, taken) {
  const edges = edgesOf(scene, l).filter((edge) => edge.param === "W");
  if (!values.dW || edges.length > MAX_EDGE_LABELS) return;
  const fanOut = values.dWShape?.[1] ?? scene.layout.columns[l + 1].nodes.length;
  for (const edge of edges) {
    const gradient = values.dW[edge.i * fanOut + edge.j];
    edgeLabel(ctx, edge, `∂L/∂w=${formatNumber(gradient)}`, GRADIENT_LABEL_AT, BACKWARD_COLOUR, false, taken);
  }
}

function drawUpdateLabels(ctx, scene, taken) {
  const { before } = scene.update ?? {};
  if (!before) return;
  for (let l = 0; l < scene.layout.columns.length - 1; l++) {
    const edges = edgesOf(scene, l).filter((edge) => edge.param === "W");
    if (edges.length > MAX_EDGE_LABELS) continue;
    for (const edge of edges) {
      const delta = weightAt(scene.weights, l, edge.i, edge.j) - weightAt(before, l, edge.i, edge.j);
      edgeLabel(ctx, edge, `ΔW=${formatNumber(delta)}`, UPDATE_LABEL_AT, UPDATE_COLOUR, true, taken);
    }
  }
}

// Labels sit near one end of their edge: edges fan out from a node, so near it they are far
// apart, while in the middle edges cross. Gradients near the source, weight changes near the target.
const GRADIENT_LABEL_AT = [0.3, 0.36, 0.24, 0.42, 0.48, 0.54, 0.6, 0.66];
const UPDATE_LABEL_AT = [0.7, 0.64, 0.76, 0.58, 0.52, 0.46, 0.4, 0.34];

/**
 * One edge label at the first of its places along the edge where it covers no node and no other
 * label. Where every place is taken the label is left out (the inspector shows every value):
 * a number drawn over another is worse than none.
 */
function edgeLabel(ctx, edge, text, places, colour, bold, taken) {
  ctx.font = `${bold ? "bold " : ""}${11 * (ctx.fontScale ?? 1)}px system-ui, sans-serif`;
  const width = ctx.measureText(text).width + 4;
  for (const t of places) {
    const at = midpoint(edge, t);
    const area = box(at.x, at.y, width, 14);
    if (taken.some((other) => overlaps(area, other))) continue;
    taken.push(area);
    label(ctx, text, at.x, at.y, "center", colour, bold, 11);
    return;
  }
}

function box(x, y, width, height) {
  return { x0: x - width / 2, x1: x + width / 2, y0: y - height / 2, y1: y + height / 2 };
}

function overlaps(a, b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

function midpoint(edge, t) {
  return { x: edge.from.x + (edge.to.x - edge.from.x) * t, y: edge.from.y + (edge.to.y - edge.from.y) * t };
}

function drawColumnTitles(ctx, scene) {
  const { columns } = scene.layout;
  // Columns closer than "hidden 6" is wide (deep networks, presenter type) get just the number.
  ctx.font = `bold ${12 * (ctx.fontScale ?? 1)}px system-ui, sans-serif`; // as label() draws them
  const gap = columns.length > 1 ? columns[1].x - columns[0].x : Infinity;
  const short = ctx.measureText(`hidden ${columns.length}`).width + 4 > gap;
  columns.forEach((column, c) => {
    const hidden = short ? String(c) : `hidden ${c}`;
    const title = c === 0 ? "input" : c === columns.length - 1 ? "output" : hidden;
    label(ctx, title, column.x, 10, "center", "#444", true);
  });
}

/** What is under (x, y): {kind: "neuron"|"weight"|"bias", layer, i?, j} or null. */
export function hitTest(scene, x, y) {
  const { columns, size } = scene.layout;
  const half = size / 2;
  for (let c = 1; c < columns.length; c++) {
    for (let j = 0; j < columns[c].nodes.length; j++) {
      const node = columns[c].nodes[j];
      const side = Math.max(6, half * 0.38);
      if (
        !columns[c - 1].bias &&
        Math.abs(x - (node.x - half)) <= side &&
        Math.abs(y - (node.y + half)) <= side
      ) {
        return { kind: "bias", layer: c - 1, j };
      }
      if (Math.abs(x - node.x) <= half && Math.abs(y - node.y) <= half)
        return { kind: "neuron", layer: c - 1, j };
    }
  }
  let best = null;
  for (const edge of allEdges(scene)) {
    const distance = distanceToSegment(x, y, edge.from, edge.to);
    if (distance < 6 && (!best || distance < best.distance)) best = { edge, distance };
  }
  if (!best) return null;
  const { edge } = best;
  return edge.param === "b"
    ? { kind: "bias", layer: edge.l, j: edge.j }
    : { kind: "weight", layer: edge.l, i: edge.i, j: edge.j };
}

function distanceToSegment(x, y, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const t = Math.max(0, Math.min(1, ((x - a.x) * dx + (y - a.y) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(x - (a.x + t * dx), y - (a.y + t * dy));
}

export const timings = { PHASE_MS, UPDATE_MS };
