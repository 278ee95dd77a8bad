// The one drawing loop: on each animation frame it takes the oldest frame received and not yet
// drawn, redraws the views that changed, and acks the frame once it is on screen. It also
// measures how many frames a second the page draws and tells the server, which paces to it.
// It only draws: what a frame means to the rest of the page is `onFrame`'s (frameIntake.js),
// and the controls over the network are `onLayout`'s.

import { fitCanvas } from "./canvasSize.js";
import { ChartPanel } from "./chartPanel.js";
import { choiceLabel, choiceOutputs, outputRange } from "./controls.js";
import * as network from "./network.js";
import { drawRecurrent, isRecurrent } from "./recurrentView.js";
import { $ } from "./notices.js";
import * as surface from "./surface.js";
import { surfacePictures } from "./thumbnails.js";

// Which views a store change touches; the loop redraws those on its next tick.
const REDRAWS = { data: ["surface"], view: ["network", "surface", "charts"] };
// The frame rate told to the server: measured over animation frames, sent when it moved by
// this much (the protocol's range is 1..60 frames a second).
const RATE_CHANGE = 0.1;
const MAX_RATE = 60;
const MAX_TICK_MS = 100;
const RATE_EVERY_MS = 1000; // at most one `set` a second for it

export class Loop {
  /** Parts it needs: the `store` (read only, but for the frame queue), `send(message)` (acks and
   * the frame rate), `points` (the plane's points as drawn), `onFrame(frame)` (takes a frame
   * into the page before it is drawn), `onLayout(layout)` (the controls over the network),
   * `onKind(recurrent)` (the run's kind changed: the tools over the network follow) and
   * `following()` (the page shows a room teacher's run, paced by the teacher's page). */
  constructor({ store, send, points, onFrame, onLayout, onKind, following = () => false }) {
    Object.assign(this, { store, send, points, onFrame, onLayout, onKind, following });
    this.dirty = { network: true, surface: true, charts: true };
    // What the network drawing needs besides the store: layout, thumbnails, the update animation.
    this.scene = { pictures: [], update: null, selection: null };
    const charts = new ChartPanel({
      loss: $("loss-chart"),
      grads: $("grad-chart"),
      gradHistory: $("grad-history-chart"),
      race: $("race-panel"),
    });
    this.charts = charts;
    this.canvases = {
      network: $("network-canvas"),
      surface: $("surface"),
      grads: $("grad-chart"),
      get loss() {
        return charts.lossCanvas; // uPlot's canvas, for the PNG of the view
      },
    };
    // CSS sizes of the canvases, kept by a ResizeObserver: reading clientWidth inside the drawing
    // loop, right after text updates, would force a layout every frame.
    this.sizes = new Map();
    this.resizeObserver = new ResizeObserver((entries) => {
      for (const entry of entries) {
        const { width, height } = entry.contentRect;
        this.sizes.set(entry.target, { width: Math.round(width), height: Math.round(height) });
      }
      this.relayout();
      this.invalidate("surface", "charts");
    });
    store.addEventListener("change", (event) => {
      for (const key of event.detail) this.invalidate(...(REDRAWS[key] ?? []));
    });
    this.tick = (now) => this.draw(now);
    this.frameMs = 0; // mean ms between animation frames (0: not known yet)
    this.lastTickAt = -Infinity;
    this.rateSentAt = -Infinity;
    this.sentRate = MAX_RATE; // the rate the server was last told
  }

  start() {
    for (const canvas of [this.canvases.network, this.canvases.surface]) this.resizeObserver.observe(canvas);
    requestAnimationFrame(this.tick);
  }

  invalidate(...views) {
    for (const view of views) this.dirty[view] = true;
  }

  /** A decoded frame of the current run: queued for the next ticks, one a tick, in order. A
   * frame pushed out of a full queue undrawn is acked now, and its history rows (loss,
   * gradient norms, racers) are kept: the server sends each once. */
  receive(frame) {
    const { store, send } = this;
    // At most the server's credit window (hello comes before any frame): the others wait
    // while one is drawn, so an animation frame finds a new one even when the next is late.
    if (store.pendingFrames.length >= store.hello.limits.frame_window) {
      store.addHistory(store.pendingFrames.shift().header);
      send({ type: "ack" }); // never drawn: release its credit
    }
    store.pendingFrames.push(frame);
  }

  /** Forgets the undrawn frames (a new run's state made them stale). */
  dropPendingFrames() {
    const { store, send } = this;
    for (const _ of store.pendingFrames) send({ type: "ack" }); // never drawn: release
    store.pendingFrames = [];
  }

  /** Frames still queued when a phase arrives are older than it (the server pauses before it
   * steps): their loss points join the history, their pictures and "playing" are skipped, so
   * the phase's readout is not overwritten by a frame from before it. */
  settlePendingFrames() {
    for (const { header } of this.store.pendingFrames) this.store.addHistory(header);
    this.dropPendingFrames();
  }

  /** Matches a canvas's backing store to its CSS size × devicePixelRatio. */
  fitCanvas(canvas) {
    if (!this.sizes.has(canvas)) {
      this.sizes.set(canvas, { width: Math.round(canvas.clientWidth), height: Math.round(canvas.clientHeight) });
    }
    return fitCanvas(canvas, this.sizes.get(canvas));
  }

  /** The network's layout and its layer controls, after a new run or a resize. */
  relayout() {
    const { store } = this;
    if (!store.config) return;
    const { width, height } = this.fitCanvas(this.canvases.network);
    if (isRecurrent(store)) {
      this.scene.layout = null; // a recurrent run is drawn unrolled (recurrentView.js)
      $("layer-controls")?.replaceChildren(); // it has no layers to resize or freeze
      this.invalidate("network");
      return;
    }
    this.scene.layout = network.layout(store.config.network.layers, width, height, store.view.biasNodes);
    this.scene.width = width;
    this.scene.height = height;
    this.onLayout(this.scene.layout);
    this.invalidate("network");
  }

  /** The neuron pictures of a frame's surfaces, and the output surface the plane shows. */
  buildThumbnails(arrays) {
    const { store } = this;
    const { network: spec } = store.config;
    const schema = store.hello?.schema;
    const hidden = choiceOutputs(schema, "network.activation", spec.activation);
    const columns = [surfacePictures("inputs", arrays.get("surface/inputs"), null)];
    for (let l = 0; l < spec.layers.length - 2; l++) {
      columns.push(surfacePictures(`hidden/${l}`, arrays.get(`surface/hidden/${l}`), hidden));
    }
    const output = arrays.get("surface/output");
    columns.push(surfacePictures("output", output, outputRange(store), store.view.discretize));
    this.scene.pictures = columns;
    store.surface = output ?? store.surface;
  }

  draw(now) {
    const { store, send } = this;
    const started = performance.now();
    const frame = store.pendingFrames.shift();
    const recurrent = isRecurrent(store);
    if (recurrent !== this.recurrent) {
      this.recurrent = recurrent;
      if (recurrent) store.surface = null; // the plane has nothing of a recurrent run to show
      this.onKind(recurrent);
      this.relayout();
    }
    if (frame) {
      this.onFrame(frame);
      if (!recurrent) this.buildThumbnails(frame.arrays);
      this.invalidate("network", "surface", "charts");
    }
    this.measureRate(now);
    if (recurrent && this.dirty.network) {
      const { ctx, width, height } = this.fitCanvas(this.canvases.network);
      this.scene.unrolled = drawRecurrent(ctx, { width, height, store, highlight: this.scene.highlight });
      this.dirty.network = false;
    }
    const last = store.trace.last;
    const animating = last && now - last.receivedAt < network.timings.UPDATE_MS + 50;
    if (store.config && this.scene.layout && (this.dirty.network || animating)) {
      const { ctx } = this.fitCanvas(this.canvases.network);
      ctx.fontScale = store.view.presenter ? 1.3 : 1; // labels a projector can show
      const schema = store.hello?.schema;
      const featureNames = (store.config.data.features ?? []).map((name) => choiceLabel(schema, "data.features", name));
      Object.assign(this.scene, { now, weights: store.weights, selection: store.selection, featureNames });
      network.draw(ctx, { ...this.scene, trace: store.trace });
      this.dirty.network = false;
    }
    if (this.dirty.surface && !recurrent) this.drawSurface(); // hidden for a recurrent run
    if (this.dirty.charts) this.drawCharts();
    // Ack only after the frame is on screen, so a slow page slows the stream instead of queueing it.
    if (frame) send({ type: "ack" });
    // A running average of the drawing work per animation frame, for benchmarks/page_fps.py.
    store.drawMs = 0.95 * store.drawMs + 0.05 * (performance.now() - started);
    requestAnimationFrame(this.tick);
  }

  /** Frames a second the page can draw: the mean interval between animation frames, which
   * is the display's refresh interval, or longer when the page's work does not fit in it.
   * Measured over every tick, drawing or not: a page sent fewer frames has cheaper ticks, so
   * its rate and then the server's rise again (a stall counts as at most MAX_TICK_MS). A
   * follower keeps it to itself: the room's run is paced by the teacher's page, a follower's
   * own window by its acks, and the server refuses a follower's `set` (told after a fork). */
  measureRate(now) {
    if (Number.isFinite(this.lastTickAt)) {
      const interval = Math.min(MAX_TICK_MS, now - this.lastTickAt);
      this.frameMs = this.frameMs ? 0.95 * this.frameMs + 0.05 * interval : interval;
    }
    this.lastTickAt = now;
    const rate = this.frameRate;
    const moved = Math.abs(rate - this.sentRate) > RATE_CHANGE * this.sentRate;
    if (this.store.playing && moved && now - this.rateSentAt > RATE_EVERY_MS && !this.following()) {
      this.sentRate = rate;
      this.rateSentAt = now;
      this.send({ type: "set", fps: rate });
    }
  }

  /** The page's frame rate for the server, whole frames a second in 1..60. */
  get frameRate() {
    return Math.max(1, Math.min(MAX_RATE, Math.round(1000 / (this.frameMs || 1000 / MAX_RATE))));
  }

  /** The frame rate to tell a new session (sync.js), remembered as told. */
  reportRate() {
    this.sentRate = this.frameRate;
    return this.sentRate;
  }

  drawSurface() {
    const { store, points } = this;
    const { ctx, width, height } = this.fitCanvas(this.canvases.surface);
    // Until the server answers, show the points as drawn (all as training points).
    const data = store.data && points.visible(store.data);
    // While stepping, ring the sample the phases follow (the chosen one, in the batch or not).
    const followed = store.trace.last?.focus_sample ?? store.focus;
    const focus = points.unconfirmed ? null : followed;
    surface.draw(ctx, {
      width,
      height,
      surface: store.surface,
      outputs: outputRange(store),
      data,
      view: store.view,
      focus,
      cursor: surface.planeCursor, // the keyboard's cross (keyboard.js)
    });
    this.dirty.surface = false;
  }

  drawCharts() {
    if (!document.querySelector('[data-panel="charts"]').hidden) {
      if (!this.charts.draw(this.store)) return; // paced while playing: stays dirty
      this.scene.gradNorms = this.charts.gradNorms; // what the bars show, for the tests
      this.scene.gradFrames = this.charts.gradFrames;
    }
    this.dirty.charts = false;
  }
}
