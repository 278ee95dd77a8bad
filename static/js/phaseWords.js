// Step mode in words: the short readout (which layer, whose numbers) and one sentence saying
// what the phase computes. Layers are named as the network's column titles name them.

/** The column a phase's `layer` (a weight layer, 0-based) feeds: "hidden 1" … "output". */
export function fedColumn(layer, weightLayers) {
  return layer === weightLayers - 1 ? "output" : `hidden ${layer + 1}`;
}

/** The readout beside the phase name: "hidden 1 · sample 3", "ΔW on the batch of 10". */
export function phaseDetail(phase, config) {
  const weightLayers = (config?.network.layers.length ?? 2) - 1;
  if (phase.phase === "update") return `ΔW on the batch of ${batchSize(phase, config)}`;
  const sample = `sample ${phase.focus_sample ?? 0}`;
  return Number.isInteger(phase.layer) ? `${fedColumn(phase.layer, weightLayers)} · ${sample}` : sample;
}

/** One sentence: what this phase computes, with the run's own activation, loss and optimizer. */
export function phaseSentence(phase, config, chosenSample) {
  const network = config?.network ?? {};
  const weightLayers = (network.layers?.length ?? 2) - 1;
  const column = Number.isInteger(phase.layer) ? fedColumn(phase.layer, weightLayers) : "";
  const isOutput = column === "output";
  const sample = phase.focus_sample ?? chosenSample;
  // The chosen sample is followed when it is in the batch; otherwise the engine follows another.
  const whose =
    phase.phase !== "update" && Number.isInteger(chosenSample) && sample !== chosenSample
      ? ` Numbers shown: sample ${sample} (sample ${chosenSample} is not in this batch).`
      : "";
  const f = network.activation ?? "f";
  const words = {
    forward: isOutput
      ? `Forward into the output: z = a·W + b, then ŷ = ${network.output ?? "f"}(z), the prediction.`
      : `Forward into ${column}: z = a·W + b from the layer before, then a = ${f}(z).`,
    loss: `Loss: ${lossName(network.loss)} compares the prediction ŷ with the target y, averaged over the batch.`,
    backward: isOutput
      ? "Backward at the output: δ = ∂L/∂z from the loss, and ∂L/∂W = a·δ for the weights into it."
      : `Backward into ${column}: δ = (δ of the next layer · Wᵀ) × ${f}′(z), and ∂L/∂W = a·δ.`,
  };
  if (phase.phase === "update") return updateSentence(phase, config);
  return words[phase.phase] ? words[phase.phase] + whose : "";
}

function updateSentence(phase, config) {
  if (phase.diverged) return "Update: not applied, the step would diverge (the run pauses).";
  const training = config?.training ?? {};
  const mean = `the mean gradient over the batch of ${batchSize(phase, config)}`;
  const lr = training.lr ?? "lr";
  const plain = (training.optimizer ?? "sgd") === "sgd" && !training.l1 && !training.l2;
  if (plain) return `Update: every weight steps against ${mean}: W ← W − ${lr} · ∂L/∂W.`;
  const optimizer = training.optimizer ?? "the optimizer";
  return `Update: ${optimizer} turns ${mean} into each weight's step ΔW (learning rate ${lr}): W ← W + ΔW.`;
}

function batchSize(phase, config) {
  return phase.batch_size ?? config?.training.batch_size ?? "?";
}

const LOSS_NAMES = { bce: "binary cross-entropy", ce: "cross-entropy", mse: "squared error" };

function lossName(loss) {
  return LOSS_NAMES[loss] ?? loss ?? "the loss";
}
