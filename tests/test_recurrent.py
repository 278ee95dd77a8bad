"""Recurrent: backpropagation through time against central differences (both cells, every output
and loss, masks, truncation), the spec round trip, and the errors bad input gets."""

import json

import numpy as np
import pytest

from engine import Recurrent
from engine.checks import FieldError
from engine.recurrent import (
    MAX_STEPS,
    forget_gate_means,
    gradient_norms_through_time,
)
from engine.recurrent_phases import differentiated_loss

EPS = 1e-6
# Central differences of float64 losses of size ~1 are good to ~1e-9 relative; backprop is exact.
TOLERANCE = 1e-7
OUTPUTS = [("linear", "mse"), ("sigmoid", "bce"), ("sigmoid", "mse"), ("softmax", "ce")]
OUTPUTS += [("softmax", "mse")]
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh")]
T, N, D, H, K = 7, 3, 2, 4, 3


def make(cell: str, activation: str, output: str, loss: str, seed: int = 1) -> Recurrent:
    spec = {"cell": cell, "inputs": D, "hidden": H, "outputs": K, "activation": activation}
    spec |= {"output": output, "loss": loss, "seed": seed, "init_scale": 1.5}
    net = Recurrent.from_spec(spec)
    # Non-zero biases, so their gradients and the relu's kinks are exercised too.
    rng = np.random.default_rng(seed)
    for W in net.weights.values():
        if W.ndim == 1:
            W[...] = rng.normal(0.0, 0.3, W.shape)
    return net


def batch(output: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, N, D))
    if output == "softmax":
        Y = np.eye(K)[rng.integers(0, K, (T, N))]
    elif output == "sigmoid":
        Y = rng.random((T, N, K))
    else:
        Y = rng.normal(size=(T, N, K))
    mask = (rng.random((T, N)) < 0.6).astype(np.float64)
    mask[-1] = 1.0  # every sequence has a target at its last step (as in the adding task)
    return X, Y, mask


def central_difference(loss_of, params: np.ndarray) -> np.ndarray:
    gradient = np.zeros_like(params)
    for index in range(params.size):
        original = params[index]
        params[index] = original + EPS
        plus = loss_of()
        params[index] = original - EPS
        minus = loss_of()
        params[index] = original
        gradient[index] = (plus - minus) / (2 * EPS)
    return gradient


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


@pytest.mark.parametrize("cell,activation", CELLS)
@pytest.mark.parametrize("output,loss", OUTPUTS)
@pytest.mark.parametrize("masked", [False, True])
def test_bptt_equals_central_differences(cell, activation, output, loss, masked) -> None:
    net = make(cell, activation, output, loss)
    X, Y, mask = batch(output)
    mask = mask if masked else None
    analytic = net.backward(net.forward_trace(X), Y, mask).flat
    numeric = central_difference(lambda: net.loss(X, Y, mask), net.params)
    assert relative(analytic, numeric) < TOLERANCE
    # Named gradients are views of the same numbers.
    grads = net.gradients(X, Y, mask)
    assert np.array_equal(np.concatenate([g.ravel() for g in grads.values()]), analytic)


@pytest.mark.parametrize("cell,activation", CELLS)
@pytest.mark.parametrize("k", [1, 2, 3, 7, 50])
@pytest.mark.parametrize("masked", [False, True])
def test_truncated_bptt_equals_central_differences_of_the_windows(cell, activation, k, masked):
    net = make(cell, activation, "linear", "mse")
    X, Y, mask = batch("linear", seed=3)
    mask = mask if masked else None
    analytic = net.backward(net.forward_trace(X), Y, mask, truncate=k).flat
    numeric = central_difference(differentiated_loss(net, X, Y, mask, k), net.params)
    assert relative(analytic, numeric) < TOLERANCE
    full = net.backward(net.forward_trace(X), Y, mask).flat
    if k >= T:  # one window: nothing is cut
        assert np.array_equal(analytic, full)
    else:  # something was cut, so the truncated gradient really differs from the full one
        assert relative(analytic, full) > 1e-3


def test_truncation_stops_the_gradient_at_each_window_start() -> None:
    net = make("rnn", "tanh", "linear", "mse")
    X, Y, _ = batch("linear")
    mask = np.zeros((T, N))
    mask[-1] = 1.0  # only the last step has a target
    backward = net.backward(net.forward_trace(X), Y, mask, truncate=3)
    norms = gradient_norms_through_time(backward)
    # Windows [0, 3), [3, 6), [6, 7): the loss at step 6 reaches step 6 only.
    assert norms[6] > 0 and np.all(norms[:6] == 0)
    full = gradient_norms_through_time(net.backward(net.forward_trace(X), Y, mask))
    assert np.all(full > 0)


def test_gradient_norms_and_forget_gates_per_step() -> None:
    net = make("lstm", "tanh", "linear", "mse")
    X, Y, mask = batch("linear")
    trace = net.forward_trace(X)
    backward = net.backward(trace, Y, mask)
    norms = gradient_norms_through_time(backward)
    assert norms.shape == (T,)
    assert np.allclose(norms, [np.linalg.norm(backward.dH[t]) for t in range(T)], rtol=1e-14)
    gates = forget_gate_means(net, trace)
    assert gates.shape == (T,) and np.all((gates > 0) & (gates < 1))
    assert np.allclose(gates, trace.A[:, :, H : 2 * H].mean(axis=(1, 2)))
    with pytest.raises(ValueError, match="cell: forget gates exist only in an lstm"):
        forget_gate_means(make("rnn", "tanh", "linear", "mse"), trace)


def test_lstm_is_torchs_cell_written_out() -> None:
    """One step by hand with the gate order i, f, g, o: c = f·c₀ + i·g, h = o·tanh(c)."""
    net = make("lstm", "tanh", "linear", "mse")
    X, _, _ = batch("linear")
    trace = net.forward_trace(X[:2])
    W = net.weights
    pre = X[1] @ W["W_x"] + trace.H[1] @ W["W_h"] + W["b"]
    sigmoid = 1 / (1 + np.exp(-pre))
    i, f, o = sigmoid[:, :H], sigmoid[:, H : 2 * H], sigmoid[:, 3 * H :]
    g = np.tanh(pre[:, 2 * H : 3 * H])
    c = f * trace.C[1] + i * g
    assert np.allclose(trace.C[2], c, rtol=1e-14, atol=1e-15)
    assert np.allclose(trace.H[2], o * np.tanh(c), rtol=1e-14, atol=1e-15)
    assert np.allclose(trace.Yhat[1], trace.H[2] @ W["W_hy"] + W["b_y"], rtol=1e-14)


def test_loss_is_the_mean_over_sequences_of_the_masked_sum_over_steps() -> None:
    net = make("rnn", "tanh", "softmax", "ce")
    X, Y, mask = batch("softmax")
    Yhat = net.forward(X)
    per_step = -(Y * np.log(Yhat)).sum(axis=2)
    assert np.isclose(net.loss(X, Y, mask), (per_step * mask).sum() / N, rtol=1e-13)
    assert np.isclose(net.loss(X, Y), per_step.sum() / N, rtol=1e-13)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_spec_round_trips_exactly(cell: str) -> None:
    net = make(cell, "tanh", "softmax", "ce", seed=9)
    spec = json.loads(json.dumps(net.to_spec()))
    again = Recurrent.from_spec(spec)
    assert np.array_equal(again.params, net.params)
    assert again.to_spec() == spec
    copy = net.copy()
    copy.params[0] += 1.0
    assert copy.params[0] != net.params[0]
    shapes = {name: np.array(W).shape for name, W in spec["weights"].items()}
    if cell == "rnn":
        assert shapes == {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,), "W_hy": (H, K), "b_y": (K,)}
    else:
        assert shapes == {"W_x": (D, 4 * H), "W_h": (H, 4 * H), "b": (4 * H,)} | {
            "W_hy": (H, K),
            "b_y": (K,),
        }


def test_forget_bias_starts_the_forget_gates_open() -> None:
    net = Recurrent.from_spec(
        {"cell": "lstm", "inputs": 1, "hidden": 3, "outputs": 1} | {"forget_bias": 2.0}
    )
    assert np.array_equal(net.weights["b"], [0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0])
    assert Recurrent.from_spec(net.to_spec()).forget_bias == 2.0


def test_weights_given_in_part_keep_the_others_drawn_from_the_seed() -> None:
    base = {"cell": "rnn", "inputs": 1, "hidden": 3, "outputs": 1, "seed": 4}
    drawn = Recurrent.from_spec(base)
    given = Recurrent.from_spec(base | {"weights": {"W_hh": np.eye(3).tolist()}})
    assert np.array_equal(given.weights["W_hh"], np.eye(3))
    for name in ("W_xh", "b_h", "W_hy", "b_y"):
        assert np.array_equal(given.weights[name], drawn.weights[name])


BASE = {"cell": "rnn", "inputs": 1, "hidden": 2, "outputs": 1}
BAD_SPECS = [
    (BASE | {"cell": "gru"}, r"network\.cell: must be one of rnn, lstm, got 'gru'"),
    (BASE | {"hidden": 0}, r"network\.hidden: expected an integer >= 1, got 0"),
    (BASE | {"hidden": 2.5}, r"network\.hidden: expected an integer >= 1, got 2.5"),
    (BASE | {"hidden": True}, r"network\.hidden: expected an integer >= 1, got True"),
    (BASE | {"hidden": 10**30}, r"network\.hidden: at most 10,000,000, got a 31-digit number"),
    (BASE | {"hidden": 5000}, r"network\.hidden: 25,015,001 parameters, more than"),
    ({"cell": "rnn", "hidden": 2, "outputs": 1}, r"network\.inputs: required"),
    (BASE | {"activation": "sigmoid"}, r"network\.activation: must be one of tanh, relu"),
    (BASE | {"cell": "lstm", "activation": "relu"}, r"network\.activation: the lstm cell has"),
    (BASE | {"output": "softmax"}, r"network\.output: softmax needs at least 2 outputs"),
    (BASE | {"loss": "ce"}, r"network\.loss: ce needs output softmax, got output linear"),
    (BASE | {"init": "magic"}, r"network\.init: must be one of xavier"),
    (BASE | {"forget_bias": 1.0}, r"network\.forget_bias: only an lstm has a forget gate"),
    (BASE | {"cell": "lstm", "forget_bias": float("inf")}, r"network\.forget_bias: must be a"),
    (BASE | {"seed": -1}, r"network\.seed: must be an integer"),
    (BASE | {"layers": [1, 2]}, r"network\.layers: unknown key"),
    (BASE | {"weights": {"W_hh": [[1, 2], [3, float("nan")]]}}, r"network\.weights\.W_hh\[1\]"),
    (BASE | {"weights": {"W_hh": [[1, 2]]}}, r"network\.weights\.W_hh: expected shape \(2, 2\)"),
    (BASE | {"weights": {"W_zz": [[1]]}}, r"network\.weights\.W_zz: unknown parameter"),
    (BASE | {"weights": [[1]]}, r"network\.weights: expected a dict"),
    ("rnn", r"network: expected a dict"),
]


@pytest.mark.parametrize("spec,message", BAD_SPECS)
def test_bad_specs_name_the_field(spec, message) -> None:
    with pytest.raises(FieldError, match="^" + message):
        Recurrent.from_spec(spec)


def test_bad_inputs_name_the_array() -> None:
    net = Recurrent.from_spec(BASE)
    X, Y = np.zeros((3, 2, 1)), np.zeros((3, 2, 1))
    cases = [
        (lambda: net.loss(np.zeros((3, 1)), Y), r"X: expected shape \(T >= 1, n >= 1, 1\)"),
        (lambda: net.loss(X.copy() * np.nan, Y), r"X: every value must be finite"),
        (lambda: net.loss(X, Y[:2]), r"Y: expected shape \(3, 2, 1\)"),
        (lambda: net.loss(X, Y, np.ones((3, 3))), r"mask: expected shape \(3, 2\)"),
        (lambda: net.loss(X, Y, np.full((3, 2), 0.5)), r"mask: every value must be 0 or 1"),
        (lambda: net.gradients(X, Y, truncate=-1), r"truncate: expected an integer in"),
        (lambda: net.gradients(X, Y, truncate=10**9), r"truncate: expected an integer in"),
        (lambda: net.forward(np.zeros((MAX_STEPS + 1, 1, 1))), r"X: at most 10,000 time steps"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
