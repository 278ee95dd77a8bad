// The URL hash: one table of properties drives both serialisation and parsing, so a shared link
// reproduces the run (the seeds are part of it).

// Config keys are the run schema's paths (`training.lr=0.03`): the same names as in messages and
// controls, no second spelling; which fields and how each is written come from hello.schema.
const KIND_CODECS = {
  number: "number",
  integer: "int",
  choice: "string",
  boolean: "bool",
  choices: "strings",
  integers: "ints",
  text: "string",
};

function configProperties(schema) {
  return (schema ?? [])
    .filter((entry) => entry.url && KIND_CODECS[entry.kind])
    .map((entry) => ({ key: entry.path, path: entry.path.split("."), type: KIND_CODECS[entry.kind] }));
}

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

/** config + view → "data.dataset=circle&training.lr=0.03&..." (no leading #). View flags only
 * when not default. */
export function serialise(config, view, schema) {
  const parts = [];
  for (const property of configProperties(schema)) {
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
export function parse(hash, defaults, schema) {
  const config = structuredClone(defaults ?? {});
  const view = {};
  const errors = [];
  const byKey = new Map([
    ...configProperties(schema).map((p) => [p.key, [p, config]]),
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
export function hasConfig(hash, schema) {
  const keys = new Set(configProperties(schema).map((property) => property.key));
  return hash
    .replace(/^#/, "")
    .split("&")
    .some((pair) => keys.has(pair.split("=")[0]));
}
