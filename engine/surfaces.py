"""Every neuron's output over a square grid of the input plane, from one vectorised forward pass.

Row 0 of a grid is the top of the plane (x2 = +6), column 0 its left edge (x1 = -6); both grids
include the edges, so cell (r, c) is the point (-6 + 12c/(g-1), 6 - 12r/(g-1)).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .datasets import EXTENT, shown
from .features import expand
from .network import Network

MAX_GRID = 256
# Grid inputs depend only on (features, sizes): a server builds the same few for every frame of
# every session, so they are kept (read-only) instead of rebuilt 30 times a second per tab.
GRID_CACHE_SIZE = 32


def grid_points(size: int) -> np.ndarray:
    """The size × size grid as points (size², 2), row-major from the top-left corner."""
    x1 = np.linspace(-EXTENT, EXTENT, size)
    x2 = np.linspace(EXTENT, -EXTENT, size)
    X2, X1 = np.meshgrid(x2, x1, indexing="ij")
    return np.column_stack([X1.ravel(), X2.ravel()])


def _as_grids(values: np.ndarray, size: int) -> np.ndarray:
    """Per-point values (size², k) as k images (k, size, size)."""
    return np.ascontiguousarray(values.T.reshape(-1, size, size))


def _check_size(name: str, size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= MAX_GRID:
        raise ValueError(f"{name}: must be an integer in [2, {MAX_GRID}], got {shown(size)}")
    return size


def surfaces(
    network: Network, features: list[str], output_grid: int, neuron_grid: int
) -> dict[str, object]:
    """Outputs of the network's neurons over the plane, without dropout.

    Returns float64 arrays: "output" (n_out, g, g) at `output_grid`; "inputs" (n_features, h, h)
    and "hidden" [(n_l, h, h) for each hidden layer] at `neuron_grid`; "extent" [-6, 6].
    Both grids go through the network together as one batch.
    """
    g = _check_size("output_grid", output_grid)
    h = _check_size("neuron_grid", neuron_grid)
    X, inputs = grid_inputs(tuple(features), g, h)
    trace = network.forward_trace(X)
    coarse = slice(g * g, None)
    return {
        "extent": [-EXTENT, EXTENT],
        "output": _as_grids(trace.A[-1][: g * g], g),
        "inputs": inputs,
        "hidden": [_as_grids(A[coarse], h) for A in trace.A[:-1]],
    }


def output_surface(network: Network, features: list[str], output_grid: int = 48) -> np.ndarray:
    """The output layer alone over the plane, (n_out, g, g) float64: what a racer's card shows
    beside its curve (the neuron pictures are the main run's only)."""
    g = _check_size("output_grid", output_grid)
    X, _ = grid_inputs(tuple(features), g, 1)
    return _as_grids(network.forward(X[: g * g]), g)


@lru_cache(maxsize=GRID_CACHE_SIZE)
def grid_inputs(features: tuple[str, ...], g: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Features of both grids stacked (g² + h², n_features), and the coarse grid's features as
    images (n_features, h, h); both read-only, as every caller shares them."""
    X = expand(np.concatenate([grid_points(g), grid_points(h)]), list(features))
    inputs = _as_grids(X[g * g :], h)
    X.flags.writeable = False
    inputs.flags.writeable = False
    return X, inputs
