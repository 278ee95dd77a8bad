// Many edges in a bounded number of canvas calls: each edge joins one path per colour and width
// bucket (a few hundred at most, whatever the network's size), and each path is stroked once.
// Buckets are stroked weak to strong, so strong weights lie on top of weak ones; an edge whose
// colour cannot be told from the background is left out instead of costing a line.

import { divergingCss } from "./palette.js";

const COLOUR_LEVELS = 64; // per sign: a step of 1/64 moves a colour channel by at most 2/255
const WIDTH_STEP = 0.25; // px; finer than anti-aliasing shows
const ALPHA_LEVELS = 16;
const FADED_LEVEL = 1; // |tanh(1.5·w)| < 1.5/64: within ~4/255 of the near-white zero colour
// Among thousands of hairlines (under a pixel of ink each), one within ~5 % of the page's white
// (|tanh(1.5·w)| < 5.5/64, |w| < 0.06) only adds to a grey haze: it is left out too.
const FADED_LEVEL_DENSE = 5;
// Edges this wide stay wide lines among hairlines: a stack of hairlines looks lighter than a
// solid line where their anti-aliased edges overlap, and such strong edges are few (~2 %).
const WIDE = 2; // px

/** Line width of an edge carrying `value`: its magnitude as thickness, capped at 8 px. */
export function edgeWidth(value) {
  return Math.min(8, 0.6 + Math.abs(value) * 2.2);
}

/** Position of `value` on the orange–white–blue scale, in [-1, 1]: its sign as hue. */
export function edgeShade(value) {
  return Math.tanh(value * 1.5);
}

export class EdgeBatch {
  /**
   * `alpha`: opacity of every edge; `dash`: a line dash ([] for solid); `hairlines`: draw each
   * edge narrower than WIDE as parallel 1-device-pixel lines carrying the same ink as its width
   * (for thousands of edges: a software canvas strokes those several times faster than wide
   * anti-aliased lines, and at such density the two look alike); `pixel`: one device pixel in
   * canvas units.
   */
  constructor(alpha, { dash = [], hairlines = false, pixel = 1 } = {}) {
    this.alpha = alpha;
    this.dash = dash;
    this.hairlines = hairlines;
    this.pixel = pixel;
    this.buckets = new Map(); // key → {shade, width, alpha, strength, points: [x0, y0, x1, y1, ...]}
  }

  /** Files the edge from → to under its value's colour and width bucket (or drops it, faded). */
  add(value, from, to) {
    const finite = Number.isFinite(value) ? value : 0; // a diverged run still draws
    const shade = edgeShade(finite);
    const level = Math.round(Math.abs(shade) * COLOUR_LEVELS);
    if (level <= (this.hairlines ? FADED_LEVEL_DENSE : FADED_LEVEL)) return;
    const sign = shade < 0 ? -1 : 1;
    const width = edgeWidth(finite);
    if (this.hairlines && width < WIDE) {
      this.addHairlines(sign, level, width, from, to);
      return;
    }
    const widthLevel = Math.round(width / WIDTH_STEP);
    const bucket = this.bucket(sign, level, widthLevel, widthLevel * WIDTH_STEP, this.alpha, false);
    bucket.points.push(from.x, from.y, to.x, to.y);
  }

  /**
   * k hairlines one device pixel apart across the line's minor axis (the axis an anti-aliased
   * hairline spreads its coverage over), k and their opacity chosen so that k · opacity · the
   * hairline's own width (cos θ) equals the ink of the wide line.
   */
  addHairlines(sign, level, width, from, to) {
    const dx = to.x - from.x;
    const dy = to.y - from.y;
    const major = Math.max(Math.abs(dx), Math.abs(dy)) || 1;
    const ink = (width / this.pixel) * (Math.hypot(dx, dy) / major); // in device hairlines
    const count = Math.max(1, Math.round(ink));
    const alphaLevel = Math.max(1, Math.round(ALPHA_LEVELS * Math.min(1, (this.alpha * ink) / count)));
    const bucket = this.bucket(sign, level, count, this.pixel, alphaLevel / ALPHA_LEVELS, true);
    const horizontal = Math.abs(dx) >= Math.abs(dy);
    for (let q = 0; q < count; q++) {
      const offset = (q - (count - 1) / 2) * this.pixel;
      const ox = horizontal ? 0 : offset;
      const oy = horizontal ? offset : 0;
      bucket.points.push(from.x + ox, from.y + oy, to.x + ox, to.y + oy);
    }
  }

  bucket(sign, level, thickness, width, alpha, hairline) {
    const strength = level * 4096 + thickness * 64 + Math.round(alpha * ALPHA_LEVELS);
    const key = sign * (2 * strength + (hairline ? 1 : 0));
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { shade: (sign * level) / COLOUR_LEVELS, width, alpha, strength, points: [] };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Strokes every bucket as one path, weakest first. */
  stroke(ctx) {
    const buckets = [...this.buckets.values()].sort((a, b) => a.strength - b.strength);
    ctx.save();
    ctx.setLineDash(this.dash);
    for (const bucket of buckets) {
      ctx.lineWidth = bucket.width;
      ctx.strokeStyle = divergingCss(bucket.shade, bucket.alpha);
      strokeSegments(ctx, bucket.points);
    }
    ctx.restore();
  }
}

/** One path of separate segments [x0, y0, x1, y1, ...], stroked once with the current style. */
export function strokeSegments(ctx, points) {
  ctx.beginPath();
  for (let k = 0; k < points.length; k += 4) {
    ctx.moveTo(points[k], points[k + 1]);
    ctx.lineTo(points[k + 2], points[k + 3]);
  }
  ctx.stroke();
}

/** [x0, y0, x1, y1, ...] of a list of edges {from, to}. */
export function segmentsOf(edges) {
  const points = [];
  for (const { from, to } of edges) points.push(from.x, from.y, to.x, to.y);
  return points;
}
