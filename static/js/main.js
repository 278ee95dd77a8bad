// Wires the page: socket → sync/phases/loop → store → views, and controls → messages.
// Each part gets the parts it uses, named; the calls between parts go through the callbacks
// given here.

import { bindControls } from "./controls.js";
import * as files from "./files.js";
import { bindKeyboard } from "./keyboard.js";
import { Legends } from "./legend.js";
import { mountLessons } from "./lessons.js";
import { frameIntake } from "./frameIntake.js";
import { Loop } from "./loop.js";
import * as network from "./network.js";
import { $, setText, showError, showNotice } from "./notices.js";
import { phaseIntake } from "./phases.js";
import { mountRecurrentTools } from "./recurrentTools.js";
import { RecurrentSelection } from "./recurrentSelection.js";
import { isRecurrent, isRecurrentReply, recurrentPhaseIntake } from "./recurrentView.js";
import { PlanePoints } from "./points.js";
import { Race } from "./race.js";
import { Resume } from "./resume.js";
import { Room } from "./room.js";
import { Selection } from "./selection.js";
import { Socket } from "./socket.js";
import { Store } from "./store.js";
import { buildLayerControls } from "./structure.js";
import * as surface from "./surface.js";
import { Sync } from "./sync.js";
import { Transport } from "./transport.js";
import * as url from "./url.js";
import { View } from "./view.js";

const store = new Store();
let lessons = null; // the lessons panel, built by the first hello (buildPanels)
const socket = new Socket(socketUrl(), {
  onOpen: () => sync.opened(),
  onClose: (retryMs) => {
    resume.closed();
    sync.closed(retryMs);
  },
  onIdle: (event) => resume.idle(event),
  onText: (message) => textHandlers[message.type]?.(message),
  onBinary: (decoded) => receiveBinary(decoded),
});
const send = (message) => socket.send(message);
const redraw = (...views) => loop.invalidate(...views);
const setPlaying = (playing) => transport.setPlaying(playing);
const points = new PlanePoints({
  store,
  send: (list) => send({ type: "points", points: list }),
  onChange: () => redraw("surface"),
  showError,
  showNotice,
  chosenTarget: () => Number($("point-class").value),
});
const loop = new Loop({
  store,
  send,
  points,
  onFrame: frameIntake({
    store,
    setPlaying,
    afterFrame: (header) => {
      selection.afterFrame(header);
      recurrentTools.afterFrame(header);
      resume.keepExactCopy(header);
    },
  }),
  onLayout: (layout) => showLayerControls(layout),
  onKind: (recurrent) => recurrentTools.onKind(recurrent),
  following: () => room.following,
});
const transport = new Transport({ store, send, redraw });
const view = new View({ store, relayout: () => loop.relayout() });
const race = new Race({ store, send, redraw, button: $("race") });
const selection = new Selection({
  store,
  send,
  weights: store.weights,
  panel: $("inspector"),
  onChange: () => redraw("network"),
  following: () => room.following,
});
const resume = new Resume({
  store,
  socket,
  setPlaying,
  showState: (state) => sync.state(state),
  sendConfig: (config) => sync.sendConfig(config),
  raceVariants: () => (race.running ? race.variants : null),
  following: () => room.following,
});
const sync = new Sync({
  store,
  send,
  setPlaying,
  speed: () => transport.speed,
  view,
  loop,
  points,
  resume,
  buildPanels,
});
const room = new Room({
  store,
  send,
  selection,
  showLesson: (id) => lessons?.select(id, { load: false }),
  dropPendingFrames: () => loop.dropPendingFrames(),
});
// A recurrent run: what is selected on its unrolled view, and the tools over it.
const recurrentSelection = new RecurrentSelection({
  store,
  send,
  canvas: loop.canvases.network,
  scene: loop.scene,
  panel: $("inspector"),
  redraw,
  setGate: (index) => recurrentTools.setGate(index),
});
const recurrentTools = mountRecurrentTools(loop.canvases.network.parentElement, {
  store,
  scene: loop.scene,
  redraw,
  sendConfig: (config) => sync.sendConfig(config),
  selection: recurrentSelection,
});
const receivePhase = phaseIntake({ store, scene: loop.scene, redraw });
const receiveRecurrentPhase = recurrentPhaseIntake({ store, redraw });
// The text messages by type: the run's (sync.js), the replies the panels show, the room's.
const textHandlers = room.withRoomHandlers({
  ...sync.handlers,
  inspect: (reply) => (isRecurrentReply(reply) ? recurrentSelection.receive(reply) : selection.receive(reply)),
  cost: (message) => lessons?.showCostRow(message),
});
// A handle for tests and the curious.
window.backpropLab = { store, socket, weights: store.weights, scene: loop.scene, settled };

/** A binary message: a frame goes to the loop's queue, a phase into the stepped trace. Frames
 * and phases say which run they show: one of another run (the page changed it meanwhile) is
 * released unseen. */
function receiveBinary(decoded) {
  if (decoded.header.run !== store.run) {
    if (decoded.header.type !== "phase") send({ type: "ack" });
    return;
  }
  if (decoded.header.type === "phase") {
    loop.settlePendingFrames();
    if (decoded.header.kind === "recurrent") return receiveRecurrentPhase(decoded);
    return receivePhase(decoded);
  }
  sync.takeFocus(decoded.header);
  loop.receive(decoded);
}

/** True once the server has confirmed the page's run and its frame is on screen: no config or
 * change awaits a reply and no frame awaits drawing (tests wait for it before they measure). */
function settled() {
  const confirmed = !sync.configPending && !sync.changePending;
  return confirmed && store.frame?.header.run === store.run && store.pendingFrames.length === 0;
}

/** The +/− and freeze controls over the network, at the layout's columns, and the layer count. */
function showLayerControls(layout) {
  const outputWidths = store.allowed?.["network.layers[-1]"]; // the engine's: a two-class set 1 or 2
  buildLayerControls($("layer-controls"), layout, store.config, outputWidths, {
    resize: (column, delta) => sync.resizeLayer(column, delta),
    output: (width) => sync.setOutputWidth(width),
    freeze: (layer, frozen) => sync.toggleFrozen(layer, frozen),
  });
  const hidden = store.config.network.layers.length - 2;
  setText("hidden-count", `${hidden} hidden layer${hidden === 1 ? "" : "s"}`);
}

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

/** The controls and lessons panels, once the first hello has said what there is to choose. */
function buildPanels(hello) {
  const controls = bindControls($("controls"), {
    schema: hello.schema,
    onChange: (path, value) => sync.change(path, value),
  });
  lessons = mountLessons($("lessons-panel"), {
    lessons: hello.lessons ?? [],
    loadLesson,
    requestCost: (lesson) => send({ type: "cost", lesson }),
    // A follower's network is the teacher's: it cannot ask the server about it.
    requestOwnCost: (lesson) => !room.following && send({ type: "cost", lesson, current: true }),
    following: () => room.following,
  });
  return { controls, lessons };
}

/** A lesson: its config becomes the run, its view flags apply, its id goes into the link. */
function loadLesson(lesson) {
  const hints = lesson.view ?? {};
  store.view.lesson = lesson.id;
  // Every flag a lesson can set is set either way, so one lesson's view never leaks into the next.
  // A gradients lesson speaks of bars per layer: show the bars, not the history lines.
  view.apply({
    biasNodes: Boolean(hints.bias_nodes),
    logLoss: Boolean(hints.log_loss),
    gradHistory: hints.charts === "gradients" ? false : store.view.gradHistory,
  });
  sync.sendConfig({ ...structuredClone(store.hello.defaults ?? {}), ...structuredClone(lesson.config) });
  if (hints.compare?.length) race.start(hints.compare);
  else if (race.running) race.toggle();
  recurrentTools.applyHints(lesson); // unrolled, compare_cell, the gradient-through-time chart
  transport.stepMode = false;
  if (hints.mode === "step") transport.enterStepMode();
  if (hints.charts) view.pointAt(document.querySelector(`[data-chart="${hints.charts}"]`));
}

function onNetworkClick(event) {
  if (isRecurrent(store)) return recurrentSelection.click(event);
  if (!loop.scene.layout) return;
  const box = loop.canvases.network.getBoundingClientRect();
  const x = event.clientX - box.left;
  // The inspector opens on the side away from what was clicked, so it never hides it.
  $("inspector").classList.toggle("left", x > box.width / 2);
  selection.select(network.hitTest(loop.scene, x, event.clientY - box.top));
}

function onPlaneClick(event) {
  const box = loop.canvases.surface.getBoundingClientRect();
  const [x1, x2] = surface.toPlane(event.clientX - box.left, event.clientY - box.top, box.width, box.height);
  points.add(x1, x2, event.shiftKey);
}

/** A link followed on the open page: a lesson link loads that lesson, as on a fresh page. */
function onHashChange() {
  const schema = store.hello?.schema;
  if (!store.hello || location.hash === `#${url.serialise(store.config, store.view, schema)}`) return;
  const parsed = url.parse(location.hash, store.hello.defaults, schema);
  const newLesson = parsed.view.lesson && parsed.view.lesson !== store.view.lesson;
  if (newLesson && !url.hasConfig(location.hash, schema) && lessons?.select(parsed.view.lesson)) return;
  view.apply(parsed.view);
  if (url.hasConfig(location.hash, schema)) sync.sendConfig(parsed.config);
}

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

on("play", "click", () => transport.togglePlay());
on("step", "click", () => transport.step());
on("reset", "click", () => transport.reset());
on("speed", "change", () => transport.sendSpeed());
on("add-layer", "click", () => sync.addLayer());
on("remove-layer", "click", () => sync.removeLayer());
on("presenter", "click", () => view.apply({ presenter: !store.view.presenter }));
on("bias-nodes", "change", (event) => view.apply({ biasNodes: event.target.checked }));
on("show-test", "change", (event) => view.apply({ showTest: event.target.checked }));
on("discretize", "change", (event) => {
  view.apply({ discretize: event.target.checked });
  if (store.frame) loop.buildThumbnails(store.frame.arrays);
});
on("log-loss", "change", (event) => view.apply({ logLoss: event.target.checked }));
on("grad-history", "change", (event) => view.apply({ gradHistory: event.target.checked }));
on("race", "click", () => race.toggle());
on("clear-points", "click", () => points.clear());
onFile("upload-points", (file) => points.upload(file));
onFile("import-network", (file) => sync.importNetwork(file));
on("export-network", "click", () => sync.exportNetwork());
on("download-csv", "click", () => files.download("loss-history.csv", files.historyCsv(store.history), "text/csv"));
on("download-png", "click", () => files.downloadView(loop.canvases));
on("error-close", "click", () => ($("error").hidden = true));
on("focus-sample", "change", (event) => sync.sendFocus(Number(event.target.value)));
loop.canvases.network.addEventListener("click", onNetworkClick);
// Double-click goes straight to typing a new value for the weight or bias.
loop.canvases.network.addEventListener("dblclick", () =>
  isRecurrent(store) ? recurrentSelection.edit() : selection.edit(),
);
loop.canvases.surface.addEventListener("click", onPlaneClick);
window.addEventListener("hashchange", onHashChange);
transport.bindKeys(document);
// Keys for the network, the plane and the file buttons.
bindKeyboard({ store, canvases: loop.canvases, redraw, selection, recurrentSelection, points });
new Legends($("plane-legend"), $("network-legend"), store);

transport.sendSpeed(); // the readout; the server hears the speed with the first config
view.apply(url.parse(location.hash, {}, []).view); // the run's part waits for hello.schema
loop.start();
