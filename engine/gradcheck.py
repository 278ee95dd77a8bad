"""Numerical gradient check: backprop's gradient against central differences of `net.loss`."""

from typing import Any

import numpy as np

from .datasets import shown
from .network import Network

Array = np.ndarray


def relative_error(analytic: Array | float, numeric: Array | float) -> float:
    """‖a − n‖ / (‖a‖ + ‖n‖), 0 when both are zero: scale-free, at most 1."""
    a, n = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    scale = float(np.linalg.norm(a) + np.linalg.norm(n))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - n)) / scale


def numeric_derivative(net: Network, X: Array, Y: Array, index: int, eps: float = 1e-6) -> float:
    """(L(θ + eps·e_i) − L(θ − eps·e_i)) / 2eps for entry `index` of `net.params`; θ is restored."""
    params = net.params
    original = params[index]
    try:
        params[index] = original + eps
        plus = net.loss(X, Y)
        params[index] = original - eps
        minus = net.loss(X, Y)
    finally:
        params[index] = original
    return (plus - minus) / (2.0 * eps)


def numeric_gradient(net: Network, X: Array, Y: Array, eps: float = 1e-6) -> Array:
    """Central-difference gradient of every parameter, in the layout of `net.params`."""
    gradient = np.zeros_like(net.params)
    trained = trained_indices(net)
    for index in trained:
        gradient[index] = numeric_derivative(net, X, Y, index, eps)
    return gradient


def check_gradients(net: Network, X: Array, Y: Array, eps: float = 1e-6) -> list[dict[str, Any]]:
    """Per layer {"W": relative error, "b": relative error or None when there are no biases}."""
    analytic_W, analytic_b = net.unflatten(net.backward(net.forward_trace(X), Y).flat)
    numeric_W, numeric_b = net.unflatten(numeric_gradient(net, X, Y, eps))
    return [
        {
            "W": relative_error(analytic_W[layer], numeric_W[layer]),
            "b": relative_error(analytic_b[layer], numeric_b[layer]) if net.bias else None,
        }
        for layer in range(net.n_layers)
    ]


def check_parameter(
    net: Network, X: Array, Y: Array, param: str, layer: int, i: int, j: int, eps: float = 1e-6
) -> dict[str, float]:
    """One weight ("W", layer, i, j) or bias ("b", layer, j; i ignored) checked:
    {"analytic", "numeric", "relative_error"}."""
    index = parameter_index(net, param, layer, i, j)
    analytic = float(net.backward(net.forward_trace(X), Y).flat[index])
    numeric = numeric_derivative(net, X, Y, index, eps)
    return {
        "analytic": analytic,
        "numeric": numeric,
        "relative_error": relative_error(analytic, numeric),
    }


def parameter_index(net: Network, param: str, layer: int, i: int, j: int) -> int:
    """Position of W[layer][i, j] or b[layer][j] in `net.params`; ValueError names a bad index."""
    if param not in ("W", "b"):
        raise ValueError(f"param: expected 'W' or 'b', got {shown(param)}")
    if not 0 <= layer < net.n_layers:
        raise ValueError(f"layer: expected 0..{net.n_layers - 1}, got {layer}")
    fan_in, fan_out = net.layers[layer], net.layers[layer + 1]
    if not 0 <= j < fan_out:
        raise ValueError(f"j: expected 0..{fan_out - 1} in layer {layer}, got {j}")
    if param == "W" and not 0 <= i < fan_in:
        raise ValueError(f"i: expected 0..{fan_in - 1} in layer {layer}, got {i}")
    start = sum(
        a * b + b for a, b in zip(net.layers[:layer], net.layers[1 : layer + 1], strict=True)
    )
    if param == "W":
        return start + i * fan_out + j
    return start + fan_in * fan_out + j


def trained_indices(net: Network) -> Array:
    """Indices of the parameters that exist: biases are not parameters when `bias` is false."""
    if net.bias:
        return np.arange(net.params.size)
    return np.flatnonzero(net.weight_mask)
