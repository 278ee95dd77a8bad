// The values of a recurrent frame's arrays as the unrolled view and its charts read them: u8
// arrays expanded once over their range, the prediction and the target at a step.

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

export function scaleOf(list) {
  let largest = 0;
  for (const value of list ?? []) if (Number.isFinite(value)) largest = Math.max(largest, Math.abs(value));
  return largest || 1;
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

export function targetAt(arrays, recurrent, t) {
  const y = arrays.get("y")?.data;
  return recurrent.alphabet ? y?.[t] : y?.[t * recurrent.outputs];
}

export function shortNumber(value) {
  if (!Number.isFinite(value)) return "";
  return Math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(Math.abs(value) >= 1 ? 1 : 2);
}
