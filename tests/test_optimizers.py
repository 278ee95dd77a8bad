"""Trainer and optimizers: the first two steps of each against formulas written out by hand,
penalties, frozen layers, live option changes, dropout, divergence and determinism."""

import re
import warnings

import numpy as np
import pytest

from engine import Network, Trainer

SPEC = {"layers": [2, 3, 2], "activation": "tanh", "output": "linear", "loss": "mse", "seed": 11}
RNG = np.random.default_rng(21)
X = RNG.normal(size=(5, 2))
Y = RNG.normal(size=(5, 2))
LR = 0.1


def gradient_at(params: np.ndarray) -> np.ndarray:
    """Plain batch gradient at the given parameters, computed on a separate network."""
    net = Network.from_spec(SPEC)
    net.params[...] = params
    return net.backward(net.forward_trace(X), Y).flat


def two_steps(optimizer: str, **options: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Initial parameters and the trainer's parameters after steps 1 and 2."""
    net = Network.from_spec(SPEC)
    trainer = Trainer(net, optimizer=optimizer, lr=LR, **options)
    start = net.params.copy()
    after = []
    for _ in range(2):
        assert not trainer.step(X, Y).diverged
        after.append(net.params.copy())
    return start, after


def test_sgd_first_two_steps() -> None:
    w0, (w1, w2) = two_steps("sgd")
    expected1 = w0 - LR * gradient_at(w0)
    assert np.array_equal(w1, expected1)
    assert np.array_equal(w2, expected1 - LR * gradient_at(expected1))


def test_momentum_first_two_steps() -> None:
    mu = 0.9
    w0, (w1, w2) = two_steps("momentum")
    v1 = gradient_at(w0)  # torch: the first buffer is the gradient itself
    expected1 = w0 - LR * v1
    v2 = mu * v1 + gradient_at(expected1)
    assert np.allclose(w1, expected1, rtol=1e-14, atol=1e-15)
    assert np.allclose(w2, expected1 - LR * v2, rtol=1e-14, atol=1e-15)


def test_rmsprop_first_two_steps() -> None:
    alpha, eps = 0.99, 1e-8
    w0, (w1, w2) = two_steps("rmsprop")
    g1 = gradient_at(w0)
    s1 = (1 - alpha) * g1**2
    expected1 = w0 - LR * g1 / (np.sqrt(s1) + eps)
    g2 = gradient_at(expected1)
    s2 = alpha * s1 + (1 - alpha) * g2**2
    assert np.allclose(w1, expected1, rtol=1e-13, atol=1e-15)
    assert np.allclose(w2, expected1 - LR * g2 / (np.sqrt(s2) + eps), rtol=1e-13, atol=1e-15)


def test_adam_first_two_steps_with_bias_correction() -> None:
    b1, b2, eps = 0.9, 0.999, 1e-8
    w0, (w1, w2) = two_steps("adam")
    g1 = gradient_at(w0)
    m, v = (1 - b1) * g1, (1 - b2) * g1**2
    expected1 = w0 - LR * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
    g2 = gradient_at(expected1)
    m, v = b1 * m + (1 - b1) * g2, b2 * v + (1 - b2) * g2**2
    expected2 = expected1 - LR * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    assert np.allclose(w1, expected1, rtol=1e-13, atol=1e-15)
    assert np.allclose(w2, expected2, rtol=1e-13, atol=1e-15)
    # Adam's first step moves every parameter by about lr, whatever its gradient's size.
    assert np.allclose(np.abs(w1 - w0), LR, rtol=1e-5)


def test_custom_hyperparameters_are_used() -> None:
    w0, (w1, _) = two_steps("rmsprop", alpha=0.5, eps=0.1)
    g1 = gradient_at(w0)
    assert np.allclose(w1, w0 - LR * g1 / (np.sqrt(0.5 * g1**2) + 0.1), rtol=1e-13, atol=1e-15)


def test_defaults_are_torch_optim_defaults() -> None:
    options = Trainer(Network.from_spec(SPEC)).options
    assert options == {
        "optimizer": "sgd",
        "lr": 0.03,
        "momentum": 0.9,
        "alpha": 0.99,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "l1": 0.0,
        "l2": 0.0,
        "dropout": 0.0,
        "clip": 0.0,
        "frozen": [],
        "seed": 1,  # network.seed's default: a Trainer on its own seeds dropout like a run
    }


def test_l1_and_l2_penalise_weights_but_not_biases() -> None:
    net = Network.from_spec(SPEC)
    net.params[...] += 0.05
    w0 = net.params.copy()
    Trainer(net, lr=LR, l1=0.01, l2=0.1).step(X, Y)
    is_weight = net.weight_mask.astype(bool)
    penalty = np.where(is_weight, 0.01 * np.sign(w0) + 0.1 * w0, 0.0)
    assert np.allclose(net.params, w0 - LR * (gradient_at(w0) + penalty), rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
def test_a_network_without_biases_keeps_them_at_zero(optimizer: str) -> None:
    net = Network.from_spec({**SPEC, "bias": False})
    trainer = Trainer(net, optimizer=optimizer, lr=LR, l1=0.01, l2=0.1)
    for _ in range(3):
        assert not trainer.step(X, Y).diverged
    assert all(not b.any() for b in net.biases)
    assert Network.from_spec(net.to_spec()).bias is False


# ----- frozen layers --------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
def test_frozen_layer_never_moves(optimizer: str) -> None:
    net = Network.from_spec(SPEC)
    before = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    trainer = Trainer(net, optimizer=optimizer, lr=LR, l2=0.1, frozen=[0])
    for _ in range(3):
        trainer.step(X, Y)
    assert np.array_equal(net.weights[0], before[0][0])
    assert np.array_equal(net.biases[0], before[1][0])
    assert not np.array_equal(net.weights[1], before[0][1])
    assert not trainer.last_update[0]["W"].any()


def test_frozen_layer_keeps_its_optimizer_state_until_unfrozen() -> None:
    # Adam frozen on layer 0 for two steps, then unfrozen: layer 0's first real step is a
    # first Adam step (bias correction with t = 1), so it moves each weight by about lr.
    net = Network.from_spec(SPEC)
    trainer = Trainer(net, optimizer="adam", lr=LR, frozen=[0])
    trainer.step(X, Y)
    trainer.step(X, Y)
    trainer.set(frozen=[])
    W0 = net.weights[0].copy()
    trainer.step(X, Y)
    assert np.allclose(np.abs(net.weights[0] - W0), LR, rtol=1e-5)


# ----- live changes -----------------------------------------------------------------------------


def test_changing_lr_keeps_momentum_and_changing_optimizer_resets_it() -> None:
    net = Network.from_spec(SPEC)
    trainer = Trainer(net, optimizer="momentum", lr=LR)
    w0 = net.params.copy()
    trainer.step(X, Y)
    v1 = gradient_at(w0)
    trainer.set(lr=0.05)
    w1 = net.params.copy()
    trainer.step(X, Y)
    v2 = 0.9 * v1 + gradient_at(w1)  # the buffer survived the change of lr
    assert np.allclose(net.params, w1 - 0.05 * v2, rtol=1e-14, atol=1e-15)
    trainer.set(optimizer="sgd")
    trainer.set(optimizer="momentum")  # fresh buffer: the next step is a plain gradient step
    w2 = net.params.copy()
    trainer.step(X, Y)
    assert np.allclose(net.params, w2 - 0.05 * gradient_at(w2), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"lr": 0}, "lr"),
        ({"lr": -1}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"lr": True}, "lr"),
        ({"lr": 10**400}, "lr"),  # beyond float range: a named error, not OverflowError
        ({"lr": "0.1"}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"alpha": -0.1}, "alpha"),
        ({"beta1": 1}, "beta1"),
        ({"beta2": 2}, "beta2"),
        ({"eps": 0}, "eps"),
        ({"l1": -1}, "l1"),
        ({"l2": float("inf")}, "l2"),
        ({"dropout": 1.0}, "dropout"),
        ({"frozen": [2]}, "frozen"),
        ({"frozen": [True]}, "frozen[0]"),
        ({"frozen": 0}, "frozen"),
        ({"seed": -1}, "seed"),
        ({"batch": 10}, "batch"),
    ],
)
def test_invalid_options_name_the_field_and_change_nothing(options: dict, field: str) -> None:
    path = "network.seed" if field == "seed" else f"training.{field}"
    with pytest.raises(ValueError, match=f"^{re.escape(path)}:"):
        Trainer(Network.from_spec(SPEC), **options)
    trainer = Trainer(Network.from_spec(SPEC), optimizer="adam", lr=0.5)
    before = trainer.options
    with pytest.raises(ValueError, match=f"^{re.escape(path)}:"):
        trainer.set(**{"momentum": 0.5, **options})
    assert trainer.options == before


# ----- dropout ------------------------------------------------------------------------------------


def test_dropout_masks_hidden_layers_only_and_rescales_kept_units() -> None:
    net = Network.from_spec({"layers": [2, 50, 40, 1], "seed": 1})
    trainer = Trainer(net, dropout=0.25, seed=3)
    trace = trainer.forward(np.ones((200, 2)))
    assert trace.masks is not None and trace.masks[-1] is None
    for mask in trace.masks[:-1]:
        assert set(np.unique(mask)) == {0.0, 1 / 0.75}
        assert (mask > 0).mean() == pytest.approx(0.75, abs=0.02)
    assert np.array_equal(trace.A[0], trace.F[0] * trace.masks[0])
    assert np.array_equal(net.forward(np.ones((1, 2))), net.forward(np.ones((1, 2))))


def test_same_seed_gives_the_same_run_bit_for_bit() -> None:
    def run(seed: int) -> np.ndarray:
        net = Network.from_spec(SPEC)
        trainer = Trainer(net, optimizer="adam", lr=0.01, dropout=0.3, seed=seed)
        for _ in range(20):
            trainer.step(X, Y)
        return net.params

    assert np.array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


# ----- divergence and bookkeeping ---------------------------------------------------------


def test_divergence_is_reported_and_the_parameters_before_it_are_kept() -> None:
    net = Network.from_spec({**SPEC, "activation": "linear"})
    trainer = Trainer(net, optimizer="momentum", lr=10.0)
    big_X, big_Y = X * 1e3, Y * 1e3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy overflow warnings escape either
        results = [trainer.step(big_X, big_Y) for _ in range(400)]
    first = next(index for index, result in enumerate(results) if result.diverged)
    assert first > 0 and results[first].message.startswith("diverged:")
    assert np.isfinite(net.params).all()
    kept = net.params.copy()
    state = [s.copy() for s in trainer._state]
    assert trainer.step(big_X, big_Y).diverged
    assert np.array_equal(net.params, kept)
    assert all(np.array_equal(a, b) for a, b in zip(state, trainer._state, strict=True))


def test_last_gradients_and_last_update_describe_the_step_just_applied() -> None:
    net = Network.from_spec(SPEC)
    trainer = Trainer(net, lr=LR)
    before = net.params.copy()
    expected_gradient = gradient_at(before)
    result = trainer.step(X, Y)
    assert result == (Network.from_spec(SPEC).loss(X, Y), False, None)
    grads = trainer.last_gradients
    assert np.array_equal(
        np.concatenate([np.r_[g["W"].ravel(), g["b"]] for g in grads]), expected_gradient
    )
    update = np.concatenate([np.r_[u["W"].ravel(), u["b"]] for u in trainer.last_update])
    assert np.array_equal(before + update, net.params)
