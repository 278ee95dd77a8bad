"""Loss functions in the registry LOSSES: per-sample value (from logits, stable) and output-layer δ.

Every loss sums over outputs and averages over samples; mse is ½(ŷ−y)² per output.
"""

from dataclasses import dataclass

import numpy as np

from .activations import Activation

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """One loss. `outputs` are the output activations it may follow.

    `fused` names the output activation whose δ simplifies to ŷ − y (sigmoid for bce, softmax for
    ce); those pairs are computed from the logits Z, never from log(ŷ), so saturation is harmless.
    """

    name: str
    outputs: tuple[str, ...]
    fused: str | None
    label: str  # in words, for the controls and the step-mode sentences

    def per_sample(self, Z: Array, Yhat: Array, Y: Array) -> Array:
        """Loss of each sample (n,) from logits Z, outputs Yhat and targets Y, all (n, o)."""
        if self.name == "mse":
            R = Yhat - Y
            return 0.5 * (R * R).sum(axis=1)
        if self.name == "bce":
            # -[y log σ(z) + (1-y) log(1-σ(z))] = max(z, 0) - z·y + log(1 + e^{-|z|})
            return (np.maximum(Z, 0.0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))).sum(axis=1)
        return -(Y * _log_softmax(Z)).sum(axis=1)

    def delta(self, Z: Array, Yhat: Array, Y: Array, output: Activation) -> Array:
        """δ = ∂L/∂z of each sample's own loss at the output layer, (n, o)."""
        if self.fused is not None:
            return Yhat - Y
        return output.backprop(Z, Yhat, Yhat - Y)


def _log_softmax(Z: Array) -> Array:
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", ("linear", "sigmoid", "softmax"), None, "mse (squared error)"),
    "bce": Loss("bce", ("sigmoid",), "sigmoid", "bce (binary cross-entropy)"),
    "ce": Loss("ce", ("softmax",), "softmax", "ce (cross-entropy)"),
}

DEFAULT_LOSS = {"linear": "mse", "sigmoid": "bce", "softmax": "ce"}
