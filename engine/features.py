"""Input features built from the two coordinates, as in TensorFlow Playground.

The registry keys are the strings used in configs, messages and URLs; `label` is for display.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Feature:
    """One input feature: a display label and a map from points (n, 2) to values (n,)."""

    label: str
    compute: Callable[[np.ndarray], np.ndarray]


FEATURES: dict[str, Feature] = {
    "x1": Feature("x₁", lambda P: P[:, 0]),
    "x2": Feature("x₂", lambda P: P[:, 1]),
    "x1sq": Feature("x₁²", lambda P: P[:, 0] ** 2),
    "x2sq": Feature("x₂²", lambda P: P[:, 1] ** 2),
    "x1x2": Feature("x₁·x₂", lambda P: P[:, 0] * P[:, 1]),
    "sinx1": Feature("sin x₁", lambda P: np.sin(P[:, 0])),
    "sinx2": Feature("sin x₂", lambda P: np.sin(P[:, 1])),
}


def expand(points: np.ndarray, names: list[str]) -> np.ndarray:
    """Points (n, 2) → features X (n, len(names)), columns in the order of `names`."""
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise ValueError(f"features: unknown {unknown}; allowed: {', '.join(FEATURES)}")
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points: must be shaped (n, 2), got {points.shape}")
    columns = [FEATURES[name].compute(points) for name in names]
    return np.column_stack(columns) if columns else np.empty((len(points), 0))
