"""The phase stream (equal to Trainer.step bit for bit) and the chain-rule explanations."""

import itertools
import json

import numpy as np
import pytest

from engine import Network, Trainer
from engine.phases import explain_bias, explain_neuron, explain_weight

SPEC = {"layers": [2, 4, 3, 2], "activation": "tanh", "output": "softmax", "loss": "ce", "seed": 5}
RNG = np.random.default_rng(8)
X = RNG.normal(size=(6, 2))
Y = np.eye(2)[RNG.integers(0, 2, 6)]

CONFIGS = [
    {"optimizer": "sgd", "lr": 0.3},
    {"optimizer": "momentum", "lr": 0.1, "dropout": 0.3, "seed": 4},
    {"optimizer": "adam", "lr": 0.05, "frozen": [1], "l2": 0.01, "dropout": 0.5},
    {"optimizer": "rmsprop", "lr": 0.01, "l1": 0.02, "frozen": [0, 2]},
]


# A sample the batch does not hold (x, y), followed with the batch's weights.
OUTSIDE = (RNG.normal(size=2), np.array([0.0, 1.0]))


def run_phases(trainer: Trainer, focus: int | tuple = 0) -> list[dict]:
    return list(trainer.phases(X, Y, focus=focus))


@pytest.mark.parametrize("options", CONFIGS)
def test_running_every_phase_equals_step_bit_for_bit(options: dict) -> None:
    stepped, phased = Network.from_spec(SPEC), Network.from_spec(SPEC)
    step_trainer, phase_trainer = Trainer(stepped, **options), Trainer(phased, **options)
    for iteration in range(6):
        result = step_trainer.step(X, Y)
        # Every other iteration follows a sample outside the batch: the update is the same.
        focus = iteration % 6 if iteration % 2 else OUTSIDE
        phases = run_phases(phase_trainer, focus=focus)
        assert phases[phased.n_layers]["loss"] == result.loss
        assert np.array_equal(stepped.params, phased.params)
        for a, b in zip(step_trainer._state, phase_trainer._state, strict=True):
            assert np.array_equal(a, b)
    assert step_trainer.rng.random() == phase_trainer.rng.random()  # same dropout draws used


def test_phases_come_in_order_with_the_documented_shapes() -> None:
    net = Network.from_spec(SPEC)
    phases = run_phases(Trainer(net, dropout=0.2), focus=2)
    names = [(p["phase"], p.get("layer")) for p in phases]
    assert names == [
        ("forward", 0),
        ("forward", 1),
        ("forward", 2),
        ("loss", None),
        ("backward", 2),
        ("backward", 1),
        ("backward", 0),
        ("update", None),
    ]
    sizes = net.layers
    for p in phases[:3]:
        k = sizes[p["layer"] + 1]
        assert p["Z"].shape == p["A"].shape == (6, k)
        assert p["focus"]["Z"].shape == (k,)
        assert np.array_equal(p["focus"]["A"], p["A"][2])
    assert phases[0]["mask"].shape == (6, 4) and phases[2]["mask"] is None
    assert phases[3]["Yhat"].shape == (6, 2) and np.array_equal(phases[3]["Y"], Y)
    for p in phases[4:7]:
        fan_in, k = sizes[p["layer"]], sizes[p["layer"] + 1]
        assert p["dZ"].shape == (6, k) and p["dW"].shape == (fan_in, k) and p["db"].shape == (k,)
        assert p["focus"]["dZ"].shape == (k,) and p["focus"]["dW"].shape == (fan_in, k)
    update = phases[-1]
    assert [W.shape for W in update["W"]] == [W.shape for W in net.weights]
    assert update["diverged"] is False


def test_focus_terms_are_the_samples_own_and_average_to_the_batch_gradient() -> None:
    # With dropout on and no penalties, the batch gradient is the mean of the samples' own.
    net = Network.from_spec(SPEC)
    trainer = Trainer(net, dropout=0.4, seed=9)
    rng_state = trainer.rng.bit_generator.state
    own_sum = [np.zeros_like(W) for W in net.weights]
    batch: list[np.ndarray] = []
    for focus in range(6):
        trainer.rng.bit_generator.state = rng_state  # the same dropout masks for every focus
        # Stop before the update phase, so the parameters never change in this test.
        phases = list(itertools.islice(trainer.phases(X, Y, focus), 7))
        backward = {p["layer"]: p for p in phases if p["phase"] == "backward"}
        batch = batch or [backward[layer]["dW"] for layer in range(3)]
        for layer in range(3):
            own = backward[layer]["focus"]
            A_prev = X if layer == 0 else phases[layer - 1]["A"]
            assert np.allclose(own["dW"], np.outer(A_prev[focus], own["dZ"]), rtol=1e-15)
            assert np.allclose(own["dZ"], backward[layer]["dZ"][focus] * 6, rtol=1e-12)
            own_sum[layer] += own["dW"]
    for layer in range(3):
        assert np.allclose(own_sum[layer] / 6, batch[layer], rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_a_sample_outside_the_batch_carries_its_own_forward_and_backward_values(
    dropout: float,
) -> None:
    net = Network.from_spec(SPEC)
    before = net.copy()
    phases = run_phases(Trainer(net, dropout=dropout, seed=3), focus=OUTSIDE)
    x, y = OUTSIDE
    trace = before.forward_trace(x[None, :])  # one sample, no dropout: it is not trained on
    own = before.backward(trace, y[None, :])
    for p in phases[:3]:
        assert np.array_equal(p["focus"]["Z"], trace.Z[p["layer"]][0])
        assert np.array_equal(p["focus"]["A"], trace.A[p["layer"]][0])
    loss = before.loss_fn.per_sample(trace.Z[-1], trace.A[-1], y[None, :])[0]
    assert phases[3]["focus"]["loss"] == loss
    assert phases[3]["focus"]["loss"] == pytest.approx(before.loss(x[None, :], y[None, :]))
    for p in phases[4:7]:
        assert np.array_equal(p["focus"]["dZ"], own.dZ[p["layer"]][0])
        assert np.array_equal(p["focus"]["dW"], own.dW[p["layer"]])
        alone = before.gradients(x[None, :], y[None, :])[p["layer"]]["W"]
        assert np.allclose(p["focus"]["dW"], alone, rtol=1e-13)


def test_an_in_batch_focus_equals_the_sample_alone_without_dropout() -> None:
    net = Network.from_spec(SPEC)
    before = net.copy()
    phases = run_phases(Trainer(net), focus=4)
    trace = before.forward_trace(X[4:5])
    own = before.backward(trace, Y[4:5])
    for p in phases[:3]:
        assert np.allclose(p["focus"]["A"], trace.A[p["layer"]][0], rtol=1e-13, atol=1e-16)
    for p in phases[4:7]:
        assert np.allclose(p["focus"]["dW"], own.dW[p["layer"]], rtol=1e-13, atol=1e-16)


def test_update_phase_reports_the_change_and_the_new_parameters() -> None:
    net = Network.from_spec(SPEC)
    before = [W.copy() for W in net.weights]
    update = run_phases(Trainer(net, optimizer="momentum", lr=0.2))[-1]
    for layer in range(3):
        assert np.array_equal(update["W"][layer], net.weights[layer])
        assert np.array_equal(before[layer] + update["dW"][layer], net.weights[layer])
    net.weights[0][0, 0] = 99.0
    assert update["W"][0][0, 0] != 99.0  # a snapshot, not a view


def test_divergence_in_the_phase_stream_keeps_the_parameters() -> None:
    net = Network.from_spec({**SPEC, "output": "linear", "loss": "mse", "activation": "linear"})
    trainer = Trainer(net, lr=10.0)
    big_Y = Y * 1e200
    kept = net.params.copy()
    update = list(trainer.phases(X * 1e150, big_Y))[-1]
    assert update["diverged"] is True
    assert np.array_equal(net.params, kept)
    assert not any(d.any() for d in update["dW"])


def test_bad_focus_is_rejected_before_anything_changes() -> None:
    net = Network.from_spec(SPEC)
    trainer = Trainer(net, dropout=0.5)
    state = trainer.rng.bit_generator.state
    bad_outside = [(np.zeros(3), np.zeros(2)), (np.zeros(2), np.zeros(1)), (np.zeros(2),)]
    for focus in (6, -1, 1.0, True, *bad_outside):
        with pytest.raises(ValueError, match=r"^focus:"):
            trainer.phases(X, Y, focus=focus)
    with pytest.raises(ValueError, match=r"^Y:"):
        trainer.phases(X, Y[:3])
    assert trainer.rng.bit_generator.state == state


# ----- chain-rule explanations -------------------------------------------------------------------


def assert_json_able(value: dict) -> None:
    json.dumps(value, allow_nan=False)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_weight_explanation_multiplies_out_to_the_gradient(layer: int) -> None:
    net = Network.from_spec(SPEC)
    focus = 3
    explanation = explain_weight(net, X, Y, layer, 1, 1, focus=focus)
    assert_json_able(explanation)
    gradient = net.gradients(X, Y)[layer]["W"][1, 1]
    assert explanation["gradient"] == gradient
    assert explanation["batch"]["mean_a_delta"] == pytest.approx(gradient, rel=1e-12, abs=1e-17)
    terms = explanation["focus"]
    assert terms["product"] == terms["a_i"] * terms["delta_j"]
    delta = terms["delta"]
    if layer < 2:
        assert delta["kind"] == "hidden"
        assert sum(t["product"] for t in delta["downstream"]) == pytest.approx(delta["sum"])
        assert delta["f_prime"] * delta["sum"] == pytest.approx(delta["delta"], rel=1e-12)
        assert delta["f_prime"] == pytest.approx(1 - np.tanh(delta["z"]) ** 2, rel=1e-12)
        assert len(delta["downstream"]) == net.layers[layer + 2]
    else:
        assert delta["kind"] == "softmax+ce"
        assert delta["delta"] == pytest.approx(delta["yhat"] - delta["y"], rel=1e-12)
        assert delta["y"] == Y[focus, 1]
    assert explanation["formula"].startswith("∂L/∂w = a_i · δ_j = ")


def test_sigmoid_mse_and_softmax_mse_outputs_explain_their_delta() -> None:
    rng = np.random.default_rng(3)
    Xs, Ys = rng.normal(size=(4, 2)), rng.random((4, 3))
    for output, kind in (("sigmoid", "output"), ("softmax", "softmax+mse")):
        net = Network.from_spec({"layers": [2, 3], "output": output, "loss": "mse", "seed": 2})
        delta = explain_weight(net, Xs, Ys, 0, 0, 2, focus=1)["focus"]["delta"]
        assert delta["kind"] == kind
        own = net.gradients(Xs[1:2], Ys[1:2])[0]["b"][2]
        assert delta["delta"] == pytest.approx(own, rel=1e-12)
        if kind == "output":
            assert delta["dL_dyhat"] * delta["f_prime"] == pytest.approx(delta["delta"], rel=1e-12)
        else:
            expected = delta["yhat"] * (delta["dL_dyhat"] - delta["weighted_sum"])
            assert expected == pytest.approx(delta["delta"], rel=1e-12)


def test_bias_explanation_uses_an_input_of_one() -> None:
    net = Network.from_spec(SPEC)
    explanation = explain_bias(net, X, Y, 1, 2, focus=4)
    assert_json_able(explanation)
    assert explanation["focus"]["a_i"] == 1.0
    assert explanation["gradient"] == net.gradients(X, Y)[1]["b"][2]
    assert explanation["formula"].startswith("∂L/∂b = a_i · δ_j = 1 × ")
    assert explanation["trained"] is True


def test_neuron_explanation_adds_up_its_inputs() -> None:
    net = Network.from_spec(SPEC)
    explanation = explain_neuron(net, X, Y, 1, 0, focus=5)
    assert_json_able(explanation)
    z = sum(t["product"] for t in explanation["incoming"]) + explanation["bias"]
    assert z == pytest.approx(explanation["z"], rel=1e-12)
    assert explanation["a"] == pytest.approx(np.tanh(explanation["z"]), rel=1e-15)
    assert explanation["batch_mean_delta"] == pytest.approx(
        net.gradients(X, Y)[1]["b"][0], rel=1e-15
    )


def test_penalties_are_listed_when_given() -> None:
    net = Network.from_spec(SPEC)
    w = net.weights[0][1, 2]
    explanation = explain_weight(net, X, Y, 0, 1, 2, l1=0.1, l2=0.5)
    assert explanation["penalty"]["value"] == 0.1 * np.sign(w) + 0.5 * w
    assert (
        explanation["gradient_with_penalty"] == explanation["gradient"] + 0.1 * np.sign(w) + 0.5 * w
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda net: explain_weight(net, X, Y, 3, 0, 0), "layer"),
        (lambda net: explain_weight(net, X, Y, 0, 2, 0), "i"),
        (lambda net: explain_bias(net, X, Y, 2, 2), "j"),
        (lambda net: explain_neuron(net, X, Y, 0, 0, focus=6), "focus"),
    ],
)
def test_explanations_reject_bad_indices_naming_the_field(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=f"^{field}:"):
        call(Network.from_spec(SPEC))
