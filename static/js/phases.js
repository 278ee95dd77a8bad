// Step mode's stream of phases: each one extends the store's trace of the iteration being
// stepped, the update phase moves the weights, and the readout says whose numbers are shown.

import { $, setText } from "./notices.js";
import { phaseDetail, phaseSentence } from "./phaseWords.js";

/** Takes each `phase` message (forward, loss, backward or update) into the store's trace;
 * parts: the `store`, the loop's `scene` (the update phase's animation starts there) and
 * `redraw(...views)`. */
export function phaseIntake({ store, scene, redraw }) {
  return ({ header, arrays }) => {
    const phase = { ...header, receivedAt: performance.now() };
    if (phase.phase === "forward" && phase.layer === 0) store.resetTrace();
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
      const { W, b } = store.weights;
      scene.update = { startedAt: phase.receivedAt, before: { W: [...W], b: [...b] } };
      store.setWeights(phaseParameters(arrays));
    }
    trace.last = phase;
    store.phaseCount += 1;
    setText("phase-label", phase.phase);
    setText("phase-detail", phaseDetail(phase, store.config));
    showSentence(phaseSentence(phase, store.config, store.hello?.schema));
    if (phase.iteration !== undefined) setText("iteration", phase.iteration);
    redraw("surface", "network");
  };
}

/** The sentence line under the top bar (empty: hidden). */
export function showSentence(text) {
  const line = $("phase-sentence");
  if (!line) return;
  line.textContent = text;
  line.hidden = !text;
}

/** The `W/l` and `b/l` arrays of a frame or an update phase, by layer. */
export function phaseParameters(arrays) {
  const out = { W: [], b: [] };
  for (const [name, array] of arrays) {
    const match = /^(W|b)\/(\d+)$/.exec(name);
    if (match) out[match[1]][Number(match[2])] = array;
  }
  return out;
}
