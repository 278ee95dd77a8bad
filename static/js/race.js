// The optimizer race: clones of the run with other options, trained in lockstep on the server;
// the loss chart overlays their curves (store.compare).

import { $ } from "./notices.js";

export class Race {
  constructor(app) {
    this.app = app;
  }

  get running() {
    return $("race").dataset.racing === "1";
  }

  start(variants) {
    const { store, socket, loop } = this.app;
    store.compare = new Map();
    this.variants = variants; // a restore after a server restart starts the race again
    socket.send({ type: "compare", variants });
    $("race").textContent = "Stop race";
    $("race").dataset.racing = "1";
    loop.invalidate("charts");
  }

  stop() {
    const { store, socket, loop } = this.app;
    socket.send({ type: "compare", variants: [] });
    $("race").textContent = "Race optimizers";
    $("race").dataset.racing = "";
    store.compare = new Map();
    loop.invalidate("charts");
  }

  /** The button: stops a race, or races every optimizer the schema offers from the current
   * weights. */
  toggle() {
    if (this.running) return this.stop();
    const entry = this.app.store.hello?.schema?.find((field) => field.path === "training.optimizer");
    this.start((entry?.choices ?? []).map(({ value }) => ({ label: value, optimizer: value })));
  }
}
