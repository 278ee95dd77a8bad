"""Why backpropagation is fast: the cost of one gradient by central differences (two forward
passes per parameter) against one forward and one backward pass, counted and timed."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .gradcheck import numeric_derivative, numeric_gradient, relative_error, trained_indices
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
    numeric_timed_parameters is every parameter here (see `network_cost_row`).
    """
    return [network_cost_row(layers, n, seed, repeat_seconds) for layers in layers_list]


def network_cost_row(
    network: Sequence[int] | dict[str, Any],
    n: int = DEFAULT_SAMPLES,
    seed: int = 0,
    repeat_seconds: float = 0.05,
    budget_seconds: float | None = None,
) -> dict[str, Any]:
    """One row of `backprop_cost_table`, for a network of any size, in bounded time.

    network: its layers, or a network spec (its activations and loss are used; its weights are
    drawn from seed: what a gradient costs depends on the shape, not on the values).

    With budget_seconds, the numerical gradient stops once it has run that long: its time is
    then the measured time per parameter (each is two forward passes of the same network, so
    every one costs the same) times the parameters, numeric_estimated is True,
    numeric_timed_parameters says how many were timed (spread over every layer, in a seeded
    order) and relative_error compares those. Backprop is always timed whole.
    """
    rng = np.random.default_rng(seed)
    spec = dict(network) if isinstance(network, dict) else {"layers": list(network)}
    spec = {key: value for key, value in spec.items() if key not in ("weights", "biases", "kind")}
    net = Network.from_spec({**spec, "seed": seed})
    X = rng.normal(size=(n, net.layers[0]))
    Y = (rng.random((n, net.layers[-1])) < 0.5).astype(np.float64)
    trained = trained_indices(net)  # without biases when the network has none
    parameters = len(trained)
    backprop_seconds, analytic = _timed(
        lambda: net.backward(net.forward_trace(X), Y).flat, repeat_seconds
    )
    numeric_seconds, indices, numeric = _numeric_timing(
        net, X, Y, rng, repeat_seconds, budget_seconds
    )
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
        "numeric_timed_parameters": len(indices),
        "numeric_estimated": len(indices) < parameters,
        "backprop_seconds": backprop_seconds,
        "seconds_ratio": numeric_seconds / backprop_seconds,
        "relative_error": relative_error(analytic[indices], numeric),
    }


def _numeric_timing(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    rng: np.random.Generator,
    repeat_seconds: float,
    budget_seconds: float | None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """(seconds of the whole numerical gradient, the parameters timed, their derivatives).

    Parameter by parameter until done or budget_seconds ran out (then the time is scaled up to
    every parameter); a whole gradient faster than repeat_seconds is timed again as in `_timed`.
    """
    order = rng.permutation(trained_indices(net))
    derivatives = []
    start = time.perf_counter()
    for index in order:
        derivatives.append(numeric_derivative(net, X, Y, int(index)))
        if budget_seconds is not None and time.perf_counter() - start >= budget_seconds:
            break
    elapsed = time.perf_counter() - start
    timed = order[: len(derivatives)]
    if len(timed) < len(order):
        return elapsed * len(order) / len(timed), timed, np.array(derivatives)
    if elapsed < repeat_seconds:  # fast: the best of repeated whole gradients
        seconds, gradient = _timed(lambda: numeric_gradient(net, X, Y), repeat_seconds)
        return min(seconds, elapsed), timed, gradient[timed]
    return elapsed, timed, np.array(derivatives)


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
