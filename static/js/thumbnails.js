// Turns the frame's u8 surfaces into neuron pictures: every neuron of a layer is painted into one
// atlas canvas (one putImageData a frame), and views blit each neuron from that one source.

import { quantisedLut } from "./palette.js";

// Each tile has a one-pixel border repeating its edge, so a scaled, smoothed blit never samples
// the neighbouring neuron.
const GUTTER = 1;
const atlases = new Map(); // key → {canvas, context, image, count, size}

/** Colour centre and half-width for values of a bounded activation (`outputs`, [lo, hi] from
 * hello.schema: white at 0.5 for sigmoid), else of `range` around 0 (an unbounded one). */
export function colourScale(outputs, range) {
  if (outputs) return { centre: (outputs[0] + outputs[1]) / 2, scale: (outputs[1] - outputs[0]) / 2 };
  const [lo, hi] = range ?? [-1, 1];
  return { centre: 0, scale: Math.max(Math.abs(lo), Math.abs(hi), 1e-6) };
}

function atlas(key, count, size) {
  let entry = atlases.get(key);
  if (!entry || entry.count !== count || entry.size !== size) {
    const canvas = document.createElement("canvas");
    canvas.width = count * (size + 2 * GUTTER);
    canvas.height = size + 2 * GUTTER;
    const context = canvas.getContext("2d");
    entry = { canvas, context, image: context.createImageData(canvas.width, canvas.height), count, size };
    atlases.set(key, entry);
  }
  return entry;
}

/**
 * The pictures of a u8 surface array {data, shape: [n, g, g], range}, index = neuron:
 * {source, x, y, size}, a size × size region of the shared atlas canvas `source`. `outputs`:
 * the range of the layer's activation when bounded (`choiceOutputs`), else null.
 */
export function surfacePictures(key, array, outputs, discretize = false) {
  if (!array) return [];
  const [count, size] = array.shape;
  const range = array.range ?? [0, 1];
  const { centre, scale } = colourScale(outputs, range);
  const lut = quantisedLut(range, centre, scale, discretize);
  const entry = atlas(key, count, size);
  const pictures = [];
  for (let neuron = 0; neuron < count; neuron++) {
    const left = neuron * (size + 2 * GUTTER);
    paintTile(entry.image, left, array.data, neuron * size * size, size, lut);
    pictures.push({ source: entry.canvas, x: left + GUTTER, y: GUTTER, size });
  }
  entry.context.putImageData(entry.image, 0, 0);
  return pictures;
}

/** Draws a picture scaled into the box (x, y, width, height). */
export function drawPicture(ctx, picture, x, y, width, height) {
  ctx.drawImage(picture.source, picture.x, picture.y, picture.size, picture.size, x, y, width, height);
}

/** One neuron's size × size values into the atlas at column `left`, its gutter included. */
function paintTile(image, left, quantised, start, size, lut) {
  const pixels = image.data;
  const stride = image.width;
  const side = size + 2 * GUTTER;
  for (let row = 0; row < side; row++) {
    const sourceRow = Math.min(size - 1, Math.max(0, row - GUTTER));
    for (let column = 0; column < side; column++) {
      const sourceColumn = Math.min(size - 1, Math.max(0, column - GUTTER));
      const q = quantised[start + sourceRow * size + sourceColumn] * 4;
      const o = (row * stride + left + column) * 4;
      pixels[o] = lut[q];
      pixels[o + 1] = lut[q + 1];
      pixels[o + 2] = lut[q + 2];
      pixels[o + 3] = 255;
    }
  }
}
