// What the person clicked in the network: asks the server to explain it, keeps its recent values,
// and re-asks when the run moves on. The inspector panel draws the replies.

import * as inspector from "./inspector.js";

const HISTORY_LENGTH = 200;
const PLAYING_REFRESH_MS = 1000;

export class Selection {
  /** `send(message)`; `weights` is the page's live {W, b}; `panel` the inspector's element;
   * `onChange()` asks for the network to be redrawn; `following()` says whether the page
   * follows a room's teacher (it shows the teacher's inspector then: its own asks would only
   * be refused). */
  constructor({ store, send, weights, panel, onChange, following = () => false }) {
    Object.assign(this, { store, send, weights, panel, onChange, following });
    this.history = [];
    this.canvas = null;
    this.inspectedAt = -1;
    this.askedAt = 0;
  }

  /** target: {kind, layer, i?, j} from the network's hit test, or null to close. */
  select(target) {
    const { store } = this;
    store.selection = target;
    store.inspect = null;
    this.onChange();
    if (!target) {
      this.panel.hidden = true;
      return;
    }
    this.history = [];
    this.editor = target.kind === "neuron" ? null : this.makeEditor();
    this.render();
    this.ask(store.frame?.header.iteration ?? -1);
  }

  ask(iteration) {
    this.inspectedAt = iteration;
    this.askedAt = performance.now();
    if (this.following()) return;
    this.focusAt = this.store.focus; // the reply explains this sample: another one asks again
    this.send({ type: "inspect", ...this.store.selection });
  }

  /** The server's explanation; replies to an earlier selection may still arrive, and are dropped. */
  receive(reply) {
    const selection = this.store.selection;
    if (!selection || reply.kind !== selection.kind || reply.layer !== selection.layer) return;
    if (reply.j !== selection.j || (selection.kind === "weight" && reply.i !== selection.i)) return;
    this.store.inspect = reply;
    this.render();
    if (this.canvas) inspector.drawHistory(this.canvas, this.history);
  }

  /** After each drawn frame: extend the value history; ask again when the run has moved on. */
  afterFrame(header) {
    const { store } = this;
    if (!store.selection) return;
    if (store.selection.kind !== "neuron") {
      this.history.push(this.value());
      if (this.history.length > HISTORY_LENGTH) this.history.shift();
      if (this.canvas) inspector.drawHistory(this.canvas, this.history);
    }
    // Every message makes the server send a frame, so only a changed iteration or followed
    // sample asks again (else inspect → frame → inspect would never stop); while playing, once
    // a second at most.
    const recently = performance.now() - this.askedAt < PLAYING_REFRESH_MS;
    const same = header.iteration === this.inspectedAt && store.focus === this.focusAt;
    if (same || (store.playing && recently)) return;
    this.ask(header.iteration);
  }

  value() {
    const { kind, layer, i, j } = this.store.selection;
    const array = kind === "weight" ? this.weights.W[layer] : this.weights.b[layer];
    if (!array) return Number.NaN;
    return kind === "weight" ? array.data[i * array.shape[1] + j] : array.data[j];
  }

  /** Puts the cursor in the value box (double-click on a weight or bias). */
  edit() {
    this.editor?.querySelector("input").select();
  }

  /** The value box of the current selection, made once so a re-render keeps what is typed. */
  makeEditor() {
    const { store, send } = this;
    return inspector.createEditor((value) => {
      const { kind, layer, i, j } = store.selection;
      const message = { type: "edit", param: kind === "bias" ? "b" : "W", layer, j, value };
      if (kind === "weight") message.i = i;
      send(message);
      send({ type: "inspect", ...store.selection });
    });
  }

  render() {
    this.canvas = inspector.render(this.panel, this.store.selection, this.store.inspect, {
      editor: this.editor,
      onClose: () => this.select(null),
      weightLayers: (this.store.config?.network.layers.length ?? 2) - 1, // names the output column
    });
  }
}
