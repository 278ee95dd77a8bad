"""Structural changes that keep the weights: a new network spec that inherits every weight and
bias of the old one whose neurons are both still there, and initialises only the rest.

A neuron is named by its layer's place and its index: input i (or the feature it reads), hidden
layer h's neuron j counted from the input side, output j. A weight joins two such neurons and is
kept when both still exist; a bias belongs to one neuron and is kept with it. So:
- a change of loss, output or hidden activation keeps every weight;
- a neuron added to a hidden layer gets new incoming and outgoing weights, the others are kept;
- a hidden layer added after the last one gets new weights in and out (the output's incoming
  weights now come from other neurons); removing the last hidden layer drops the weights it had;
- with feature names, the first layer's rows follow their feature, wherever it moved;
- one sigmoid output becomes two softmax outputs (and back) with the same predictions: σ(z) is
  the softmax of the logits (0, z), and softmax(z₀, z₁)'s second output is σ(z₁ − z₀).
A change of init, init_scale or seed asks for new weights: do not carry them (see
`keeps_weights`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .inits import initial_weights
from .metrics import CLASS_ONE_ABOVE
from .network import _validate_spec

# Changing one of these means "start from other weights", so nothing is carried.
REINITIALISING_KEYS = ("init", "init_scale", "seed")

Array = np.ndarray


def keeps_weights(old_spec: dict[str, Any], new_spec: dict[str, Any]) -> bool:
    """Whether a change from old_spec to new_spec should carry the weights (no init change)."""
    old, new = _validate_spec(_structure(old_spec)), _validate_spec(_structure(new_spec))
    return all(old[key] == new[key] for key in REINITIALISING_KEYS)


def carry_weights(
    old_spec: dict[str, Any],
    new_spec: dict[str, Any],
    rng: np.random.Generator,
    old_features: Sequence[str] | None = None,
    new_features: Sequence[str] | None = None,
) -> dict[str, Any]:
    """new_spec (any valid network spec) with "weights" and "biases" filled in.

    old_spec: a spec with weights and biases (`Network.to_spec()`). Weights and biases whose
    neurons both exist in the new network are copied; the rest are drawn by new_spec's init and
    init_scale from rng (each new matrix is drawn whole at its new shape, then the kept block
    is written over it). Biases of new neurons start at 0, as in `Network.from_spec`; with
    new_spec's bias false every bias is 0. old_features/new_features name the inputs, so the
    first layer's rows follow their feature. ValueError names an invalid spec field.
    """
    old = _validate_spec(old_spec)
    if old.get("weights") is None or old.get("biases") is None:
        raise ValueError("old_spec: needs weights and biases (Network.to_spec() has them)")
    new = _validate_spec(_structure(new_spec))
    input_rows = _input_rows(old["layers"][0], new["layers"][0], old_features, new_features)
    new_count, old_count = len(new["layers"]) - 1, len(old["layers"]) - 1
    old_weights, old_biases = list(old["weights"]), list(old["biases"])
    head = _same_predictions_head(old, new, old_weights[-1], old_biases[-1])
    if head is not None:
        old_weights[-1], old_biases[-1] = head
    weights, biases = [], []
    for index, shape in enumerate(itertools.pairwise(new["layers"])):
        W = initial_weights(new["init"], new["init_scale"], shape, rng)
        source = _source_matrix(index, new_count, old_count)
        if source is not None:
            rows = input_rows if index == 0 else _matching_rows(old["layers"][index], shape[0])
            _copy_rows(W, old_weights[source], rows)
        b = np.zeros(shape[1])
        bias_source = _bias_source(index, new_count, old_count)
        if bias_source is not None and new["bias"]:
            kept = min(len(old_biases[bias_source]), shape[1])
            b[:kept] = old_biases[bias_source][:kept]
        weights.append(W.tolist())
        biases.append(b.tolist())
    return {**_structure(new_spec), "weights": weights, "biases": biases}


# The z above which one output says class 1 (metrics.CLASS_ONE_ABOVE of its value): a sigmoid's
# is the logit of that threshold, a linear output's the threshold itself.
Z_CLASS_ONE_ABOVE = {
    "sigmoid": math.log(CLASS_ONE_ABOVE / (1 - CLASS_ONE_ABOVE)),
    "linear": CLASS_ONE_ABOVE,
}


def _same_predictions_head(
    old: dict[str, Any], new: dict[str, Any], W: Array, b: Array
) -> tuple[Array, Array] | None:
    """The output layer's W, b rewritten when one output (class 1's score) becomes two softmax
    outputs (class 0, class 1) or back, so every point keeps its class: a sigmoid output keeps
    its very probabilities, a linear one its decision boundary. None for any other change."""
    old_width, new_width = old["layers"][-1], new["layers"][-1]
    if (old_width, new_width) == (1, 2) and new["output"] == "softmax":
        threshold = Z_CLASS_ONE_ABOVE.get(old["output"])
        if threshold is None:
            return None
        # logits (0, z - t): class 1's chance is σ(z - t), above one half where z is above t
        return np.column_stack([np.zeros_like(W[:, 0]), W[:, 0]]), np.array([0.0, b[0] - threshold])
    if (old_width, new_width) == (2, 1) and old["output"] == "softmax":
        threshold = Z_CLASS_ONE_ABOVE.get(new["output"])
        if threshold is None:
            return None
        return (W[:, 1] - W[:, 0])[:, None], np.array([b[1] - b[0] + threshold])  # z₁ − z₀ + t
    return None


def _structure(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without its parameters."""
    return {key: value for key, value in spec.items() if key not in ("weights", "biases")}


def _source_matrix(index: int, new_count: int, old_count: int) -> int | None:
    """The old weight matrix joining the same two layers as new matrix `index`, if any.

    Layers are named input, hidden 1 … hidden k (from the input side) and output; matrix
    `index` joins layer `index` to the next one. The output's incoming weights are kept only
    when they still come from the same layer.
    """
    if index == new_count - 1:
        return old_count - 1 if old_count == new_count else None
    return index if index < old_count - 1 else None


def _bias_source(index: int, new_count: int, old_count: int) -> int | None:
    """The old layer whose biases belong to the neurons of new layer `index + 1`, if any."""
    if index == new_count - 1:
        return old_count - 1  # the output's biases stay the output's
    return index if index < old_count - 1 else None


def _matching_rows(old_size: int, new_size: int) -> Array:
    """For each of new_size neurons, the old neuron it is (same index), -1 for a new one."""
    rows = np.full(new_size, -1)
    kept = min(old_size, new_size)
    rows[:kept] = np.arange(kept)
    return rows


def _input_rows(
    old_inputs: int,
    new_inputs: int,
    old_features: Sequence[str] | None,
    new_features: Sequence[str] | None,
) -> Array:
    """For each input of the new network, the old input it is (by feature name when both
    lists are given, else by position); -1 for a new one."""
    if old_features is None or new_features is None:
        return _matching_rows(old_inputs, new_inputs)
    if len(old_features) != old_inputs or len(new_features) != new_inputs:
        raise ValueError(
            f"features: {len(old_features)} old and {len(new_features)} new names for "
            f"{old_inputs} and {new_inputs} inputs"
        )
    where = {name: row for row, name in enumerate(old_features)}
    return np.array([where.get(name, -1) for name in new_features])


def _copy_rows(W: Array, W_old: Array, rows: Array) -> None:
    """W[r, :k] = W_old[rows[r], :k] for every new row r with an old one (rows[r] >= 0);
    k is the number of output neurons both have."""
    columns = min(W.shape[1], W_old.shape[1])
    kept = rows >= 0
    W[kept, :columns] = W_old[rows[kept], :columns]
