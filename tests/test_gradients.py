"""Backprop against central differences: every activation × output × loss pair, random shapes."""

import itertools
import zlib
from collections.abc import Callable

import numpy as np
import pytest

from engine import Network, Trainer
from engine.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from engine.gradcheck import (
    check_gradients,
    check_parameter,
    numeric_gradient,
    parameter_index,
    relative_error,
)
from engine.losses import LOSSES

COMBINATIONS = [
    (activation, output, loss)
    for activation, output, loss in itertools.product(
        HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, LOSSES
    )
    if output in LOSSES[loss].outputs
]


def random_problem(output: str, layers: list[int], rng: np.random.Generator):
    n = int(rng.integers(1, 8))
    X = rng.normal(size=(n, layers[0]))
    if output == "softmax":
        Y = np.eye(layers[-1])[rng.integers(0, layers[-1], n)]
    elif output == "sigmoid":
        Y = rng.random((n, layers[-1]))  # soft targets exercise bce fully
    else:
        Y = rng.normal(size=(n, layers[-1]))
    return X, Y


def central_differences(net: Network, loss: Callable[[], float], eps: float = 1e-6) -> np.ndarray:
    """∂loss/∂θ of every parameter by central differences, for losses gradcheck does not know
    (a fixed dropout mask, the L1/L2 penalty); each parameter is restored after its probe."""
    numeric = np.zeros_like(net.params)
    for index in range(net.params.size):
        original = net.params[index]
        net.params[index] = original + eps
        plus = loss()
        net.params[index] = original - eps
        minus = loss()
        net.params[index] = original
        numeric[index] = (plus - minus) / (2 * eps)
    return numeric


def test_every_allowed_pair_is_covered() -> None:
    # mse after each output, bce after sigmoid, ce after softmax: 5 hidden × 5 pairs.
    assert len(COMBINATIONS) == 25


@pytest.mark.parametrize(("activation", "output", "loss"), COMBINATIONS)
def test_backprop_matches_central_differences(activation: str, output: str, loss: str) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{activation} {output} {loss}".encode()))
    for _ in range(3):
        depth = int(rng.integers(1, 4))
        outputs = int(rng.integers(2, 4)) if output == "softmax" else int(rng.integers(1, 4))
        layers = [int(rng.integers(1, 5))] + [int(rng.integers(1, 6)) for _ in range(depth - 1)]
        layers.append(outputs)
        net = Network.from_spec(
            {
                "layers": layers,
                "activation": activation,
                "output": output,
                "loss": loss,
                "init": "normal",
                "seed": int(rng.integers(0, 1000)),
            }
        )
        net.params[...] += rng.normal(scale=0.1, size=net.params.size)  # non-zero biases too
        X, Y = random_problem(output, layers, rng)
        analytic = net.backward(net.forward_trace(X), Y).flat
        numeric = numeric_gradient(net, X, Y)
        # Central differences carry ~1e-10 of rounding noise, hence the absolute floor.
        assert np.allclose(analytic, numeric, rtol=1e-6, atol=1e-9), (layers, analytic - numeric)


def test_gradients_are_those_of_the_batch_mean() -> None:
    net = Network.from_spec({"layers": [2, 3, 1], "seed": 1})
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 2)), rng.random((6, 1))
    whole = net.backward(net.forward_trace(X), Y).flat
    halves = [net.backward(net.forward_trace(X[s]), Y[s]).flat for s in (slice(0, 3), slice(3, 6))]
    assert np.allclose(whole, (halves[0] + halves[1]) / 2, rtol=1e-13, atol=1e-16)


def test_gradient_with_a_dropout_mask_is_that_of_the_masked_network() -> None:
    net = Network.from_spec({"layers": [3, 4, 4, 2], "activation": "tanh", "output": "linear"})
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    masks = [(rng.random((5, 4)) > 0.5) * 2.0, (rng.random((5, 4)) > 0.5) * 2.0, None]

    def masked_loss() -> float:
        trace = net.forward_trace(X, masks)
        return net.trace_loss(trace, Y)

    analytic = net.backward(net.forward_trace(X, masks), Y).flat
    numeric = central_differences(net, masked_loss)
    assert relative_error(analytic, numeric) < 1e-7


def test_trainer_gradient_adds_the_l1_and_l2_penalties_to_weights_only() -> None:
    net = Network.from_spec({"layers": [2, 3, 1], "seed": 2})
    net.params[...] += 0.1  # non-zero biases, so a penalty on them would show
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(4, 2)), rng.random((4, 1))
    l1, l2 = 0.03, 0.2
    trainer = Trainer(net, l1=l1, l2=l2)
    _, gradient = trainer.backward(net.forward_trace(X), Y)
    weights = net.weight_mask.astype(bool)

    def penalised_loss() -> float:
        w = net.params[weights]
        return net.loss(X, Y) + l1 * np.abs(w).sum() + 0.5 * l2 * (w * w).sum()

    numeric = central_differences(net, penalised_loss)
    assert relative_error(gradient, numeric) < 1e-7
    plain = net.backward(net.forward_trace(X), Y).flat
    assert np.array_equal(gradient[~weights], plain[~weights])


def test_check_parameter_finds_the_same_entry_as_the_per_layer_arrays() -> None:
    net = Network.from_spec({"layers": [3, 4, 2], "output": "softmax", "seed": 3})
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(5, 3)), np.eye(2)[rng.integers(0, 2, 5)]
    gradients = net.gradients(X, Y)
    weight = check_parameter(net, X, Y, "W", 1, 3, 1)
    bias = check_parameter(net, X, Y, "b", 0, 0, 2)
    assert weight["analytic"] == gradients[1]["W"][3, 1]
    assert bias["analytic"] == gradients[0]["b"][2]
    assert weight["relative_error"] < 1e-7 and bias["relative_error"] < 1e-7
    assert parameter_index(net, "b", 1, 0, 1) == net.params.size - 1


def test_gradient_check_leaves_the_parameters_bit_for_bit_unchanged() -> None:
    net = Network.from_spec({"layers": [2, 3, 1], "seed": 4})
    before = net.params.copy()
    numeric_gradient(net, np.ones((2, 2)), np.ones((2, 1)))
    assert np.array_equal(net.params, before)


def test_check_gradients_reports_small_relative_errors_per_layer() -> None:
    net = Network.from_spec({"layers": [2, 5, 3, 1], "activation": "tanh", "seed": 6})
    rng = np.random.default_rng(4)
    result = check_gradients(net, rng.normal(size=(8, 2)), rng.random((8, 1)))
    assert len(result) == 3
    assert all(layer["W"] < 1e-7 and layer["b"] < 1e-7 for layer in result)


def test_check_gradients_detects_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    net = Network.from_spec({"layers": [2, 3, 1], "seed": 6})
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(4, 2)), rng.random((4, 1))
    real_backward = Network.backward

    def doubled(self: Network, trace, Y):  # type: ignore[no-untyped-def]
        result = real_backward(self, trace, Y)
        return result._replace(flat=2 * result.flat)

    monkeypatch.setattr(Network, "backward", doubled)
    assert all(layer["W"] > 0.3 for layer in check_gradients(net, X, Y))


def test_without_biases_the_check_reports_none_for_them() -> None:
    net = Network.from_spec({"layers": [2, 3, 1], "bias": False, "seed": 4})
    rng = np.random.default_rng(3)
    result = check_gradients(net, rng.normal(size=(3, 2)), rng.random((3, 1)))
    assert all(layer["b"] is None and layer["W"] < 1e-6 for layer in result)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("V", 0, 0, 0), "param"),
        (("W", 2, 0, 0), "layer"),
        (("W", 0, 2, 0), "i"),
        (("b", 1, 0, 1), "j"),
    ],
)
def test_bad_parameter_index_names_the_field(args: tuple, field: str) -> None:
    net = Network.from_spec({"layers": [2, 3, 1]})
    with pytest.raises(ValueError, match=f"^{field}:"):
        parameter_index(net, *args)


def test_relative_error_is_scale_free() -> None:
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(1.0, 1.0 + 1e-9) == pytest.approx(relative_error(1e6, 1e6 + 1e-3))
