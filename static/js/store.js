// The page's state: the newest of everything the server sent, plus view flags.
// Views listen for "change" events and redraw; nothing here draws or talks to the network.

const HISTORY_LIMIT = 20000;
// The gradient bars show a geometric mean over this many recent frames: one mini-batch's norm
// swings by orders of magnitude from batch to batch, the mean over about a second does not.
export const GRAD_WINDOW = 30;

export class Store extends EventTarget {
  constructor() {
    super();
    this.hello = null; // server hello: schema, limits, defaults, lessons
    this.config = null; // the current run configuration (network, training, data)
    this.run = null; // the id of the run the last `state` confirmed; null until one arrives
    this.network = null; // spec with weights, from the last `state`
    this.data = null; // {train, test, kind, n_classes}
    this.frame = null; // newest decoded frame {header, arrays}, as drawn
    this.pendingFrames = []; // frames received, not drawn yet, oldest first (at most hello.limits.frame_window)
    this.weights = { W: [], b: [] }; // parameters as drawn, {data, shape} per layer; never replaced
    this.surface = null; // the newest output surface (u8 array with its range)
    this.helloSeen = false; // a later hello is a reconnect
    this.exact = null; // {iteration, network}: float64 weights of the last state or export
    this.trace = emptyTrace(); // phases of the iteration being stepped; replaced, never shared
    this.recurrentTrace = null; // a recurrent run's phases of it (recurrentView.js), or null
    this.playing = false;
    this.inspect = null; // last inspect reply
    this.selection = null; // {kind, layer, i?, j}
    this.focus = 0; // the training sample the server follows (the frames' `focus_sample`)
    this.phaseCount = 0; // phases received, so a test can wait for the next one
    this.stateIteration = 0; // the iteration of the last `state` (its weights are exact)
    this.drawMs = 0; // running mean of the drawing work per animation frame
    this.history = { iteration: [], train: [], test: [] };
    this.grads = { iteration: [], layers: [] }; // per-layer gradient norms over time
    this.gradWindow = []; // the last GRAD_WINDOW frames' per-layer norms, oldest first
    this.compare = new Map(); // label -> {iteration: [], loss: []}
    this.view = {
      biasNodes: false,
      showTest: true,
      discretize: false,
      logLoss: false,
      presenter: false,
      hide: [],
    };
  }

  /** Merges `fields` into the store and announces which ones changed. */
  update(fields) {
    Object.assign(this, fields);
    this.dispatchEvent(new CustomEvent("change", { detail: Object.keys(fields) }));
  }

  setView(fields) {
    Object.assign(this.view, fields);
    this.dispatchEvent(new CustomEvent("change", { detail: ["view"] }));
  }

  clearHistory() {
    this.history = { iteration: [], train: [], test: [] };
    this.grads = { iteration: [], layers: [] };
    this.gradWindow = [];
    this.compare = new Map();
    this.resetTrace();
  }

  /** The stepped iteration is over or was restarted: its phases no longer describe the run. */
  resetTrace() {
    this.trace = emptyTrace();
    this.recurrentTrace = null; // else the unrolled view draws the old step's predictions
  }

  /** Parameters of a frame, a phase or a state; layers a message lacks are kept. */
  setWeights({ W, b }) {
    if (W.length) this.weights.W = W;
    if (b.length) this.weights.b = b;
  }

  /** Appends the loss points a frame carries (its `history` rows [iteration, train, test] or,
   * failing that, its own losses). */
  addHistory(header) {
    const rows = header.history?.length
      ? header.history
      : [[header.iteration, header.train_loss, header.test_loss]];
    for (const [iteration, train, test] of rows) {
      const last = this.history.iteration.at(-1);
      if (last !== undefined && iteration <= last) continue;
      this.history.iteration.push(iteration);
      this.history.train.push(train);
      this.history.test.push(test);
    }
    trimHistory(this.history);
    this.addGradients(header);
    if (header.compare) this.addCompare(header.compare, header.iteration);
  }

  addGradients(header) {
    const layers = header.layers ?? [];
    if (!layers.length || header.iteration <= (this.grads.iteration.at(-1) ?? -1)) return;
    this.grads.iteration.push(header.iteration);
    // A frame before any backward pass (iteration 0, a reset) has no norms to average.
    if (layers.some((layer) => Number.isFinite(layer.grad_norm))) {
      this.gradWindow.push(layers.map((layer) => layer.grad_norm));
    }
    if (this.gradWindow.length > GRAD_WINDOW) this.gradWindow.shift();
    layers.forEach((layer, l) => {
      this.grads.layers[l] ??= new Array(this.grads.iteration.length - 1).fill(Number.NaN);
      this.grads.layers[l].push(layer.grad_norm);
    });
    if (this.grads.iteration.length > HISTORY_LIMIT) {
      const keep = (_, index) => index % 2 === 0;
      this.grads.iteration = this.grads.iteration.filter(keep);
      this.grads.layers = this.grads.layers.map((values) => values.filter(keep));
    }
  }

  /** The racers' curves: `compare` is [{label, iteration, train_loss, history, ...}]. */
  addCompare(compare, iteration) {
    for (const variant of compare) {
      const label = String(variant.label);
      if (!this.compare.has(label)) this.compare.set(label, { iteration: [], loss: [] });
      const series = this.compare.get(label);
      // A variant carries its own history (rows [iteration, train, test]) or just its newest loss.
      const rows = variant.history?.length
        ? variant.history
        : [[variant.iteration ?? iteration, variant.train_loss]];
      for (const [at, loss] of rows) {
        if (series.iteration.length && at <= series.iteration.at(-1)) continue;
        series.iteration.push(at);
        series.loss.push(loss);
      }
      trimHistory(series);
    }
  }
}

/**
 * Per layer, the geometric mean (10^mean of log10) of the norms in `window` (frames × layers),
 * skipping values that are not positive numbers; null for a layer with none. A window of one
 * frame gives that frame's norms as they are.
 */
export function geometricMeans(window) {
  const width = Math.max(0, ...window.map((norms) => norms.length));
  return Array.from({ length: width }, (_, l) => {
    const values = window.map((norms) => norms[l]).filter((v) => Number.isFinite(v) && v > 0);
    if (!values.length) return null;
    if (values.length === 1) return values[0];
    return 10 ** (values.reduce((sum, v) => sum + Math.log10(v), 0) / values.length);
  });
}

/** Keeps every series short enough to draw at 60 fps by dropping every other old point. */
function trimHistory(series) {
  const keys = Object.keys(series);
  if (series[keys[0]].length <= HISTORY_LIMIT) return;
  for (const key of keys) series[key] = series[key].filter((_, index) => index % 2 === 0);
}

/** What the stepped iteration has shown so far: forward values, loss, backward terms, update. */
export function emptyTrace() {
  return { forward: new Map(), loss: null, backward: new Map(), update: null, last: null };
}
