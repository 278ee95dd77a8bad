"""Lessons 14-17: every claim the text makes, measured on the engine over 10 seeds (network and
data seed together); each must hold in at least 8. The fractions are in the assertion messages
and printed with `pytest -s`."""

import copy
from functools import cache

import numpy as np
import pytest

from engine.cells import CELL_LABELS
from engine.lessons import LESSONS
from engine.lessons_recurrent import RECURRENT_LESSONS, LessonRun, get_recurrent_lesson
from engine.recurrent_phases import explain_recurrent_weight
from engine.sequences import SEQUENCE_TASKS
from tests.test_lessons import LESSON_KEYS

SEEDS = range(1, 11)
MUST_HOLD = 8


def holds(claim: str, results: list[bool]) -> None:
    fraction = f"{sum(results)}/{len(results)}"
    print(f"{claim}: holds in {fraction} seeds")
    assert sum(results) >= MUST_HOLD, f"{claim}: holds in only {fraction} seeds"


def run(lesson_id: str, seed: int, network=None, training=None) -> LessonRun:
    config = copy.deepcopy(get_recurrent_lesson(lesson_id)["config"])
    config["network"].update(network or {})
    config["training"].update(training or {})
    return LessonRun.from_config(config, seed)


def trained(lesson_id: str, seed: int, steps: int, **changes) -> tuple[LessonRun, list[float]]:
    lesson = run(lesson_id, seed, **changes)
    losses = [lesson.step().loss for _ in range(steps)]
    return lesson, losses


def test_presets_are_complete_and_build() -> None:
    ids = [lesson["id"] for lesson in RECURRENT_LESSONS]
    assert len(set(ids)) == 4 and LESSONS[-4:] == RECURRENT_LESSONS  # in the lessons panel
    for lesson in RECURRENT_LESSONS:
        assert set(lesson) == LESSON_KEYS
        assert lesson["config"]["network"]["kind"] == "recurrent"
        assert lesson["config"]["data"]["task"] in SEQUENCE_TASKS
        built = LessonRun.from_config(lesson["config"])
        assert np.isfinite(built.step().loss)
    with pytest.raises(ValueError, match="lesson: unknown id 'nope'"):
        get_recurrent_lesson("nope")


def test_a_lesson_offering_the_other_cell_points_its_try_at_the_button() -> None:
    """The button runs the other cell with the lesson's options for it (an LSTM's forget bias);
    switching the cell control alone would not, so the "try" names the button."""
    for lesson in RECURRENT_LESSONS:
        if "compare_cell" not in lesson["view"]:
            continue
        cell = lesson["config"]["network"]["cell"]
        other = next(name for name in CELL_LABELS if name != cell)
        assert f"“try the {CELL_LABELS[other]}”" in lesson["try"], lesson["id"]


# ----- 14: backpropagation through time ------------------------------------------------------


def test_bptt_w_hh_gradient_is_the_sum_over_time_steps() -> None:
    results = []
    for seed in SEEDS:
        lesson = run("bptt", seed)
        X, Y, mask = lesson.train
        grads = lesson.net.gradients(X, Y, mask)
        ok = True
        for i in range(4):
            for j in range(4):
                explained = explain_recurrent_weight(lesson.net, X, Y, "W_hh", i, j, mask)
                ok &= len(explained["terms"]) == X.shape[0]
                ok &= np.isclose(explained["sum"], grads["W_hh"][i, j], rtol=1e-12, atol=1e-15)
                ok &= explained["check"]["relative_error"] < 1e-6
        results.append(bool(ok))
    holds("14: ∂L/∂W_hh = Σ_t h_{t-1}·δ_t, and equals the numerical derivative", results)


def test_bptt_phases_sweep_forward_then_back_through_time() -> None:
    lesson = run("bptt", 1)
    X, Y, mask = lesson.train
    phases = [(p["phase"], p.get("t")) for p in lesson.trainer.phases(X, Y, 0, mask)]
    T = X.shape[0]
    forward = [("forward", t) for t in range(T)]
    backward = [("backward", t) for t in reversed(range(T))]
    assert phases == [*forward, ("loss", None), *backward, ("update", None)]


# ----- 15: vanishing gradients through time --------------------------------------------------


def first_to_last(lesson: LessonRun) -> float:
    norms = lesson.gradient_norms()
    return float(norms[0] / norms[-1])


LSTM = {"cell": "lstm", "forget_bias": 2.0}


@cache
def trained_lstm_accuracy(seed: int) -> float:
    lesson, _ = trained("vanishing-through-time", seed, 300, network=LSTM)
    return lesson.accuracy()


def test_vanishing_rnn_gradient_falls_by_orders_of_magnitude() -> None:
    ratios = [first_to_last(run("vanishing-through-time", seed)) for seed in SEEDS]
    holds("15: tanh RNN ‖∂L/∂h_0‖ / ‖∂L/∂h_15‖ < 1e-3", [r < 1e-3 for r in ratios])


def test_vanishing_lstm_keeps_far_more_of_the_gradient() -> None:
    results = []
    for seed in SEEDS:
        rnn = first_to_last(run("vanishing-through-time", seed))
        lstm = first_to_last(run("vanishing-through-time", seed, network=LSTM))
        results.append(lstm > 1e-3 and lstm > 100 * rnn)
    holds("15: LSTM ratio > 1e-3 and > 100× the RNN's", results)


def test_vanishing_lstm_solves_echo_15() -> None:
    results = [trained_lstm_accuracy(seed) >= 0.95 for seed in SEEDS]
    holds("15: LSTM echoes unseen sequences (accuracy >= 0.95 after 300 steps)", results)


def test_vanishing_rnn_fails_echo_15() -> None:
    results = []
    for seed in SEEDS:
        lesson, _ = trained("vanishing-through-time", seed, 300)
        results.append(lesson.accuracy() < 0.65)
    holds("15: tanh RNN with momentum stays near guessing (accuracy < 0.65)", results)


def test_vanishing_adam_lets_the_rnn_learn_it_most_often() -> None:
    """The lesson's "try": Adam's per-weight rescaling makes up for much of the fading."""
    adam = {"optimizer": "adam", "lr": 0.02, "clip": 0.0}
    results = []
    for seed in SEEDS:
        lesson, _ = trained("vanishing-through-time", seed, 300, training=adam)
        results.append(lesson.accuracy() >= 0.95)
    holds("15: tanh RNN with Adam echoes unseen sequences (accuracy >= 0.95)", results)


# ----- 16: exploding gradients through time and clipping -------------------------------------


@cache
def exploding(seed: int, clip: float) -> tuple[float, float, float]:
    """(initial loss, highest loss over 200 steps, final loss)."""
    lesson, losses = trained("exploding-through-time", seed, 200, training={"clip": clip})
    X, Y, mask = lesson.train
    with np.errstate(all="ignore"):
        final = lesson.net.loss(X, Y, mask)
    highest = max(losses) if all(np.isfinite(losses)) else np.inf
    return losses[0], highest, final if np.isfinite(final) else np.inf


def test_exploding_norms_grow_back_through_time() -> None:
    ratios = [first_to_last(run("exploding-through-time", seed)) for seed in SEEDS]
    holds("16: relu RNN ‖∂L/∂h_0‖ > ‖∂L/∂h_19‖", [r > 1 for r in ratios])


def test_exploding_loss_jumps_without_clipping() -> None:
    results = [exploding(seed, 0.0)[1] > exploding(seed, 0.0)[0] for seed in SEEDS]
    holds("16: without clipping the loss rises above its start", results)


def test_exploding_clipping_tames_it() -> None:
    results = []
    for seed in SEEDS:
        start, highest, final = exploding(seed, 1.0)
        results.append(highest <= start and final < exploding(seed, 0.0)[2])
    holds("16: with clip 1 the loss never rises above its start and ends lower", results)


# ----- 17: truncated BPTT --------------------------------------------------------------------


def test_truncation_stops_the_gradient_at_window_starts() -> None:
    lesson = run("truncated-bptt", 1)
    norms = lesson.gradient_norms()
    # Windows of 3 from step 0; the only target is at step 10 (window 9-10).
    assert norms[9] > 0 and np.all(norms[:9] == 0)


def test_truncated_bptt_cannot_learn_a_delay_longer_than_k() -> None:
    truncated = [trained("truncated-bptt", seed, 300)[0].accuracy() for seed in SEEDS]
    holds("17: truncate 3, delay 10: accuracy < 0.9", [a < 0.9 for a in truncated])
    full = [
        trained("truncated-bptt", seed, 300, training={"truncate": 0})[0].accuracy()
        for seed in SEEDS
    ]
    holds("17: full BPTT, delay 10: accuracy >= 0.95", [a >= 0.95 for a in full])
