"""Metrics on hand-made cases: accuracy, dead ReLUs, saturated units, norms and ratios."""

import numpy as np
import pytest

from engine.metrics import (
    accuracy,
    dead_fraction,
    frobenius,
    layer_metrics,
    norm_ratio,
    saturated_fraction,
    share,
)


def test_binary_accuracy_thresholds_at_one_half() -> None:
    Yhat = np.array([[0.9], [0.4], [0.51], [0.5]])
    Y = np.array([[1.0], [0.0], [0.0], [1.0]])
    # 0.9 → 1 right, 0.4 → 0 right, 0.51 → 1 wrong, 0.5 → 0 wrong (strictly above one half is 1).
    assert accuracy(Yhat, Y) == 0.5


def test_multiclass_accuracy_uses_argmax() -> None:
    Yhat = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    Y = np.eye(3)[[1, 2, 2]]
    assert accuracy(Yhat, Y) == pytest.approx(2 / 3)


def test_accuracy_of_an_empty_set_is_none() -> None:
    assert accuracy(np.empty((0, 1)), np.empty((0, 1))) is None


def test_dead_relu_units_are_zero_for_every_sample() -> None:
    A = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 3.0, 0.0, 0.0]])
    # Units 0 and 3 never fire; units 1 and 2 fire for some samples.
    assert dead_fraction(A, "relu") == 0.5
    assert dead_fraction(np.zeros((5, 3)), "relu") == 1.0
    assert dead_fraction(A, "tanh") is None
    assert dead_fraction(A, "leaky_relu") is None


def test_dead_relu_layer_from_a_real_forward_pass() -> None:
    X = np.random.default_rng(0).uniform(-6, 6, (50, 2))
    # A large negative bias kills every unit for every input in the plane.
    W, b = np.ones((2, 3)), np.full(3, -20.0)
    assert dead_fraction(np.maximum(X @ W + b, 0), "relu") == 1.0
    assert dead_fraction(np.maximum(X @ W, 0), "relu") == 0.0


def test_saturated_tanh_counts_samples_times_units() -> None:
    A = np.tanh(np.array([[10.0, 0.1], [-10.0, 0.2], [0.0, 3.0]]))
    # |tanh(10)| and |tanh(-10)| > 0.99; tanh(3) = 0.99505 > 0.99 too: 3 of 6 entries.
    assert saturated_fraction(A, "tanh") == 0.5
    assert saturated_fraction(np.tanh(np.array([[2.0]])), "tanh") == 0.0


def test_saturated_sigmoid_counts_both_flat_ends() -> None:
    A = np.array([[0.005, 0.5], [0.995, 0.98]])
    assert saturated_fraction(A, "sigmoid") == 0.5
    assert saturated_fraction(A, "relu") is None
    assert saturated_fraction(A, "softmax") is None


def test_norm_ratio() -> None:
    assert norm_ratio(np.array([[3.0, 4.0]]), np.array([[0.0, 10.0]])) == 0.5
    assert norm_ratio(None, np.ones((2, 2))) is None
    assert norm_ratio(np.ones((2, 2)), np.zeros((2, 2))) is None


def test_layer_metrics_before_and_after_an_update() -> None:
    W = np.array([[3.0], [4.0]])
    A = np.array([[0.0], [0.0]])
    before = layer_metrics(W, None, None, A, "relu")
    assert before == {
        "grad_norm": None,
        "weight_norm": 5.0,
        "update_ratio": None,
        "dead_fraction": 1.0,
        "saturated_fraction": None,
    }
    after = layer_metrics(W, np.array([[0.0], [2.0]]), np.array([[0.3], [0.4]]), A, "tanh")
    assert after["grad_norm"] == 2.0
    assert after["update_ratio"] == pytest.approx(0.1)
    assert after["dead_fraction"] is None and after["saturated_fraction"] == 0.0


def test_share_and_frobenius_equal_numpy_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (7, 3), (100, 32), (33,)]:
        values = rng.normal(size=shape) * 10.0 ** rng.integers(-5, 5)
        flags = values > 0.3
        assert share(flags) == np.mean(flags)
        assert frobenius(values) == np.linalg.norm(values)
    assert frobenius(np.array([[np.inf, 1.0]])) == np.inf
