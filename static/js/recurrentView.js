// The page's side of a recurrent run (network.kind = recurrent): the phases of a step through
// time kept for the unrolled view, the drawing call the loop makes instead of the feed-forward
// network's, and the inspector's sum over time with the gradient check. It draws and shows only
// what the engine sent; what is selected on the view is recurrentSelection.js's, the buttons
// over it recurrentTools.js's.

import { element } from "./dom.js";
import { choiceLabel } from "./controls.js";
import { createEditor } from "./inspector.js";
import { setText } from "./notices.js";
import { showSentence } from "./phases.js";
import * as unrolled from "./unrolled.js";

/** Whether the store's run is recurrent. */
export function isRecurrent(store) {
  return store.config?.network?.kind === "recurrent";
}

function emptyTrace() {
  return {
    forward: new Map(),
    backward: new Map(),
    last: null,
    stepLosses: null,
    stepLossMax: 0,
    dhNorms: null,
    focusYhat: null,
  };
}

const SENTENCES = {
  forward: (p) => `Forward: step ${p.t} reads x_${p.t} and h_${p.t - 1} and computes h_${p.t} and ŷ_${p.t}.`,
  loss: (p) => `Loss: each step with a target adds its share; the followed sequence's loss is ${fmt(p.focus?.loss ?? p.loss)}.`,
  backward: (p) =>
    `Backward through time: δ_${p.t} = ∂L/∂h_${p.t} = what ŷ_${p.t} sends back + what step ${p.t + 1} sends back` +
    (p.window_start ? `; a truncation window starts here, so nothing flows on to step ${p.t - 1}.` : "."),
  update: () => "Update: every weight moves by its gradient, summed over all the time steps.",
};

function fmt(value) {
  return Number.isFinite(value) ? Number(value).toPrecision(4) : "—";
}

/** Takes each recurrent `phase` message into the store's recurrent trace; parts: the `store`
 * and `redraw(...views)`. */
export function recurrentPhaseIntake({ store, redraw }) {
  return ({ header, arrays }) => {
    const phase = { ...header, receivedAt: performance.now() };
    if (!store.recurrentTrace || (phase.phase === "forward" && phase.t === 0)) store.recurrentTrace = emptyTrace();
    const trace = store.recurrentTrace;
    if (phase.phase === "forward") trace.forward.set(phase.t, { h: arrays.get("focus/h")?.data });
    if (phase.phase === "loss") {
      trace.focusYhat = arrays.get("focus/yhat") ?? null; // (T, K) f64: the predictions drawn
      trace.stepLosses = Array.from(arrays.get("focus/step_losses")?.data ?? []);
      trace.stepLossMax = Math.max(0, ...trace.stepLosses.filter(Number.isFinite));
    }
    if (phase.phase === "backward") trace.backward.set(phase.t, { dh: Array.from(arrays.get("focus/dh")?.data ?? []) });
    if (phase.phase === "update") trace.dhNorms = Array.from(arrays.get("dh_norms")?.data ?? []);
    trace.last = phase;
    store.phaseCount += 1;
    setText("phase-label", phase.phase);
    setText("phase-detail", phase.t !== undefined ? `t = ${phase.t}` : "");
    showSentence(SENTENCES[phase.phase]?.(phase) ?? "");
    if (phase.iteration !== undefined) setText("iteration", phase.iteration);
    redraw("network");
  };
}

/** Draws the unrolled (or folded) view of the store's newest frame on the network canvas's
 * `ctx` (the loop calls it); `highlight` is a lesson's outlined chart, {chart, until}, or null.
 * Returns where it drew the cells and edges (for unrolled.hitTest). */
export function drawRecurrent(ctx, { width, height, store, highlight }) {
  const frame = store.frame;
  const scene = {
    width,
    height,
    recurrent: frame?.header?.recurrent,
    cellLabel: choiceLabel(store.hello?.schema, "network.cell", frame?.header?.recurrent?.cell),
    arrays: frame?.arrays,
    trace: store.playing ? null : store.recurrentTrace,
    selection: store.recurrentSelection,
    gate: store.recurrentGate,
    highlight: highlight?.until > performance.now() ? highlight.chart : null,
  };
  const draw = store.view.folded ? unrolled.drawFolded : unrolled.draw;
  return draw(ctx, scene);
}

/** Whether an `inspect` reply is a recurrent one (shown by `showRecurrentInspect`). */
export function isRecurrentReply(reply) {
  return reply.kind === "recurrent_weight" || reply.kind === "hidden_state";
}

/** The inspector `panel` for a recurrent reply: the sum over time term by term, with the check;
 * for a weight, a box to type its new value (`editWeight(value)` sends it: the server checks it
 * and names what it refuses). The `store` counts the replies still to come. */
export function showRecurrentInspect(reply, { store, panel, editWeight }) {
  store.recurrentAsked = Math.max(0, (store.recurrentAsked ?? 0) - 1);
  if (!panel) return;
  const body = [];
  const header = element("div", "inspect-header");
  const title =
    reply.kind === "hidden_state"
      ? `δ of hidden unit ${reply.j} at step ${reply.t}`
      : `${reply.name}[${reply.i},${reply.j}]${reply.unit ? ` (${reply.unit.gate} gate, unit ${reply.unit.unit})` : ""}`;
  header.append(element("strong", "", title));
  const close = element("button", "inspect-close", "×");
  close.setAttribute("aria-label", "Close inspector");
  close.addEventListener("click", () => (panel.hidden = true));
  header.append(close);
  body.push(header);
  const editor = reply.kind === "recurrent_weight" ? valueEditor(reply, editWeight) : null;
  if (editor) body.push(editor);
  body.push(element("p", "inspect-formula", reply.formula));
  if (reply.kind === "recurrent_weight") body.push(termsTable(reply), checkLine(reply));
  else body.push(hiddenParts(reply));
  body.push(element("p", "inspect-note", reply.note));
  panel.replaceChildren(...body);
  panel.dataset.testid = "inspector";
  panel.hidden = false;
  if (editor && store.recurrentEditWanted && !store.recurrentAsked) {
    editor.querySelector("input").select();
    store.recurrentEditWanted = false;
  }
}

/** The value box of the weight a reply explains. */
function valueEditor(reply, editWeight) {
  const editor = createEditor(editWeight);
  editor.querySelector("input").value = String(reply.value);
  return editor;
}

function termsTable(reply) {
  const table = element("table", "inspect-terms");
  table.dataset.testid = "recurrent-terms";
  const head = element("tr");
  for (const label of ["t", "input", "δ", "input·δ", "batch term"]) head.append(element("th", "", label));
  table.append(head);
  for (const term of reply.terms) {
    const row = element("tr");
    for (const value of [term.t, term.input, term.delta, term.product, term.batch]) {
      row.append(element("td", "", typeof value === "number" && !Number.isInteger(value) ? fmt(value) : String(value)));
    }
    table.append(row);
  }
  const total = element("tr", "inspect-sum");
  total.append(element("td", "", "Σ"), element("td"), element("td"), element("td"), element("td", "", fmt(reply.sum)));
  table.append(total);
  return table;
}

function checkLine(reply) {
  const check = reply.gradcheck ?? reply.check;
  const line = element("p", "inspect-check");
  line.dataset.testid = "recurrent-gradcheck";
  line.textContent =
    `gradient ${fmt(reply.gradient)} · central difference ${fmt(check.numeric)} · ` +
    `relative error ${Number(check.relative_error).toExponential(1)}`;
  return line;
}

function hiddenParts(reply) {
  const list = element("p", "inspect-parts");
  const cut = reply.future_cut ? " (nothing comes back from later steps here)" : "";
  list.textContent =
    `h = ${fmt(reply.h)}; δ = own readout ${fmt(reply.own_part)} + step ${reply.t + 1} ` +
    `${fmt(reply.future_part)}${cut} = ${fmt(reply.delta)}`;
  return list;
}
