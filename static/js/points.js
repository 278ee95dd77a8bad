// The person's own points: clicked onto the plane (shift-click: the other class), cleared, or
// uploaded as CSV. They are shown as drawn until the server answers with its `data`.

import { schemaByPath } from "./controls.js";
import { parsePointsCsv } from "./files.js";

export class PlanePoints {
  /** `send(points)` sends a `points` message; `onChange()` asks for the plane to be redrawn. */
  constructor({ store, send, onChange, showError, showNotice, chosenTarget = () => 1 }) {
    // `chosenTarget()`: the target a plain click adds (the page's class selector; 1 by default).
    Object.assign(this, { store, send, onChange, showError, showNotice, chosenTarget });
    this.points = null; // the list being drawn, else null
    this.unconfirmed = false; // drawn on the page, not yet answered by the server's `data`
  }

  /** One point at plane coordinates (x1, x2); the rest of the current data is kept. */
  add(x1, x2, shift) {
    const { data } = this.store;
    if (!data) return;
    this.points ??= [...data.train, ...data.test].map((row) => row.slice(0, 3));
    this.points.push([round(x1), round(x2), this.targetFor(shift)]);
    this.submit(this.points);
  }

  /** Click: the chosen class (1, or +1, unless another is chosen, e.g. class 2 of a 3-class
   * set); shift-click: the other class (0, or −1 for regression; 1 when class 0 is chosen). */
  targetFor(shift) {
    const chosen = this.chosenTarget();
    if (this.store.data.kind === "regression") return shift ? -chosen : chosen;
    if (!shift) return chosen;
    return chosen === 0 ? 1 : 0;
  }

  clear() {
    this.points = [];
    this.unconfirmed = true;
    this.onChange();
    this.showNotice("Plane cleared: click to add points of the chosen class, shift-click for class 0");
  }

  async upload(file) {
    try {
      // As many rows as a generated set may have points (the schema's limit).
      const limit = schemaByPath(this.store.hello?.schema).get("data.n_points")?.range.high ?? Infinity;
      this.points = parsePointsCsv(await file.text(), limit);
      this.submit(this.points);
    } catch (error) {
      this.showError(`${file.name}: ${error.message}`);
    }
  }

  submit(points) {
    this.unconfirmed = true;
    this.send(points);
    this.onChange();
  }

  /** The server's `data` arrived: from now on the plane shows its train/test split. */
  confirmed() {
    this.unconfirmed = false;
  }

  /** The server kept its data: forget the refused points so the plane shows what is trained on. */
  refused() {
    this.unconfirmed = false;
    this.points = null;
    this.onChange();
  }

  /** A new run: its data replaces whatever was being drawn. */
  forget() {
    this.points = null;
    this.unconfirmed = false;
  }

  /** What the plane shows: the points as drawn until the server answers, else its data. */
  visible(data) {
    return this.unconfirmed ? { ...data, train: this.points, test: [] } : data;
  }
}

function round(value) {
  return Math.round(value * 1000) / 1000;
}

/** The class selector for clicked points: one entry per class (+1/−1 for regression). */
export function fillClassSelect(select, data) {
  const classes =
    data.kind === "regression"
      ? [["1", "+1"], ["-1", "−1"]]
      : Array.from({ length: data.n_classes ?? 2 }, (_, k) => [String(k), `class ${k}`]);
  const key = classes.map(([value]) => value).join();
  if (select.dataset.classes === key) return;
  const previous = select.value;
  select.replaceChildren(
    ...classes.map(([value, text]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      return option;
    }),
  );
  select.dataset.classes = key;
  select.value = classes.some(([value]) => value === previous) ? previous : "1";
}
