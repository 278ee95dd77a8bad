// The inspector: one weight, bias or neuron from the server's `inspect` reply — value, gradient,
// recent history, the chain rule with real numbers and the gradient check. Text only, never HTML.

import { formatNumber } from "./network.js";

const TITLES = { weight: "Weight", bias: "Bias", neuron: "Neuron" };
const SKIP = new Set(["type", "target", "kind", "layer", "i", "j", "history"]);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function format(value) {
  if (typeof value === "number") return formatNumber(value);
  if (Array.isArray(value) && value.every((item) => typeof item === "number")) {
    return value.length > 8 ? `[${value.slice(0, 8).map(formatNumber).join(", ")}, …]` : `[${value.map(formatNumber).join(", ")}]`;
  }
  if (value === null || value === undefined) return "—";
  return String(value);
}

/** The name of what is inspected, e.g. "Weight w[0](1→2)". */
export function describe(selection) {
  const { kind, layer, i, j } = selection;
  if (kind === "weight") return `${TITLES.weight} layer ${layer}, input ${i} → neuron ${j}`;
  if (kind === "bias") return `${TITLES.bias} of neuron ${j} in layer ${layer}`;
  return `${TITLES.neuron} ${j} in layer ${layer}`;
}

/** Nested fields as a definition list; strings that look like formulas keep their own text. */
function fields(object, depth = 0) {
  const list = element("dl", "inspect-fields");
  for (const [key, value] of Object.entries(object ?? {})) {
    if (SKIP.has(key) && depth === 0) continue;
    list.append(element("dt", null, key.replaceAll("_", " ")));
    const cell = element("dd");
    if (value && typeof value === "object" && !Array.isArray(value)) cell.append(fields(value, depth + 1));
    else if (Array.isArray(value) && value.some((item) => item && typeof item === "object")) {
      for (const item of value) cell.append(typeof item === "object" ? fields(item, depth + 1) : element("div", null, format(item)));
    } else cell.textContent = format(value);
    list.append(cell);
  }
  return list;
}

/** A tiny line of the parameter's recent values. */
function sparkline(history) {
  const canvas = element("canvas", "inspect-history");
  canvas.width = 260;
  canvas.height = 48;
  canvas.setAttribute("aria-label", "recent values");
  const values = history.filter(Number.isFinite);
  if (values.length < 2) return canvas;
  const ctx = canvas.getContext("2d");
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  ctx.strokeStyle = "#0072b2";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  values.forEach((value, k) => {
    const x = (k / (values.length - 1)) * (canvas.width - 4) + 2;
    const y = canvas.height - 4 - ((value - lo) / (hi - lo || 1)) * (canvas.height - 8);
    if (k) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
  });
  ctx.stroke();
  return canvas;
}

function historyValues(reply) {
  const history = reply.history;
  if (!history) return null;
  if (Array.isArray(history)) return history.map((item) => (typeof item === "object" ? item?.value : item));
  return history.value ?? history.values ?? null;
}

/**
 * Shows `reply` for `selection` inside `panel`. `onEdit(value)` sends a typed value for weights
 * and biases. Rebuilt only when a new reply arrives, never per frame.
 */
export function render(panel, selection, reply, { onEdit, onClose }) {
  const header = element("div", "inspect-header");
  header.append(element("h2", null, describe(selection)));
  const close = element("button", "inspect-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Close inspector");
  close.addEventListener("click", onClose);
  header.append(close);
  const parts = [header];
  if (selection.kind !== "neuron") parts.push(editor(reply?.value, onEdit));
  if (!reply) parts.push(element("p", "inspect-waiting", "asking the server…"));
  else {
    const history = historyValues(reply);
    if (history?.length) parts.push(element("div", "inspect-label", "recent values"), sparkline(history));
    parts.push(fields(reply));
  }
  panel.replaceChildren(...parts);
  panel.hidden = false;
}

function editor(value, onEdit) {
  const form = element("form", "inspect-edit");
  const label = element("label", null, "value ");
  const input = element("input");
  input.type = "number";
  input.step = "any";
  input.dataset.testid = "inspect-edit";
  if (Number.isFinite(value)) input.value = String(value);
  label.append(input);
  const button = element("button", null, "Set");
  button.type = "submit";
  form.append(label, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(typed)) {
      input.setCustomValidity("type a finite number");
      input.reportValidity();
      return;
    }
    input.setCustomValidity("");
    onEdit(typed);
  });
  return form;
}
