// Wires the page: socket → store → views, controls → messages, and the one drawing loop.

import { createControls, FEATURE_LABELS } from "./controls.js";
import * as charts from "./charts.js";
import * as files from "./files.js";
import { mountLessons } from "./lessons.js";
import * as network from "./network.js";
import { PlanePoints } from "./points.js";
import { Selection } from "./selection.js";
import { Socket } from "./socket.js";
import { Store } from "./store.js";
import * as structure from "./structure.js";
import * as surface from "./surface.js";
import { surfaceCanvases } from "./thumbnails.js";
import * as url from "./url.js";

const SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);

const store = new Store();
const weights = { W: [], b: [] }; // the parameters as last drawn: {data, shape} per layer
const scene = { canvases: [], update: null, selection: null };
const dirty = { network: true, surface: true, charts: true };
let pendingFrame = null;
let surfaceArray = null;
let controls = null;
let lessons = null;
let helloSeen = false;
// The run the server last confirmed (its `state`), with live options applied on top; the page
// falls back to it when the server rejects a change, so the controls never show a run that is not.
let confirmed = null;
let configPending = false;
let lastSet = null; // {path, previous} of the newest live option, undone if the server refuses it
let stepMode = false; // a step-mode lesson waits for its first Step

const socket = new Socket(socketUrl(), { onOpen, onClose, onText, onBinary });
const selection = new Selection({
  store,
  socket,
  weights,
  panel: $("inspector"),
  onChange: () => (dirty.network = true),
});
const points = new PlanePoints({
  store,
  send: (list) => socket.send({ type: "points", points: list }),
  onChange: () => (dirty.surface = true),
  showError: (text) => showError(text),
  showNotice: (text) => showNotice(text),
  chosenTarget: () => Number($("point-class").value),
});
window.backpropLab = { store, socket, weights, scene };

// Which views a store change touches; the drawing loop redraws those on its next tick.
const REDRAWS = { data: ["surface"], view: ["network", "surface", "charts"] };
store.addEventListener("change", (event) => {
  for (const key of event.detail) for (const view of REDRAWS[key] ?? []) dirty[view] = true;
}); // a handle for tests and the curious

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

// ------------------------------------------------------------------ connection and messages

function onOpen() {
  setConnection("connected");
  // A reconnect opens a new session: resend the run we had, with its trained weights, so the
  // person keeps their place.
  if (helloSeen && store.config) sendConfig(configWithWeights(), { keepHistory: true });
}

function onClose(retryMs) {
  setConnection(`disconnected — retrying in ${Math.round(retryMs / 100) / 10} s`);
  setPlaying(false);
}

function setConnection(text) {
  const badge = $("connection");
  badge.textContent = text;
  badge.dataset.state = text.startsWith("connected") ? "up" : "down";
}

const TEXT_HANDLERS = {
  hello: onHello,
  state: onState,
  data: (message) => {
    points.confirmed();
    fillPointClasses(message);
    store.resetTrace(); // its focus_sample indexes the old data
    store.update({ data: message });
  },
  status: (message) => {
    setPlaying(Boolean(message.playing));
    // Why a run paused itself (it diverged, ...) matters to the lesson: keep it up longer.
    if (message.message) showNotice(message.message, 12000);
  },
  error: onError,
  inspect: (reply) => selection.receive(reply),
  export: onExport,
};

function onText(message) {
  TEXT_HANDLERS[message.type]?.(message);
}

const PROTOCOL = 1;

function onHello(message) {
  if (message.protocol !== PROTOCOL) {
    showError(`This page speaks protocol ${PROTOCOL}, the server ${message.protocol}: reload the page.`);
  }
  const firstTime = !helloSeen;
  helloSeen = true;
  store.hello = message;
  confirmed ??= structuredClone(message.state?.config ?? message.defaults);
  if (firstTime) buildPanels(message);
  const restoring = store.config !== null && !firstTime;
  if (restoring) return; // onOpen already resent our config
  const parsed = url.parse(location.hash, message.defaults ?? message.state?.config);
  applyView(parsed.view);
  if (parsed.errors.length) showError(`Ignored parts of the link: ${parsed.errors.join("; ")}`);
  // A linked lesson loads its own run when the link holds none, or when the lesson has its own
  // points (a link cannot carry those); otherwise the link's run wins and the lesson shows its text.
  const lesson = (message.lessons ?? []).find((candidate) => candidate.id === parsed.view.lesson);
  const lessonRun =
    Boolean(lesson) && (!url.hasConfig(location.hash) || Boolean(lesson.config?.data?.points));
  if (lesson) lessons?.select(lesson.id, { load: lessonRun });
  if (lessonRun) return;
  // Otherwise start by sending the run we want: the link's, else the server's default. The reply
  // (state, data and a first frame) fills every view the same way for both.
  sendConfig(url.hasConfig(location.hash) ? parsed.config : (message.state?.config ?? parsed.config));
}

/** The class selector for clicked points: one entry per class (+1/−1 for regression). */
function fillPointClasses(data) {
  const select = $("point-class");
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

function onState(message) {
  store.exact = { iteration: message.iteration ?? 0, network: message.network };
  store.resetTrace(); // a new run, new weights or new data: the server restarted the iteration
  // Frames of the old run may still arrive before this reply; the new run starts from its own
  // iteration, so history from beyond that point belongs to the old run.
  const last = store.history.iteration.at(-1);
  if (last !== undefined && (message.iteration ?? 0) < last) store.clearHistory();
  store.config = message.config;
  confirmed = structuredClone(message.config);
  configPending = false;
  store.network = message.network;
  store.stateIteration = message.iteration ?? 0;
  if (message.network?.weights) setWeights(specParameters(message.network));
  setPlaying(Boolean(message.playing));
  setText("iteration", message.iteration ?? 0);
  setText("epoch", message.epoch ?? 0);
  controls?.fill(store.config);
  writeHash();
  relayout();
  dirty.network = dirty.charts = true;
}

/** Shows the server's words; a refused change is undone on the page too. */
function onError(message) {
  const text = message.message ?? "the server reported an error";
  showError(text);
  if (points.unconfirmed && text.startsWith("points")) points.refused();
  // Nothing changed on the server: the box shows the sample it follows, not a refused one.
  $("focus-sample").value = String(store.focus);
  const refusedOption = /^(set|training)\./.test(text) && lastSet;
  if (!configPending && !refusedOption) return;
  if (refusedOption && !configPending) setPath(confirmed, lastSet.path, lastSet.previous);
  configPending = false;
  lastSet = null;
  store.config = structuredClone(confirmed);
  controls?.fill(store.config, { force: true });
  writeHash();
  relayout();
}

function setPath(object, path, value) {
  path.slice(0, -1).reduce((node, key) => node[key], object)[path.at(-1)] = value;
}

function onBinary(decoded) {
  const kind = decoded.header.type;
  if (kind === "phase") return onPhase(decoded);
  takeFocus(decoded.header);
  if (pendingFrame) socket.send({ type: "ack" }); // a frame we will never draw: release its credit
  pendingFrame = decoded;
}

/** The sample the server follows, from every frame (`set_points` may have reset it to 0). */
function takeFocus(header) {
  const sample = header.focus_sample;
  if (!Number.isInteger(sample) || sample === store.focus) return;
  store.focus = sample;
  $("focus-sample").value = String(sample);
  dirty.surface = true;
}

function onPhase({ header, arrays }) {
  const phase = { ...header, receivedAt: performance.now() };
  if (phase.phase === "forward" && phase.layer === 0) resetTrace();
  const trace = store.trace;
  if (phase.phase === "forward")
    trace.forward.set(phase.layer, { A: arrays.get("focus/A")?.data, Z: arrays.get("focus/Z")?.data });
  if (phase.phase === "loss") trace.loss = phase.focus?.loss ?? phase.loss;
  if (phase.phase === "backward") {
    const dW = arrays.get("focus/dW") ?? arrays.get("dW");
    trace.backward.set(phase.layer, { dZ: arrays.get("focus/dZ")?.data, dW: dW?.data, dWShape: dW?.shape });
  }
  if (phase.phase === "update") {
    trace.update = phase;
    scene.update = { startedAt: phase.receivedAt, before: { W: [...weights.W], b: [...weights.b] } };
    setWeights(phaseParameters(arrays));
  }
  trace.last = phase;
  store.phaseCount += 1;
  setText("phase-label", phase.phase);
  setText("phase-detail", phaseDetail(phase));
  $("phase-detail").title =
    phase.focus_in_batch === false ? `sample ${store.focus} is not in this batch` : "";
  dirty.surface = true;
  if (phase.iteration !== undefined) setText("iteration", phase.iteration);
  dirty.network = true;
}

/** Which layer, and whose numbers: node and edge labels follow one sample, ΔW the whole batch. */
function phaseDetail(phase) {
  const layer = Number.isInteger(phase.layer) ? `layer ${phase.layer} · ` : "";
  if (phase.phase === "update")
    return `ΔW = step on the batch of ${store.config?.training.batch_size ?? "?"}`;
  return `${layer}sample ${phase.focus_sample ?? store.focus}`;
}

function resetTrace() {
  store.resetTrace();
}

function phaseParameters(arrays) {
  const out = { W: [], b: [] };
  for (const [name, array] of arrays) {
    const match = /^(W|b)\/(\d+)$/.exec(name);
    if (match) out[match[1]][Number(match[2])] = array;
  }
  return out;
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

function setWeights({ W, b }) {
  if (W.length) weights.W = W;
  if (b.length) weights.b = b;
}

// ------------------------------------------------------------------ sending

/** Builds a new run from `config` (network rebuilt), clearing what belonged to the old one. */
function sendConfig(config, { keepHistory = false } = {}) {
  store.config = structuredClone(config);
  configPending = true;
  if (!keepHistory) store.clearHistory();
  resetTrace();
  points.forget();
  if (socket.send({ type: "config", ...pick(config, ["network", "training", "data"]) })) {
    // The display rate: the server streams at most one frame per screen refresh we ask for.
    socket.send({ type: "set", speed: SPEEDS[Number($("speed").value)], fps: 60 });
    // A new run follows sample 0 unless told otherwise; keep following the chosen one.
    if (store.focus) socket.send({ type: "focus", sample: store.focus });
    controls?.fill(store.config);
    writeHash();
    relayout();
  }
}

function pick(object, keys) {
  return Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]));
}

function setOption(path, value, live) {
  let config = structuredClone(store.config);
  setPath(config, path, value);
  if (path[1] === "dataset") config = structure.withDataset(config, value, store.hello?.options);
  if (path[1] === "output") config.network.loss = structure.lossFor(value, config.network.loss);
  if (live) {
    lastSet = { path, previous: structuredClone(path.reduce((node, key) => node?.[key], confirmed)) };
    setPath(confirmed, path, structuredClone(value));
    store.config = config;
    socket.send({ type: "set", [path[1]]: value });
    resetTrace(); // a training option restarts the iteration being stepped
    controls.fill(config);
    writeHash();
  } else {
    // A structural option means a new network from the seed, not the weights of the old one.
    delete config.network.weights;
    delete config.network.biases;
    rebuild(config);
  }
}

/** A structural change: a new network from the seed, and the page says so. */
function rebuild(config) {
  sendConfig(config);
  showNotice("network rebuilt");
}

const setFeatures = (features) => rebuild(structure.withFeatures(store.config, features));
const limits = () => store.hello?.limits ?? {};

function toggleFrozen(layer, frozen) {
  const current = new Set(store.config.training.frozen ?? []);
  if (frozen) current.add(layer);
  else current.delete(layer);
  setOption(
    ["training", "frozen"],
    [...current].sort((a, b) => a - b),
    true,
  );
}

// ------------------------------------------------------------------ transport

function setPlaying(playing) {
  store.playing = playing;
  const button = $("play");
  // One button whose accessible name says what it will do ("Play" / "Pause").
  button.textContent = playing ? "Pause" : "Play";
  button.dataset.playing = String(playing);
  if (!playing && $("phase-label").textContent === "training") {
    setText("phase-label", stepMode ? "ready" : "paused");
    if (stepMode) setText("phase-detail", STEP_HINT);
  }
}

function togglePlay() {
  const next = !store.playing;
  if (next) {
    stepMode = false;
    setText("phase-detail", "");
  }
  if (next) resetTrace();
  socket.send({ type: next ? "play" : "pause" });
  setPlaying(next);
}

function step() {
  stepMode = false;
  if (store.playing) togglePlay();
  socket.send({ type: "step", unit: $("step-unit").value });
}

function reset() {
  store.clearHistory();
  resetTrace();
  socket.send({ type: "reset" });
  dirty.charts = true;
}

function setSpeed() {
  const speed = SPEEDS[Number($("speed").value)];
  setText("speed-readout", `${speed}×`);
  socket.send({ type: "set", speed });
}

// ------------------------------------------------------------------ panels and view flags

function buildPanels(hello) {
  controls = createControls($("controls"), {
    options: hello.options,
    onChange: setOption,
    onFeatures: setFeatures,
  });
  lessons = mountLessons($("lessons-panel"), { lessons: hello.lessons ?? [], loadLesson });
}

/** A lesson: its config becomes the run, its view flags apply, its id goes into the link. */
function loadLesson(lesson) {
  const view = lesson.view ?? {};
  store.view.lesson = lesson.id;
  // Every flag a lesson can set is set either way, so one lesson's view never leaks into the next.
  // A gradients lesson speaks of bars per layer: show the bars, not the history lines.
  applyView({
    biasNodes: Boolean(view.bias_nodes),
    logLoss: Boolean(view.log_loss),
    gradHistory: view.charts === "gradients" ? false : store.view.gradHistory,
  });
  sendConfig({ ...structuredClone(store.hello.defaults ?? {}), ...structuredClone(lesson.config) });
  if (view.compare?.length) startRace(view.compare);
  else if ($("race").dataset.racing === "1") toggleRace();
  stepMode = false;
  if (view.mode === "step") enterStepMode();
  if (view.charts) pointAt(document.querySelector(`[data-chart="${view.charts}"]`));
}

/** Step mode: paused, Step advances one phase, and the phase view says what to do next. */
const STEP_HINT = "press Step or →";

function enterStepMode() {
  if (store.playing) togglePlay(); // a new config arrives paused; this covers a late status too
  stepMode = true;
  $("step-unit").value = "phase";
  resetTrace();
  setText("phase-label", "ready");
  setText("phase-detail", STEP_HINT);
  dirty.network = true;
}

/** Draws the eye to the chart a lesson is about: scrolled into view and outlined for a while. */
function pointAt(chart) {
  if (!chart) return;
  chart.scrollIntoView({ block: "nearest" });
  chart.classList.add("highlight");
  setTimeout(() => chart.classList.remove("highlight"), 4000);
}

function applyView(view) {
  store.setView(view);
  const { presenter, hide, biasNodes, showTest, discretize, logLoss } = store.view;
  document.body.classList.toggle("presenter", Boolean(presenter));
  for (const panel of document.querySelectorAll("[data-panel]")) {
    panel.hidden = (hide ?? []).includes(panel.dataset.panel);
  }
  layoutColumns(hide ?? []);
  $("presenter").setAttribute("aria-pressed", String(Boolean(presenter)));
  $("bias-nodes").checked = Boolean(biasNodes);
  $("show-test").checked = showTest !== false;
  $("discretize").checked = Boolean(discretize);
  $("log-loss").checked = Boolean(logLoss);
  $("grad-history").checked = Boolean(store.view.gradHistory);
  relayout();
  writeHash();
}

/** Grid columns for the panels still shown; the last one shown takes the free width. */
function layoutColumns(hide) {
  const widths = { controls: "var(--side)", network: "minmax(0, 1fr)", output: "var(--output)" };
  const shown = Object.keys(widths).filter((panel) => !hide.includes(panel));
  const grows = shown.includes("network") ? "network" : shown.at(-1);
  const columns = shown.map((panel) => (panel === grows ? "minmax(0, 1fr)" : widths[panel]));
  document.querySelector(".layout").style.gridTemplateColumns = columns.join(" ");
}

function writeHash() {
  if (!store.config) return;
  const hash = `#${url.serialise(store.config, store.view)}`;
  if (hash !== location.hash) history.replaceState(null, "", hash);
}

let errorTimer = 0;

/** Server text goes in with textContent, never as HTML. */
function showError(text) {
  const box = $("error");
  box.querySelector(".message-text").textContent = text;
  box.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => (box.hidden = true), 12000);
}

let noticeTimer = 0;

function showNotice(text, lastsMs = 4000) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (box.hidden = true), lastsMs);
}

function setText(testId, value) {
  const node = $(testId);
  const text = String(value);
  if (node && node.textContent !== text) node.textContent = text;
}

// ------------------------------------------------------------------ the drawing loop

const canvases = {
  network: $("network-canvas"),
  surface: $("surface"),
  loss: $("loss-chart"),
  grads: $("grad-chart"),
};

/** Matches each canvas's backing store to its CSS size × devicePixelRatio. */
// CSS sizes of the canvases, kept by a ResizeObserver: reading clientWidth inside the drawing
// loop, right after text updates, would force a layout every frame.
const canvasSizes = new Map();
const resizeObserver = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const { width, height } = entry.contentRect;
    canvasSizes.set(entry.target, { width: Math.round(width), height: Math.round(height) });
  }
  relayout();
  dirty.surface = dirty.charts = true;
});

function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  if (!canvasSizes.has(canvas)) {
    canvasSizes.set(canvas, {
      width: Math.round(canvas.clientWidth),
      height: Math.round(canvas.clientHeight),
    });
  }
  const size = canvasSizes.get(canvas);
  const width = Math.max(1, size.width);
  const height = Math.max(1, size.height);
  if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width, height };
}

function relayout() {
  if (!store.config) return;
  const { width, height } = fitCanvas(canvases.network);
  scene.layout = network.layout(store.config.network.layers, width, height, store.view.biasNodes);
  scene.width = width;
  scene.height = height;
  structure.buildLayerControls($("layer-controls"), scene.layout, store.config, {
    resize: (column, delta) => rebuild(structure.withLayerResized(store.config, column, delta, limits())),
    freeze: toggleFrozen,
  });
  const hidden = store.config.network.layers.length - 2;
  setText("hidden-count", `${hidden} hidden layer${hidden === 1 ? "" : "s"}`);
  dirty.network = true;
}

/** Takes the newest frame into the scene: metrics, history, parameters, surfaces. */
function applyFrame({ header, arrays }) {
  store.frame = { header, arrays };
  store.addHistory(header);
  setWeights(phaseParameters(arrays));
  if (header.playing !== undefined) setPlaying(Boolean(header.playing));
  if (header.playing) resetTrace();
  setText("iteration", header.iteration);
  setText("epoch", header.epoch);
  setText("train-loss", lossText(header.train_loss));
  setText("test-loss", lossText(header.test_loss));
  setText("train-accuracy", percent(header.train_accuracy));
  setText("test-accuracy", percent(header.test_accuracy));
  if (store.playing) setText("phase-label", "training");
  buildThumbnails(arrays);
  selection.afterFrame(header);
  keepExactCopy(header);
  dirty.network = dirty.surface = dirty.charts = true;
}

function lossText(value) {
  return Number.isFinite(value) ? network.formatNumber(value) : "—";
}

function percent(value) {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : "—";
}

function buildThumbnails(arrays) {
  const { network: spec } = store.config;
  const discretize = store.view.discretize;
  const columns = [surfaceCanvases("inputs", arrays.get("surface/inputs"), "linear")];
  for (let l = 0; l < spec.layers.length - 2; l++) {
    columns.push(surfaceCanvases(`hidden/${l}`, arrays.get(`surface/hidden/${l}`), spec.activation));
  }
  const output = arrays.get("surface/output");
  columns.push(surfaceCanvases("output", output, spec.output, discretize));
  scene.canvases = columns;
  surfaceArray = output ?? surfaceArray;
}

function drawAll(now) {
  const started = performance.now();
  let drewFrame = false;
  if (pendingFrame) {
    applyFrame(pendingFrame);
    pendingFrame = null;
    drewFrame = true;
  }
  const last = store.trace.last;
  const animating = last && now - last.receivedAt < network.timings.UPDATE_MS + 50;
  if (store.config && scene.layout && (dirty.network || animating)) {
    const { ctx } = fitCanvas(canvases.network);
    ctx.fontScale = store.view.presenter ? 1.3 : 1; // labels a projector can show
    Object.assign(scene, { now, weights, selection: store.selection, featureNames: featureNames() });
    network.draw(ctx, { ...scene, trace: store.trace });
    dirty.network = false;
  }
  if (dirty.surface) drawSurface();
  if (dirty.charts) drawCharts();
  // Ack only after the frame is on screen, so a slow page slows the stream instead of queueing it.
  if (drewFrame) socket.send({ type: "ack" });
  // A running average of the drawing work per animation frame, for benchmarks/page_fps.py.
  store.drawMs = 0.95 * store.drawMs + 0.05 * (performance.now() - started);
  requestAnimationFrame(drawAll);
}

function featureNames() {
  return (store.config.data.features ?? []).map((name) => FEATURE_LABELS[name] ?? name);
}

function drawSurface() {
  const { ctx, width, height } = fitCanvas(canvases.surface);
  // Until the server answers, show the points as drawn (all as training points).
  const data = store.data && points.visible(store.data);
  // While stepping, ring the sample the phases actually follow (the chosen one may not be in
  // this batch; the engine then follows another).
  const followed = store.trace.last?.focus_sample ?? store.focus;
  const focus = points.unconfirmed ? null : followed;
  surface.draw(ctx, {
    width,
    height,
    surface: surfaceArray,
    output: store.config?.network.output,
    data,
    view: store.view,
    focus,
  });
  dirty.surface = false;
}

function drawCharts() {
  if (!document.querySelector('[data-panel="charts"]').hidden) {
    const loss = fitCanvas(canvases.loss);
    charts.drawLoss(loss.ctx, {
      ...loss,
      history: store.history,
      compare: store.compare,
      log: store.view.logLoss,
    });
    const grads = fitCanvas(canvases.grads);
    // The engine's per-layer norms of the newest frame, drawn as they are (nothing recomputed).
    scene.gradNorms = (store.frame?.header.layers ?? []).map((layer) => layer.grad_norm ?? null);
    charts.drawGradients(grads.ctx, {
      ...grads,
      norms: scene.gradNorms,
      grads: store.grads,
      history: Boolean(store.view.gradHistory),
    });
  }
  dirty.charts = false;
}

// ------------------------------------------------------------------ inspector and editing

function onNetworkClick(event) {
  if (!scene.layout) return;
  const box = canvases.network.getBoundingClientRect();
  const x = event.clientX - box.left;
  // The inspector opens on the side away from what was clicked, so it never hides it.
  $("inspector").classList.toggle("left", x > box.width / 2);
  selection.select(network.hitTest(scene, x, event.clientY - box.top));
}

// ------------------------------------------------------------------ the person's own points

function onPlaneClick(event) {
  const box = canvases.surface.getBoundingClientRect();
  const [x1, x2] = surface.toPlane(event.clientX - box.left, event.clientY - box.top, box.width, box.height);
  points.add(x1, x2, event.shiftKey);
}

async function importNetwork(file) {
  try {
    sendConfig(files.parseNetworkJson(await file.text()));
    showNotice("network imported");
  } catch (error) {
    showError(`${file.name}: ${error.message}`);
  }
}

/** The run with its current weights, for a reconnect: the exact float64 ones of the last `state`
 * or `export` when nothing has trained since (a paused page asks for an export after training, so
 * this is the usual case), else the newest frame's float32 copies (frames carry f32). */
function configWithWeights() {
  const config = structuredClone(store.config);
  const iteration = store.frame?.header.iteration ?? store.stateIteration;
  const exact = store.exact?.network?.weights && store.exact.iteration === iteration;
  if (!exact && !weights.W.length) return config;
  config.network.weights = exact ? store.exact.network.weights : weights.W.map((W) => files.nested(W));
  config.network.biases = exact ? store.exact.network.biases : weights.b.map((b) => Array.from(b.data));
  return config;
}

let exportWanted = false; // the person pressed Export JSON and waits for the server's copy
let exportAsked = -1; // the iteration an export was last asked for

/** A paused run that trained since the last exact copy asks for one (for a reconnect's sake). */
function keepExactCopy(header) {
  if (header.playing || store.exact?.iteration === header.iteration || exportAsked === header.iteration) return;
  exportAsked = header.iteration;
  socket.send({ type: "export" });
}

function onExport(message) {
  store.exact = { iteration: message.iteration, network: message.config.network };
  if (!exportWanted) return;
  exportWanted = false;
  // The server's own config and float64 weights: importing this file rebuilds the run exactly.
  const text = JSON.stringify(message.config, null, 2);
  files.download("backprop-lab-network.json", text, "application/json");
}

function exportNetwork() {
  exportWanted = true;
  if (!socket.send({ type: "export" })) {
    exportWanted = false;
    showError("Export JSON: not connected to the server");
  }
}

// ------------------------------------------------------------------ optimizer race

function startRace(variants) {
  store.compare = new Map();
  socket.send({ type: "compare", variants });
  $("race").textContent = "Stop race";
  $("race").dataset.racing = "1";
  dirty.charts = true;
}

function toggleRace() {
  if ($("race").dataset.racing === "1") {
    socket.send({ type: "compare", variants: [] });
    $("race").textContent = "Race optimizers";
    $("race").dataset.racing = "";
    store.compare = new Map();
    dirty.charts = true;
    return;
  }
  startRace(["sgd", "momentum", "rmsprop", "adam"].map((optimizer) => ({ label: optimizer, optimizer })));
}

// ------------------------------------------------------------------ wiring

function on(testId, event, handler) {
  $(testId).addEventListener(event, handler);
}

/** A file input: hands over the chosen file, then empties itself so the same file can come again. */
function onFile(testId, handler) {
  on(testId, "change", (event) => {
    const [file] = event.target.files;
    event.target.value = "";
    if (file) handler(file);
  });
}

on("play", "click", togglePlay);
on("step", "click", step);
on("reset", "click", reset);
on("speed", "change", setSpeed);
on("add-layer", "click", () => rebuild(structure.withHiddenLayerAdded(store.config, limits())));
on("remove-layer", "click", () => rebuild(structure.withHiddenLayerRemoved(store.config)));
on("presenter", "click", () => applyView({ presenter: !store.view.presenter }));
on("bias-nodes", "change", (event) => applyView({ biasNodes: event.target.checked }));
on("show-test", "change", (event) => applyView({ showTest: event.target.checked }));
on("discretize", "change", (event) => {
  applyView({ discretize: event.target.checked });
  if (store.frame) buildThumbnails(store.frame.arrays);
});
on("log-loss", "change", (event) => applyView({ logLoss: event.target.checked }));
on("grad-history", "change", (event) => applyView({ gradHistory: event.target.checked }));
on("race", "click", toggleRace);
on("clear-points", "click", () => points.clear());
onFile("upload-points", (file) => points.upload(file));
onFile("import-network", importNetwork);
on("export-network", "click", exportNetwork);
on("download-csv", "click", () =>
  files.download("loss-history.csv", files.historyCsv(store.history), "text/csv"),
);
on("download-png", "click", () => files.downloadView(canvases));
on("error-close", "click", () => ($("error").hidden = true));
on("focus-sample", "change", (event) => {
  const sample = Number(event.target.value);
  if (!Number.isInteger(sample) || sample < 0) return showError("follow sample: must be a whole number ≥ 0");
  // The server's next frame confirms it (store.focus); the iteration being stepped restarts.
  if (socket.send({ type: "focus", sample })) resetTrace();
  dirty.network = dirty.surface = true;
});
canvases.network.addEventListener("click", onNetworkClick);
// Double-click goes straight to typing a new value for the weight or bias.
canvases.network.addEventListener("dblclick", () => selection.edit());
canvases.surface.addEventListener("click", onPlaneClick);
for (const canvas of Object.values(canvases)) resizeObserver.observe(canvas);
window.addEventListener("hashchange", () => {
  if (!store.hello || location.hash === `#${url.serialise(store.config, store.view)}`) return;
  const parsed = url.parse(location.hash, store.hello.defaults);
  // A lesson link followed on an open page loads that lesson, as it does on a fresh one.
  const newLesson = parsed.view.lesson && parsed.view.lesson !== store.view.lesson;
  if (newLesson && !url.hasConfig(location.hash) && lessons?.select(parsed.view.lesson)) return;
  applyView(parsed.view);
  if (url.hasConfig(location.hash)) sendConfig(parsed.config);
});
// Shortcuts: Space plays/pauses and → steps wherever the focus is, except in a field that needs
// those keys itself (text and number fields, selects, checkboxes, sliders for →). On a focused
// button Space means play/pause too (its native press is suppressed, so one key is one action);
// Enter still presses the focused button.
function keyIsTheFields(event) {
  const field = event.target.closest?.("input, select, textarea, [contenteditable]");
  if (!field) return false;
  if (field.matches('input[type="range"]')) return event.key !== " "; // arrows move the slider
  return true;
}

function isShortcut(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return false;
  return (event.key === " " || event.key === "ArrowRight") && !keyIsTheFields(event);
}

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && store.selection) return selection.select(null);
  if (!isShortcut(event)) return;
  event.preventDefault(); // no scrolling, no native press of a focused button
  if (event.repeat && event.key === " ") return; // a held Space toggles once
  if (event.key === " ") togglePlay();
  else step();
});
// Chromium presses a focused button on Space's keyup: that press would be a second action.
document.addEventListener("keyup", (event) => {
  if (event.key === " " && isShortcut(event) && event.target.closest?.("button")) event.preventDefault();
});

setSpeed(); // the readout; the server hears the speed with the first config
applyView(url.parse(location.hash, {}).view);
requestAnimationFrame(drawAll);
