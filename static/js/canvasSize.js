// A canvas's backing store sized to its CSS size × devicePixelRatio, so drawings stay sharp.

/** Resizes `canvas` to `size` ({width, height} in CSS pixels) and returns {ctx, width, height}. */
export function fitCanvas(canvas, size) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, size.width);
  const height = Math.max(1, size.height);
  if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width, height };
}
