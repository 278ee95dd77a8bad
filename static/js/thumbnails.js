// Turns the frame's u8 surfaces into small canvases (one per neuron), reusing their buffers.

import { quantisedLut } from "./palette.js";

const pool = new Map(); // key → {canvas, context, image}

/** Colour centre and half-width of an activation's output, so 0.5 is white for sigmoid. */
export function colourScale(activation, range) {
  if (activation === "sigmoid" || activation === "softmax") return { centre: 0.5, scale: 0.5 };
  if (activation === "tanh") return { centre: 0, scale: 1 };
  const [lo, hi] = range ?? [-1, 1];
  return { centre: 0, scale: Math.max(Math.abs(lo), Math.abs(hi), 1e-6) };
}

function pooledCanvas(key, size) {
  let entry = pool.get(key);
  if (!entry || entry.canvas.width !== size) {
    const canvas = document.createElement("canvas");
    canvas.width = size;
    canvas.height = size;
    const context = canvas.getContext("2d");
    entry = { canvas, context, image: context.createImageData(size, size) };
    pool.set(key, entry);
  }
  return entry;
}

/**
 * One canvas per neuron of a u8 surface array {data, shape: [n, g, g], range}.
 * Returns an array of canvases, index = neuron.
 */
export function surfaceCanvases(key, array, activation, discretize = false) {
  if (!array) return [];
  const [count, size] = array.shape;
  const range = array.range ?? [0, 1];
  const { centre, scale } = colourScale(activation, range);
  const lut = quantisedLut(range, centre, scale, discretize);
  const canvases = [];
  for (let neuron = 0; neuron < count; neuron++) {
    const entry = pooledCanvas(`${key}/${neuron}`, size);
    paint(entry.image.data, array.data, neuron * size * size, size * size, lut);
    entry.context.putImageData(entry.image, 0, 0);
    canvases.push(entry.canvas);
  }
  return canvases;
}

function paint(pixels, quantised, start, count, lut) {
  for (let p = 0; p < count; p++) {
    const q = quantised[start + p] * 4;
    const o = p * 4;
    pixels[o] = lut[q];
    pixels[o + 1] = lut[q + 1];
    pixels[o + 2] = lut[q + 2];
    pixels[o + 3] = 255;
  }
}
