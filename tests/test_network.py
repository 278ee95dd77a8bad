"""Network: spec validation, round trip, initialisation, forward pass and loss definitions."""

import json
import math

import numpy as np
import pytest

from engine import Network

BASE = {"layers": [2, 3, 1]}


def spec(**changes: object) -> dict:
    return {**BASE, **changes}


# ----- every invalid spec names its field ---------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ([], "spec"),
        (spec(colour="red"), "colour"),
        ({"activation": "tanh"}, "layers"),
        (spec(layers=[2]), "layers"),
        (spec(layers="2,3,1"), "layers"),
        (spec(layers=[2, 0, 1]), "layers[1]"),
        (spec(layers=[2, True, 1]), "layers[1]"),
        (spec(layers=[2, 3.0, 1]), "layers[1]"),
        (spec(layers=[2, 10**400, 1]), "layers[1]"),
        (spec(layers=[2, 10**6, 10**6, 1]), "layers"),  # 10^12 parameters
        (spec(activation="softmax"), "activation"),
        (spec(activation="swish"), "activation"),
        (spec(output="tanh"), "output"),
        (spec(output="softmax"), "output"),  # one output
        (spec(loss="hinge"), "loss"),
        (spec(output="linear", loss="bce"), "loss"),
        (spec(layers=[2, 3, 2], output="sigmoid", loss="ce"), "loss"),
        (spec(layers=[2, 3, 2], output="softmax", loss="bce"), "loss"),
        (spec(init="orthogonal"), "init"),
        (spec(init_scale=0), "init_scale"),
        (spec(init_scale=math.inf), "init_scale"),
        (spec(init_scale=1e308), "init_scale"),  # would overflow the random draw
        (spec(init_scale=True), "init_scale"),
        (spec(init_scale="1"), "init_scale"),
        (spec(seed=-1), "seed"),
        (spec(seed=1.5), "seed"),
        (spec(seed=False), "seed"),
        (spec(bias=1), "bias"),
        (spec(weights=[[[1, 2, 3], [4, 5, 6]]]), "weights"),
        (spec(weights=[[[1, 2, 3], [4, 5, 6]], [[1, 2, 3]]]), "weights[1]"),
        (spec(weights=[[[1, 2], [3, 4], [5, 6]], [[1], [2], [3]]]), "weights[0]"),
        (spec(weights=[[[1, 2, 3], [4, 5, math.nan]], [[1], [2], [3]]]), "weights[0][1][2]"),
        (spec(weights=[[[1, 2, 3], [4, 5, True]], [[1], [2], [3]]]), "weights[0][1][2]"),
        (spec(weights=[[[1, 2, 3], [4, 5]], [[1], [2], [3]]]), "weights[0]"),
        (spec(weights=[[[1, 2, 3], [4, 5, "6"]], [[1], [2], [3]]]), "weights[0][1][2]"),
        (spec(weights=[np.array([["a"] * 3] * 2), [[1], [2], [3]]]), "weights[0]"),
        (spec(biases=[[0, 0, 0]]), "biases"),
        (spec(biases=[[0, 0], [0]]), "biases[0]"),
        (spec(biases=[[0, 0, math.inf], [0]]), "biases[0][2]"),
        (spec(bias=False, biases=[[0, 0, 1], [0]]), "biases"),
    ],
)
def test_invalid_spec_raises_value_error_naming_the_field(bad: object, field: str) -> None:
    with pytest.raises(ValueError) as error:
        Network.from_spec(bad)  # type: ignore[arg-type]
    expected = "network" if field == "spec" else f"network.{field}"
    assert str(error.value).startswith(f"{expected}:"), str(error.value)


def test_error_message_for_a_transposed_weight_matrix_states_both_shapes() -> None:
    weights = [np.zeros((3, 2)).tolist(), [[0.0], [0.0], [0.0]]]
    expected = r"^network\.weights\[0\]: expected shape \(2, 3\), got \(3, 2\)"
    with pytest.raises(ValueError, match=expected):
        Network.from_spec(spec(weights=weights))


# ----- round trip and initialisation --------------------------------------------------------


@pytest.mark.parametrize("init", ["xavier", "he", "normal", "uniform", "zeros"])
def test_to_spec_round_trips_exactly_through_json(init: str) -> None:
    net = Network.from_spec(
        {"layers": [3, 5, 4, 2], "activation": "relu", "output": "softmax", "init": init, "seed": 7}
    )
    text = json.dumps(net.to_spec())
    again = Network.from_spec(json.loads(text))
    assert again.to_spec() == net.to_spec()
    assert np.array_equal(again.params, net.params)


def test_defaults_are_filled_in_and_reported() -> None:
    filled = Network.from_spec(BASE).to_spec()
    assert {k: filled[k] for k in ("activation", "output", "loss", "init", "init_scale")} == {
        "activation": "tanh",
        "output": "sigmoid",
        "loss": "bce",
        "init": "xavier",
        "init_scale": 1.0,
    }
    assert filled["seed"] == 1 and filled["bias"] is True  # the run schema's defaults
    assert Network.from_spec(spec(output="linear")).loss_name == "mse"
    assert Network.from_spec({"layers": [2, 3], "output": "softmax"}).loss_name == "ce"


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a = Network.from_spec(spec(seed=4)).params
    assert np.array_equal(a, Network.from_spec(spec(seed=4)).params)
    assert not np.array_equal(a, Network.from_spec(spec(seed=5)).params)


def test_initialisers_have_their_documented_scales() -> None:
    layers = [200, 300, 1]
    xavier = Network.from_spec({"layers": layers, "init": "xavier", "seed": 1}).weights[0]
    limit = math.sqrt(6 / (200 + 300))
    assert np.abs(xavier).max() <= limit and np.abs(xavier).max() > 0.99 * limit
    he = Network.from_spec({"layers": layers, "init": "he", "seed": 1}).weights[0]
    assert he.std() == pytest.approx(math.sqrt(2 / 200), rel=0.02)
    normal = Network.from_spec({"layers": layers, "init": "normal", "init_scale": 0.5}).weights[0]
    assert normal.std() == pytest.approx(0.5, rel=0.02)
    uniform = Network.from_spec({"layers": layers, "init": "uniform", "init_scale": 0.3}).weights[0]
    assert np.abs(uniform).max() <= 0.3 and np.abs(uniform).max() > 0.299
    zeros = Network.from_spec({"layers": layers, "init": "zeros"})
    assert not zeros.params.any()
    assert not Network.from_spec({"layers": layers}).biases[0].any()  # biases start at zero


def test_given_weights_replace_the_initialisation() -> None:
    weights = [[[1, 2, 3], [4, 5, 6]], [[7], [8], [9]]]
    net = Network.from_spec(spec(weights=weights, biases=[[0.5, 0, 0], [-1]]))
    assert net.weights[0].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert net.biases[1].tolist() == [-1.0]
    assert net.weights[0].dtype == np.float64


def test_weights_and_biases_are_views_of_params_so_edits_take_effect() -> None:
    net = Network.from_spec(spec(seed=2))
    X = np.array([[0.3, -0.2]])
    before = net.forward(X).copy()
    net.weights[1][0, 0] += 1.0
    assert net.params[2 * 3 + 3] == net.weights[1][0, 0]
    assert not np.array_equal(net.forward(X), before)


# ----- forward pass and losses ----------------------------------------------------------------


def test_forward_computes_a_at_w_plus_b_layer_by_layer() -> None:
    net = Network.from_spec({"layers": [2, 3, 2], "activation": "relu", "output": "linear"})
    X = np.array([[1.0, -2.0], [0.5, 0.25]])
    W0, W1 = net.weights
    b0, b1 = net.biases
    hidden = np.maximum(X @ W0 + b0, 0)
    assert np.allclose(net.forward(X), hidden @ W1 + b1, rtol=0, atol=1e-15)
    trace = net.forward_trace(X)
    assert [Z.shape for Z in trace.Z] == [(2, 3), (2, 2)]
    assert np.array_equal(trace.A[0], hidden)


def test_mse_is_half_the_squared_error_summed_over_outputs_and_averaged_over_samples() -> None:
    net = Network.from_spec({"layers": [1, 2], "output": "linear", "weights": [[[1.0, 2.0]]]})
    X = np.array([[1.0], [2.0]])
    Y = np.array([[0.0, 0.0], [1.0, 1.0]])  # outputs (1, 2) and (2, 4)
    expected = ((0.5 * (1 + 4)) + (0.5 * (1 + 9))) / 2
    assert net.loss(X, Y) == expected


def test_bce_matches_its_definition_and_stays_finite_when_saturated() -> None:
    net = Network.from_spec({"layers": [1, 1], "weights": [[[1.0]]]})
    X = np.array([[0.5], [-1.0]])
    Y = np.array([[1.0], [0.0]])
    p = 1 / (1 + np.exp(-X[:, 0]))
    expected = -np.mean(Y[:, 0] * np.log(p) + (1 - Y[:, 0]) * np.log(1 - p))
    assert net.loss(X, Y) == pytest.approx(expected, rel=1e-14)
    far = np.array([[800.0]])
    assert net.loss(far, np.array([[0.0]])) == pytest.approx(800.0, rel=1e-15)
    assert net.loss(far, np.array([[1.0]])) == 0.0


def test_ce_matches_its_definition_and_stays_finite_when_saturated() -> None:
    net = Network.from_spec(
        {"layers": [1, 3], "output": "softmax", "weights": [[[1.0, 2.0, -1.0]]], "seed": 0}
    )
    X = np.array([[0.7]])
    Y = np.array([[0.0, 1.0, 0.0]])
    z = X[0, 0] * np.array([1.0, 2.0, -1.0])
    expected = -(z[1] - np.log(np.exp(z).sum()))
    assert net.loss(X, Y) == pytest.approx(expected, rel=1e-14)
    assert net.loss(np.array([[1000.0]]), np.array([[0.0, 0.0, 1.0]])) == pytest.approx(3000.0)


def test_network_without_bias_keeps_zero_biases_and_round_trips() -> None:
    net = Network.from_spec(spec(bias=False, seed=3))
    assert not any(b.any() for b in net.biases)
    X = np.array([[0.2, 0.4], [1.0, -1.0]])
    Y = np.array([[1.0], [0.0]])
    assert all(not g["b"].any() for g in net.gradients(X, Y))
    again = Network.from_spec(net.to_spec())
    assert again.bias is False and np.array_equal(again.params, net.params)


def test_bad_batch_shapes_are_rejected_with_the_array_named() -> None:
    net = Network.from_spec(BASE)
    with pytest.raises(ValueError, match=r"^X: expected shape \(n >= 1, 2\)"):
        net.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"^Y: expected shape \(4, 1\), got \(4, 2\)"):
        net.loss(np.zeros((4, 2)), np.zeros((4, 2)))
