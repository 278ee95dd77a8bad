// Draws the output surface over the input plane (extent ±6) with training points and hollow test points.

import { CLASS_COLOURS, divergingCss, hexToRgb } from "./palette.js";
import { colourScale, drawPicture, surfacePictures } from "./thumbnails.js";

export const EXTENT = 6;
// The keyboard's cross on the plane (keyboard.js moves it; Enter adds a point there).
export const planeCursor = { x1: 0, x2: 0, shown: false };

/** Canvas pixel → input-plane coordinates (row 0 is the top, x2 = +6). */
export function toPlane(x, y, width, height) {
  return [-EXTENT + (2 * EXTENT * x) / width, EXTENT - (2 * EXTENT * y) / height];
}

function toCanvas([x1, x2], width, height) {
  return [((x1 + EXTENT) / (2 * EXTENT)) * width, ((EXTENT - x2) / (2 * EXTENT)) * height];
}

/** scene = {width, height, surface (u8 array), outputs (the output activation's range when
 * bounded, else null), data, view, focus, cursor}. */
export function draw(ctx, scene) {
  const { width, height, surface, data, view } = scene;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#f4f4f4";
  ctx.fillRect(0, 0, width, height);
  if (surface) drawSurface(ctx, scene);
  drawAxes(ctx, width, height);
  if (data) {
    const colour = pointColour(scene);
    drawPoints(ctx, data.train, colour, false, width, height);
    if (view.showTest) drawPoints(ctx, data.test, colour, true, width, height);
    if (scene.focus !== null && data.train?.[scene.focus])
      drawFocus(ctx, data.train[scene.focus], width, height);
  }
  if (scene.cursor?.shown) drawCursor(ctx, scene.cursor, width, height);
}

/** The keyboard's cross: where Enter adds a point. */
function drawCursor(ctx, { x1, x2 }, width, height) {
  const [x, y] = toCanvas([x1, x2], width, height);
  const arm = Math.max(8, width / 30);
  for (const colour of ["#fff", "#111"]) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = colour === "#fff" ? 4 : 2;
    ctx.beginPath();
    ctx.moveTo(x - arm, y);
    ctx.lineTo(x + arm, y);
    ctx.moveTo(x, y - arm);
    ctx.lineTo(x, y + arm);
    ctx.stroke();
  }
}

/** A ring around the training sample the phase view follows. */
function drawFocus(ctx, point, width, height) {
  const [x, y] = toCanvas(point, width, height);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#111";
  ctx.beginPath();
  ctx.arc(x, y, Math.max(7, width / 40), 0, 2 * Math.PI);
  ctx.stroke();
}

function drawSurface(ctx, scene) {
  const { surface, width, height } = scene;
  ctx.imageSmoothingEnabled = true;
  if (surface.shape[0] === 1) {
    const [picture] = surfacePictures("output-plane", surface, scene.outputs, scene.view.discretize);
    ctx.globalAlpha = 0.85;
    drawPicture(ctx, picture, 0, 0, width, height);
    ctx.globalAlpha = 1;
    return;
  }
  ctx.drawImage(argmaxCanvas(surface, scene.view.discretize), 0, 0, width, height);
}

let argmaxBuffer = null;

/** Several outputs: each pixel takes its most likely class's colour, faded by its certainty. */
function argmaxCanvas(surface, discretize) {
  const [classes, size] = surface.shape;
  if (!argmaxBuffer || argmaxBuffer.canvas.width !== size) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = size;
    const context = canvas.getContext("2d");
    argmaxBuffer = { canvas, context, image: context.createImageData(size, size) };
  }
  const rgb = CLASS_COLOURS.map(hexToRgb);
  const pixels = argmaxBuffer.image.data;
  const [lo, hi] = surface.range ?? [0, 1];
  for (let p = 0; p < size * size; p++) {
    let best = 0;
    for (let k = 1; k < classes; k++)
      if (surface.data[k * size * size + p] > surface.data[best * size * size + p]) best = k;
    const probability = lo + (surface.data[best * size * size + p] / 255) * (hi - lo);
    const strength = discretize
      ? 0.75
      : Math.max(0, Math.min(1, (probability - 1 / classes) / (1 - 1 / classes)));
    const colour = rgb[best % rgb.length];
    for (let c = 0; c < 3; c++) pixels[p * 4 + c] = Math.round(247 + (colour[c] - 247) * strength * 0.8);
    pixels[p * 4 + 3] = 255;
  }
  argmaxBuffer.context.putImageData(argmaxBuffer.image, 0, 0);
  return argmaxBuffer.canvas;
}

/** Point colour: the class colour, or the diverging colour of a regression target. */
function pointColour(scene) {
  const { data, outputs, surface } = scene;
  if (data.kind === "classification" && (data.n_classes ?? 2) > 2) {
    return (target) => CLASS_COLOURS[Math.round(target) % CLASS_COLOURS.length];
  }
  const { centre, scale } = colourScale(outputs, surface?.range ?? targetRange(data));
  return (target) => divergingCss((target - centre) / scale);
}

function targetRange(data) {
  const targets = data.train.map((point) => point[2]);
  return [Math.min(...targets, -1), Math.max(...targets, 1)];
}

function drawPoints(ctx, points, colour, hollow, width, height) {
  const radius = Math.max(3, width / 90);
  for (const point of points ?? []) {
    const [x, y] = toCanvas(point, width, height);
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    if (hollow) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = colour(point[2]);
      ctx.stroke();
    } else {
      ctx.fillStyle = colour(point[2]);
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
    }
  }
}

function drawAxes(ctx, width, height) {
  ctx.strokeStyle = "rgba(0,0,0,0.15)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(width / 2, 0);
  ctx.lineTo(width / 2, height);
  ctx.moveTo(0, height / 2);
  ctx.lineTo(width, height / 2);
  ctx.stroke();
}
