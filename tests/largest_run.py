"""The largest feed-forward run the limits allow, read from the run schema and the registries:
what the tests of the message caps and exports, and the benchmarks of hostile clients and phase
costs, send when they mean "the largest"."""

from __future__ import annotations

from typing import Any

from engine import schema
from engine.datasets import DATASETS
from engine.schema import Limits


def largest_run(limits: Limits | None = None, n_points: int | None = None) -> dict[str, Any]:
    """Every feature in, the most hidden layers of the most neurons, the data set with the most
    outputs, `n_points` points (the most by default) and every training point in one batch."""
    limits = limits or Limits()
    features = list(schema.field("data.features", limits).values)
    dataset = max(DATASETS, key=lambda name: DATASETS[name].n_outputs)
    outputs = DATASETS[dataset].n_outputs
    n_points = limits.max_points if n_points is None else n_points
    hidden = [limits.max_neurons] * limits.max_hidden_layers
    return {
        "network": {"layers": [len(features), *hidden, outputs], "output": "softmax"},
        "training": {"batch_size": int(n_points * schema.field("data.train_ratio").default)},
        "data": {"dataset": dataset, "features": features, "n_points": n_points},
    }
