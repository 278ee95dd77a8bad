// The URL hash: one table of state properties drives both serialisation and parsing,
// so a shared link reproduces the run (the seeds are part of it).

const CONFIG_PROPERTIES = [
  { key: "dataset", path: ["data", "dataset"], type: "string" },
  { key: "points", path: ["data", "n_points"], type: "int" },
  { key: "noise", path: ["data", "noise"], type: "number" },
  { key: "train", path: ["data", "train_ratio"], type: "number" },
  { key: "features", path: ["data", "features"], type: "strings" },
  { key: "dataSeed", path: ["data", "seed"], type: "int" },
  { key: "layers", path: ["network", "layers"], type: "ints" },
  { key: "activation", path: ["network", "activation"], type: "string" },
  { key: "output", path: ["network", "output"], type: "string" },
  { key: "loss", path: ["network", "loss"], type: "string" },
  { key: "init", path: ["network", "init"], type: "string" },
  { key: "initScale", path: ["network", "init_scale"], type: "number" },
  { key: "seed", path: ["network", "seed"], type: "int" },
  { key: "bias", path: ["network", "bias"], type: "bool" },
  { key: "optimizer", path: ["training", "optimizer"], type: "string" },
  { key: "lr", path: ["training", "lr"], type: "number" },
  { key: "momentum", path: ["training", "momentum"], type: "number" },
  { key: "alpha", path: ["training", "alpha"], type: "number" },
  { key: "beta1", path: ["training", "beta1"], type: "number" },
  { key: "beta2", path: ["training", "beta2"], type: "number" },
  { key: "eps", path: ["training", "eps"], type: "number" },
  { key: "l1", path: ["training", "l1"], type: "number" },
  { key: "l2", path: ["training", "l2"], type: "number" },
  { key: "dropout", path: ["training", "dropout"], type: "number" },
  { key: "batch", path: ["training", "batch_size"], type: "int" },
  { key: "frozen", path: ["training", "frozen"], type: "ints" },
];

const VIEW_PROPERTIES = [
  { key: "hide", path: ["hide"], type: "strings", fallback: [] },
  { key: "presenter", path: ["presenter"], type: "bool", fallback: false },
  { key: "biasNodes", path: ["biasNodes"], type: "bool", fallback: false },
  { key: "showTest", path: ["showTest"], type: "bool", fallback: true },
  { key: "discretize", path: ["discretize"], type: "bool", fallback: false },
  { key: "logLoss", path: ["logLoss"], type: "bool", fallback: false },
  { key: "lesson", path: ["lesson"], type: "string", fallback: "" },
];

const CODECS = {
  string: { write: String, read: (text) => text },
  number: { write: String, read: readNumber },
  int: { write: String, read: (text) => readInteger(text) },
  bool: { write: (value) => (value ? "1" : "0"), read: readBool },
  strings: { write: (list) => list.join(","), read: (text) => (text ? text.split(",") : []) },
  ints: { write: (list) => list.join(","), read: (text) => (text ? text.split(",").map(readInteger) : []) },
};

function readNumber(text) {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new Error(`not a number: "${text}"`);
  return value;
}

function readInteger(text) {
  const value = readNumber(text);
  if (!Number.isInteger(value)) throw new Error(`not a whole number: "${text}"`);
  return value;
}

function readBool(text) {
  if (text === "1" || text === "true") return true;
  if (text === "0" || text === "false") return false;
  throw new Error(`not 0 or 1: "${text}"`);
}

/** Percent-encodes a value but keeps list commas readable in the address bar. */
function encode(text) {
  return encodeURIComponent(text).replaceAll("%2C", ",");
}

function getPath(object, path) {
  return path.reduce((node, key) => (node == null ? undefined : node[key]), object);
}

function setPath(object, path, value) {
  const parent = path.slice(0, -1).reduce((node, key) => (node[key] ??= {}), object);
  parent[path.at(-1)] = value;
}

/** config + view → "dataset=circle&lr=0.03&..." (no leading #). View flags only when not default. */
export function serialise(config, view = {}) {
  const parts = [];
  for (const property of CONFIG_PROPERTIES) {
    const value = getPath(config, property.path);
    if (value === undefined || value === null) continue;
    parts.push(`${property.key}=${encode(CODECS[property.type].write(value))}`);
  }
  for (const property of VIEW_PROPERTIES) {
    const value = getPath(view, property.path);
    if (value === undefined || JSON.stringify(value) === JSON.stringify(property.fallback)) continue;
    parts.push(`${property.key}=${encode(CODECS[property.type].write(value))}`);
  }
  return parts.join("&");
}

/**
 * "#dataset=...&..." → {config, view, errors}. `config` is a copy of `defaults` with the hash's
 * values applied; unknown keys and unreadable values are reported in `errors` and otherwise ignored.
 */
export function parse(hash, defaults) {
  const config = structuredClone(defaults ?? {});
  const view = {};
  const errors = [];
  const byKey = new Map([
    ...CONFIG_PROPERTIES.map((p) => [p.key, [p, config]]),
    ...VIEW_PROPERTIES.map((p) => [p.key, [p, view]]),
  ]);
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  for (const pair of text.split("&").filter(Boolean)) {
    const [key, raw = ""] = pair.split("=");
    const entry = byKey.get(key);
    if (!entry) {
      errors.push(`unknown setting "${key}"`);
      continue;
    }
    const [property, target] = entry;
    try {
      setPath(target, property.path, CODECS[property.type].read(decodeURIComponent(raw)));
    } catch (error) {
      errors.push(`${key}: ${error.message}`);
    }
  }
  return { config, view, errors };
}

/** True when the hash names at least one configuration property (so it describes a run). */
export function hasConfig(hash) {
  const keys = new Set(CONFIG_PROPERTIES.map((property) => property.key));
  return hash
    .replace(/^#/, "")
    .split("&")
    .some((pair) => keys.has(pair.split("=")[0]));
}
