// The network's shape as the buttons over it change it (each a pure function returning new
// layer sizes, within the schema's limits), and the per-layer buttons drawn over the network.
// What else must follow a new shape (frozen layers, weights) is the engine's business.

/** One more hidden layer of 2 before the output, unless the schema's limit is reached. */
export function withHiddenLayerAdded(layers, { maxLength }) {
  const next = [...layers];
  if (next.length < maxLength) next.splice(-1, 0, 2);
  return next;
}

export function withHiddenLayerRemoved(layers) {
  const next = [...layers];
  if (next.length > 2) next.splice(-2, 1);
  return next;
}

/** `column` counts layers of neurons (0 = inputs), so hidden layer k is column k. */
export function withLayerResized(layers, column, delta, { maxNeurons }) {
  const next = [...layers];
  next[column] = Math.max(1, Math.min(maxNeurons, next[column] + delta));
  return next;
}

/** The allowed output width next to the current one in direction `delta` (±1), or null. The
 * engine lists the widths the data set takes (state.allowed; a two-class set: 1 or 2). */
export function nextOutputWidth(layers, widths, delta) {
  const current = layers[layers.length - 1];
  const candidates = (widths ?? []).filter((width) => Math.sign(width - current) === delta);
  if (!candidates.length) return null;
  return delta > 0 ? Math.min(...candidates) : Math.max(...candidates);
}

/**
 * +/− per hidden layer (and on the output when the data set takes more than one width), and a
 * freeze box per weight layer, placed over the network canvas at the layout's column positions.
 * `outputWidths`: the engine's allowed widths. `on.resize(column, delta)`, `on.output(width)`,
 * `on.freeze(layer, frozen)`.
 */
export function buildLayerControls(box, layout, config, outputWidths, on) {
  const layers = config.network.layers;
  const frozen = new Set(config.training.frozen ?? []);
  const groups = layout.columns.map((column, c) => {
    const group = document.createElement("div");
    group.className = "layer-control";
    group.style.left = `${column.x}px`;
    if (c > 0 && c < layers.length - 1) {
      group.append(smallButton("−", `fewer neurons in hidden layer ${c}`, () => on.resize(c, -1)));
      group.append(smallButton("+", `more neurons in hidden layer ${c}`, () => on.resize(c, 1)));
    }
    const isOutput = c === layers.length - 1;
    if (isOutput && (outputWidths?.length ?? 0) > 1) group.append(...outputButtons(layers, outputWidths, on));
    // Narrow columns (deep networks) get the snowflake alone; the title still says "freeze".
    const roomy = layout.columns.length < 2 || layout.columns[1].x - layout.columns[0].x > 110;
    const name = c === layers.length - 1 ? "output" : `hidden ${c}`; // as the column titles say
    if (c > 0) group.append(freezeBox(c - 1, name, frozen.has(c - 1), on.freeze, roomy ? "freeze" : "❄"));
    return group;
  });
  box.replaceChildren(...groups);
}

/** − and + on the output: the next narrower and wider width the data set takes (disabled at the
 * ends); the engine makes the output activation and loss follow. */
function outputButtons(layers, widths, on) {
  return [
    [-1, "−", "fewer outputs"],
    [1, "+", "more outputs"],
  ].map(([delta, text, label]) => {
    const width = nextOutputWidth(layers, widths, delta);
    const button = smallButton(text, width === null ? label : `${label}: ${width}`, () => on.output(width));
    button.disabled = width === null;
    return button;
  });
}

function freezeBox(layer, column, checked, onFreeze, text) {
  const label = document.createElement("label");
  label.title = `freeze the weights into ${column}`;
  const input = document.createElement("input");
  input.setAttribute("aria-label", `freeze the weights into ${column}`);
  input.type = "checkbox";
  input.checked = checked;
  input.dataset.testid = `freeze-${layer}`;
  input.addEventListener("change", () => onFreeze(layer, input.checked));
  label.append(input, document.createTextNode(text));
  return label;
}

export function smallButton(text, label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "small";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}
