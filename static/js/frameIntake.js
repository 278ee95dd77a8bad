// Takes a frame into the page just before it is drawn: the store (frame, history, weights),
// the readouts in words and numbers, and the parts that follow each frame. Nothing here draws.

import { formatNumber } from "./network.js";
import { setText } from "./notices.js";
import { phaseParameters } from "./phases.js";

/** Parts: the store, `setPlaying(playing)`, `afterFrame(header)` (selection, exact copy). */
export function frameIntake({ store, setPlaying, afterFrame }) {
  return ({ header, arrays }) => {
    store.frame = { header, arrays };
    store.addHistory(header);
    store.setWeights(phaseParameters(arrays));
    if (header.playing !== undefined) setPlaying(Boolean(header.playing));
    if (header.playing) store.resetTrace();
    setText("iteration", header.iteration);
    setText("epoch", header.epoch);
    setText("train-loss", lossText(header.train_loss));
    setText("test-loss", lossText(header.test_loss));
    setText("train-accuracy", percent(header.train_accuracy));
    setText("test-accuracy", percent(header.test_accuracy));
    if (store.playing) setText("phase-label", "training");
    afterFrame(header);
  };
}

function lossText(value) {
  return Number.isFinite(value) ? formatNumber(value) : "—";
}

function percent(value) {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : "—";
}
