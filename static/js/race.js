// The optimizer race: clones of the run with other options, trained in lockstep on the server;
// the loss chart overlays their curves (store.compare).

import { $ } from "./notices.js";

const OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam"];

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

  /** The button: stops a race, or races the four optimizers from the current weights. */
  toggle() {
    if (this.running) this.stop();
    else this.start(OPTIMIZERS.map((optimizer) => ({ label: optimizer, optimizer })));
  }
}
