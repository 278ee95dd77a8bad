// The legends: under the plane what the colours and markers mean (classes or target values,
// filled training points and hollow test points), under the network the sign of a weight.
// Rebuilt when the data or the view flags change, never per frame.

import { CLASS_COLOURS, divergingCss } from "./palette.js";

const NEGATIVE = divergingCss(-1);
const POSITIVE = divergingCss(1);

export class Legends {
  /** `box`: under the plane (classes, points); `weightsBox`: under the network (weight signs). */
  constructor(box, weightsBox, store) {
    this.box = box;
    weightsBox.replaceChildren(
      group("weights", [entry(line(POSITIVE), "positive weight"), entry(line(NEGATIVE), "negative weight")]),
    );
    this.store = store;
    this.key = "";
    store.addEventListener("change", (event) => {
      if (event.detail.includes("data") || event.detail.includes("view")) this.render();
    });
    this.render();
  }

  render() {
    const { data, view } = this.store;
    const showTest = view.showTest !== false;
    const key = JSON.stringify([data?.kind, data?.n_classes, showTest]);
    if (key === this.key) return;
    this.key = key;
    this.box.replaceChildren(
      group("colour", classEntries(data)),
      group("points", [entry(dot(), "train"), ...(showTest ? [entry(dot(true), "test")] : [])]),
    );
  }
}

/** Classes by colour; a regression target on the diverging scale (orange low, blue high). */
function classEntries(data) {
  if (data?.kind === "regression") {
    const scale = swatch(`linear-gradient(90deg, ${NEGATIVE}, #f7f7f7, ${POSITIVE})`, "scale");
    return [entry(scale, "target: low → high")];
  }
  const classes = data?.n_classes ?? 2;
  // Two classes are the two ends of the output's scale (class 0 at 0, class 1 at 1).
  const colour = (k) => (classes > 2 ? CLASS_COLOURS[k % CLASS_COLOURS.length] : k ? POSITIVE : NEGATIVE);
  return Array.from({ length: classes }, (_, k) => entry(swatch(colour(k)), `class ${k}`));
}

function group(name, entries) {
  const box = document.createElement("span");
  box.className = "legend-group";
  box.dataset.legend = name;
  box.append(...entries);
  return box;
}

function entry(mark, text) {
  const item = document.createElement("span");
  item.className = "legend-entry";
  item.append(mark, document.createTextNode(text));
  return item;
}

function swatch(background, kind = "class") {
  const mark = document.createElement("span");
  mark.className = `legend-mark legend-${kind}`;
  mark.style.background = background;
  mark.setAttribute("aria-hidden", "true");
  return mark;
}

/** A point as the plane draws it: filled with a white rim (train) or a ring (test). */
function dot(hollow = false) {
  const mark = document.createElement("span");
  mark.className = `legend-mark legend-dot${hollow ? " hollow" : ""}`;
  mark.setAttribute("aria-hidden", "true");
  return mark;
}

function line(colour) {
  const mark = document.createElement("span");
  mark.className = "legend-mark legend-line";
  mark.style.background = colour;
  mark.setAttribute("aria-hidden", "true");
  return mark;
}
