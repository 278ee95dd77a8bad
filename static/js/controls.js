// The control panel: built once from the server's registries, filled from the config, and
// reporting each change as live (`set`) or structural (`config`, which rebuilds the network).

const FALLBACK_OPTIONS = {
  datasets: ["circle", "xor", "gauss", "spiral", "moons", "three_gauss", "plane", "multi_gauss"],
  features: ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"],
  activations: ["linear", "sigmoid", "tanh", "relu", "leaky_relu"],
  outputs: ["linear", "sigmoid", "softmax"],
  losses: ["mse", "bce", "ce"],
  inits: ["xavier", "he", "normal", "uniform", "zeros"],
  optimizers: ["sgd", "momentum", "rmsprop", "adam"],
};

const FEATURE_LABELS = {
  x1: "x₁",
  x2: "x₂",
  x1sq: "x₁²",
  x2sq: "x₂²",
  x1x2: "x₁·x₂",
  sinx1: "sin x₁",
  sinx2: "sin x₂",
};

/** Every control: where its value lives in the config and whether it applies live. */
export const CONTROLS = [
  { section: "Data", key: "dataset", path: ["data", "dataset"], kind: "select", options: "datasets" },
  {
    section: "Data",
    key: "noise",
    path: ["data", "noise"],
    kind: "range",
    min: 0,
    max: 50,
    step: 5,
    unit: "%",
  },
  {
    section: "Data",
    key: "train_ratio",
    label: "train share",
    path: ["data", "train_ratio"],
    kind: "range",
    min: 0.1,
    max: 1, // 100 %: every point trains, no test set (some lessons need that)
    step: 0.1,
    percent: true,
  },
  {
    section: "Data",
    key: "n_points",
    label: "points",
    path: ["data", "n_points"],
    kind: "number",
    min: 10,
    max: 5000,
    step: 10,
  },
  {
    section: "Data",
    key: "data_seed",
    label: "data seed",
    path: ["data", "seed"],
    kind: "number",
    min: 0,
    step: 1,
  },
  {
    section: "Network",
    key: "activation",
    path: ["network", "activation"],
    kind: "select",
    options: "activations",
  },
  { section: "Network", key: "output", path: ["network", "output"], kind: "select", options: "outputs" },
  { section: "Network", key: "loss", path: ["network", "loss"], kind: "select", options: "losses" },
  { section: "Network", key: "init", path: ["network", "init"], kind: "select", options: "inits" },
  {
    section: "Network",
    key: "init_scale",
    label: "init scale",
    path: ["network", "init_scale"],
    kind: "number",
    min: 0,
    step: 0.1,
  },
  {
    section: "Network",
    key: "seed",
    label: "weight seed",
    path: ["network", "seed"],
    kind: "number",
    min: 0,
    step: 1,
  },
  {
    section: "Network",
    key: "bias",
    label: "use biases",
    path: ["network", "bias"],
    kind: "checkbox",
    fallback: true,
  },
  {
    section: "Training",
    key: "optimizer",
    path: ["training", "optimizer"],
    kind: "select",
    options: "optimizers",
    live: true,
  },
  {
    section: "Training",
    key: "lr",
    label: "learning rate",
    path: ["training", "lr"],
    kind: "number",
    min: 0,
    step: "any",
    live: true,
  },
  {
    section: "Training",
    key: "momentum",
    path: ["training", "momentum"],
    kind: "number",
    step: "any",
    live: true,
    only: ["momentum"],
  },
  {
    section: "Training",
    key: "alpha",
    label: "α (decay)",
    path: ["training", "alpha"],
    kind: "number",
    step: "any",
    live: true,
    only: ["rmsprop"],
  },
  {
    section: "Training",
    key: "beta1",
    label: "β₁",
    path: ["training", "beta1"],
    kind: "number",
    step: "any",
    live: true,
    only: ["adam"],
  },
  {
    section: "Training",
    key: "beta2",
    label: "β₂",
    path: ["training", "beta2"],
    kind: "number",
    step: "any",
    live: true,
    only: ["adam"],
  },
  {
    section: "Training",
    key: "eps",
    label: "ε",
    path: ["training", "eps"],
    kind: "number",
    step: "any",
    live: true,
    only: ["rmsprop", "adam"],
  },
  {
    section: "Training",
    key: "l1",
    label: "L1",
    path: ["training", "l1"],
    kind: "number",
    min: 0,
    step: "any",
    live: true,
  },
  {
    section: "Training",
    key: "l2",
    label: "L2",
    path: ["training", "l2"],
    kind: "number",
    min: 0,
    step: "any",
    live: true,
  },
  {
    section: "Training",
    key: "dropout",
    path: ["training", "dropout"],
    kind: "range",
    min: 0,
    max: 0.9,
    step: 0.1,
    live: true,
  },
  {
    section: "Training",
    key: "batch_size",
    label: "batch size",
    path: ["training", "batch_size"],
    kind: "number",
    min: 1,
    step: 1,
    live: true,
  },
];

/** Registry entries as [{value, label}], whatever shape the server sends (list, objects, map). */
export function optionList(options, name) {
  const raw = options?.[name] ?? options?.[name.replace(/s$/, "")] ?? FALLBACK_OPTIONS[name] ?? [];
  const entries = Array.isArray(raw) ? raw : Object.entries(raw).map(([key, value]) => ({ key, value }));
  return entries.map((entry) => {
    if (typeof entry === "string") return { value: entry, label: FEATURE_LABELS[entry] ?? entry };
    if (entry.key !== undefined && entry.value !== undefined && !entry.id) {
      const label = typeof entry.value === "string" ? entry.value : (entry.value?.label ?? entry.key);
      return { value: entry.key, label, ...(typeof entry.value === "object" ? entry.value : {}) };
    }
    const value = entry.id ?? entry.name ?? entry.key ?? entry.value;
    return { ...entry, value, label: entry.label ?? entry.title ?? value };
  });
}

function getPath(object, path) {
  return path.reduce((node, key) => (node == null ? undefined : node[key]), object);
}

function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One labelled input for a control definition; `onInput(value)` reports typed values. */
function buildInput(control, options, onInput) {
  const id = `control-${control.key}`;
  const row = element("label", { class: "control", for: id });
  row.append(element("span", { class: "control-label" }, control.label ?? control.key));
  let input;
  if (control.kind === "select") {
    input = element("select", { id });
    for (const option of optionList(options, control.options)) {
      input.append(element("option", { value: option.value }, option.label));
    }
  } else {
    input = element("input", { id, type: control.kind });
    for (const name of ["min", "max", "step"])
      if (control[name] !== undefined) input.setAttribute(name, control[name]);
  }
  input.dataset.testid = id;
  row.append(input);
  const readout = control.kind === "range" ? element("output", { class: "control-readout" }) : null;
  if (readout) row.append(readout);
  const read = () => readValue(control, input);
  // Ranges report on release ("change") so dragging does not rebuild the network at every pixel.
  input.addEventListener("change", () => {
    const value = read();
    if (value === null) {
      input.setCustomValidity("not a valid number");
      input.reportValidity();
      return;
    }
    input.setCustomValidity("");
    onInput(value);
  });
  if (readout) input.addEventListener("input", () => (readout.textContent = formatReadout(control, read())));
  return { row, input, readout };
}

function readValue(control, input) {
  if (control.kind === "checkbox") return input.checked;
  if (control.kind === "select") return input.value;
  const value = Number(input.value);
  if (input.value.trim() === "" || !Number.isFinite(value)) return null;
  return value;
}

function formatReadout(control, value) {
  if (control.percent) return `${Math.round(value * 100)}%`;
  return `${value}${control.unit ?? ""}`;
}

/**
 * Builds the panel into `container`. `onChange(path, value, live)` is called for every change.
 * Returns {fill(config)} to show a config without firing change events.
 */
export function createControls(container, { options, onChange, onFeatures }) {
  const inputs = new Map();
  const sections = new Map();
  for (const control of CONTROLS) {
    if (!sections.has(control.section)) {
      const fieldset = element("fieldset", { class: "controls-section", "data-section": control.section });
      fieldset.append(element("legend", {}, control.section));
      sections.set(control.section, fieldset);
      container.append(fieldset);
    }
    const built = buildInput(control, options, (value) =>
      onChange(control.path, value, Boolean(control.live)),
    );
    sections.get(control.section).append(built.row);
    inputs.set(control.key, { control, ...built });
  }
  const features = buildFeatures(options, onFeatures);
  sections.get("Data").append(features.box);

  return {
    /** Shows `config`; leaves a field being typed in alone unless `force` (an undo). */
    fill(config, { force = false } = {}) {
      for (const { control, input, readout, row } of inputs.values()) {
        const value = getPath(config, control.path) ?? control.fallback;
        const typing = document.activeElement === input && !force;
        if (control.kind === "checkbox") input.checked = Boolean(value);
        else if (!typing && value !== undefined) input.value = String(value);
        if (readout && value !== undefined) readout.textContent = formatReadout(control, value);
        if (control.only) row.hidden = !control.only.includes(config.training?.optimizer);
      }
      // The loss select offers only what the engine would accept for this output and data.
      const valid = validLosses(config, options);
      for (const option of inputs.get("loss").input.options) {
        option.disabled = option.hidden = !valid.includes(option.value);
      }
      features.fill(config.data?.features ?? []);
    },
  };
}

/** Feature toggles: one checkbox per input feature; at least one must stay on. */
function buildFeatures(options, onFeatures) {
  const box = element("div", { class: "features", role: "group", "aria-label": "input features" });
  box.append(element("span", { class: "control-label" }, "features"));
  const boxes = new Map();
  for (const option of optionList(options, "features")) {
    const label = element("label", { class: "feature" });
    const input = element("input", { type: "checkbox", value: option.value });
    input.dataset.testid = `feature-${option.value}`;
    label.append(input, document.createTextNode(FEATURE_LABELS[option.value] ?? option.label));
    input.addEventListener("change", () => {
      const chosen = [...boxes.values()]
        .filter((candidate) => candidate.checked)
        .map((candidate) => candidate.value);
      if (chosen.length === 0) {
        input.checked = true;
        return;
      }
      onFeatures(chosen);
    });
    boxes.set(option.value, input);
    box.append(label);
  }
  return {
    box,
    fill(chosen) {
      for (const [value, input] of boxes) input.checked = chosen.includes(value);
    },
  };
}

/** Output activation, loss and width that fit a data set (used when the data set changes). */
export function headFor(datasetOption) {
  const kind = datasetOption?.kind ?? "classification";
  const classes = datasetOption?.n_classes ?? 2;
  if (kind === "regression") return { output: "linear", loss: "mse", width: datasetOption?.n_outputs ?? 1 };
  if (classes > 2) return { output: "softmax", loss: "ce", width: classes };
  return { output: "sigmoid", loss: "bce", width: 1 };
}

/** Whether `dataset` is a regression set, from the server's registry (or its known names). */
export function isRegression(dataset, options) {
  const option = optionList(options, "datasets").find((entry) => entry.value === dataset);
  if (option?.kind) return option.kind === "regression";
  return dataset === "plane" || dataset === "multi_gauss";
}

/**
 * The losses the engine accepts for `config`: those that pair with its output activation (the
 * registry's `outputs`), and on a regression set only mse (bce and ce read targets as classes).
 */
export function validLosses(config, options) {
  const output = config.network?.output;
  const regression = isRegression(config.data?.dataset, options);
  return optionList(options, "losses")
    .filter((loss) => !Array.isArray(loss.outputs) || loss.outputs.includes(output))
    .filter((loss) => !regression || loss.value === "mse")
    .map((loss) => loss.value);
}

export { FEATURE_LABELS };
