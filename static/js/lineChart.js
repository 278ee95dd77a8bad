// A line chart on uPlot (static/vendor/uplot): nice ticks, a legend under the plot that reads
// the values at the cursor, a log scale. It fills its box; the legend never covers the data.

import uPlot from "../vendor/uplot/uPlot.esm.js";

const AXIS_COLOUR = "#333";
const GRID_COLOUR = "#ececf0";

/** Four significant digits, exponent form only when very small or large ("—" for no value). */
export function valueText(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** Width of the y axis: the longest tick label plus the ticks (uPlot's documented recipe). */
function axisSize(chart, values, axisIndex, cycle) {
  const axis = chart.axes[axisIndex];
  if (cycle > 1) return axis._size;
  const longest = (values ?? []).reduce((best, text) => (text.length > best.length ? text : best), "");
  chart.ctx.font = axis.font[0];
  const text = chart.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
  return Math.ceil(axis.ticks.size + axis.gap + text + 4);
}

/** Tick labels for a log axis: whole decades as 0.01, 0.1, 1, 10 …, others as plain numbers. */
function logTicks(_chart, splits) {
  return splits.map((v) => (v === null ? "" : valueText(v)));
}

export class LineChart {
  /** `box`: an element whose CSS size the chart fills (title, plot, legend); `xLabel` names x. */
  constructor(box, { xLabel = "iteration", legend = true } = {}) {
    this.box = box;
    this.legend = legend; // a small chart (a race card) may leave its values to its caption
    this.xLabel = xLabel;
    this.title = document.createElement("div");
    this.title.className = "chart-title";
    this.plot = document.createElement("div");
    this.plot.className = "chart-plot";
    box.replaceChildren(this.title, this.plot);
    this.chart = null;
    this.signature = "";
    this.yRange = null; // [lo, hi] to share one y scale between charts, or null for automatic
    this.fontPx = 12;
    // The type size follows presenter mode; read on resize (a mode change resizes), not per frame.
    this.resizeObserver = new ResizeObserver(() => {
      this.fontPx = Number.parseFloat(getComputedStyle(box).fontSize) || 12;
      this.fit();
    });
    this.resizeObserver.observe(box);
  }

  /** The canvas uPlot draws on (for the PNG export), or null before the first draw. */
  get canvas() {
    return this.chart?.ctx.canvas ?? null;
  }

  /**
   * series: [{label, colour, dash?}], data: [x, y1, y2, …] (numbers or null), log: y on a log
   * scale. Rebuilds the uPlot only when the series, the scale or the type size change.
   */
  show({ title, series, data, log = false, yRange = null }) {
    this.yRange = yRange;
    if (this.title.textContent !== title) this.title.textContent = title;
    const { fontPx } = this;
    const signature = JSON.stringify([series, log, fontPx]);
    const values = data.map((column, k) => (k === 0 ? column : drawable(column, log)));
    if (signature !== this.signature || !this.chart) {
      const old = this.chart?.root.querySelector(".u-legend");
      if (old) this.resizeObserver.unobserve(old);
      this.chart?.destroy();
      this.signature = signature;
      this.chart = new uPlot(this.options(series, log, fontPx), values, this.plot);
      // The legend's height changes when values wrap it onto another line: the plot gives way.
      const legend = this.chart.root.querySelector(".u-legend");
      if (legend) this.resizeObserver.observe(legend);
      this.fit();
    } else {
      this.chart.setData(values);
    }
  }

  options(series, log, fontPx) {
    const font = `${Math.round(fontPx * 0.85)}px system-ui, sans-serif`;
    const axis = { stroke: AXIS_COLOUR, font, grid: { stroke: GRID_COLOUR, width: 1 }, ticks: { size: 4 } };
    return {
      ...this.size(),
      pxAlign: 0,
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      legend: { show: this.legend, live: true },
      scales: {
        x: { time: false },
        y: { ...(log ? { distr: 3, log: 10 } : {}), range: (_chart, lo, hi) => this.range(lo, hi, log) },
      },
      axes: [
        { ...axis, size: Math.round(fontPx * 1.7) },
        { ...axis, size: axisSize, ...(log ? { values: logTicks } : {}) },
      ],
      series: [
        { label: this.xLabel, value: (chart, v, _s, index) => lastWhenIdle(chart, 0, v, index, String) },
        ...series.map(({ label, colour, dash }) => ({
          label,
          stroke: colour,
          width: 2,
          dash,
          spanGaps: true,
          // A lone point (iteration 0) as a dot; a curve of several as a line alone.
          points: { show: (chart, index, first, last) => last - first < 1 && chart.data[index].some(isValue) },
          value: (chart, v, s, index) => lastWhenIdle(chart, s, v, index, valueText),
        })),
      ],
    };
  }

  /** The shared range when one is set, else the data's; uPlot pads it (10 % headroom and a soft
   * zero on a linear axis, round steps within the decade on a log one). */
  range(lo, hi, log) {
    const [low, high] = this.yRange ?? [lo, hi];
    if (log) return uPlot.rangeLog(low ?? 0.1, high ?? 1, 10, false);
    return uPlot.rangeNum(low ?? 0, high ?? 1, 0.1, true);
  }

  /** The plot takes the box's height less the title's and the legend's: the legend sits below. */
  size() {
    const width = Math.max(80, Math.floor(this.box.clientWidth));
    const legend = this.legend ? (this.chart?.root.querySelector(".u-legend")?.offsetHeight ?? 24) : 0;
    const height = Math.max(50, Math.floor(this.box.clientHeight - this.title.offsetHeight - legend - 2));
    return { width, height };
  }

  fit() {
    if (!this.chart || !this.box.clientWidth) return;
    const { width, height } = this.size();
    if (width !== this.chart.width || height !== this.chart.height) this.chart.setSize({ width, height });
  }
}

function isValue(value) {
  return value !== null && value !== undefined;
}

/** The legend reads the cursor's point; with no cursor on the plot, the newest one. */
function lastWhenIdle(chart, series, value, index, format) {
  if (index === null || index === undefined) {
    const column = chart.data?.[series] ?? [];
    for (let k = column.length - 1; k >= 0; k--) if (isValue(column[k])) return format(column[k]);
    return "—";
  }
  return value === null || value === undefined ? "—" : format(value);
}

/** A diverged run's ±inf and NaN (and, on a log axis, zero or below) become gaps in the line. */
function drawable(column, log) {
  return column.map((v) => (Number.isFinite(v) && (!log || v > 0) ? v : null));
}
