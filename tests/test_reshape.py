"""carry_weights: a structural change keeps every weight whose two neurons are still there."""

import numpy as np
import pytest

from engine.network import Network
from engine.reshape import carry_weights, keeps_weights


def trained_spec(layers: list[int], **spec) -> dict:
    """A spec whose weights and biases are all non-zero and distinct (as after training)."""
    net = Network.from_spec({"layers": layers, "seed": 3, **spec})
    net.params[...] = np.arange(1, net.params.size + 1) / 100
    return net.to_spec()


def carried(old: dict, **changes) -> dict:
    structure = {key: value for key, value in old.items() if key not in ("weights", "biases")}
    return carry_weights(old, {**structure, **changes}, np.random.default_rng(0))


def test_a_new_loss_or_output_keeps_every_weight_and_bias():
    old = trained_spec([2, 3, 2], output="sigmoid", loss="bce")
    for changes in ({"loss": "mse"}, {"output": "softmax", "loss": "ce"}, {"activation": "relu"}):
        new = carried(old, **changes)
        assert new["weights"] == old["weights"] and new["biases"] == old["biases"], changes
        net = Network.from_spec(new)  # a valid spec
        assert net.loss_name == changes.get("loss", "bce")


def test_an_added_neuron_keeps_the_others_and_is_initialised_by_the_new_spec():
    old = trained_spec([2, 3, 1], init="he")
    new = carried(old, layers=[2, 4, 1])
    W0, W1 = np.array(new["weights"][0]), np.array(new["weights"][1])
    assert W0.shape == (2, 4) and W1.shape == (4, 1)
    assert np.array_equal(W0[:, :3], old["weights"][0])
    assert np.array_equal(W1[:3], old["weights"][1])
    assert np.array_equal(new["biases"][0][:3], old["biases"][0])
    assert new["biases"][0][3] == 0.0 and new["biases"][1] == old["biases"][1]
    # The new neuron's weights are He's draw for the new shapes, from the given generator.
    rng = np.random.default_rng(0)
    expected_W0 = rng.normal(0.0, np.sqrt(2 / 2), (2, 4))
    expected_W1 = rng.normal(0.0, np.sqrt(2 / 4), (4, 1))
    assert np.array_equal(W0[:, 3], expected_W0[:, 3])
    assert np.array_equal(W1[3], expected_W1[3])


def test_a_removed_neuron_takes_its_weights_with_it():
    old = trained_spec([2, 4, 1])
    new = carried(old, layers=[2, 2, 1])
    assert np.array_equal(new["weights"][0], np.array(old["weights"][0])[:, :2])
    assert np.array_equal(new["weights"][1], np.array(old["weights"][1])[:2])
    assert new["biases"][0] == old["biases"][0][:2]


def test_an_added_last_hidden_layer_keeps_the_earlier_layers_and_the_output_biases():
    old = trained_spec([2, 3, 1])
    new = carried(old, layers=[2, 3, 2, 1])
    assert new["weights"][0] == old["weights"][0] and new["biases"][0] == old["biases"][0]
    # The output now listens to the new layer: its incoming weights are new, its bias is kept.
    assert np.array(new["weights"][2]).shape == (2, 1)
    assert not np.isin(np.array(new["weights"][1:2][0]), np.array(old["weights"][1])).any()
    assert new["biases"][1] == [0.0, 0.0] and new["biases"][2] == old["biases"][1]


def test_a_removed_last_hidden_layer_keeps_the_first_ones():
    old = trained_spec([2, 4, 3, 1])
    new = carried(old, layers=[2, 4, 1])
    assert new["weights"][0] == old["weights"][0] and new["biases"][0] == old["biases"][0]
    assert new["biases"][1] == old["biases"][2]
    Network.from_spec(new)


def test_input_rows_follow_their_feature_by_name():
    old = trained_spec([2, 3, 1])
    structure = {key: value for key, value in old.items() if key not in ("weights", "biases")}
    new = carry_weights(
        old,
        {**structure, "layers": [3, 3, 1]},
        np.random.default_rng(0),
        old_features=["x1", "x2"],
        new_features=["x2", "x1x2", "x1"],
    )
    assert new["weights"][0][0] == old["weights"][0][1]  # x2
    assert new["weights"][0][2] == old["weights"][0][0]  # x1
    assert new["weights"][0][1] not in old["weights"][0]  # x1x2 is new
    assert new["weights"][1] == old["weights"][1]


def test_biases_switched_off_are_zero_and_bad_specs_are_named():
    old = trained_spec([2, 3, 1])
    new = carried(old, bias=False)
    assert all(not any(b) for b in new["biases"]) and new["weights"] == old["weights"]
    Network.from_spec(new)
    with pytest.raises(ValueError, match="old_spec: needs weights"):
        carry_weights({"layers": [2, 1]}, {"layers": [2, 1]}, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        carried(old, layers=[2, 0, 1])
    with pytest.raises(ValueError, match="features: 1 old and 2 new names"):
        carry_weights(old, {"layers": [2, 3, 1]}, np.random.default_rng(0), ["x1"], ["x1", "x2"])


def test_a_change_of_init_scale_or_seed_asks_for_new_weights():
    old = trained_spec([2, 3, 1], init="he", init_scale=4.0)
    assert keeps_weights(old, {**old, "loss": "mse", "layers": [2, 5, 1]})
    for change in ({"init": "xavier"}, {"init_scale": 1.0}, {"seed": 4}):
        assert not keeps_weights(old, {**old, **change}), change


def test_one_sigmoid_output_becomes_two_softmax_outputs_and_back_with_the_same_predictions():
    old = trained_spec([2, 3, 4, 1], output="sigmoid", loss="bce")
    X = np.random.default_rng(1).normal(size=(50, 2)) * 3
    two = carried(old, layers=[2, 3, 4, 2], output="softmax", loss="ce")
    assert two["weights"][:2] == old["weights"][:2] and two["biases"][:2] == old["biases"][:2]
    W_out = np.array(two["weights"][2])
    assert np.array_equal(W_out[:, 1:], old["weights"][2]) and not W_out[:, 0].any()
    sigmoid, softmax = Network.from_spec(old), Network.from_spec(two)
    assert np.allclose(softmax.forward(X)[:, 1], sigmoid.forward(X)[:, 0], rtol=1e-14, atol=1e-16)
    assert softmax.loss(X, np.eye(2)[(X[:, 0] > 0).astype(int)]) == pytest.approx(
        sigmoid.loss(X, (X[:, :1] > 0).astype(float)), rel=1e-13
    )
    # Back from two trained softmax outputs: one sigmoid on the difference of their logits.
    trained_two = trained_spec([2, 3, 4, 2], output="softmax", loss="ce")
    one = carried(trained_two, layers=[2, 3, 4, 1], output="sigmoid", loss="bce")
    back, before = Network.from_spec(one), Network.from_spec(trained_two)
    assert np.allclose(back.forward(X)[:, 0], before.forward(X)[:, 1], rtol=1e-13, atol=1e-16)


def test_one_linear_output_and_two_softmax_outputs_keep_each_points_class():
    """A linear output counts above 0.5 as class 1, softmax its larger output: the carried head
    keeps the decision boundary either way (a plain copy of neuron 0 flipped every class)."""
    X = np.random.default_rng(2).normal(size=(200, 2)) * 3
    net = Network.from_spec({"layers": [2, 3, 1], "output": "linear", "loss": "mse", "seed": 3})
    net.params[...] = np.random.default_rng(4).normal(size=net.params.size)
    linear = net.to_spec()
    two = carried(linear, layers=[2, 3, 2], output="softmax", loss="ce")
    class_one = Network.from_spec(linear).forward(X)[:, 0] > 0.5
    assert 20 < class_one.sum() < 180  # both classes present, so a flip would show
    softmax = Network.from_spec(two).forward(X)
    assert np.array_equal(np.argmax(softmax, axis=1) == 1, class_one)
    back = Network.from_spec(carried(two, layers=[2, 3, 1], output="linear", loss="mse"))
    assert np.array_equal(back.forward(X)[:, 0] > 0.5, class_one)
