// Draws the neurons: their pictures in framed squares, each layer's pictures blitted from one
// atlas, frames and bias marks in one path per colour instead of a few calls per neuron.

import { divergingCss } from "./palette.js";
import { drawPicture } from "./thumbnails.js";

/** Every neuron of `scene.layout`; `biasAt(l, j)` is the bias of neuron j of layer l. */
export function drawNeurons(ctx, scene, biasAt) {
  const { columns, size } = scene.layout;
  const half = size / 2;
  const nodes = columns.flatMap((column, c) => column.nodes.map((node, r) => ({ node, c, r })));
  const square = ({ node }) => [node.x - half, node.y - half, size, size];
  const pictureOf = ({ c, r }) => scene.pictures?.[c]?.[r];
  fillRects(ctx, nodes.filter((n) => !pictureOf(n)).map(square), "#eee"); // still loading
  ctx.imageSmoothingEnabled = true;
  for (const n of nodes) if (pictureOf(n)) drawPicture(ctx, pictureOf(n), ...square(n));
  strokeRects(ctx, nodes.map(square), "#555", 1);
  drawBiasMarks(ctx, scene, nodes, half, biasAt);
  const selected = nodes.find(({ c, r }) => isSelectedNeuron(scene.selection, c, r));
  if (selected) {
    const { x, y } = selected.node;
    strokeRects(ctx, [[x - half - 3, y - half - 3, size + 6, size + 6]], "#111", 3);
  }
  for (const column of columns) if (column.bias) drawBiasNode(ctx, column.bias, half);
}

/** Small squares at the neurons' lower left, coloured by their biases (as TensorFlow Playground),
 * one fill per colour; absent where the bias is drawn as a node ("1") instead. */
function drawBiasMarks(ctx, scene, nodes, half, biasAt) {
  const side = Math.max(6, half * 0.38);
  const byColour = new Map();
  const marks = [];
  let selected = null;
  for (const { node, c, r } of nodes) {
    if (c === 0 || scene.layout.columns[c - 1].bias) continue;
    const mark = [node.x - half - side / 2, node.y + half - side / 2, side, side];
    const colour = divergingCss(Math.round(64 * Math.tanh(biasAt(c - 1, r) * 1.5)) / 64);
    if (!byColour.has(colour)) byColour.set(colour, []);
    byColour.get(colour).push(mark);
    marks.push(mark);
    const chosen = scene.selection;
    if (chosen?.kind === "bias" && chosen.layer === c - 1 && chosen.j === r) selected = mark;
  }
  for (const [colour, rects] of byColour) fillRects(ctx, rects, colour);
  strokeRects(ctx, marks, "#555", 1);
  if (selected) strokeRects(ctx, [selected], "#111", 2);
}

function fillRects(ctx, rects, colour) {
  if (!rects.length) return;
  ctx.beginPath();
  for (const rect of rects) ctx.rect(...rect);
  ctx.fillStyle = colour;
  ctx.fill();
}

function strokeRects(ctx, rects, colour, width) {
  ctx.beginPath();
  for (const rect of rects) ctx.rect(...rect);
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.stroke();
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

function isSelectedNeuron(selection, c, r) {
  return selection?.kind === "neuron" && selection.layer === c - 1 && selection.j === r;
}

