"""Health figures of a network after an iteration: accuracy, norms, dead and saturated units.

These drive the vanishing/exploding-gradient views. A figure that does not apply to a layer (dead
units of a tanh layer, saturation of a ReLU layer, ratios before the first update) is None.
"""

from __future__ import annotations

import math

import numpy as np

# A unit counts as saturated where its derivative is nearly gone: tanh' = 1 - a² < 0.02 and
# sigmoid' = a(1 - a) < 0.01 there.
TANH_SATURATION = 0.99
SIGMOID_SATURATION = 0.01


# One output is class 1's score: class 1 where it is above this (a sigmoid's one half).
CLASS_ONE_ABOVE = 0.5


def accuracy(Yhat: np.ndarray, Y: np.ndarray) -> float | None:
    """Share of samples classified right: argmax over columns, or Yhat > 0.5 for one column.

    Yhat, Y: (n, k). None for an empty set.
    """
    if len(Y) == 0:
        return None
    if Y.shape[1] == 1:
        predicted, actual = Yhat[:, 0] > CLASS_ONE_ABOVE, Y[:, 0] > CLASS_ONE_ABOVE
    else:
        predicted, actual = np.argmax(Yhat, axis=1), np.argmax(Y, axis=1)
    return share(predicted == actual)


def share(flags: np.ndarray) -> float:
    """Share of True entries: np.mean's exact value (a count over the size, one rounding) without
    its Python-level wrapper; these figures are computed for every frame of every session."""
    return np.count_nonzero(flags) / flags.size


def frobenius(matrix: np.ndarray) -> float:
    """np.linalg.norm(matrix) bit for bit (the same ravel, dot and square root), minus its
    argument handling."""
    flat = matrix.ravel(order="K")
    return math.sqrt(flat.dot(flat))


def dead_fraction(A: np.ndarray, activation: str) -> float | None:
    """Share of ReLU units that output exactly 0 for every sample (they can no longer learn).

    A: (n, k) activations over the training set. None unless the activation is "relu".
    """
    if activation != "relu" or A.size == 0:
        return None
    return share(np.all(A == 0, axis=0))


def saturated_fraction(A: np.ndarray, activation: str) -> float | None:
    """Share of (sample, unit) pairs in a flat end of tanh (|a| > 0.99) or sigmoid (a < 0.01 or
    a > 0.99). A: (n, k). None for other activations."""
    if A.size == 0:
        return None
    if activation == "tanh":
        return share(np.abs(A) > TANH_SATURATION)
    if activation == "sigmoid":
        return share((A < SIGMOID_SATURATION) | (A > 1 - SIGMOID_SATURATION))
    return None


def norm_ratio(numerator: np.ndarray | None, denominator: np.ndarray) -> float | None:
    """‖numerator‖ / ‖denominator‖ (Frobenius); None without a numerator or for a zero matrix."""
    if numerator is None:
        return None
    size = frobenius(denominator)
    if size == 0:
        return None
    return frobenius(numerator) / size


def layer_metrics(
    W: np.ndarray,
    dW: np.ndarray | None,
    update: np.ndarray | None,
    A: np.ndarray,
    activation: str,
) -> dict[str, float | None]:
    """One weight layer's figures. W: (fan_in, k) current weights; dW: the last gradient;
    update: the last change ΔW (both None before the first iteration); A: (n, k) activations.

    Norms are over the weights only (biases left out), so update_ratio is ‖ΔW‖ / ‖W‖.
    """
    return {
        "grad_norm": None if dW is None else frobenius(dW),
        "weight_norm": frobenius(W),
        "update_ratio": norm_ratio(update, W),
        "dead_fraction": dead_fraction(A, activation),
        "saturated_fraction": saturated_fraction(A, activation),
    }
