// The output panel's charts: the loss (train and test, or every racer's) and the gradient
// history on uPlot, the per-layer gradient bars hand-drawn (charts.js), the race's cards.

import { CLASS_COLOURS } from "./palette.js";
import { drawGradients, layerNames, powerText } from "./charts.js";
import { LineChart } from "./lineChart.js";
import { RaceCards } from "./raceCards.js";
import { geometricMeans } from "./store.js";
import uPlot from "../vendor/uplot/uPlot.esm.js";

export const LAYER_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999"];
const TRAIN = { label: "train", colour: "#222" };
const TEST = { label: "test", colour: "#0072b2", dash: [6, 4] };

/** The racers' colours, in the order of `store.compare`: the cards and the curves agree. */
export function racerColour(index) {
  return CLASS_COLOURS[index % CLASS_COLOURS.length];
}

export class ChartPanel {
  /** `boxes`: {loss, grads (canvas), gradHistory, race}: the elements the views fill. */
  constructor(boxes) {
    this.loss = new LineChart(boxes.loss);
    this.gradHistory = new LineChart(boxes.gradHistory);
    this.gradCanvas = boxes.grads;
    this.gradHistoryBox = boxes.gradHistory;
    this.race = new RaceCards(boxes.race);
    this.gradSize = { width: 0, height: 0 };
    // Size and type size change with the layout (presenter mode, hidden panels), not per frame.
    new ResizeObserver(([entry]) => {
      this.gradSize = { width: Math.round(entry.contentRect.width), height: Math.round(entry.contentRect.height) };
      this.gradFontPx = Math.round(0.85 * (Number.parseFloat(getComputedStyle(boxes.grads).fontSize) || 13));
    }).observe(boxes.grads);
    this.gradFontPx = 11;
    this.gradNorms = [];
    this.gradFrames = 0;
  }

  /** Everything the charts show, from the store; nothing is computed here but means for the bars. */
  draw(store) {
    this.drawLoss(store);
    this.drawGradients(store);
    this.race.draw(store);
  }

  drawLoss({ history, compare, view }) {
    const log = Boolean(view.logLoss);
    const title = `loss${log ? " (log scale)" : ""}`;
    if (compare?.size) {
      const labels = [...compare.keys()];
      const tables = labels.map((label) => [compare.get(label).iteration, compare.get(label).loss]);
      const data = tables.some((table) => table[0].length) ? uPlot.join(tables) : [[], ...labels.map(() => [])];
      const series = labels.map((label, k) => ({ label, colour: racerColour(k) }));
      this.loss.show({ title: `${title}: the race`, series, data, log });
      return;
    }
    this.loss.show({ title, series: [TRAIN, TEST], data: [history.iteration, history.train, history.test], log });
  }

  drawGradients({ config, gradWindow, grads, view }) {
    const showHistory = Boolean(view.gradHistory);
    this.gradCanvas.hidden = showHistory;
    this.gradHistoryBox.hidden = !showHistory;
    // The engine's per-layer norms, averaged (geometrically) over the recent frames so one
    // lucky or unlucky mini-batch does not decide the bars; nothing about gradients recomputed.
    const layerCount = config?.network.layers.length - 1 || 0;
    const means = geometricMeans(gradWindow);
    this.gradNorms = Array.from({ length: layerCount }, (_, l) => means[l] ?? null);
    this.gradFrames = gradWindow.length;
    if (showHistory) {
      const series = grads.layers.map((_, l) => ({ label: layerNames(l, layerCount)[0], colour: LAYER_COLOURS[l % 8] }));
      const title = "gradient norm ‖∂L/∂W‖ per weight layer (log scale)";
      this.gradHistory.show({ title, series, data: [grads.iteration, ...grads.layers], log: true });
      return;
    }
    const { ctx, width, height } = fitCanvas(this.gradCanvas, this.gradSize);
    const frames = Math.max(1, gradWindow.length);
    drawGradients(ctx, { width, height, norms: this.gradNorms, frames, fontPx: this.gradFontPx });
    this.describeBars(frames);
  }

  /** The bars' accessible name says every value, including any the drawing had no room for. */
  describeBars(frames) {
    const count = this.gradNorms.length;
    const values = this.gradNorms.map((v, l) => `${layerNames(l, count)[0]} ${v === null ? "none yet" : powerText(v)}`);
    const text = `Gradient norm per weight layer, geometric mean of the last ${frames} frame${frames === 1 ? "" : "s"} (log scale): ${values.join(", ")}`;
    if (this.gradCanvas.getAttribute("aria-label") !== text) this.gradCanvas.setAttribute("aria-label", text);
  }

  /** The canvases a PNG of the view takes: the loss chart's is uPlot's. */
  get lossCanvas() {
    return this.loss.canvas;
  }
}

/** Matches a canvas's backing store to its CSS size × devicePixelRatio. */
function fitCanvas(canvas, size) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, size.width || canvas.clientWidth);
  const height = Math.max(1, size.height || canvas.clientHeight);
  if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width, height };
}
