// The optimizer race: clones of the run with other options, trained in lockstep on the server;
// the loss chart overlays their curves (store.compare).

export class Race {
  /** Parts: the `store` (the racers' curves, the schema's optimizers), `send(message)`,
   * `redraw(...views)` and the race `button`. */
  constructor({ store, send, redraw, button }) {
    Object.assign(this, { store, send, redraw, button });
  }

  get running() {
    return this.button.dataset.racing === "1";
  }

  start(variants) {
    const { store, button } = this;
    store.compare = new Map();
    this.variants = variants; // a restore after a server restart starts the race again
    this.send({ type: "compare", variants });
    button.textContent = "Stop race";
    button.dataset.racing = "1";
    this.redraw("charts");
  }

  stop() {
    const { store, button } = this;
    this.send({ type: "compare", variants: [] });
    button.textContent = "Race optimizers";
    button.dataset.racing = "";
    store.compare = new Map();
    this.redraw("charts");
  }

  /** The button: stops a race, or races every optimizer the schema offers from the current
   * weights. */
  toggle() {
    if (this.running) return this.stop();
    const entry = this.store.hello?.schema?.find((field) => field.path === "training.optimizer");
    this.start((entry?.choices ?? []).map(({ value }) => ({ label: value, optimizer: value })));
  }
}
