// What is selected on the unrolled view of a recurrent run, by mouse or keyboard: a hidden cell
// h_t[j] (the inspector explains its δ) or the W_hh edge from unit i at step t−1 into unit j at
// step t (the inspector lists that weight's gradient as a sum over time). An lstm's W_h has a
// column per gate and unit: the chosen gate (recurrentTools.js) says which of the four an edge is.

import { $ } from "./notices.js";
import * as unrolled from "./unrolled.js";

const HELP =
  "arrow keys move between hidden cells (left and right: time steps, up and down: units), " +
  "W picks the W_hh edges into the cell, one source unit after another, G the lstm gate, " +
  "Enter inspects, Escape closes";

/** The recurrent weight's name and column of an edge {i, j} for this frame's cell and gate. */
function edgeWeight(store, edge) {
  const recurrent = store.frame?.header?.recurrent;
  // A cell with gates (the frame names them) has one W_h column block per gate.
  if (!recurrent?.gates) return { name: "W_hh", i: edge.i, j: edge.j };
  return { name: "W_h", i: edge.i, j: store.recurrentGate * recurrent.hidden + edge.j };
}

/** Words for the selection (the canvas's accessible name and tests). */
export function describeRecurrent(store, selection) {
  if (!selection) return "nothing selected";
  if (selection.kind === "hidden") return `hidden unit ${selection.j} at step ${selection.t} selected`;
  const { name, i, j } = edgeWeight(store, selection);
  const gates = store.frame?.header?.recurrent?.gates;
  const gate = gates ? `, gate ${gates[store.recurrentGate]}` : "";
  return (
    `${name}[${i},${j}] selected: the edge from unit ${selection.i} at step ${selection.t - 1} ` +
    `into unit ${selection.j} at step ${selection.t}${gate}`
  );
}

/** The canvas's accessible name: what it is, what is selected, the keys. */
export function labelRecurrent(app) {
  const canvas = app.loop.canvases.network;
  const what = describeRecurrent(app.store, app.store.recurrentSelection);
  canvas.setAttribute("aria-label", `The recurrent network unrolled in time: ${what}; ${HELP}`);
}

/** Selects `target` (a hitTest-shaped selection, or null), redraws, and names it. */
export function selectRecurrent(app, target) {
  app.store.recurrentSelection = target;
  app.loop.invalidate("network");
  labelRecurrent(app);
}

/** A new frame: a selection outside the run's steps or units (a shorter or narrower run now)
 * is dropped. */
export function keepSelection(app, recurrent) {
  const chosen = app.store.recurrentSelection;
  if (!chosen) return;
  const inside = (unit) => unit === undefined || unit < recurrent.hidden;
  if (!recurrent || chosen.t >= recurrent.steps || !inside(chosen.i) || !inside(chosen.j)) {
    selectRecurrent(app, null);
  }
}

/** Asks the server to explain the selection (the inspector shows the reply). */
export function inspectRecurrent(app) {
  const { store, socket } = app;
  const chosen = store.recurrentSelection;
  if (!chosen) return;
  const target =
    chosen.kind === "hidden"
      ? { kind: "hidden_state", t: chosen.t, j: chosen.j }
      : { kind: "recurrent_weight", ...edgeWeight(store, chosen) };
  // Replies still to come (sync.js zeroes it on a new run or a refused inspect).
  if (socket.send({ type: "inspect", ...target })) store.recurrentAsked = (store.recurrentAsked ?? 0) + 1;
}

/** A double-click: straight to typing the selected weight's new value (its box comes with the
 * reply to the click's inspect, which may still be on its way). */
export function editRecurrent(app) {
  const { store } = app;
  if (store.recurrentSelection?.kind !== "edge") return;
  if (store.recurrentAsked > 0) store.recurrentEditWanted = true; // the newest box is coming
  else $("inspector").querySelector('[data-testid="inspect-edit"]')?.select();
}

/** A click on the unrolled view: the cell or the edge under the pointer, inspected. */
export function recurrentClick(app, event) {
  const { loop } = app;
  const box = loop.canvases.network.getBoundingClientRect();
  const x = event.clientX - box.left;
  const hit = unrolled.hitTest(loop.scene.unrolled, x, event.clientY - box.top);
  if (!hit) return;
  $("inspector").classList.toggle("left", x > box.width / 2); // away from what was clicked
  selectRecurrent(app, hit);
  inspectRecurrent(app);
}

/** A key on the focused canvas of a recurrent run; whether it was the view's. */
export function recurrentKey(app, event) {
  const { store } = app;
  const recurrent = store.frame?.header?.recurrent;
  if (!recurrent || store.view.folded) return false;
  const chosen = store.recurrentSelection;
  if (event.key === "Enter") {
    inspectRecurrent(app);
    return Boolean(chosen);
  }
  if (event.key === "Escape") {
    $("inspector").hidden = true;
    selectRecurrent(app, null);
    return true;
  }
  if ((event.key === "g" || event.key === "G") && recurrent.gates) {
    app.recurrentTools.setGate((store.recurrentGate + 1) % recurrent.gates.length);
    return true;
  }
  const next = moved(chosen, event.key, recurrent.steps, recurrent.hidden);
  if (next === undefined) return false;
  selectRecurrent(app, next);
  return true;
}

/** The selection a key leads to (arrows move the cell, W walks the edges into it). */
function moved(chosen, key, steps, hidden) {
  const at = chosen ?? { kind: "none", t: 0, j: -1 };
  const clamp = (value, size) => Math.max(0, Math.min(size - 1, value));
  const cell = (t, j) => ({ kind: "hidden", t: clamp(t, steps), j: clamp(j, hidden) });
  switch (key) {
    case "ArrowDown":
      return cell(at.t, at.j + 1);
    case "ArrowUp":
      return cell(at.t, at.kind === "none" ? 0 : at.j - 1);
    case "ArrowRight":
      return cell(at.kind === "none" ? 0 : at.t + 1, Math.max(0, at.j));
    case "ArrowLeft":
      return cell(at.t - 1, Math.max(0, at.j));
    case "w":
    case "W": {
      if (at.kind === "none" || steps < 2) return undefined;
      const t = Math.max(1, at.t); // step 0 has no edge into it
      const i = at.kind === "edge" ? (at.i + 1) % hidden : 0;
      return { kind: "edge", t, i, j: at.j };
    }
    default:
      return undefined;
  }
}
