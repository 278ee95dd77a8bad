"""Every lesson preset is valid, and every claim its text makes really happens on the engine."""

import copy
import itertools
import json
import re

import numpy as np
import pytest

from engine.lessons import DIVERGING_LR, LESSONS, get_lesson
from engine.run import Run
from tests.published_worked_example import GRADIENT_W5, NEW_WEIGHTS, TOTAL_ERROR

LESSON_KEYS = {"id", "title", "summary", "text", "watch", "try", "config", "view"}


def make_run(lesson_id: str, network=None, training=None, data=None) -> Run:
    """A Run of the lesson's preset with some keys replaced (the teacher's one change)."""
    config = copy.deepcopy(get_lesson(lesson_id)["config"])
    config["network"].update(network or {})
    config["training"].update(training or {})
    config["data"].update(data or {})
    return Run(config)


def weights(run: Run) -> list[np.ndarray]:
    return [np.array(W) for W in run.network.to_spec()["weights"]]


def biases(run: Run) -> list[np.ndarray]:
    return [np.array(b) for b in run.network.to_spec()["biases"]]


def grad_norms(run: Run) -> list[float]:
    return [layer["grad_norm"] for layer in run.metrics()["layers"]]


def train_losses(run: Run, iterations: int) -> list[float]:
    """The training loss after each of `iterations` single iterations."""
    losses = []
    for _ in range(iterations):
        status = run.train(1)
        assert not status.diverged, status.message
        losses.append(run.metrics()["train_loss"])
    return losses


def phases_until(run: Run, name: str) -> list[dict]:
    """Phases from the stepper up to and including the first phase called `name`."""
    phases = [run.next_phase()]
    while phases[-1]["phase"] != name:
        phases.append(run.next_phase())
    return phases


# ------------------------------------------------------------------------ the presets


def test_lessons_are_complete_json_with_unique_slugs():
    assert len(LESSONS) == 13
    ids = [lesson["id"] for lesson in LESSONS]
    assert len(set(ids)) == len(ids)
    for lesson in LESSONS:
        assert set(lesson) >= LESSON_KEYS, lesson["id"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", lesson["id"])
        # The panel's button is data-testid="lesson-<id>", next to lesson-title, lesson-text ...
        assert lesson["id"] not in {"title", "text", "watch", "try", "list", "detail"}
        for key in ("title", "summary", "text", "watch", "try"):
            assert isinstance(lesson[key], str) and lesson[key].strip(), (lesson["id"], key)
        assert set(lesson["config"]) == {"network", "training", "data"}
    assert json.loads(json.dumps(LESSONS)) == LESSONS


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson["id"])
def test_every_preset_builds_a_run_and_every_compare_variant_is_valid(lesson):
    run = Run(copy.deepcopy(lesson["config"]))
    assert run.config == lesson["config"]  # complete, and already in Run's normal form
    for variant in lesson["view"].get("compare", []):
        options = {key: value for key, value in variant.items() if key != "label"}
        assert isinstance(variant["label"], str) and variant["label"]
        run.clone(training=options)
    assert 2 <= len(lesson["view"].get("compare", [None, None])) <= 4


def test_get_lesson_returns_a_copy_and_names_an_unknown_id():
    lesson = get_lesson("chain-rule")
    lesson["config"]["training"]["lr"] = 99
    assert get_lesson("chain-rule")["config"]["training"]["lr"] == 0.5
    with pytest.raises(ValueError, match="lesson: unknown id 'nope'"):
        get_lesson("nope")


# ------------------------------------------------------------------------ the claims


def test_forward_pass_shows_each_weighted_sum_and_activation():
    run = make_run("forward-pass")
    W, b = weights(run), biases(run)
    forward = phases_until(run, "loss")[:-1]
    assert [phase["layer"] for phase in forward] == [0, 1]
    points = run.data.train_points
    # Layer 0's rows are some training points through W[0]: every row is one of them.
    candidates = points @ W[0] + b[0]
    for row in forward[0]["Z"]:
        assert np.min(np.abs(candidates - row).max(axis=1)) < 1e-12
    for phase in forward:  # the followed sample's numbers are one row of the batch's
        row = np.abs(phase["Z"] - phase["focus"]["Z"]).max(axis=1).argmin()
        assert np.array_equal(phase["Z"][row], phase["focus"]["Z"])
        assert np.array_equal(phase["A"][row], phase["focus"]["A"])
    assert np.allclose(forward[0]["A"], np.tanh(forward[0]["Z"]), rtol=0, atol=1e-15)
    assert np.allclose(forward[1]["Z"], forward[0]["A"] @ W[1] + b[1], rtol=0, atol=1e-12)
    sigmoid = 1 / (1 + np.exp(-forward[1]["Z"]))
    assert np.allclose(forward[1]["A"], sigmoid, rtol=0, atol=1e-15)


def test_loss_functions_cross_entropy_pushes_a_confidently_wrong_output_far_harder():
    runs = {loss: make_run("loss-functions", network={"loss": loss}) for loss in ("bce", "mse")}
    X, Y = runs["bce"].data.train_points, runs["bce"].data.train_targets
    predictions = runs["bce"].network.forward(X)
    assert np.all(np.abs(predictions - Y) > 0.99), "the preset starts confidently wrong"
    output_gradient = {
        loss: np.linalg.norm(run.network.gradients(X, Y)[-1]["W"]) for loss, run in runs.items()
    }
    assert output_gradient["bce"] > 100 * output_gradient["mse"]
    for run in runs.values():
        run.train(100)
    assert runs["bce"].metrics()["train_accuracy"] == 1.0
    assert runs["mse"].metrics()["train_accuracy"] == 0.0


def test_chain_rule_reproduces_the_published_worked_example_phase_by_phase():
    run = make_run("chain-rule")
    phases = phases_until(run, "loss")
    assert phases[-1]["loss"] == pytest.approx(TOTAL_ERROR, abs=1e-9)
    phases = phases_until(run, "update")
    W = [np.array(layer) for layer in phases[-1]["W"]]
    for (layer, i, j), value in NEW_WEIGHTS.items():
        assert W[layer][i, j] == pytest.approx(value, abs=1e-8), (layer, i, j)
    backward_output = next(p for p in phases if p["phase"] == "backward" and p["layer"] == 1)
    assert backward_output["dW"][0, 0] == pytest.approx(GRADIENT_W5, abs=1e-9)


def test_chain_rule_inspector_gives_the_articles_terms_for_w5_and_w1():
    run = make_run("chain-rule")
    w5 = run.inspect({"kind": "weight", "layer": 1, "i": 0, "j": 0})
    assert w5["focus"]["a_i"] == pytest.approx(0.593269992, abs=1e-9)  # out_h1
    assert w5["focus"]["delta_j"] == pytest.approx(0.138498562, abs=1e-9)  # δ_o1
    assert w5["gradient"] == pytest.approx(GRADIENT_W5, abs=1e-9)
    w1 = run.inspect({"kind": "weight", "layer": 0, "i": 0, "j": 0})
    assert w1["gradient"] == pytest.approx(0.000438568, abs=1e-9)
    assert w1["gradcheck"]["relative_error"] < 1e-6


def test_learning_rate_too_small_good_too_large_and_diverging():
    base = make_run("learning-rate")
    tiny, good, large = (
        base.clone(training={"lr": v["lr"]}) for v in get_lesson("learning-rate")["view"]["compare"]
    )
    start = base.metrics()["train_loss"]

    tiny_losses = train_losses(tiny, 200)
    assert start - tiny_losses[-1] < 0.05 * start  # barely moves
    good_losses = train_losses(good, 200)
    assert good_losses[-1] < 0.05 * start
    assert np.all(np.diff(good_losses) <= 0)  # full batch: a good rate falls every time
    large_losses = train_losses(large, 200)
    rises = int(np.sum(np.diff(large_losses) > 0))
    assert rises >= 40  # overshoots: the loss goes up on at least a fifth of the steps
    assert np.all(np.isfinite(large_losses))


def test_learning_rate_far_too_large_diverges_with_a_message_and_keeps_the_weights():
    assert f"{DIVERGING_LR:g}" in get_lesson("learning-rate")["try"]
    run = make_run("learning-rate", training={"lr": DIVERGING_LR})
    status = run.train(200)
    assert status.diverged
    assert "diverged" in status.message
    assert status.iterations_run < 200
    assert run.iteration == status.iterations_run
    # The weights are those of the last good iteration: a twin stopped just before agrees.
    twin = make_run("learning-rate", training={"lr": DIVERGING_LR})
    assert not twin.train(status.iterations_run).diverged
    assert all(np.array_equal(a, b) for a, b in zip(weights(run), weights(twin), strict=True))
    assert all(np.all(np.isfinite(W)) for W in weights(run))


def race(lr: float) -> dict[str, float]:
    """The optimizers lesson's four racers after 500 iterations: label -> training loss."""
    base = make_run("optimizers", training={"lr": lr})
    racers = {
        v["label"]: base.clone(training={"optimizer": v["optimizer"]})
        for v in get_lesson("optimizers")["view"]["compare"]
    }
    start = weights(base)
    for run in racers.values():
        assert all(np.array_equal(a, b) for a, b in zip(weights(run), start, strict=True))
        assert np.array_equal(run.data.train_points, base.data.train_points)
        assert not run.train(500).diverged
    return {label: run.metrics()["train_loss"] for label, run in racers.items()}


def test_optimizers_race_from_the_same_weights_sgd_last_adaptive_first():
    final = race(get_lesson("optimizers")["config"]["training"]["lr"])
    assert final["SGD"] > 0.5  # barely started
    assert final["Momentum"] < 0.1  # well on its way
    assert max(final["RMSprop"], final["Adam"]) < 0.03  # all but solved
    faster_lr = race(0.03)
    assert faster_lr["SGD"] > faster_lr["Momentum"] > max(faster_lr["RMSprop"], faster_lr["Adam"])
    assert all(faster_lr[label] < final[label] for label in final)


def test_bias_a_line_off_the_origin_needs_a_bias():
    without = make_run("bias")
    with_bias = make_run("bias", network={"bias": True})
    for run in (without, with_bias):
        assert not run.train(2000).diverged
    assert without.metrics()["train_accuracy"] < 0.8
    assert all(np.all(b == 0) for b in biases(without))
    assert with_bias.metrics()["train_accuracy"] == 1.0


def test_vanishing_gradients_with_sigmoid_and_not_with_relu():
    sigmoid = make_run("vanishing-gradients")
    relu = make_run("vanishing-gradients", network={"activation": "relu", "init": "he"})
    for run in (sigmoid, relu):
        run.train(20)
    sigmoid_norms, relu_norms = grad_norms(sigmoid), grad_norms(relu)
    assert sigmoid_norms[0] / sigmoid_norms[-1] < 1 / 100
    assert relu_norms[0] / relu_norms[-1] > 1 / 10


def backward_signal_norms(run: Run) -> list[float]:
    """‖δ‖ = ‖dZ‖ of each layer in the first iteration's backward phases, layer 0 first."""
    backward = [p for p in phases_until(run, "update") if p["phase"] == "backward"]
    return [float(np.linalg.norm(p["dZ"])) for p in sorted(backward, key=lambda p: p["layer"])]


def test_exploding_gradients_grow_layer_by_layer_and_he_init_fixes_it():
    large = make_run("exploding-gradients")
    he = make_run("exploding-gradients", network={"init": "he"})
    large_deltas, he_deltas = backward_signal_norms(large), backward_signal_norms(he)
    assert all(earlier > later for earlier, later in itertools.pairwise(large_deltas))
    large_growth, he_growth = large_deltas[0] / large_deltas[-1], he_deltas[0] / he_deltas[-1]
    assert large_growth > 100
    assert he_growth < 10
    assert large_growth > 30 * he_growth
    for large_norm, he_norm in zip(grad_norms(large), grad_norms(he), strict=True):
        assert large_norm > 10 * he_norm


def test_initialisation_zeros_keep_hidden_units_identical_random_init_breaks_it():
    for init, symmetric in (("zeros", True), ("xavier", False), ("he", False)):
        run = make_run("initialisation", network={"init": init})
        run.train(200)
        for W, b in zip(weights(run)[:-1], biases(run)[:-1], strict=True):
            identical = np.allclose(W, W[:, :1], rtol=0, atol=1e-12) and np.allclose(b, b[0])
            assert identical == symmetric, init
            # Symmetric is not frozen: the units did move away from zero, all together.
            assert np.any(W != 0), init


def test_overfitting_test_loss_rises_and_l2_closes_the_gap():
    plain = make_run("overfitting")
    test_losses, train_losses_ = [], []
    for _ in range(40):
        plain.train(25)
        metrics = plain.metrics()
        test_losses.append(metrics["test_loss"])
        train_losses_.append(metrics["train_loss"])
    best = int(np.argmin(test_losses))
    assert test_losses[-1] > 2 * test_losses[best]  # test loss rises ...
    assert train_losses_[-1] < 0.1 * train_losses_[best]  # ... while training loss falls
    regularised = make_run("overfitting", training={"l2": 0.03})
    regularised.train(1000)
    metrics = regularised.metrics()
    plain_gap = test_losses[-1] - train_losses_[-1]
    assert metrics["test_loss"] - metrics["train_loss"] < 0.25 * plain_gap


def test_local_minima_xor_with_two_hidden_units_stalls_for_one_seed_not_another():
    stuck = make_run("local-minima")
    solved = make_run("local-minima", network={"seed": 1})
    for run in (stuck, solved):
        assert not run.train(1500).diverged
    plateau = stuck.metrics()["train_loss"]
    for run in (stuck, solved):
        assert not run.train(1500).diverged
    assert stuck.metrics()["train_accuracy"] <= 0.8  # a quadrant wrong ...
    assert stuck.metrics()["train_loss"] > 0.95 * plateau  # ... and no way out in sight
    assert solved.metrics()["train_accuracy"] >= 0.9
    assert solved.metrics()["train_loss"] < 0.6 * stuck.metrics()["train_loss"]


def test_noisy_data_clean_clusters_are_solved_noisy_ones_are_not():
    clean = make_run("noisy-data")
    noisy = make_run("noisy-data", data={"noise": 50})
    for run in (clean, noisy):
        run.train(1000)
    assert clean.metrics()["train_accuracy"] == 1.0
    assert clean.metrics()["train_loss"] < 0.05
    assert noisy.metrics()["train_accuracy"] < 0.9
    assert noisy.metrics()["train_loss"] > 0.25


def test_layer_locking_freezes_the_first_layer_while_later_ones_learn():
    run = make_run("layer-locking")
    W_before, b_before = weights(run), biases(run)
    loss_before = run.metrics()["train_loss"]
    run.train(300)
    W_after, b_after = weights(run), biases(run)
    assert np.array_equal(W_after[0], W_before[0]) and np.array_equal(b_after[0], b_before[0])
    assert grad_norms(run)[0] > 0  # the backward pass still reaches the frozen layer
    for W_old, W_new in zip(W_before[1:], W_after[1:], strict=True):
        assert not np.allclose(W_old, W_new)
    assert run.metrics()["train_loss"] < loss_before
