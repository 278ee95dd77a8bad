// Colour-blind-safe colours: an orange–white–blue diverging scale and Okabe–Ito class colours.

const ORANGE = [230, 97, 1];
const WHITE = [247, 247, 247];
const BLUE = [33, 102, 172];

export const FORWARD_COLOUR = "#0072b2";
export const BACKWARD_COLOUR = "#d55e00";
export const UPDATE_COLOUR = "#009e73";
export const CLASS_COLOURS = ["#e66101", "#2166ac", "#009e73", "#cc79a7", "#f0e442", "#56b4e9"];

/** t in [-1, 1] → [r, g, b]: -1 orange, 0 near-white, +1 blue. */
export function diverging(t) {
  const clamped = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0));
  const end = clamped < 0 ? ORANGE : BLUE;
  const weight = Math.abs(clamped);
  return WHITE.map((channel, k) => Math.round(channel + (end[k] - channel) * weight));
}

export function divergingCss(t, alpha = 1) {
  const [r, g, b] = diverging(t);
  return `rgba(${r},${g},${b},${alpha})`;
}

/**
 * A 256-entry RGBA lookup table for a u8 quantised array: entry q is the colour of
 * value lo + q/255·(hi-lo), centred on `centre` and scaled by `scale`.
 */
export function quantisedLut([lo, hi], centre, scale, discretize = false) {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let q = 0; q < 256; q++) {
    const value = lo + (q / 255) * (hi - lo);
    let t = scale > 0 ? (value - centre) / scale : 0;
    if (discretize) t = t > 0 ? 1 : t < 0 ? -1 : 0;
    const [r, g, b] = diverging(t);
    lut.set([r, g, b, 255], q * 4);
  }
  return lut;
}

export function hexToRgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
