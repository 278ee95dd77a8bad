// Structural changes to a run's configuration (hidden layers, features, output head), each a pure
// function returning a new config, and the per-layer buttons drawn over the network.

import { headFor, isRegression, optionList } from "./controls.js";

const LOSS_FOR_OUTPUT = { sigmoid: "bce", softmax: "ce", linear: "mse" };

/** A copy of `config` without hand-set weights: a new shape needs new weights from the seed. */
function reshaped(config, change) {
  const next = structuredClone(config);
  delete next.network.weights;
  delete next.network.biases;
  change(next);
  const weightLayers = next.network.layers.length - 1;
  next.training.frozen = (next.training.frozen ?? []).filter((layer) => layer < weightLayers);
  return next;
}

export function withHiddenLayerAdded(config, limits = {}) {
  return reshaped(config, ({ network }) => {
    if (network.layers.length - 2 < (limits.max_hidden_layers ?? 8)) network.layers.splice(-1, 0, 2);
  });
}

export function withHiddenLayerRemoved(config) {
  return reshaped(config, ({ network }) => {
    if (network.layers.length > 2) network.layers.splice(-2, 1);
  });
}

/** `column` counts layers of neurons (0 = inputs), so hidden layer k is column k. */
export function withLayerResized(config, column, delta, limits = {}) {
  return reshaped(config, ({ network }) => {
    const size = network.layers[column] + delta;
    network.layers[column] = Math.max(1, Math.min(limits.max_neurons ?? 32, size));
  });
}

/** New input features: the first layer takes their number. */
export function withFeatures(config, features) {
  return reshaped(config, (next) => {
    next.data.features = features;
    next.network.layers[0] = features.length;
  });
}

/** A new data set may need another output head (3 classes → softmax, regression → linear). */
export function withDataset(config, dataset, options) {
  return reshaped(config, (next) => {
    next.data.dataset = dataset;
    delete next.data.points;
    const option = optionList(options, "datasets").find((entry) => entry.value === dataset);
    const head = headFor(option ?? guessDataset(dataset));
    next.network.output = head.output;
    next.network.loss = head.loss;
    next.network.layers[next.network.layers.length - 1] = head.width;
  });
}

/** A new output activation with the loss that fits it (the engine rejects bce without sigmoid,
 * ...); a regression set keeps mse whatever the output, as it takes no other loss. */
export function withOutput(config, output, options) {
  const next = structuredClone(config);
  next.network.output = output;
  const regression = isRegression(next.data.dataset, options);
  next.network.loss = regression ? "mse" : (LOSS_FOR_OUTPUT[output] ?? next.network.loss);
  return next;
}

function guessDataset(name) {
  if (name === "plane" || name === "multi_gauss") return { kind: "regression" };
  if (name === "three_gauss") return { kind: "classification", n_classes: 3 };
  return { kind: "classification", n_classes: 2 };
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
    if (c > 0) group.append(freezeBox(c - 1, frozen.has(c - 1), on.freeze, roomy ? "freeze" : "❄"));
    return group;
  });
  box.replaceChildren(...groups);
}

function freezeBox(layer, checked, onFreeze, text) {
  const label = document.createElement("label");
  label.title = `freeze weight layer ${layer}`;
  const input = document.createElement("input");
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
