// Step mode in words: the short readout (which layer, whose numbers) and one sentence saying
// what the phase computes. Layers are named as the network's column titles name them; losses,
// activations and optimizers by the labels hello.schema gives them.

import { choiceLabel } from "./controls.js";

/** The column a phase's `layer` (a weight layer, 0-based) feeds: "hidden 1" … "output". */
export function fedColumn(layer, weightLayers) {
  return layer === weightLayers - 1 ? "output" : `hidden ${layer + 1}`;
}

/** The readout beside the phase name: "hidden 1 · sample 3", "output · sample 64 · not in
 * this batch", "ΔW on the batch of 10". */
export function phaseDetail(phase, config) {
  const weightLayers = (config?.network.layers.length ?? 2) - 1;
  if (phase.phase === "update") return `ΔW on the batch of ${batchSize(phase, config)}`;
  const outside = phase.focus_in_batch === false ? " · not in this batch" : "";
  const sample = `sample ${phase.focus_sample ?? 0}${outside}`;
  return Number.isInteger(phase.layer) ? `${fedColumn(phase.layer, weightLayers)} · ${sample}` : sample;
}

/** One sentence: what this phase computes, with the run's own activation, loss and optimizer. */
export function phaseSentence(phase, config, schema) {
  const network = config?.network ?? {};
  const label = (path, value) => (value === undefined ? "f" : choiceLabel(schema, path, value));
  const weightLayers = (network.layers?.length ?? 2) - 1;
  const column = Number.isInteger(phase.layer) ? fedColumn(phase.layer, weightLayers) : "";
  const isOutput = column === "output";
  // The chosen sample is always the one shown; outside the batch it is not trained on.
  const whose =
    phase.phase !== "update" && phase.focus_in_batch === false
      ? ` Numbers shown: sample ${phase.focus_sample}, not in this batch: its own pass with ` +
        "the batch's weights; it adds nothing to this update."
      : "";
  const f = label("network.activation", network.activation);
  const out = label("network.output", network.output);
  const loss = label("network.loss", network.loss);
  const words = {
    forward: isOutput
      ? `Forward into the output: z = a·W + b, then ŷ = ${out}(z), the prediction.`
      : `Forward into ${column}: z = a·W + b from the layer before, then a = ${f}(z).`,
    loss: `Loss: ${loss} compares the prediction ŷ with the target y, averaged over the batch.`,
    backward: isOutput
      ? "Backward at the output: δ = ∂L/∂z from the loss, and ∂L/∂W = a·δ for the weights into it."
      : `Backward into ${column}: δ = (δ of the next layer · Wᵀ) × ${f}′(z), and ∂L/∂W = a·δ.`,
  };
  if (phase.phase === "update") return updateSentence(phase, config, schema);
  return words[phase.phase] ? words[phase.phase] + whose : "";
}

function updateSentence(phase, config, schema) {
  if (phase.diverged) return "Update: not applied, the step would diverge (the run pauses).";
  const training = config?.training ?? {};
  const mean = `the mean gradient over the batch of ${batchSize(phase, config)}`;
  const lr = training.lr ?? "lr";
  const penalised = training.l1 || training.l2 || training.clip;
  const plain = schema && readsOnlyTheRate(schema, training.optimizer) && !penalised;
  if (plain) return `Update: every weight steps against ${mean}: W ← W − ${lr} · ∂L/∂W.`;
  const optimizer = choiceLabel(schema, "training.optimizer", training.optimizer);
  return `Update: ${optimizer} turns ${mean} into each weight's step ΔW (learning rate ${lr}): W ← W + ΔW.`;
}

/** Plain gradient descent: an optimizer that reads no hyperparameter but the learning rate (the
 * schema lists, for each of the others, the optimizers that read it). */
function readsOnlyTheRate(schema, optimizer) {
  const readBy = (entry) => entry.when?.path === "training.optimizer" && entry.when.values.includes(optimizer);
  return !schema.some(readBy);
}

function batchSize(phase, config) {
  return phase.batch_size ?? config?.training.batch_size ?? "?";
}
