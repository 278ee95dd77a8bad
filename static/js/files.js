// Files in and out: CSV points, network JSON, loss history CSV and a PNG of the view.

const EXTENT = 6;

/**
 * "x1,x2,target" lines (an optional header line, blank lines ignored) → [[x1, x2, target], ...].
 * Throws an Error naming the first bad line, so the person can fix their file.
 */
export function parsePointsCsv(text, maxPoints) {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  const points = [];
  lines.forEach((line, index) => {
    if (!line || line.startsWith("#")) return;
    const cells = line.split(/[,;\t]/).map((cell) => cell.trim());
    if (points.length === 0 && cells.some((cell) => cell !== "" && Number.isNaN(Number(cell)))) {
      if (index === lines.findIndex(Boolean)) return; // a header line
    }
    if (cells.length < 3)
      throw new Error(`line ${index + 1}: expected x1,x2,target, got "${line.slice(0, 40)}"`);
    const numbers = cells.map(Number);
    if (cells.some((cell) => cell === "") || !numbers.every(Number.isFinite)) {
      throw new Error(`line ${index + 1}: every value must be a number, got "${line.slice(0, 40)}"`);
    }
    if (Math.abs(numbers[0]) > EXTENT || Math.abs(numbers[1]) > EXTENT) {
      throw new Error(`line ${index + 1}: x1 and x2 must lie in [-${EXTENT}, ${EXTENT}]`);
    }
    points.push(numbers);
  });
  if (points.length === 0) throw new Error("no points found; expected lines of x1,x2,target");
  if (points.length > maxPoints) throw new Error(`at most ${maxPoints} points, got ${points.length}`);
  return points;
}

/** An exported network file → {config, progress} to send; checks its shape, the server the rest. */
export function parseNetworkJson(text) {
  let document;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${error.message})`);
  }
  for (const part of ["network", "training", "data"]) {
    if (!document || typeof document[part] !== "object" || Array.isArray(document[part])) {
      throw new Error(`missing the "${part}" part of a backprop-lab network file`);
    }
  }
  const config = { network: document.network, training: document.training, data: document.data };
  // An export's progress (optimizer state, batch order, counters); older files have none.
  return { config, progress: document.progress ?? null };
}

/** A flat {data, shape: [rows, cols]} array → nested lists. */
export function nested({ data, shape }) {
  return Array.from({ length: shape[0] }, (_, row) =>
    Array.from(data.subarray(row * shape[1], (row + 1) * shape[1])),
  );
}

export function historyCsv(history) {
  const rows = history.iteration.map(
    (iteration, k) => `${iteration},${history.train[k] ?? ""},${history.test[k] ?? ""}`,
  );
  return ["iteration,train_loss,test_loss", ...rows].join("\n") + "\n";
}

export function download(name, content, type) {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

/** The network, the surface and both charts side by side in one PNG. */
export function downloadView({ network, surface, loss, grads }) {
  const gap = 8;
  const right = Math.max(surface.width, loss.width, grads.width);
  const width = network.width + gap + right;
  const height = Math.max(network.height, surface.height + loss.height + grads.height + 2 * gap);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(network, 0, 0);
  let y = 0;
  for (const part of [surface, loss, grads]) {
    ctx.drawImage(part, network.width + gap, y);
    y += part.height + gap;
  }
  canvas.toBlob((blob) => download("backprop-lab.png", blob), "image/png");
}
