"""Training a Recurrent net: the phase stream equals Trainer.step bit for bit, gradient clipping
(both network kinds), the trainer's recurrent options, and the chain-rule explanations."""

import numpy as np
import pytest

from engine import Network, Recurrent, Trainer
from engine.recurrent import gradient_norms_through_time
from engine.recurrent_phases import explain_hidden_state, explain_recurrent_weight

T, N = 6, 4
RNG = np.random.default_rng(12)
X = RNG.normal(size=(T, N, 2))
Y = RNG.normal(size=(T, N, 1))
MASK = (RNG.random((T, N)) < 0.7).astype(np.float64)


def make(cell: str, seed: int = 3) -> Recurrent:
    return Recurrent.from_spec({"cell": cell, "inputs": 2, "hidden": 3, "outputs": 1, "seed": seed})


CONFIGS = [
    {"optimizer": "sgd", "lr": 0.1},
    {"optimizer": "momentum", "lr": 0.05, "truncate": 2},
    {"optimizer": "adam", "lr": 0.05, "clip": 0.3, "l2": 0.01},
    {"optimizer": "rmsprop", "lr": 0.01, "clip": 0.5, "truncate": 4, "l1": 0.02},
]


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("options", CONFIGS)
@pytest.mark.parametrize("masked", [False, True])
def test_running_every_phase_equals_step_bit_for_bit(cell, options, masked) -> None:
    mask = MASK if masked else None
    stepped, phased = make(cell), make(cell)
    step_trainer, phase_trainer = Trainer(stepped, **options), Trainer(phased, **options)
    for iteration in range(4):
        result = step_trainer.step(X, Y, mask)
        phases = list(phase_trainer.phases(X, Y, focus=iteration % N, mask=mask))
        assert phases[T]["loss"] == result.loss
        assert np.array_equal(stepped.params, phased.params)
        for a, b in zip(step_trainer._state, phase_trainer._state, strict=True):
            assert np.array_equal(a, b)
        assert step_trainer.last_gradient_norm == phase_trainer.last_gradient_norm


def test_phases_come_in_order_through_time() -> None:
    net = make("lstm")
    grads = net.gradients(X, Y, MASK, truncate=4)
    phases = list(Trainer(net, truncate=4).phases(X, Y, focus=2, mask=MASK))
    names = [(p["phase"], p.get("t")) for p in phases]
    forward = [("forward", t) for t in range(T)]
    backward = [("backward", t) for t in reversed(range(T))]
    assert names == [*forward, ("loss", None), *backward, ("update", None)]
    assert phases[0]["gates"].shape == (N, 12) and phases[0]["c"].shape == (N, 3)
    loss = phases[T]
    assert loss["step_losses"].shape == (T,)
    assert np.isclose(loss["step_losses"].sum(), loss["loss"])
    starts = [p["window_start"] for p in phases[T + 1 : -1]]
    assert starts == [False, True, False, False, False, True]  # t = 5 … 0, windows of 4
    update = phases[-1]
    backward_phases = phases[T + 1 : -1]
    assert np.allclose(update["dh_norms"][::-1], [p["dh_norm"] for p in backward_phases])
    assert update["forget_gates"].shape == (T,)
    # The recurrent weight's partial sum grows step by step to the full gradient.
    assert np.array_equal(backward_phases[-1]["partial"], grads["W_h"])
    assert np.array_equal(update["grads"]["W_h"], grads["W_h"])
    # Step 0 adds nothing to W_h (the state before it is zero); step 1 does.
    assert np.array_equal(backward_phases[-2]["partial"], grads["W_h"])
    assert not np.array_equal(backward_phases[-3]["partial"], grads["W_h"])


def test_focus_values_are_the_sequences_own() -> None:
    net = make("rnn")
    phases = list(Trainer(net, lr=0.0001).phases(X, Y, focus=1, mask=MASK))
    own = make("rnn")
    alone = own.backward(own.forward_trace(X[:, 1:2]), Y[:, 1:2], MASK[:, 1:2])
    for phase in phases[T + 1 : -1]:
        t = phase["t"]
        assert np.allclose(phase["focus"]["dh"], alone.dH[t, 0], rtol=1e-12, atol=1e-15)
        assert np.allclose(phase["focus"]["dz"], alone.dA[t, 0], rtol=1e-12, atol=1e-15)


def test_bad_input_to_the_phases_changes_nothing() -> None:
    net = make("rnn")
    trainer = Trainer(net)
    before = net.params.copy()
    for call, message in [
        (lambda: trainer.phases(X, Y[:3]), r"Y: expected shape"),
        (lambda: trainer.phases(X, Y, focus=N), r"focus: expected a sample index in 0..3"),
        (lambda: trainer.phases(X * np.nan, Y), r"X: every value must be finite"),
        (lambda: trainer.step(X, Y, np.ones((T, N + 1))), r"mask: expected shape"),
    ]:
        with pytest.raises(ValueError, match=message):
            call()
    assert np.array_equal(net.params, before)


def test_trainer_options_for_a_recurrent_net() -> None:
    net = make("rnn")
    assert Trainer(net, truncate=5).options["truncate"] == 5
    cases = [
        ({"dropout": 0.2}, r"dropout: a recurrent network takes none"),
        ({"frozen": [0]}, r"frozen: a recurrent network has no layers"),
        ({"truncate": -2}, r"truncate: expected an integer in \[0, 10000\]"),
        ({"truncate": 1.5}, r"truncate: expected an integer"),
        ({"clip": -1}, r"clip: must be a finite number in \[0, 1000\]"),
        ({"clip": float("nan")}, r"clip: must be a finite number"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            Trainer(net, **options)
    feed_forward = Network.from_spec({"layers": [2, 1]})
    with pytest.raises(ValueError, match=r"training\.truncate: unknown option"):
        Trainer(feed_forward, truncate=3)
    with pytest.raises(ValueError, match=r"mask: only a recurrent network"):
        Trainer(feed_forward).step(np.zeros((2, 2)), np.zeros((2, 1)), np.ones(2))


def clip_by_hand(gradient: np.ndarray, max_norm: float) -> np.ndarray:
    """torch.nn.utils.clip_grad_norm_, written out."""
    coefficient = max_norm / (np.linalg.norm(gradient) + 1e-6)
    return gradient * min(coefficient, 1.0)


@pytest.mark.parametrize("max_norm", [0.01, 0.2, 100.0])
def test_clip_scales_the_global_norm_for_both_kinds(max_norm: float) -> None:
    feed_forward = Network.from_spec({"layers": [2, 3, 1], "seed": 2})
    points = RNG.normal(size=(5, 2))
    targets = RNG.random((5, 1))
    raw = feed_forward.backward(feed_forward.forward_trace(points), targets).flat
    before = feed_forward.params.copy()
    trainer = Trainer(feed_forward, lr=1.0, clip=max_norm)
    trainer.step(points, targets)
    assert np.allclose(before - feed_forward.params, clip_by_hand(raw, max_norm), rtol=1e-14)
    assert trainer.last_gradient_norm == pytest.approx(np.linalg.norm(raw), rel=1e-14)

    net = make("lstm")
    raw = net.backward(net.forward_trace(X), Y, MASK).flat
    before = net.params.copy()
    Trainer(net, lr=1.0, clip=max_norm).step(X, Y, MASK)
    assert np.allclose(before - net.params, clip_by_hand(raw, max_norm), rtol=1e-14)


def test_clip_counts_only_trained_layers() -> None:
    net = Network.from_spec({"layers": [2, 3, 1], "seed": 2})
    points, targets = RNG.normal(size=(5, 2)), RNG.random((5, 1))
    raw = net.backward(net.forward_trace(points), targets).flat
    trained = np.ones_like(raw, dtype=bool)
    trained[: 2 * 3 + 3] = False  # layer 0 frozen
    before = net.params.copy()
    Trainer(net, lr=1.0, clip=0.05, frozen=[0]).step(points, targets)
    expected = np.where(trained, clip_by_hand(np.where(trained, raw, 0.0), 0.05), 0.0)
    assert np.allclose(before - net.params, expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("truncate", [None, 2])
def test_weight_explanation_is_the_sum_over_time(cell: str, truncate: int | None) -> None:
    net = make(cell)
    grads = net.gradients(X, Y, MASK, truncate=truncate)
    for name in net.shapes:
        shape = net.shapes[name]
        i, j = (1, shape[-1] - 1) if len(shape) == 2 else (0, shape[-1] - 1)
        explained = explain_recurrent_weight(net, X, Y, name, i, j, MASK, truncate, focus=2)
        assert len(explained["terms"]) == T
        index = (i, j) if len(shape) == 2 else (j,)
        assert explained["gradient"] == grads[name][index]
        assert np.isclose(explained["sum"], explained["gradient"], rtol=1e-12, atol=1e-16)
        for term in explained["terms"]:
            assert np.isclose(term["product"], term["input"] * term["delta"], rtol=1e-12)
        # With truncation the check differentiates the windows' losses: it agrees too.
        assert explained["check"]["relative_error"] < 1e-6
    first = explain_recurrent_weight(net, X, Y, net.recurrent_name, 0, 0, MASK)
    assert first["terms"][0]["input"] == 0.0  # the state before step 0 is zero


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("truncate", [None, 3])
def test_hidden_state_explanation_adds_up(cell: str, truncate: int | None) -> None:
    net = make(cell)
    backward = net.backward(net.forward_trace(X), Y, MASK, truncate)
    for t in range(T):
        explained = explain_hidden_state(net, X, Y, t, 1, MASK, truncate, focus=3)
        total = explained["own_part"] + explained["future_part"]
        assert np.isclose(total, explained["delta"], rtol=1e-12, atol=1e-15)
        assert np.isclose(explained["delta"], backward.dH[t, 3, 1] * N, rtol=1e-14)
        cut = t == T - 1 or (truncate is not None and (t + 1) % truncate == 0)
        assert explained["future_cut"] == cut and (explained["future"] == []) == cut
    assert gradient_norms_through_time(backward).shape == (T,)


def test_explanations_name_bad_indices() -> None:
    net = make("rnn")
    with pytest.raises(ValueError, match="name: expected one of W_xh, W_hh"):
        explain_recurrent_weight(net, X, Y, "W_h", 0, 0)
    with pytest.raises(ValueError, match=r"i: expected 0..2 for W_hh"):
        explain_recurrent_weight(net, X, Y, "W_hh", 3, 0)
    with pytest.raises(ValueError, match=r"t: expected a time step in 0..5"):
        explain_hidden_state(net, X, Y, T, 0)


def test_clip_is_a_live_option_of_a_feed_forward_run() -> None:
    from engine import Run, default_config

    run = Run(default_config())
    before = run.network.params.copy()
    run.set({"clip": 0.01, "lr": 0.5})
    assert run.config["training"]["clip"] == run.trainer.options["clip"] == 0.01
    run.train(1)
    # Plain SGD moves the parameters by lr × the clipped gradient: at most 0.5 × 0.01.
    assert np.linalg.norm(run.network.params - before) <= 0.5 * 0.01 * (1 + 1e-12)
    assert run.trainer.last_gradient_norm > 0.01  # so the clip really acted
    with pytest.raises(ValueError, match=r"training\.clip: must be a finite number in \[0, 1000\]"):
        run.set({"clip": -1})
