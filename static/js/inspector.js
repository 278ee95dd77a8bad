// The inspector: one weight, bias or neuron from the server's `inspect` reply — value, gradient,
// recent history, the chain rule with real numbers and the gradient check. Text only, never HTML.

import { element } from "./dom.js";
import { formatNumber } from "./network.js";

const TITLES = { weight: "Weight", bias: "Bias", neuron: "Neuron" };
const SKIP = new Set(["type", "target", "kind", "layer", "i", "j", "note"]);

/** Four significant digits: the inspector is where people check the arithmetic by hand. */
function precise(value) {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e5)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

function format(value) {
  if (typeof value === "number") return precise(value);
  if (Array.isArray(value) && value.every((item) => typeof item === "number")) {
    return value.length > 8
      ? `[${value.slice(0, 8).map(precise).join(", ")}, …]`
      : `[${value.map(precise).join(", ")}]`;
  }
  if (value === null || value === undefined) return "—";
  return String(value);
}

/** A column of neurons as the network's column titles name it: input, hidden 1 …, output. */
export function columnName(column, weightLayers) {
  if (column === 0) return "input";
  return column === weightLayers ? "output" : `hidden ${column}`;
}

/** A neuron (0-based j) of a column, counted from 1 at the top as a person counts. */
function neuronName(column, j, weightLayers) {
  return column === 0 ? `input ${j + 1}` : `neuron ${j + 1} of ${columnName(column, weightLayers)}`;
}

/**
 * The name of what is inspected, e.g. "Weight from input 1 to neuron 2 of hidden 1". A selection's
 * `layer` is the weight layer (0-based), which feeds column layer + 1.
 */
export function describe(selection, weightLayers) {
  const { kind, layer, i, j } = selection;
  const target = neuronName(layer + 1, j, weightLayers);
  if (kind === "weight") return `${TITLES.weight} from ${neuronName(layer, i, weightLayers)} to ${target}`;
  if (kind === "bias") return `${TITLES.bias} of ${target}`;
  return `${TITLES.neuron} ${j + 1} of ${columnName(layer + 1, weightLayers)}`;
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
      for (const item of value)
        cell.append(typeof item === "object" ? fields(item, depth + 1) : element("div", null, format(item)));
    } else cell.textContent = format(value);
    list.append(cell);
  }
  return list;
}

/**
 * Shows `reply` for `selection` inside `panel`: value (editable), gradient, recent values, the
 * chain rule with the focus sample's real numbers, the batch gradient and the gradient check.
 * Rebuilt when a reply arrives, never per frame. The value editor is built once per selection
 * (`editor`, from `createEditor`) and moved across rebuilds, so typing in it survives a reply.
 * Returns the canvas of recent values, which the caller redraws per frame.
 */
export function render(panel, selection, reply, { editor, onClose, weightLayers }) {
  const header = element("div", "inspect-header");
  header.append(element("h2", null, describe(selection, weightLayers)));
  const close = element("button", "inspect-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Close inspector");
  close.addEventListener("click", onClose);
  header.append(close);
  const history = element("canvas", "inspect-history");
  history.width = 260;
  history.height = 40;
  const body = [];
  if (editor) body.push(element("div", "inspect-label", "recent values"), history);
  if (!reply) body.push(element("p", "inspect-waiting", "asking the server…"));
  else
    body.push(
      ...(selection.kind === "neuron" ? neuronParts(reply) : parameterParts(reply)),
      gradcheck(reply.gradcheck),
      details(reply),
    );
  const { top, bottom } = skeleton(panel, editor);
  top.replaceChildren(header);
  bottom.replaceChildren(...body);
  if (editor) showValue(editor, reply?.value);
  panel.hidden = false;
  return history;
}

/** header / editor / body: the editor node stays in place (and keeps its focus) across replies. */
function skeleton(panel, editor) {
  const [top, middle, bottom] = panel.children;
  if (editor && top?.classList.contains("inspect-top") && middle === editor) return { top, bottom };
  const fresh = { top: element("div", "inspect-top"), bottom: element("div", "inspect-body") };
  panel.replaceChildren(...[fresh.top, editor, fresh.bottom].filter(Boolean));
  return fresh;
}

/** The server's value, unless the person is typing their own. */
function showValue(editor, value) {
  const input = editor.querySelector("input");
  if (document.activeElement !== input && Number.isFinite(value)) input.value = String(value);
}

function row(label, value, testId) {
  const line = element("div", "inspect-row");
  const number = element("strong", null, format(value));
  if (testId) number.dataset.testid = testId;
  line.append(element("span", null, label), number);
  return line;
}

function formula(text, className = "inspect-formula") {
  return text ? element("p", className, text) : element("span");
}

function parameterParts(reply) {
  const symbol = reply.kind === "bias" ? "b" : "w";
  return [
    // The engine's gradient is over the batch the next iteration uses (the stepped one, mid-step).
    row(`∂L/∂${symbol} on ${batchName(reply)}`, reply.gradient, "inspect-gradient"),
    trainingSetRow(`∂L/∂${symbol}`, reply.training_set, "gradient"),
    element("h3", null, `Chain rule for ${sampleName(reply)}`),
    formula(reply.formula),
    formula(reply.delta_formula),
    element("h3", null, `Over ${batchName(reply)}`),
    formula(reply.batch_formula),
  ];
}

/** "the batch of 10 (iteration 38)": the iteration that uses it, as the readout counts. */
function batchName(reply) {
  const n = reply.batch?.n ?? reply.n;
  const size = Number.isInteger(n) ? `the batch of ${n}` : "the batch";
  return Number.isInteger(reply.batch_iteration) ? `${size} (iteration ${reply.batch_iteration})` : size;
}

/** "sample 64 (not in this batch)": the followed sample is explained even outside the batch. */
function sampleName(reply) {
  const outside = reply.focus_in_batch === false ? " (not in this batch)" : "";
  return `sample ${reply.focus_sample ?? 0}${outside}`;
}

/** The same figure over the whole training set, labelled as such, for comparison. */
function trainingSetRow(name, whole, key) {
  if (!whole || !Number.isFinite(whole[key])) return element("span");
  return row(`${name} over the whole training set (${samples(whole.n)})`, whole[key], "inspect-training-set");
}

function samples(n) {
  return Number.isInteger(n) ? `${n} sample${n === 1 ? "" : "s"}` : "the samples";
}

function neuronParts(reply) {
  return [
    row("z (weighted sum)", reply.z),
    row(`a = ${reply.activation ?? "f"}(z)`, reply.a),
    row(`mean δ on ${batchName(reply)}`, reply.batch_mean_delta, "inspect-gradient"),
    trainingSetRow("mean δ", reply.training_set, "mean_delta"),
    element("h3", null, `Forward and backward for ${sampleName(reply)}`),
    formula(reply.formula),
    formula(reply.delta_formula),
  ];
}

/** Backprop next to the central-difference estimate and their relative error. */
function gradcheck(check) {
  const box = element("section", "inspect-gradcheck");
  box.dataset.testid = "gradcheck";
  if (!check) return box;
  const error = check.relative_error;
  const verdict = Number.isFinite(error) ? (error < 1e-4 ? "agree" : "DISAGREE") : "";
  box.append(
    element("h3", null, "Gradient check"),
    row("backprop", check.analytic),
    row("central difference", check.numeric),
    row("relative error", error, "gradcheck-error"),
    element("p", verdict === "agree" ? "inspect-ok" : "inspect-bad", verdict && `the two ${verdict}`),
  );
  return box;
}

/** Everything else the engine said, folded away. */
function details(reply) {
  const box = element("details", "inspect-details");
  box.append(element("summary", null, "all numbers"), fields(reply));
  if (reply.note) box.append(element("p", "inspect-note", reply.note));
  return box;
}

/** Redraws the recent-values line in place (called per frame, no DOM changes). */
export function drawHistory(canvas, values) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) return;
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  ctx.strokeStyle = "#0072b2";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  finite.forEach((value, k) => {
    const x = (k / (finite.length - 1)) * (canvas.width - 4) + 2;
    const y = canvas.height - 4 - ((value - lo) / (hi - lo || 1)) * (canvas.height - 8);
    if (k) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = "#555";
  ctx.font = "10px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.fillText(formatNumber(hi), 2, 0);
  ctx.textBaseline = "bottom";
  ctx.fillText(formatNumber(lo), 2, canvas.height);
}

/** A form with one number box; `onEdit(value)` receives a finite typed value. */
export function createEditor(onEdit) {
  const form = element("form", "inspect-edit");
  const label = element("label", null, "value ");
  const input = element("input");
  input.type = "number";
  input.step = "any";
  input.dataset.testid = "inspect-edit";
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
