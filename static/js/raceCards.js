// The optimizer race, one card per racer: its name and loss, its decision surface (when the
// frame carries it: array `compare/<k>/surface/output`, k its place in the header's `compare`)
// beside its own loss curve, all curves on one shared y scale so the cards compare at a glance.

import { element } from "./dom.js";
import { outputRange } from "./controls.js";
import { CLASS_COLOURS } from "./palette.js";
import { LineChart, valueText } from "./lineChart.js";
import * as surface from "./surface.js";

/** The array a racer's decision surface arrives in (docs/protocol.md, `frame`). */
export function racerSurfaceName(index) {
  return `compare/${index}/surface/output`;
}

/** The racers' colours, in the order of `store.compare`: the cards and the curves agree. */
export function racerColour(index) {
  return CLASS_COLOURS[index % CLASS_COLOURS.length];
}

export class RaceCards {
  constructor(box) {
    this.box = box;
    this.cards = new Map(); // label -> {card, loss, canvas, curve}
  }

  draw(store) {
    const { compare, frame } = store;
    const racing = compare?.size > 0;
    this.box.hidden = !racing;
    this.box.closest("[data-plane]")?.toggleAttribute("data-racing", racing);
    if (!racing) {
      if (this.cards.size) this.clear();
      return;
    }
    const labels = [...compare.keys()];
    if (labels.join("\n") !== [...this.cards.keys()].join("\n")) this.build(labels);
    const summaries = frame?.header.compare ?? [];
    const log = Boolean(store.view.logLoss); // the cards follow the loss chart's scale
    const yRange = sharedRange(compare, log);
    labels.forEach((label, k) => {
      const parts = this.cards.get(label);
      const series = compare.get(label);
      const summary = summaries.find((entry) => String(entry.label) === label);
      parts.loss.textContent = summary?.diverged ? "diverged" : `loss ${valueText(series.loss.at(-1))}`;
      const picture = frame?.arrays.get(racerSurfaceName(summaries.indexOf(summary)));
      parts.canvas.hidden = !picture;
      if (picture) this.drawSurface(parts.canvas, picture, store);
      const curve = { label, colour: racerColour(k) };
      parts.curve.show({ title: "", series: [curve], data: [series.iteration, series.loss], yRange, log });
    });
  }

  build(labels) {
    this.clear();
    labels.forEach((label, k) => {
      const card = element("figure", "race-card");
      card.dataset.testid = `racer-${label}`;
      card.style.setProperty("--racer", racerColour(k));
      const caption = element("figcaption", "race-caption");
      const name = element("strong", "race-name", label);
      const loss = element("span", "race-loss", "");
      caption.append(name, loss);
      const canvas = element("canvas", "race-surface");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${label}: its output over the input plane`);
      const curveBox = element("div", "race-curve");
      curveBox.setAttribute("aria-label", `${label}: loss over iterations`);
      card.append(caption, canvas, curveBox);
      this.box.append(card);
      this.cards.set(label, { card, loss, canvas, curve: new LineChart(curveBox, { legend: false }) });
    });
  }

  clear() {
    this.box.replaceChildren();
    this.cards.clear();
  }

  drawSurface(canvas, picture, store) {
    const ratio = window.devicePixelRatio || 1;
    const size = Math.max(1, Math.round(canvas.clientWidth));
    if (canvas.width !== size * ratio) canvas.width = canvas.height = size * ratio;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    surface.draw(ctx, {
      width: size,
      height: size,
      surface: picture,
      outputs: outputRange(store),
      data: store.data,
      view: { ...store.view, showTest: false },
      focus: null,
    });
  }
}

/** One y range for every racer's curve: the lowest and highest finite loss of them all (above
 * zero on a log scale). */
function sharedRange(compare, log) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const { loss } of compare.values()) {
    for (const value of loss) {
      if (!Number.isFinite(value) || (log && value <= 0)) continue;
      lo = Math.min(lo, value);
      hi = Math.max(hi, value);
    }
  }
  if (!Number.isFinite(lo)) return null;
  if (log) return [lo, hi];
  const pad = (hi - lo) * 0.05 || 0.05;
  return [Math.max(0, lo - pad), hi + pad];
}
