// The keyboard way to what the mouse does on the canvases and the file inputs: arrow keys walk
// the network's neurons (W and B step through a neuron's weights and bias, Enter edits) and move
// a cross over the plane (Enter adds a point there); Upload CSV and Import JSON are buttons.

import { describe } from "./inspector.js";
import { $ } from "./notices.js";
import { isRecurrent } from "./recurrentView.js";
import { EXTENT, planeCursor } from "./surface.js";

const PLANE_STEP = 0.5; // plane units per arrow press
const NETWORK_HELP =
  "arrow keys move between neurons, W steps through its weights, B picks its bias, Enter edits, Escape closes";

/** Parts: the `store`, the network and plane `canvases`, `redraw(...views)`, the network's
 * `selection` and a recurrent run's (`recurrentSelection`), the plane's `points`. */
export function bindKeyboard({ store, canvases, redraw, selection, recurrentSelection, points }) {
  for (const button of document.querySelectorAll("button[data-file]")) {
    button.addEventListener("click", () => $(button.dataset.file).click());
  }
  bindNetwork(canvases.network, { store, selection, recurrentSelection });
  bindPlane(canvases.surface, { redraw, points });
  // Escape closes the inspector of what is selected in the network, wherever the focus is.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && store.selection) selection.select(null);
  });
}

function bindNetwork(canvas, { store, selection, recurrentSelection }) {
  canvas.tabIndex = 0;
  canvas.setAttribute("role", "application");
  canvas.setAttribute("aria-roledescription", "network");
  const label = () => {
    if (isRecurrent(store)) return recurrentSelection.label();
    const chosen = store.selection;
    const columns = store.config?.network.layers?.length ?? 2; // none: a recurrent run
    const where = chosen ? `${describe(chosen, columns - 1)} selected; ` : "";
    canvas.setAttribute("aria-label", `The network: ${where}${NETWORK_HELP}`);
  };
  label();
  canvas.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isRecurrent(store)) {
      if (!recurrentSelection.key(event)) return;
      event.preventDefault();
      event.stopPropagation(); // → is also "step" everywhere else
      return;
    }
    const next = networkKey(store, event.key);
    if (next === undefined) return;
    event.preventDefault();
    event.stopPropagation(); // → is also "step" everywhere else
    if (next === "edit") selection.edit();
    else selection.select(next);
    label();
  });
  canvas.addEventListener("click", label);
}

/** The selection a key leads to, "edit", or undefined when the key is not the network's. */
function networkKey(store, key) {
  const layers = store.config?.network.layers;
  if (!layers) return undefined;
  const chosen = store.selection ?? { kind: "none", layer: 0, j: -1 };
  const neuron = (layer, j) => ({ kind: "neuron", layer, j: Math.max(0, Math.min(layers[layer + 1] - 1, j)) });
  const last = layers.length - 2; // the output's weight layer
  switch (key) {
    case "ArrowDown":
      return neuron(chosen.layer, chosen.j + 1);
    case "ArrowUp":
      return neuron(chosen.layer, chosen.kind === "none" ? 0 : chosen.j - 1);
    case "ArrowRight":
      return neuron(chosen.kind === "none" ? 0 : Math.min(last, chosen.layer + 1), chosen.j);
    case "ArrowLeft":
      return neuron(Math.max(0, chosen.layer - 1), chosen.j);
    case "w":
    case "W": {
      if (chosen.kind === "none") return undefined;
      const i = chosen.kind === "weight" ? (chosen.i + 1) % layers[chosen.layer] : 0;
      return { kind: "weight", layer: chosen.layer, i, j: chosen.j };
    }
    case "b":
    case "B":
      if (chosen.kind === "none" || store.config.network.bias === false) return undefined;
      return { kind: "bias", layer: chosen.layer, j: chosen.j };
    case "Enter":
      return chosen.kind === "weight" || chosen.kind === "bias" ? "edit" : undefined;
    default:
      return undefined;
  }
}

function bindPlane(canvas, { redraw, points }) {
  canvas.addEventListener("focus", () => {
    planeCursor.shown = true;
    redraw("surface");
  });
  canvas.addEventListener("blur", () => {
    planeCursor.shown = false;
    redraw("surface");
  });
  canvas.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (event.key in moves) {
      const [dx, dy] = moves[event.key];
      planeCursor.x1 = clamp(planeCursor.x1 + dx * PLANE_STEP);
      planeCursor.x2 = clamp(planeCursor.x2 + dy * PLANE_STEP);
      canvas.setAttribute("aria-description", `cross at x₁ = ${planeCursor.x1}, x₂ = ${planeCursor.x2}`);
    } else if (event.key === "Enter") {
      points.add(planeCursor.x1, planeCursor.x2, event.shiftKey);
    } else return;
    event.preventDefault();
    event.stopPropagation(); // → is also "step" everywhere else
    redraw("surface");
  });
}

function clamp(value) {
  return Math.max(-EXTENT, Math.min(EXTENT, value));
}
