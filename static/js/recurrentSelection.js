// What is selected on the unrolled view of a recurrent run, by mouse or keyboard: a hidden cell
// h_t[j] (the inspector explains its δ) or the W_hh edge from unit i at step t−1 into unit j at
// step t (the inspector lists that weight's gradient as a sum over time). An lstm's W_h has a
// column per gate and unit: the chosen gate (recurrentTools.js) says which of the four an edge is.

import { showRecurrentInspect } from "./recurrentView.js";
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

export class RecurrentSelection {
  /** Parts: the `store` (the selection, the gate, the frame's recurrent header), `send(message)`,
   * the network `canvas`, the loop's `scene` (where the unrolled view drew its cells and edges),
   * the inspector `panel`, `redraw(...views)` and `setGate(index)` (recurrentTools.js's: the G
   * key picks the lstm's next gate). */
  constructor({ store, send, canvas, scene, panel, redraw, setGate }) {
    Object.assign(this, { store, send, canvas, scene, panel, redraw, setGate });
  }

  /** The canvas's accessible name: what it is, what is selected, the keys. */
  label() {
    const what = describeRecurrent(this.store, this.store.recurrentSelection);
    this.canvas.setAttribute("aria-label", `The recurrent network unrolled in time: ${what}; ${HELP}`);
  }

  /** Selects `target` (a hitTest-shaped selection, or null), redraws, and names it. */
  select(target) {
    this.store.recurrentSelection = target;
    this.redraw("network");
    this.label();
  }

  /** A new frame: a selection outside the run's steps or units (a shorter or narrower run now)
   * is dropped. */
  keep(recurrent) {
    const chosen = this.store.recurrentSelection;
    if (!chosen) return;
    const inside = (unit) => unit === undefined || unit < recurrent.hidden;
    if (!recurrent || chosen.t >= recurrent.steps || !inside(chosen.i) || !inside(chosen.j)) this.select(null);
  }

  /** Asks the server to explain the selection (the inspector shows the reply). */
  inspect() {
    const { store } = this;
    const chosen = store.recurrentSelection;
    if (!chosen) return;
    const target =
      chosen.kind === "hidden"
        ? { kind: "hidden_state", t: chosen.t, j: chosen.j }
        : { kind: "recurrent_weight", ...edgeWeight(store, chosen) };
    // Replies still to come (sync.js zeroes it on a new run or a refused inspect).
    if (this.send({ type: "inspect", ...target })) store.recurrentAsked = (store.recurrentAsked ?? 0) + 1;
  }

  /** The server's explanation, in the inspector; a weight's value box sends an edit, then asks
   * for the explanation again. */
  receive(reply) {
    const editWeight = (value) => {
      // A bias has no i: the engine ignores it there.
      this.send({ type: "edit", param: reply.name, i: reply.i, j: reply.j, value });
      this.inspect();
    };
    showRecurrentInspect(reply, { store: this.store, panel: this.panel, editWeight });
  }

  /** A double-click: straight to typing the selected weight's new value (its box comes with the
   * reply to the click's inspect, which may still be on its way). */
  edit() {
    const { store } = this;
    if (store.recurrentSelection?.kind !== "edge") return;
    if (store.recurrentAsked > 0) store.recurrentEditWanted = true; // the newest box is coming
    else this.panel.querySelector('[data-testid="inspect-edit"]')?.select();
  }

  /** A click on the unrolled view: the cell or the edge under the pointer, inspected. */
  click(event) {
    const box = this.canvas.getBoundingClientRect();
    const x = event.clientX - box.left;
    const hit = unrolled.hitTest(this.scene.unrolled, x, event.clientY - box.top);
    if (!hit) return;
    this.panel.classList.toggle("left", x > box.width / 2); // away from what was clicked
    this.select(hit);
    this.inspect();
  }

  /** A key on the focused canvas of a recurrent run; whether it was the view's. */
  key(event) {
    const { store } = this;
    const recurrent = store.frame?.header?.recurrent;
    if (!recurrent || store.view.folded) return false;
    const chosen = store.recurrentSelection;
    if (event.key === "Enter") {
      this.inspect();
      return Boolean(chosen);
    }
    if (event.key === "Escape") {
      this.panel.hidden = true;
      this.select(null);
      return true;
    }
    if ((event.key === "g" || event.key === "G") && recurrent.gates) {
      this.setGate((store.recurrentGate + 1) % recurrent.gates.length);
      return true;
    }
    const next = moved(chosen, event.key, recurrent.steps, recurrent.hidden);
    if (next === undefined) return false;
    this.select(next);
    return true;
  }
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
