// The controls over a recurrent run's view: the folded/unrolled toggle, an lstm's gate (which of
// W_h's columns the edges show), the button that runs a lesson with the other cell (a lesson's
// `compare_cell`), and the recurrent lessons' view hints
// (engine/lessons_recurrent.py). Shown only for a recurrent run; the feed-forward layer tools
// are hidden meanwhile.

import { choiceLabel, schemaByPath } from "./controls.js";
import { button } from "./dom.js";
import { $ } from "./notices.js";

const HIGHLIGHT_MS = 4000; // as long as view.pointAt outlines a chart

/** The lstm gate select, in a label that names it. */
function gateChoice() {
  const label = document.createElement("label");
  label.className = "gate-choice";
  label.hidden = true;
  label.title = "The LSTM gate whose W_h weights the edges show and a click inspects";
  const select = document.createElement("select");
  select.dataset.testid = "lstm-gate";
  select.setAttribute("aria-label", "LSTM gate");
  label.append("gate ", select);
  return { label, select };
}

/** Mounts the controls in `container` (the network canvas's box). Parts: the `store`, the
 * loop's `scene` (a lesson's outlined chart), `redraw(...views)`, `sendConfig(config)` (sync's:
 * the lesson's run with the other cell) and the recurrent `selection` (named again, and asked
 * about again, when the gate changes). Returns {onKind(recurrent), afterFrame(header),
 * applyHints(lesson), setGate(index)} for main.js and the recurrent selection (its G key). */
export function mountRecurrentTools(container, { store, scene, redraw, sendConfig, selection }) {
  const bar = document.createElement("div");
  bar.className = "recurrent-tools";
  const fold = button("", "fold-toggle", () => setFolded(!store.view.folded), "fold-toggle");
  const compare = button("", "compare-cell", () => runOtherCell(), "compare-cell");
  fold.hidden = compare.hidden = true; // shown for a recurrent run (onKind)
  const gate = gateChoice();
  bar.append(gate.label, compare, fold);
  store.recurrentGate = 0;
  container.append(bar);
  let comparing = null; // the lesson whose `compare_cell` the button offers

  const setFolded = (folded) => {
    store.view.folded = folded;
    fold.textContent = folded ? "unrolled view" : "folded view";
    fold.setAttribute("aria-pressed", String(folded));
    redraw("network");
  };
  setFolded(false);

  // The lesson's run with the other cell (and the lesson's options for it), and back: the same
  // data, training and seeds, so only the cell differs. Labelled from the run's cell now.
  // The cells are hello.schema's network.cell choices; the other one is the first that is not
  // the run's.
  const otherCell = () =>
    schemaByPath(store.hello.schema)
      .get("network.cell")
      .choices.find((choice) => choice.value !== store.config?.network?.cell).value;
  const labelCompare = () => {
    if (!comparing) return;
    const name = choiceLabel(store.hello.schema, "network.cell", otherCell());
    compare.textContent = `try the ${name}`;
    compare.title = `This lesson's run with an ${name} cell`;
  };
  store.addEventListener("change", (event) => event.detail.includes("data") && labelCompare());
  const runOtherCell = () => {
    const cell = otherCell();
    const options = cell === comparing.config.network.cell ? {} : comparing.view.compare_cell;
    const config = structuredClone(comparing.config);
    config.network = { ...config.network, ...options, cell };
    sendConfig({ ...structuredClone(store.hello.defaults ?? {}), ...config });
    labelCompare();
  };

  // The layer buttons and bias nodes are a feed-forward network's; "follow sample" stays (the
  // focus sequence).
  const layerTools = ["remove-layer", "add-layer", "hidden-count", "bias-nodes"].map((id) => {
    const node = $(id);
    return node?.closest("label") ?? node;
  });

  // An lstm's gate: which of W_h's four columns per unit the edges show and a click inspects.
  const setGate = (index) => {
    store.recurrentGate = index;
    gate.select.value = String(index);
    selection.label();
    if (store.recurrentSelection?.kind === "edge") selection.inspect();
    redraw("network");
  };
  gate.select.addEventListener("change", () => setGate(Number(gate.select.value)));

  return {
    setGate,

    /** Each frame: the selection stays inside the run, the gate choice follows its cell (the
     * frame names an lstm's gates). */
    afterFrame(header) {
      selection.keep(header.recurrent);
      const gates = header.recurrent?.gates ?? null;
      gate.label.hidden = !gates;
      const names = gates?.join() ?? "";
      if (names === gate.select.dataset.gates) return;
      gate.select.dataset.gates = names;
      gate.select.replaceChildren(...(gates ?? []).map((name, index) => new Option(name, String(index))));
      if (gates) setGate(Math.min(store.recurrentGate, gates.length - 1));
    },

    onKind(recurrent) {
      fold.hidden = !recurrent;
      compare.hidden = !recurrent || !comparing;
      for (const node of layerTools) if (node) node.hidden = recurrent;
      // The plane and the per-layer gradient charts are a feed-forward run's: layout.css hides
      // them and gives their room to the unrolled view and the loss chart.
      document.querySelector(".layout").dataset.kind = recurrent ? "recurrent" : "feedforward";
    },

    /** A lesson's hints for the recurrent view, each set either way so that one lesson's view
     * never leaks into the next: `unrolled` (false: the folded view), `charts:
     * "gradient_through_time"` (outlined for a while, as view.pointAt does a chart of the
     * output panel), `compare_cell` (the button above). */
    applyHints(lesson) {
      const hints = lesson.view ?? {};
      setFolded(hints.unrolled === false);
      const outlined = hints.charts === "gradient_through_time";
      scene.highlight = outlined ? { chart: hints.charts, until: performance.now() + HIGHLIGHT_MS } : null;
      if (outlined) setTimeout(() => redraw("network"), HIGHLIGHT_MS + 50);
      comparing = hints.compare_cell ? lesson : null;
      labelCompare();
      compare.hidden = !comparing || lesson.config.network.kind !== "recurrent";
    },
  };
}
