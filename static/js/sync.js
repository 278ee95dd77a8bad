// Keeps the page in step with the server's run: hello, state, data, status and error messages,
// the configs and live options the page sends, the network's export and import, and the exact
// copy of the weights (store.exact) that resume.js rebuilds a lost run from.

import * as files from "./files.js";
import { $, setText, showError, showNotice } from "./notices.js";
import { fillClassSelect } from "./points.js";
import * as structure from "./structure.js";
import { findLesson } from "./lessons.js";
import * as url from "./url.js";

const PROTOCOL = 1;

export class Sync {
  /** Parts: the `store`; `send(message)`; the transport's `setPlaying(playing)` and `speed()`;
   * the `view` (its flags, the URL hash); the `loop` (relayout, redraw, frames to drop, the
   * frame rate); the plane's `points` (drawn, not yet confirmed); `resume` (hello, a confirmed
   * run, a refused restore: a reconnect's part); `buildPanels(hello)`, called on the first
   * hello, returns the {controls, lessons} panels this fills and tells of errors. */
  constructor({ store, send, setPlaying, speed, view, loop, points, resume, buildPanels }) {
    Object.assign(this, { store, send, setPlaying, speed, view, loop, points, resume, buildPanels });
    this.controls = null; // the panels, once the first hello built them
    this.lessons = null;
    // The run the server last confirmed (its `state`); the page falls back to it when the
    // server refuses a change, so the controls never show a run that is not.
    this.confirmed = null;
    this.configPending = false;
    this.changePending = false; // a control's change was sent and not yet confirmed
    this.exportWanted = false; // the person pressed Export JSON and waits for the server's copy
    // The text messages that are the run's, by type (main.js adds the others).
    this.handlers = {
      hello: (message) => this.hello(message),
      state: (message) => this.state(message),
      data: (message) => this.data(message),
      status: (message) => this.status(message),
      error: (message) => this.error(message),
      export: (message) => this.exported(message),
    };
  }

  // ---------------------------------------------------------------- connection and messages

  opened() {
    const { store } = this;
    setConnection("connected");
    store.run = null; // a new session: nothing it sends is ours until it confirms our run
    // A reconnect resumes the kept session or restores our run: its hello says which (resume.js).
  }

  closed(retryMs) {
    setConnection(`disconnected — retrying in ${Math.round(retryMs / 100) / 10} s`);
    this.setPlaying(false);
  }

  hello(message) {
    const { store, view } = this;
    if (message.protocol !== PROTOCOL) {
      showError(`This page speaks protocol ${PROTOCOL}, the server ${message.protocol}: reload the page.`);
    }
    const firstTime = !store.helloSeen;
    store.helloSeen = true;
    store.hello = message;
    this.confirmed ??= structuredClone(message.state?.config ?? message.defaults);
    if (firstTime) ({ controls: this.controls, lessons: this.lessons } = this.buildPanels(message));
    this.resume.hello(message, firstTime || store.config === null);
    if (store.config !== null && !firstTime) return; // resumed, or restored by resume.js
    const { schema } = message;
    let parsed = url.parse(location.hash, message.defaults ?? message.state?.config, schema);
    // A link to a run of the other network kind starts from that kind's defaults (hello.kinds).
    const kindDefaults = message.kinds?.[parsed.config.network?.kind];
    if (kindDefaults && parsed.config.network.kind !== message.defaults?.network?.kind) {
      parsed = url.parse(location.hash, kindDefaults, schema);
    }
    view.apply(parsed.view);
    if (parsed.errors.length) showError(`Ignored parts of the link: ${parsed.errors.join("; ")}`);
    // A linked lesson loads its own run when the link holds none, or when the lesson has its own
    // points (a link cannot carry those); otherwise the link's run wins and the lesson shows its text.
    const lesson = findLesson(message.lessons ?? [], parsed.view.lesson);
    const lessonRun =
      Boolean(lesson) && (!url.hasConfig(location.hash, schema) || Boolean(lesson.config?.data?.points));
    if (lesson) this.lessons?.select(lesson.id, { load: lessonRun });
    if (lessonRun) return;
    // Otherwise start by sending the run we want: the link's, else the server's default. The
    // reply (state, data and a first frame) fills every view the same way for both.
    this.sendConfig(url.hasConfig(location.hash, schema) ? parsed.config : (message.state?.config ?? parsed.config));
  }

  state(message) {
    const { store, view, loop } = this;
    // Exact weights; an export's progress at the same iteration still holds (an edit keeps it).
    const iteration = message.iteration ?? 0;
    const progress = store.exact?.iteration === iteration && iteration > 0 ? store.exact.progress : null;
    store.exact = { iteration, network: message.network, progress };
    this.resume.confirmed(message);
    store.resetTrace(); // a new run, new weights or new data: the server restarted the iteration
    // A new run starts a new history; frames and phases of any other run are dropped from now
    // on (main.js). After a (re)connect the page has no run yet and restores its own history.
    if (message.run !== store.run) {
      if (store.run !== null) store.clearHistory();
      if (store.run !== null && this.changePending) showNotice("network rebuilt");
      store.run = message.run;
      store.recurrentAsked = 0; // no inspect of another run is answered
      loop.dropPendingFrames();
    }
    store.config = message.config;
    store.allowed = message.allowed ?? {};
    this.confirmed = structuredClone(message.config);
    this.configPending = false;
    this.changePending = false;
    store.network = message.network;
    store.stateIteration = message.iteration ?? 0;
    // A recurrent network's weights are named (W_hh, ...): its frames draw them (unrolled.js).
    if (Array.isArray(message.network?.weights)) store.setWeights(specParameters(message.network));
    this.setPlaying(Boolean(message.playing));
    setText("iteration", message.iteration ?? 0);
    setText("epoch", message.epoch ?? 0);
    this.controls?.fill(store.config, { allowed: store.allowed, force: true });
    this.lessons?.showNetwork(store.config.network.layers ?? null); // lesson 15's own row
    view.writeHash();
    loop.relayout();
    loop.invalidate("network", "charts");
  }

  data(message) {
    const { store, points } = this;
    points.confirmed();
    fillClassSelect($("point-class"), message);
    store.resetTrace(); // its focus_sample indexes the old data
    store.update({ data: message });
  }

  status(message) {
    this.setPlaying(Boolean(message.playing));
    // Why a run paused itself (it diverged, ...) matters to the lesson: keep it up longer.
    if (message.message) showNotice(message.message, 12000);
  }

  /** Shows the server's words beside the control of the field it names (else at the top); a
   * refused change or config is undone on the page too: it shows the run the server has. */
  error(message) {
    const { store, points, view, loop } = this;
    const text = message.message ?? "the server reported an error";
    if (this.resume.refused(message)) return;
    if (!this.controls?.showError(message.field, text)) showError(text);
    // A refused Export JSON (a follower's, or over the rate limit) gets no copy: the next one,
    // asked for a reconnect's sake, is not the answer to it.
    if (!message.field || message.field === "room") this.exportWanted = false;
    // A follower's refused Play or Pause: the button shows what the teacher's run does.
    if (message.field === "room") this.setPlaying(Boolean(store.frame?.header.playing));
    if (message.field?.startsWith("cost")) this.lessons?.costRefused();
    if (points.unconfirmed && message.field?.startsWith("points")) points.refused();
    // A refused inspect (its target, or a message dropped over the rate limit) gets no reply.
    if (!message.field || /^(target|inspect)\b/.test(message.field)) store.recurrentAsked = 0;
    // Nothing changed on the server: the box shows the sample it follows, not a refused one.
    $("focus-sample").value = String(store.focus);
    if (!this.configPending && !this.changePending) return;
    this.configPending = this.changePending = false;
    store.config = structuredClone(this.confirmed);
    this.controls?.fill(store.config, { allowed: store.allowed, force: true });
    view.writeHash();
    loop.relayout();
  }

  /** The sample the server follows, from every frame (`set_points` may have reset it to 0). */
  takeFocus(header) {
    const { store, loop } = this;
    const sample = header.focus_sample;
    if (!Number.isInteger(sample) || sample === store.focus) return;
    store.focus = sample;
    $("focus-sample").value = String(sample);
    loop.invalidate("surface");
  }

  // ---------------------------------------------------------------- sending

  /** Builds a new run from `config` (network rebuilt); its `state` reply clears the old history. */
  sendConfig(config) {
    const { store, send, points, view, loop } = this;
    store.config = structuredClone(config);
    this.configPending = true;
    store.resetTrace();
    points.forget();
    if (send({ type: "config", ...pick(config, ["network", "training", "data"]) })) {
      // The frame rate the page draws at (measured by the loop): the server paces to it.
      send({ type: "set", speed: this.speed(), fps: loop.reportRate() });
      // A new run follows sample 0 unless told otherwise; keep following the chosen one.
      if (store.focus) send({ type: "focus", sample: store.focus });
      this.controls?.fill(store.config);
      view.writeHash();
      loop.relayout();
    }
  }

  /** A person changed one field: the server applies it (a live one to the run, any other by
   * rebuilding it with the fields that depend on it made to fit) and answers with `state`. */
  change(path, value) {
    this.controls?.clearErrors();
    if (!this.send({ type: "change", path, value })) return;
    this.changePending = true;
    this.store.resetTrace(); // the server restarts the iteration being stepped
  }

  /** The network's shape, from the buttons over it; the limits are the schema's. */
  addLayer() {
    this.change("network.layers", structure.withHiddenLayerAdded(this.layers(), this.layerLimits()));
  }

  removeLayer() {
    this.change("network.layers", structure.withHiddenLayerRemoved(this.layers()));
  }

  resizeLayer(column, delta) {
    const layers = structure.withLayerResized(this.layers(), column, delta, this.layerLimits());
    this.change("network.layers", layers);
  }

  /** The output layer's width (one the engine allows); the engine makes the head follow. */
  setOutputWidth(width) {
    if (!Number.isInteger(width)) return;
    this.change("network.layers", [...this.layers().slice(0, -1), width]);
  }

  layers() {
    return this.store.config.network.layers;
  }

  layerLimits() {
    const entry = this.store.hello?.schema?.find((field) => field.path === "network.layers");
    return { maxNeurons: entry?.range.high, maxLength: entry?.length[1] };
  }

  toggleFrozen(layer, frozen) {
    const current = new Set(this.store.config.training.frozen ?? []);
    if (frozen) current.add(layer);
    else current.delete(layer);
    this.change("training.frozen", [...current].sort((a, b) => a - b));
  }

  /** The follow-sample box: the server's next frame confirms it (store.focus). */
  sendFocus(sample) {
    if (!Number.isInteger(sample) || sample < 0) return showError("follow sample: must be a whole number ≥ 0");
    // The iteration being stepped restarts on the server.
    if (this.send({ type: "focus", sample })) this.store.resetTrace();
    this.loop.invalidate("network", "surface");
  }

  // ---------------------------------------------------------------- exact weights, files

  /** The server's exact copy (asked for by resume.js, or by Export JSON: then downloaded). */
  exported(message) {
    const { iteration, progress } = message;
    this.store.exact = { iteration, network: message.config.network, progress };
    if (!this.exportWanted) return;
    this.exportWanted = false;
    // The server's own config, float64 weights and progress (optimizer state, batch order):
    // importing this file carries the run on exactly.
    const text = JSON.stringify({ ...message.config, progress }, null, 2);
    files.download("backprop-lab-network.json", text, "application/json");
  }

  exportNetwork() {
    this.exportWanted = true;
    if (!this.send({ type: "export" })) {
      this.exportWanted = false;
      showError("Export JSON: not connected to the server");
    }
  }

  async importNetwork(file) {
    try {
      const { config, progress } = files.parseNetworkJson(await file.text());
      this.sendConfig(config);
      if (progress) this.send({ type: "restore", progress });
      showNotice("network imported");
    } catch (error) {
      showError(`${file.name}: ${error.message}`);
    }
  }
}

function setConnection(text) {
  const badge = $("connection");
  badge.textContent = text;
  badge.dataset.state = text.startsWith("connected") ? "up" : "down";
}

function pick(object, keys) {
  return Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]));
}

/** Nested lists from a `state` network spec → {data, shape} like the binary arrays. */
function specParameters(spec) {
  const W = spec.weights.map((rows) => ({
    data: Float32Array.from(rows.flat()),
    shape: [rows.length, rows[0]?.length ?? 0],
  }));
  const b = (spec.biases ?? []).map((row) => ({ data: Float32Array.from(row), shape: [row.length] }));
  return { W, b };
}
