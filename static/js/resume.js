// Nothing lost on a reconnect. After a drop the socket comes back with the session's token and
// the server hands back the very session (weights, optimizer, iteration, race, playing). When
// the server no longer has it (a restart, or past the grace period), the page rebuilds its run
// from its own exact copy, the newest `export` (config, float64 weights and progress), and says
// on screen what could not be restored. An idle session closed by the server waits for a click.

import { $, showError, showNotice } from "./notices.js";

// While playing, the page asks for an exact copy this often: what a server restart can lose.
const EXACT_COPY_MS = 10000;

export class Resume {
  constructor(app) {
    this.app = app;
    this.wasPlaying = false; // playing when the socket dropped
    this.pending = null; // a restore sent and not yet confirmed: {state, lost, at}
    this.button = resumeButton(() => this.resumeNow());
    setInterval(() => this.keepCopyWhilePlaying(), EXACT_COPY_MS);
  }

  // ---------------------------------------------------------------- the socket's life

  closed() {
    this.wasPlaying = this.app.store.playing;
  }

  /** The server closed an idle session: say why, and offer to resume it. */
  idle(event) {
    this.closed();
    this.app.transport.setPlaying(false);
    const badge = $("connection");
    badge.textContent = `closed: ${event.reason || "idle"}`;
    badge.dataset.state = "down";
    this.button.hidden = false;
    this.button.focus();
  }

  resumeNow() {
    this.button.hidden = true;
    $("connection").textContent = "reconnecting…";
    this.app.socket.connect();
  }

  /** Every hello: keep the token; on a reconnect, carry on with the kept session or restore. */
  hello(message, firstTime) {
    this.app.socket.token = message.session ?? null;
    if (firstTime) return;
    if (message.resumed) {
      this.app.sync.state(message.state);
      showNotice("reconnected: your run carried on where it was");
      return;
    }
    this.restore(message);
  }

  // ---------------------------------------------------------------- restoring from the copy

  /** The server does not know our run: rebuild it from the newest exact copy. */
  restore(hello) {
    const { store, sync, socket, race } = this.app;
    const latest = store.frame?.header.iteration ?? store.stateIteration;
    const copy = store.exact?.network?.weights ? store.exact : null;
    const lost = [];
    let config;
    if (copy) {
      config = structuredClone(store.config);
      config.network.weights = copy.network.weights;
      config.network.biases = copy.network.biases;
    } else {
      config = sync.configWithWeights(); // the newest frame's float32 weights
      if (latest > 0) lost.push("the exact weights (a frame's float32 copy was used)");
    }
    const at = copy ? copy.iteration : 0;
    if (copy && at < latest) lost.push(`iterations ${at + 1}–${latest}, trained after the last exact copy`);
    if (!copy?.progress && at > 0) lost.push("the optimizer state and the batch order");
    if (!copy && latest > 0) lost.push(`the iteration count (${latest})`);
    trimHistory(store.history, at);
    this.pending = { state: hello.state, lost, at };
    sync.sendConfig(config);
    if (copy?.progress && at > 0) socket.send({ type: "restore", progress: copy.progress });
    if (race.running && race.variants) {
      socket.send({ type: "compare", variants: race.variants });
      lost.push("the racers' own progress (the race starts again from the restored run)");
    }
    if (this.wasPlaying) socket.send({ type: "play" });
    const what = `The server no longer had your session: your run was restored at iteration ${at}`;
    showNotice(lost.length ? `${what}. Not restored: ${lost.join("; ")}.` : `${what}, exactly.`, 15000);
  }

  /** A `state` reply: the restored run has arrived once it reaches the copy's iteration. */
  confirmed(state) {
    if (this.pending && (state.iteration ?? 0) >= this.pending.at) this.pending = null;
  }

  /** An error while restoring: true when handled here (sync.error then does nothing more). */
  refused(error) {
    if (!this.pending) return false;
    const field = error.field ?? "";
    if (field.startsWith("progress")) {
      this.pending = null;
      showError(`Not restored: the optimizer state and iteration (${error.message}); training goes on from the restored weights.`);
      return true;
    }
    // The run itself was refused: the page shows what the server runs, its default.
    const { state } = this.pending;
    this.pending = null;
    this.app.store.run = null;
    this.app.sync.state(state);
    showError(`Your run could not be restored (${error.message}); this is the server's default run.`);
    return true;
  }

  keepCopyWhilePlaying() {
    const { store, socket, room } = this.app;
    // A follower's page plays the teacher's run: it has none of its own to copy (sync.js).
    if (store.playing && socket.open && room?.role !== "follower") socket.send({ type: "export" });
  }
}

/** Drops loss points past `iteration`: they belong to training the restore could not bring back. */
function trimHistory(history, iteration) {
  const keep = history.iteration.findLastIndex((at) => at <= iteration) + 1;
  for (const key of Object.keys(history)) history[key].length = Math.min(history[key].length, keep);
}

function resumeButton(onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.testid = "resume";
  button.className = "small";
  button.textContent = "Resume";
  button.title = "Reconnect and carry on with your run";
  button.hidden = true;
  button.addEventListener("click", onClick);
  $("connection").after(button);
  return button;
}
