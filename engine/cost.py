"""Why backpropagation is fast: the cost of one gradient by central differences (two forward
passes per parameter) against one forward and one backward pass, counted and timed."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .gradcheck import numeric_gradient, relative_error
from .network import Network

# Enough samples for the timings to measure arithmetic rather than Python's call overhead.
DEFAULT_SAMPLES = 100


def multiply_adds(layers: Sequence[int], n: int) -> dict[str, int]:
    """Multiply-adds of one forward pass (X @ W per layer) and of one backward pass (A_prev.T @ dZ
    per layer, and dZ @ W.T per layer but the first) on n samples."""
    products = [fan_in * fan_out for fan_in, fan_out in itertools.pairwise(layers)]
    forward = n * sum(products)
    backward = n * (2 * sum(products) - products[0])
    return {"forward": forward, "backward": backward}


def backprop_cost_table(
    layers_list: Sequence[Sequence[int]],
    n: int = DEFAULT_SAMPLES,
    seed: int = 0,
    repeat_seconds: float = 0.05,
) -> list[dict[str, Any]]:
    """One row per network (layers as in a network spec), measured on n random samples:

    parameters; numeric_forward_passes (2 per parameter) and backprop_forward_passes (1) with
    backprop_backward_passes (1); the multiply-adds of each way; numeric_seconds and
    backprop_seconds, wall-clock times of computing the whole gradient each way, one after the
    other in this call; seconds_ratio and multiply_add_ratio (numeric / backprop); and
    relative_error between the two gradients (they agree to ~1e-9: same numbers, two costs).
    A computation faster than repeat_seconds is repeated for that long and its best time kept.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for layers in layers_list:
        net = Network.from_spec({"layers": list(layers), "seed": seed})
        X = rng.normal(size=(n, layers[0]))
        Y = (rng.random((n, layers[-1])) < 0.5).astype(np.float64)
        rows.append(_cost_row(net, X, Y, repeat_seconds))
    return rows


def _cost_row(net: Network, X: np.ndarray, Y: np.ndarray, repeat_seconds: float) -> dict[str, Any]:
    parameters = int(net.params.size)
    backprop = _timed(lambda: net.backward(net.forward_trace(X), Y).flat, repeat_seconds)
    numeric = _timed(lambda: numeric_gradient(net, X, Y), repeat_seconds)
    (backprop_seconds, analytic), (numeric_seconds, numeric_gradient_) = backprop, numeric
    counts = multiply_adds(net.layers, X.shape[0])
    numeric_adds = 2 * parameters * counts["forward"]
    backprop_adds = counts["forward"] + counts["backward"]
    return {
        "layers": list(net.layers),
        "parameters": parameters,
        "numeric_forward_passes": 2 * parameters,
        "backprop_forward_passes": 1,
        "backprop_backward_passes": 1,
        "numeric_multiply_adds": numeric_adds,
        "backprop_multiply_adds": backprop_adds,
        "multiply_add_ratio": numeric_adds / backprop_adds,
        "numeric_seconds": numeric_seconds,
        "backprop_seconds": backprop_seconds,
        "seconds_ratio": numeric_seconds / backprop_seconds,
        "relative_error": relative_error(analytic, numeric_gradient_),
    }


def _timed(compute: Any, repeat_seconds: float) -> tuple[float, np.ndarray]:
    """(seconds, result) of compute(); repeated for repeat_seconds and the best time kept, so
    one scheduler hiccup does not decide the figure."""
    best, result = float("inf"), None
    deadline = time.perf_counter() + repeat_seconds
    while True:
        start = time.perf_counter()
        result = compute()
        best = min(best, time.perf_counter() - start)
        if time.perf_counter() >= deadline:
            return best, result
