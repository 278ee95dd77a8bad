"""Activation functions: each one's value and derivative side by side, in the registry ACTIVATIONS.

Names are the strings used in specs, messages and dropdowns.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """f and f' of one activation. `derivative(Z, A)` is f'(Z) given A = f(Z) (cheaper from A).

    `backprop(Z, A, dA)` turns ∂L/∂A into ∂L/∂Z; elementwise it is dA · f'(Z), softmax overrides it
    with its Jacobian-vector product (it is not elementwise, so `derivative` is None there).
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None
    backprop: Callable[[Array, Array, Array], Array]
    outputs: tuple[float, float] | None = None  # the range of f's values; None: unbounded


def _elementwise(
    name: str,
    value: Callable[[Array], Array],
    derivative: Callable[[Array, Array], Array],
    outputs: tuple[float, float] | None = None,
) -> Activation:
    def backprop(Z: Array, A: Array, dA: Array) -> Array:
        return dA * derivative(Z, A)

    return Activation(name, value, derivative, backprop, outputs)


def _identity(Z: Array) -> Array:
    return Z


def _ones(Z: Array, A: Array) -> Array:
    return np.ones_like(Z)


def _sigmoid(Z: Array) -> Array:
    # exp(-Z) overflows to inf for Z < -709; 1/inf = 0 is the correct limit (warnings are
    # silenced by the caller where that matters).
    return 1.0 / (1.0 + np.exp(-Z))


def _sigmoid_derivative(Z: Array, A: Array) -> Array:
    return A * (1.0 - A)


def _tanh_derivative(Z: Array, A: Array) -> Array:
    return 1.0 - A * A


def _relu(Z: Array) -> Array:
    return np.maximum(Z, 0.0)


def _relu_derivative(Z: Array, A: Array) -> Array:
    # f'(0) = 0, as in PyTorch.
    return (Z > 0.0).astype(np.float64)


def _leaky_relu(Z: Array) -> Array:
    return np.where(Z > 0.0, Z, LEAKY_SLOPE * Z)


def _leaky_relu_derivative(Z: Array, A: Array) -> Array:
    # f'(0) = slope, as in PyTorch.
    return np.where(Z > 0.0, 1.0, LEAKY_SLOPE)


def _softmax(Z: Array) -> Array:
    """Row-wise softmax of Z: (n, k); shifting by the row maximum keeps exp from overflowing."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _softmax_backprop(Z: Array, A: Array, dA: Array) -> Array:
    # Jacobian of softmax is diag(a) - a aᵀ, so dZ = a ⊙ (dA - <dA, a>) row by row.
    return A * (dA - (dA * A).sum(axis=1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    "linear": _elementwise("linear", _identity, _ones),
    "sigmoid": _elementwise("sigmoid", _sigmoid, _sigmoid_derivative, (0.0, 1.0)),
    "tanh": _elementwise("tanh", np.tanh, _tanh_derivative, (-1.0, 1.0)),
    "relu": _elementwise("relu", _relu, _relu_derivative),
    "leaky_relu": _elementwise("leaky_relu", _leaky_relu, _leaky_relu_derivative),
    "softmax": Activation("softmax", _softmax, None, _softmax_backprop, (0.0, 1.0)),
}

HIDDEN_ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")
OUTPUT_ACTIVATIONS = ("linear", "sigmoid", "softmax")


def activation_facts(name: str) -> dict[str, list[float]]:
    """What the page may know of an activation beyond its name (hello.schema's choices): the
    range of its values when bounded, which its pictures are coloured over."""
    outputs = ACTIVATIONS[name].outputs
    return {"outputs": list(outputs)} if outputs else {}
