// The output panel's charts: the loss (train and test, or every racer's) and the gradient
// history on uPlot, the per-layer gradient bars hand-drawn (charts.js), the race's cards.

import { fitCanvas } from "./canvasSize.js";
import { LAYER_COLOURS, drawGradients, layerNames, powerText } from "./charts.js";
import { LineChart } from "./lineChart.js";
import { RaceCards, racerColour } from "./raceCards.js";
import { geometricMeans } from "./store.js";
import uPlot from "../vendor/uplot/uPlot.esm.js";

const CHART_HZ = 10;
const TRAIN = { label: "train", colour: "#222" };
const TEST = { label: "test", colour: "#0072b2", dash: [6, 4] };

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
      const { width, height } = entry.contentRect;
      this.gradSize = { width: Math.round(width), height: Math.round(height) };
      this.gradFontPx = Math.round(0.85 * (Number.parseFloat(getComputedStyle(boxes.grads).fontSize) || 13));
    }).observe(boxes.grads);
    this.gradFontPx = 11;
    this.gradNorms = [];
    this.gradFrames = 0;
    this.drawnAt = -Infinity;
  }

  /**
   * Everything the charts show, from the store; nothing is computed here but means for the bars.
   * While playing, at most CHART_HZ times a second: a curve gains a point a frame, and redrawing
   * the charts at the frame rate cost the page half its frames (measured, 2-8x6-1 at 1920×1080).
   * Returns false when it waited (the caller keeps the charts dirty).
   */
  draw(store, now = performance.now()) {
    if (store.playing && now - this.drawnAt < 1000 / CHART_HZ) return false;
    this.drawnAt = now;
    this.drawLoss(store);
    this.drawGradients(store);
    this.race.draw(store);
    return true;
  }

  drawLoss({ history, compare, view }) {
    const log = Boolean(view.logLoss);
    const title = `loss${log ? " (log scale)" : ""}`;
    if (compare?.size) {
      const labels = [...compare.keys()];
      const tables = labels.map((label) => [compare.get(label).iteration, compare.get(label).loss]);
      const empty = [[], ...labels.map(() => [])];
      const data = tables.some((table) => table[0].length) ? uPlot.join(tables) : empty;
      const series = labels.map((label, k) => ({ label, colour: racerColour(k) }));
      this.loss.show({ title: `${title}: the race`, series, data, log });
      return;
    }
    const data = [history.iteration, history.train, history.test];
    this.loss.show({ title, series: [TRAIN, TEST], data, log });
  }

  drawGradients({ config, gradWindow, grads, view }) {
    const showHistory = Boolean(view.gradHistory);
    this.gradCanvas.hidden = showHistory;
    this.gradHistoryBox.hidden = !showHistory;
    // The engine's per-layer norms, averaged (geometrically) over the recent frames so one
    // lucky or unlucky mini-batch does not decide the bars; nothing about gradients recomputed.
    const layerCount = config?.network.layers?.length - 1 || 0; // a recurrent net: no layers
    const means = geometricMeans(gradWindow);
    this.gradNorms = Array.from({ length: layerCount }, (_, l) => means[l] ?? null);
    this.gradFrames = gradWindow.length;
    if (showHistory) {
      const series = grads.layers.map((_, l) => ({
        label: layerNames(l, layerCount)[0],
        colour: LAYER_COLOURS[l % LAYER_COLOURS.length],
      }));
      const title = "gradient norm ‖∂L/∂W‖ per weight layer (log scale)";
      this.gradHistory.show({ title, series, data: [grads.iteration, ...grads.layers], log: true });
      return;
    }
    const canvas = this.gradCanvas;
    const size = this.gradSize.width ? this.gradSize : { width: canvas.clientWidth, height: canvas.clientHeight };
    const { ctx, width, height } = fitCanvas(canvas, size);
    const frames = Math.max(1, gradWindow.length);
    drawGradients(ctx, { width, height, norms: this.gradNorms, frames, fontPx: this.gradFontPx });
    this.describeBars(frames);
  }

  /** The bars' accessible name says every value, including any the drawing had no room for. */
  describeBars(frames) {
    const count = this.gradNorms.length;
    const value = (v) => (v === null ? "none yet" : powerText(v));
    const values = this.gradNorms.map((v, l) => `${layerNames(l, count)[0]} ${value(v)}`);
    const last = `the last ${frames} frame${frames === 1 ? "" : "s"}`;
    const text = `Gradient norm per weight layer, geometric mean of ${last} (log scale): ${values.join(", ")}`;
    if (this.gradCanvas.getAttribute("aria-label") !== text) this.gradCanvas.setAttribute("aria-label", text);
  }

  /** The canvases a PNG of the view takes: the loss chart's is uPlot's. */
  get lossCanvas() {
    return this.loss.canvas;
  }
}
