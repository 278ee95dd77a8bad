"""A run carried over a server restart: config and float64 weights from an export, then its
progress, and the copy goes on bit for bit as the original."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from engine.checks import FieldError
from engine.progress import progress, restore
from engine.run import Run
from server import messages

CONFIGS = [
    {"training": {"optimizer": "adam", "lr": 0.01, "dropout": 0.2, "batch_size": 7}},
    {"training": {"optimizer": "momentum", "batch_size": 13}, "network": {"layers": [2, 5, 1]}},
    {"training": {"optimizer": "rmsprop"}, "data": {"dataset": "xor"}},
    {"training": {"optimizer": "sgd", "l2": 0.001}},
]


def carried_over(run: Run) -> Run:
    """What a page does after a restart: the export's config, then its progress (via JSON)."""
    exported = json.loads(json.dumps(messages.export(run)))
    copy_ = Run(exported["config"], limits=run.limits)
    restore(copy_, exported["progress"])
    return copy_


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("trained", [0, 1, 37])
def test_a_carried_over_run_goes_on_bit_for_bit(config, trained):
    original = Run(copy.deepcopy(config))
    if trained:
        original.train(trained)
    twin = carried_over(original)
    assert (twin.iteration, twin.epoch) == (original.iteration, original.epoch)
    for run in (original, twin):
        run.train(53)
    for W, W_twin in zip(original.network.weights, twin.network.weights, strict=True):
        np.testing.assert_array_equal(W, W_twin)
    for slot, slot_twin in zip(original.trainer._state, twin.trainer._state, strict=True):
        np.testing.assert_array_equal(slot, slot_twin)
    assert twin.metrics()["train_loss"] == original.metrics()["train_loss"]


def test_without_progress_the_run_would_not_go_on_the_same():
    # The check above can fail: weights alone give another run (fresh Adam state, batches).
    original = Run(copy.deepcopy(CONFIGS[0]))
    original.train(20)
    weights_only = Run(json.loads(json.dumps(messages.export(original)))["config"])
    for run in (original, weights_only):
        run.train(5)
    assert not np.array_equal(original.network.weights[0], weights_only.network.weights[0])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"iteration": -1}, "progress.iteration"),
        ({"epoch": "3"}, "progress.epoch"),
        ({"optimizer": "sgd"}, "progress.optimizer"),
        ({"state": [[0.0]]}, "progress.state"),
        ({"state": [[0.0] * 17] * 3}, "progress.state[0]"),
        ({"order": [0, 0, 1]}, "progress.order"),
        ({"cursor": 10**6}, "progress.cursor"),
        ({"batches_rng": {"bit_generator": "MT19937"}}, "progress.batches_rng"),
        ({"dropout_rng": {"bit_generator": "PCG64", "state": "x", "inc": "1",
                          "has_uint32": 0, "uinteger": "0"}}, "progress.dropout_rng"),
        ({"unknown": 1}, "progress"),
    ],
)  # fmt: skip
def test_a_progress_that_does_not_fit_is_refused_and_changes_nothing(change, field):
    run = Run(copy.deepcopy(CONFIGS[0]))
    run.train(3)
    given = {**progress(run), **change}
    before = (run.iteration, [slot.copy() for slot in run.trainer._state])
    with pytest.raises(FieldError) as refused:
        restore(run, given)
    assert refused.value.field == field
    assert run.iteration == before[0]
    for slot, old in zip(run.trainer._state, before[1], strict=True):
        np.testing.assert_array_equal(slot, old)
