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

/**
 * +/− per hidden layer and a freeze box per weight layer, placed over the network canvas at the
 * layout's column positions. `on.resize(column, delta)`, `on.freeze(layer, frozen)`.
 */
export function buildLayerControls(box, layout, config, on) {
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
    // Narrow columns (deep networks) get the snowflake alone; the title still says "freeze".
    const roomy = layout.columns.length < 2 || layout.columns[1].x - layout.columns[0].x > 110;
    const name = c === layers.length - 1 ? "output" : `hidden ${c}`; // as the column titles say
    if (c > 0) group.append(freezeBox(c - 1, name, frozen.has(c - 1), on.freeze, roomy ? "freeze" : "❄"));
    return group;
  });
  box.replaceChildren(...groups);
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
