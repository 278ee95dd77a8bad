// Play, pause, step, reset and speed: the buttons, the shortcuts (Space, →) and step mode.

import { $, setText } from "./notices.js";
import { showSentence } from "./phases.js";

// The slider's stops as the server renders them: iterations per frame, "max" last (as many as
// fit in the time a frame leaves free; the server measures its own time per iteration).
export const speedStops = () => JSON.parse($("speed").dataset.stops);
const STEP_HINT = "press Step or →";
const STEP_SENTENCE =
  "Each Step computes one phase: forward through every layer, the loss, backward through every layer, " +
  "then the update.";

export class Transport {
  /** Parts: the `store` (whether it plays, the stepped trace), `send(message)` and
   * `redraw(...views)` (the loop's next tick redraws them). */
  constructor({ store, send, redraw }) {
    Object.assign(this, { store, send, redraw });
    this.stepMode = false; // a step-mode lesson waits for its first Step
    this.stops = speedStops();
  }

  /** Iterations per frame as the slider says. */
  get speed() {
    return this.stops[Number($("speed").value)];
  }

  setPlaying(playing) {
    this.store.playing = playing;
    const button = $("play");
    // One button whose accessible name says what it will do ("Play" / "Pause").
    button.textContent = playing ? "Pause" : "Play";
    button.dataset.playing = String(playing);
    if (!playing && $("phase-label").textContent === "training") {
      setText("phase-label", this.stepMode ? "ready" : "paused");
      if (this.stepMode) setText("phase-detail", STEP_HINT);
    }
  }

  togglePlay() {
    const { store } = this;
    const next = !store.playing;
    if (next) {
      this.stepMode = false;
      setText("phase-detail", "");
      showSentence("");
      store.resetTrace();
    }
    this.send({ type: next ? "play" : "pause" });
    this.setPlaying(next);
  }

  step() {
    this.stepMode = false;
    if (this.store.playing) this.togglePlay();
    this.send({ type: "step", unit: $("step-unit").value });
  }

  reset() {
    this.send({ type: "reset" }); // its state reply starts the new run's history
  }

  sendSpeed() {
    setText("speed-readout", this.speed === "max" ? "max" : `${this.speed}×`);
    this.send({ type: "set", speed: this.speed });
  }

  /** Step mode: paused, Step advances one phase, and the phase view says what to do next. */
  enterStepMode() {
    if (this.store.playing) this.togglePlay(); // a new config arrives paused; this covers a late status too
    this.stepMode = true;
    $("step-unit").value = "phase";
    this.store.resetTrace();
    setText("phase-label", "ready");
    setText("phase-detail", STEP_HINT);
    showSentence(STEP_SENTENCE);
    this.redraw("network");
  }

  /** Space plays/pauses and → steps wherever the focus is, except in a field that needs those
   * keys itself. On a focused button Space means play/pause too (its native press is
   * suppressed, so one key is one action); Enter still presses the focused button. */
  bindKeys(target) {
    target.addEventListener("keydown", (event) => {
      if (!isShortcut(event)) return;
      event.preventDefault(); // no scrolling, no native press of a focused button
      if (event.repeat && event.key === " ") return; // a held Space toggles once
      if (event.key === " ") this.togglePlay();
      else this.step();
    });
    // Chromium presses a focused button on Space's keyup: that press would be a second action.
    target.addEventListener("keyup", (event) => {
      if (event.key === " " && isShortcut(event) && event.target.closest?.("button")) event.preventDefault();
    });
  }
}

/** Text and number fields, selects, checkboxes keep their keys; a slider keeps → only. */
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
