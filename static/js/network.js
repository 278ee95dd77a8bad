// Draws the network: neurons as small surface pictures, weights as edges, and the stepped phases
// (forward left→right, backward right→left in a second colour, the update moving every weight).

import { EdgeBatch, segmentsOf, strokeSegments } from "./edges.js";
import { drawNeurons } from "./neurons.js";
import { BACKWARD_COLOUR, FORWARD_COLOUR, UPDATE_COLOUR } from "./palette.js";

const PHASE_MS = 450;
const UPDATE_MS = 800;
const MAX_EDGE_LABELS = 16;
const BIAS_DASH = [4, 3];
// Past this many edges they are drawn as hairlines (edges.js): ~1,000 wide lines already cost
// a software-rendered page a frame's time; 2-32×8-1 has 8,000.
const HAIRLINES_ABOVE = 1000;

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

// Edges depend only on the layout: built once per layout, not once per frame.
const edgeCache = new WeakMap(); // layout → [edges into column 1, edges into column 2, ...]

/** Every edge into column l+1, from its source node to its target (bias node edges: i = null). */
function edgesOf(scene, l) {
  let layers = edgeCache.get(scene.layout);
  if (!layers) {
    const { columns } = scene.layout;
    layers = columns.slice(0, -1).map((_, c) => buildEdges(columns, c));
    edgeCache.set(scene.layout, layers);
  }
  return layers[l];
}

function buildEdges(columns, l) {
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

/** Draws the whole network onto ctx; scene = {layout, weights, pictures, trace, selection, ...}. */
export function draw(ctx, scene) {
  const { width, height } = scene;
  ctx.clearRect(0, 0, width, height);
  drawEdges(ctx, scene);
  drawPhasePulse(ctx, scene);
  drawNodes(ctx, scene);
  drawPhaseValues(ctx, scene);
  drawColumnTitles(ctx, scene);
}

/** Weights as edges: colour by sign, width by magnitude, in a bounded number of paths. */
function drawEdges(ctx, scene) {
  const edges = allEdges(scene);
  const hairlines = edges.length > HAIRLINES_ABOVE;
  const target = hairlines ? halfResolution(ctx, scene) : ctx;
  const pixel = 1 / target.getTransform().a; // one device pixel, in CSS pixels
  const weights = new EdgeBatch(0.9, { hairlines, pixel });
  const biases = new EdgeBatch(0.7, { dash: BIAS_DASH, hairlines, pixel });
  const guides = []; // a faint grey line under each bias edge, so a zero bias still shows one
  for (const edge of edges) {
    const value = edgeValue(scene, edge);
    if (edge.param === "W") {
      weights.add(value, edge.from, edge.to);
    } else {
      guides.push(edge.from.x, edge.from.y, edge.to.x, edge.to.y);
      biases.add(value, edge.from, edge.to);
    }
  }
  if (guides.length) stroke(target, guides, { width: 1, colour: "#bbb", dash: BIAS_DASH });
  weights.stroke(target);
  biases.stroke(target);
  if (target !== ctx) ctx.drawImage(target.canvas, 0, 0, scene.width, scene.height);
  if (scene.update && scene.now - scene.update.startedAt < UPDATE_MS) {
    stroke(ctx, segmentsOf(edges), { width: 1, colour: UPDATE_COLOUR });
  }
  const selected = edges.find((edge) => isSelected(scene.selection, edge));
  if (selected) stroke(ctx, segmentsOf([selected]), { width: 2, colour: "#111", dash: [6, 4] });
}

let halfLayer = null;

/** A cleared canvas at half ctx's resolution, for thousands of edges: a software canvas spends
 * most of a large network's frame stroking hairlines pixel by pixel, and at that density a
 * picture drawn at half resolution and scaled up shows the same colours and strong edges
 * (benchmarks/network_draw.py, 2-32x8-1 at 1920x1080: 23.6 -> 15.2 ms). The selection and the
 * update flash are still drawn at full resolution. */
function halfResolution(ctx, scene) {
  const scale = ctx.getTransform().a / 2;
  const width = Math.ceil(scene.width * scale);
  const height = Math.ceil(scene.height * scale);
  if (!halfLayer || halfLayer.canvas.width !== width || halfLayer.canvas.height !== height) {
    const canvas = document.createElement("canvas");
    Object.assign(canvas, { width, height });
    halfLayer = canvas.getContext("2d");
  }
  halfLayer.setTransform(scale, 0, 0, scale, 0, 0);
  halfLayer.clearRect(0, 0, scene.width, scene.height);
  return halfLayer;
}

/** Segments [x0, y0, x1, y1, ...] stroked as one path in one style. */
function stroke(ctx, points, { width, colour, dash = [], alpha = 1 }) {
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.lineWidth = width;
  ctx.strokeStyle = colour;
  ctx.setLineDash(dash);
  strokeSegments(ctx, points);
  ctx.restore();
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
  stroke(ctx, segmentsOf(edges), { width: 7, colour, alpha: 0.35 });
  const t = Math.min(1, (scene.now - last.receivedAt) / PHASE_MS);
  if (t >= 1) return;
  const s = backward ? 1 - t : t;
  ctx.beginPath();
  for (const { from, to } of edges) {
    const x = from.x + (to.x - from.x) * s;
    const y = from.y + (to.y - from.y) * s;
    ctx.moveTo(x + 5, y);
    ctx.arc(x, y, 5, 0, 2 * Math.PI);
  }
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 1.5;
  ctx.stroke();
}

function drawNodes(ctx, scene) {
  const { columns, size } = scene.layout;
  drawNeurons(ctx, scene, (l, j) => biasAt(scene.weights, l, j));
  columns[0].nodes.forEach((node, r) =>
    label(ctx, scene.featureNames?.[r] ?? `x${r + 1}`, node.x - size / 2 - 6, node.y, "right"),
  );
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
    const text = `∂L/∂w=${formatNumber(gradient)}`;
    edgeLabel(ctx, edge, text, GRADIENT_LABEL_AT, BACKWARD_COLOUR, false, taken);
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
