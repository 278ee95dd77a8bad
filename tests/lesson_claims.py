"""Every claim a lesson's text makes, as a check of the engine on one (network seed, data seed).

A claim returns an Outcome: whether it held on that pair, and the figure it measured. The tests
(tests/test_lessons.py) run each claim over SEED_PAIRS and require it to hold on ≥ 80 % of them;
scripts/lesson_fractions.py runs them over 20 network seeds × 5 data seeds and prints the table.

"At the pace a student watches": the page trains ~600 iterations a second and draws one loss
point per frame, every 10 to 20 iterations. So "within N seconds" means N × 600 iterations, and
anything said about the loss curve is checked on losses sampled like that (see `chart_losses`).
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from engine.cost import backprop_cost_table
from engine.lessons import DIVERGING_LR, GOOD_LR, LARGE_LR, SMALL_LR, USER_POINTS, get_lesson
from engine.metrics import accuracy
from engine.reshape import carry_weights
from engine.run import Run
from tests.published_worked_example import GRADIENT_W5, NEW_WEIGHTS, TOTAL_ERROR

ITERATIONS_PER_SECOND = 600
FRAME_ITERATIONS = (10, 20)  # iterations between two points of the loss chart
PASS_FRACTION = 0.8


class Outcome(NamedTuple):
    held: bool
    figure: str  # what was measured, for the failure message and the table


Claim = Callable[[int, int], Outcome]
CLAIMS: dict[str, Claim] = {}
# Figures a lesson quotes as "on some seeds": measured and printed, never asserted.
FIGURES: dict[str, Claim] = {}


def claim(lesson_id: str, words: str, registry: dict[str, Claim] = CLAIMS) -> Callable:
    """Register a claim under "<lesson id>: <what the text promises>"."""

    def register(check: Claim) -> Claim:
        registry[f"{lesson_id}: {words}"] = check
        return check

    return register


# ------------------------------------------------------------------------ helpers


def make_run(
    lesson_id: str,
    network_seed: int,
    data_seed: int,
    network: dict | None = None,
    training: dict | None = None,
    data: dict | None = None,
) -> Run:
    """The lesson's preset on these seeds, with the teacher's change applied.

    The network seed draws the weights (given weights stay; the seed still orders the batches
    and draws dropout masks). The data seed draws the data; hand-made point sets are redrawn
    by their lesson's own generator from it.
    """
    config = copy.deepcopy(get_lesson(lesson_id)["config"])
    config["network"]["seed"] = network_seed
    config["data"]["seed"] = data_seed
    if lesson_id in USER_POINTS:
        config["data"]["points"] = USER_POINTS[lesson_id](data_seed)
    config["network"].update(network or {})
    config["training"].update(training or {})
    config["data"].update(data or {})
    return Run(config)


def seconds(count: float) -> int:
    """Iterations the page runs in `count` seconds at its default pace."""
    return int(count * ITERATIONS_PER_SECOND)


def chart_losses(run: Run, iterations: int, seed: int) -> np.ndarray:
    """Training losses as the loss chart samples them: the start, then one point after every
    frame of 10-20 iterations (drawn from `seed`) until `iterations` have run. A diverged
    step ends the curve with inf."""
    rng = np.random.default_rng(seed)
    # The chart's training loss, computed alone: metrics() would add every layer's figures.
    assert run.config["data"]["features"] == ["x1", "x2"], "the inputs are the raw points"
    X, Y = run.data.train_points, run.data.train_targets
    losses = [run.network.loss(X, Y)]
    done = 0
    while done < iterations:
        frame = int(rng.integers(FRAME_ITERATIONS[0], FRAME_ITERATIONS[1] + 1))
        status = run.train(frame)
        done += frame
        if status.diverged:
            losses.append(np.inf)
            break
        losses.append(run.network.loss(X, Y))
    return np.array(losses)


def weights(run: Run) -> list[np.ndarray]:
    return [np.array(W) for W in run.network.weights]


def grad_norms(run: Run) -> list[float]:
    return [layer["grad_norm"] for layer in run.metrics()["layers"]]


def first_iteration_phases(run: Run) -> list[dict[str, Any]]:
    """Every phase of the next iteration, forward through update."""
    phases = [run.next_phase()]
    while phases[-1]["phase"] != "update":
        phases.append(run.next_phase())
    return phases


def backward_deltas(phases: list[dict[str, Any]]) -> list[np.ndarray]:
    """dZ (δ) of each layer's backward phase, layer 0 first."""
    backward = sorted((p for p in phases if p["phase"] == "backward"), key=lambda p: p["layer"])
    return [p["dZ"] for p in backward]


def ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom > 0 else np.inf


# ------------------------------------------------------------------------ 1 the forward pass


@claim("forward-pass", "a = f(z), z = Σ a_i·w_ij + b_j for whichever sample is followed")
def forward_pass_numbers(network_seed: int, data_seed: int) -> Outcome:
    run = make_run("forward-pass", network_seed, data_seed)
    sample = (7 * network_seed + data_seed) % run.n_train
    run.set_focus(sample)
    W, b = weights(run), [np.array(bias) for bias in run.network.biases]
    inspected = [run.inspect({"kind": "neuron", "layer": layer, "j": 0}) for layer in (0, 1)]
    phases = first_iteration_phases(run)
    a_previous, worst = run.data.train_points[sample], 0.0
    for phase in (p for p in phases if p["phase"] == "forward"):
        layer, focus = phase["layer"], phase["focus"]
        z = a_previous @ W[layer] + b[layer]
        f = np.tanh(z) if layer < run.network.n_layers - 1 else 1 / (1 + np.exp(-z))
        worst = max(worst, np.abs(focus["Z"] - z).max(), np.abs(focus["A"] - f).max())
        neuron = inspected[layer]  # the inspector's z and a of neuron 0, before the update
        worst = max(worst, abs(neuron["z"] - z[0]), abs(neuron["a"] - f[0]))
        a_previous = focus["A"]
    followed = phases[0]["focus_sample"] == sample and phases[0]["focus_in_batch"]
    return Outcome(followed and worst < 1e-12, f"followed {followed}, largest error {worst:.1e}")


# ------------------------------------------------------------------------ 2 loss functions


def loss_functions_pair(network_seed: int, data_seed: int) -> tuple[Run, Run]:
    """The preset (cross-entropy) and the teacher's switch to squared error, same weights."""
    bce = make_run("loss-functions", network_seed, data_seed)
    old_spec = bce.network.to_spec()
    new_spec = carry_weights(old_spec, {**old_spec, "loss": "mse"}, np.random.default_rng(0))
    mse = make_run("loss-functions", network_seed, data_seed, network=new_spec)
    return bce, mse


@claim("loss-functions", "every point starts wrong with a probability above 0.99")
def loss_functions_confidently_wrong(network_seed: int, data_seed: int) -> Outcome:
    bce, _ = loss_functions_pair(network_seed, data_seed)
    miss = np.abs(bce.network.forward(bce.data.train_points) - bce.data.train_targets).min()
    return Outcome(miss > 0.99, f"smallest miss {miss:.4f}")


@claim("loss-functions", "squared error's output gradient is over 1000× smaller, same weights")
def loss_functions_gradient_ratio(network_seed: int, data_seed: int) -> Outcome:
    bce, mse = loss_functions_pair(network_seed, data_seed)
    same = all(np.array_equal(a, b) for a, b in zip(weights(bce), weights(mse), strict=True))
    X, Y = bce.data.train_points, bce.data.train_targets
    norms = [np.linalg.norm(run.network.gradients(X, Y)[-1]["W"]) for run in (bce, mse)]
    gradient_ratio = ratio(*norms)
    return Outcome(same and gradient_ratio > 1000, f"same {same}, ratio {gradient_ratio:.0f}")


@claim("loss-functions", "cross-entropy has every point right within 1 s")
def loss_functions_cross_entropy_solves(network_seed: int, data_seed: int) -> Outcome:
    bce, _ = loss_functions_pair(network_seed, data_seed)
    bce.train(seconds(1))
    accuracy = bce.metrics()["train_accuracy"]
    return Outcome(accuracy == 1.0, f"accuracy {accuracy:.2f}")


@claim("loss-functions", "squared error: not one point changes side in 5 s")
def loss_functions_squared_error_stalls(network_seed: int, data_seed: int) -> Outcome:
    _, mse = loss_functions_pair(network_seed, data_seed)
    X, Y = mse.data.train_points, mse.data.train_targets
    best, done = 0.0, 0
    while done < seconds(5):  # checked at each frame, as the surface is redrawn
        mse.train(15)
        done += 15
        best = max(best, accuracy(mse.network.forward(X), Y))
    return Outcome(best == 0.0, f"best accuracy {best:.2f}")


# ------------------------------------------------------------------------ 3 the chain rule


@claim("chain-rule", "loss 0.298371109, ∂E/∂w5 = 0.082167041, new w5 = 0.35891648")
def chain_rule_published_numbers(network_seed: int, data_seed: int) -> Outcome:
    run = make_run("chain-rule", network_seed, data_seed)
    phases = first_iteration_phases(run)
    loss = next(p for p in phases if p["phase"] == "loss")["loss"]
    dW = next(p for p in phases if p["phase"] == "backward" and p["layer"] == 1)["dW"]
    W = [np.array(layer) for layer in phases[-1]["W"]]
    errors = [abs(loss - TOTAL_ERROR), abs(dW[0, 0] - GRADIENT_W5)]
    errors += [abs(W[layer][i, j] - value) for (layer, i, j), value in NEW_WEIGHTS.items()]
    return Outcome(max(errors) < 1e-8, f"largest difference {max(errors):.1e}")


# ------------------------------------------------------------------------ 4 the learning rate


def learning_rate_curve(
    network_seed: int, data_seed: int, lr: float, duration: float
) -> tuple[float, np.ndarray]:
    """(loss at the start, chart curve over `duration` seconds) of the racer with rate lr."""
    base = make_run("learning-rate", network_seed, data_seed)
    assert any(v["lr"] == lr for v in get_lesson("learning-rate")["view"]["compare"])
    racer = base.clone(training={"lr": lr})
    curve = chart_losses(racer, seconds(duration), 10 * network_seed + data_seed)
    return curve[0], curve


RATE_SECONDS = 5


@claim("learning-rate", f"too small: still above half the start after {RATE_SECONDS} s")
def learning_rate_too_small(network_seed: int, data_seed: int) -> Outcome:
    base = make_run("learning-rate", network_seed, data_seed)
    start = base.metrics()["train_loss"]
    racer = base.clone(training={"lr": SMALL_LR})
    racer.train(seconds(RATE_SECONDS))  # a small rate's loss only falls: no chart needed
    curve = np.array([start, racer.metrics()["train_loss"]])
    return Outcome(bool(curve[-1] > 0.5 * start), f"end / start {curve[-1] / start:.2f}")


@claim(
    "learning-rate",
    f"good: falls at every chart point, under 1 % of the start in {RATE_SECONDS} s",
)
def learning_rate_good(network_seed: int, data_seed: int) -> Outcome:
    start, curve = learning_rate_curve(network_seed, data_seed, GOOD_LR, RATE_SECONDS)
    falls = bool(np.all(np.diff(curve) <= 0))
    return Outcome(
        falls and curve[-1] < 0.01 * start, f"falls {falls}, end / start {curve[-1] / start:.1e}"
    )


@claim("learning-rate", f"too large: ≥ 3 jumps up by half or more in {RATE_SECONDS} s")
def learning_rate_too_large(network_seed: int, data_seed: int) -> Outcome:
    _, curve = learning_rate_curve(network_seed, data_seed, LARGE_LR, RATE_SECONDS)
    jumps = int(np.sum(curve[1:] > 1.5 * curve[:-1]))
    finite = bool(np.all(np.isfinite(curve)))
    return Outcome(finite and jumps >= 3, f"finite {finite}, {jumps} jumps")


@claim("learning-rate", f"lr {DIVERGING_LR:g}: diverges, pauses with a message, keeps good weights")
def learning_rate_diverges(network_seed: int, data_seed: int) -> Outcome:
    changes = {"training": {"lr": DIVERGING_LR}}
    run = make_run("learning-rate", network_seed, data_seed, **changes)
    status = run.train(seconds(1))
    if not status.diverged:
        return Outcome(False, "no divergence within 1 s")
    twin = make_run("learning-rate", network_seed, data_seed, **changes)
    twin.train(status.iterations_run)  # stopped just before the bad step
    kept = all(np.array_equal(a, b) for a, b in zip(weights(run), weights(twin), strict=True))
    told = "diverged" in (status.message or "")
    return Outcome(kept and told, f"after {status.iterations_run} iterations, kept {kept}")


# ------------------------------------------------------------------------ 5 optimizers


@functools.cache
def race(network_seed: int, data_seed: int, lr: float) -> dict[str, float]:
    """The four racers from the same weights after 500 iterations: label -> training loss."""
    base = make_run("optimizers", network_seed, data_seed, training={"lr": lr})
    final = {}
    for variant in get_lesson("optimizers")["view"]["compare"]:
        racer = base.clone(training={"optimizer": variant["optimizer"]})
        racer.train(500)
        final[variant["label"]] = racer.metrics()["train_loss"]
    return final


def _race_figure(final: dict[str, float]) -> str:
    return ", ".join(f"{label} {loss:.3f}" for label, loss in final.items())


@claim("optimizers", "after 500 iterations SGD > 0.5, momentum < 0.1, RMSprop and Adam < 0.03")
def optimizers_order(network_seed: int, data_seed: int) -> Outcome:
    final = race(network_seed, data_seed, get_lesson("optimizers")["config"]["training"]["lr"])
    held = (
        final["SGD"] > 0.5
        and final["Momentum"] < 0.1
        and max(final["RMSprop"], final["Adam"]) < 0.03
    )
    return Outcome(held, _race_figure(final))


@claim("optimizers", "at lr 0.03 everyone is faster and the order stays")
def optimizers_faster_rate(network_seed: int, data_seed: int) -> Outcome:
    slow = race(network_seed, data_seed, get_lesson("optimizers")["config"]["training"]["lr"])
    fast = race(network_seed, data_seed, 0.03)
    order = fast["SGD"] > fast["Momentum"] > max(fast["RMSprop"], fast["Adam"])
    faster = all(fast[label] <= slow[label] for label in slow)
    return Outcome(order and faster, _race_figure(fast))


# ------------------------------------------------------------------------ 6 biases


@claim("bias", "without biases < 80 % right after 5 s; with them every point right")
def bias_needed(network_seed: int, data_seed: int) -> Outcome:
    without = make_run("bias", network_seed, data_seed)
    with_bias = make_run("bias", network_seed, data_seed, network={"bias": True})
    for run in (without, with_bias):
        run.train(seconds(5))
    scores = without.metrics()["train_accuracy"], with_bias.metrics()["train_accuracy"]
    zero = all(not np.any(b) for b in without.network.biases)
    held = zero and scores[0] < 0.8 and scores[1] == 1.0
    return Outcome(held, f"accuracy without {scores[0]:.2f}, with {scores[1]:.2f}")


# ------------------------------------------------------------------------ 7 vanishing gradients


@claim("vanishing-gradients", "sigmoid: first layer's gradient < 1/100 of the last; ReLU+He > 1/10")
def vanishing_gradients(network_seed: int, data_seed: int) -> Outcome:
    sigmoid = make_run("vanishing-gradients", network_seed, data_seed)
    relu = make_run(
        "vanishing-gradients", network_seed, data_seed, network={"activation": "relu", "init": "he"}
    )
    for run in (sigmoid, relu):
        run.train(20)
    s, r = grad_norms(sigmoid), grad_norms(relu)
    sigmoid_ratio, relu_ratio = ratio(s[0], s[-1]), ratio(r[0], r[-1])
    held = sigmoid_ratio < 1 / 100 and 1 / 10 < relu_ratio < np.inf
    return Outcome(held, f"first/last sigmoid {sigmoid_ratio:.1e}, ReLU+He {relu_ratio:.2f}")


# ------------------------------------------------------------------------ 8 exploding gradients


@claim("exploding-gradients", "‖δ‖ grows at every layer back, > 100× at the first hidden layer")
def exploding_deltas_grow(network_seed: int, data_seed: int) -> Outcome:
    run = make_run("exploding-gradients", network_seed, data_seed)
    norms = [float(np.linalg.norm(dZ)) for dZ in backward_deltas(first_iteration_phases(run))]
    growing = all(earlier > later for earlier, later in itertools.pairwise(norms))
    growth = ratio(norms[0], norms[-1])
    return Outcome(growing and growth > 100, f"growing {growing}, growth {growth:.0f}")


@claim("exploding-gradients", "init scale 1 (plain He): growth < 10, every gradient 10× smaller")
def exploding_he_tames(network_seed: int, data_seed: int) -> Outcome:
    large = make_run("exploding-gradients", network_seed, data_seed)
    he = make_run("exploding-gradients", network_seed, data_seed, network={"init_scale": 1.0})
    he_norms = [float(np.linalg.norm(dZ)) for dZ in backward_deltas(first_iteration_phases(he))]
    first_iteration_phases(large)
    growth = ratio(he_norms[0], he_norms[-1])
    smaller = min(ratio(a, b) for a, b in zip(grad_norms(large), grad_norms(he), strict=True))
    return Outcome(growth < 10 and smaller > 10, f"He growth {growth:.1f}, smallest {smaller:.0f}×")


@claim("exploding-gradients", "a followed δ of 0: an output exactly right, or a layer all off")
def exploding_zero_delta_is_a_dead_layer(network_seed: int, data_seed: int) -> Outcome:
    run = make_run("exploding-gradients", network_seed, data_seed)
    phases = first_iteration_phases(run)
    forward = [p["focus"]["Z"] for p in phases if p["phase"] == "forward"][:-1]
    backward = sorted((p for p in phases if p["phase"] == "backward"), key=lambda p: p["layer"])
    zero = not np.any(backward[0]["focus"]["dZ"])
    all_off = any(np.all(z <= 0) for z in forward)
    exactly_right = not np.any(backward[-1]["focus"]["dZ"])  # a saturated output: ŷ = y
    explained = all_off or exactly_right
    return Outcome(explained or not zero, f"δ zero {zero}, right {exactly_right}, off {all_off}")


# ------------------------------------------------------------------------ 9 initialisation


@claim("initialisation", "zeros keep hidden units identical; Xavier and He break the symmetry")
def initialisation_symmetry(network_seed: int, data_seed: int) -> Outcome:
    found = []
    for init, symmetric in (("zeros", True), ("xavier", False), ("he", False)):
        run = make_run("initialisation", network_seed, data_seed, network={"init": init})
        run.train(200)
        for W, b in zip(weights(run)[:-1], run.network.biases[:-1], strict=True):
            identical = np.allclose(W, W[:, :1], rtol=0, atol=1e-12) and np.allclose(b, b[0])
            moved = np.any(W != 0)
            found.append(identical == symmetric and moved)
    return Outcome(all(found), f"{sum(found)} of {len(found)} layers as promised")


# ------------------------------------------------------------------------ 10 overfitting


@claim("overfitting", "test loss rises > 2× while training loss falls; L2 0.03 shrinks the gap 4×")
def overfitting_and_l2(network_seed: int, data_seed: int) -> Outcome:
    plain = make_run("overfitting", network_seed, data_seed)
    test, train = [], []
    for _ in range(40):
        plain.train(25)
        metrics = plain.metrics()
        test.append(metrics["test_loss"])
        train.append(metrics["train_loss"])
    best = int(np.argmin(test))
    overfits = test[-1] > 2 * test[best] and train[-1] < 0.1 * train[best]
    regularised = make_run("overfitting", network_seed, data_seed, training={"l2": 0.03})
    regularised.train(1000)
    metrics = regularised.metrics()
    gap, plain_gap = metrics["test_loss"] - metrics["train_loss"], test[-1] - train[-1]
    held = overfits and gap < 0.25 * plain_gap
    return Outcome(held, f"test ×{test[-1] / test[best]:.1f}, gap {gap:.2f} vs {plain_gap:.2f}")


# ------------------------------------------------------------------------ 11 flat regions

FLAT_WINDOW_SECONDS = 3
FLAT_SEARCH_SECONDS = 10
FLAT_LATER_SECONDS = 5


def flat_stretch(curve: np.ndarray, window: int) -> int | None:
    """Index of the first chart point from which the loss, still above 0.1, changes by under
    2 % over the next `window` points; None if there is none."""
    for start in range(len(curve) - window):
        level = curve[start]
        if level > 0.1 and abs(curve[start + window] - level) < 0.02 * level:
            return start
    return None


@functools.cache
def flat_regions_curves(network_seed: int, data_seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The lesson's chart curve over FLAT_SEARCH_SECONDS, then over FLAT_LATER_SECONDS more, and
    the accuracy at the end (computed once per pair: two claims read it)."""
    run = make_run("flat-regions", network_seed, data_seed)
    curve = chart_losses(run, seconds(FLAT_SEARCH_SECONDS), 10 * network_seed + data_seed)
    later = chart_losses(run, seconds(FLAT_LATER_SECONDS), network_seed)
    return curve, later, run.metrics()["train_accuracy"]


@claim(
    "flat-regions",
    f"the loss lies flat for {FLAT_WINDOW_SECONDS} s, well above 0, within {FLAT_SEARCH_SECONDS} s",
)
def flat_regions_plateau(network_seed: int, data_seed: int) -> Outcome:
    curve, _, accuracy = flat_regions_curves(network_seed, data_seed)
    start = flat_stretch(curve, seconds(FLAT_WINDOW_SECONDS) // 15)  # ~15 iterations a point
    where = "none" if start is None else f"from point {start} at loss {curve[start]:.3f}"
    return Outcome(start is not None, f"flat stretch: {where}; accuracy later {accuracy:.2f}")


@claim("flat-regions", f"a flat stretch still slopes down: lower {FLAT_LATER_SECONDS} s later")
def flat_regions_slope(network_seed: int, data_seed: int) -> Outcome:
    curve, later, _ = flat_regions_curves(network_seed, data_seed)
    start = flat_stretch(curve, seconds(FLAT_WINDOW_SECONDS) // 15)
    if start is None:
        return Outcome(False, "no flat stretch")
    return Outcome(bool(later[-1] < curve[start]), f"{curve[start]:.4f} -> {later[-1]:.4f}")


# ------------------------------------------------------------------------ 12 noisy data


@claim("noisy-data", "0 % noise: 100 % right, loss < 0.05; 50 %: < 90 % right, loss > 0.25")
def noisy_data(network_seed: int, data_seed: int) -> Outcome:
    clean = make_run("noisy-data", network_seed, data_seed)
    noisy = make_run("noisy-data", network_seed, data_seed, data={"noise": 50})
    for run in (clean, noisy):
        run.train(1000)
    c, n = clean.metrics(), noisy.metrics()
    held = (
        c["train_accuracy"] == 1.0
        and c["train_loss"] < 0.05
        and n["train_accuracy"] < 0.9
        and n["train_loss"] > 0.25
    )
    return Outcome(held, f"clean {c['train_accuracy']:.2f}, noisy {n['train_accuracy']:.2f}")


# ------------------------------------------------------------------------ 13 layer locking


@claim("layer-locking", "the frozen first layer never changes while the later ones learn")
def layer_locking(network_seed: int, data_seed: int) -> Outcome:
    run = make_run("layer-locking", network_seed, data_seed)
    before, loss_before = weights(run), run.metrics()["train_loss"]
    run.train(300)
    after = weights(run)
    frozen = np.array_equal(before[0], after[0])
    reached = grad_norms(run)[0] > 0
    later = all(not np.allclose(a, b) for a, b in zip(before[1:], after[1:], strict=True))
    learned = run.metrics()["train_loss"] < loss_before
    held = frozen and reached and later and learned
    return Outcome(held, f"frozen {frozen}, later move {later}, loss falls {learned}")


# ------------------------------------------------------------------------ 14 dropout


def dropout_phases(network_seed: int, data_seed: int) -> tuple[float, list[dict[str, Any]]]:
    run = make_run("dropout", network_seed, data_seed)
    return run.config["training"]["dropout"], first_iteration_phases(run)


@claim("dropout", "forward: each hidden unit is dropped with probability p, the rest × 1/(1−p)")
def dropout_forward_mask(network_seed: int, data_seed: int) -> Outcome:
    p, phases = dropout_phases(network_seed, data_seed)
    hidden = [phase for phase in phases if phase["phase"] == "forward"][:-1]
    masks = np.concatenate([phase["mask"].ravel() for phase in hidden])
    values_ok = np.all((masks == 0) | (masks == 1 / (1 - p)))
    applied = all(np.array_equal(ph["A"], np.maximum(ph["Z"], 0) * ph["mask"]) for ph in hidden)
    dropped = float(np.mean(masks == 0))
    # Within three standard deviations of a binomial count: true in 99.7 % of draws.
    close = abs(dropped - p) < 3 * np.sqrt(p * (1 - p) / masks.size)
    held = values_ok and applied and close
    return Outcome(held, f"dropped {dropped:.3f} of {masks.size} (p = {p})")


@claim(
    "dropout", "backward: a dropped unit's δ is 0, so its incoming weights learn nothing from it"
)
def dropout_backward_zero(network_seed: int, data_seed: int) -> Outcome:
    _, phases = dropout_phases(network_seed, data_seed)
    masks = [phase["mask"] for phase in phases if phase["phase"] == "forward"][:-1]
    deltas = backward_deltas(phases)[:-1]
    zero = all(not np.any(dZ[mask == 0]) for dZ, mask in zip(deltas, masks, strict=True))
    alive = all(np.any(dZ[mask > 0]) for dZ, mask in zip(deltas, masks, strict=True))
    return Outcome(zero and alive, f"dropped δ all 0 {zero}, kept δ non-zero {alive}")


@functools.cache
def dropout_against_none(network_seed: int, data_seed: int) -> tuple[dict, dict]:
    """Metrics after 3 s of the preset (dropout 0.5) and of the same run with dropout 0."""
    dropped = make_run("dropout", network_seed, data_seed)
    plain = make_run("dropout", network_seed, data_seed, training={"dropout": 0.0})
    for run in (dropped, plain):
        run.train(seconds(3))
    return dropped.metrics(), plain.metrics()


@claim("dropout", "training loss stays above the same run's without dropout after 3 s")
def dropout_holds_training_loss_up(network_seed: int, data_seed: int) -> Outcome:
    dropped, plain = dropout_against_none(network_seed, data_seed)
    figure = f"train {dropped['train_loss']:.3f} vs {plain['train_loss']:.3f}"
    return Outcome(dropped["train_loss"] > plain["train_loss"], figure)


@claim("dropout", "test loss lower with dropout after 3 s (only 'some seeds')", FIGURES)
def dropout_test_loss(network_seed: int, data_seed: int) -> Outcome:
    dropped, plain = dropout_against_none(network_seed, data_seed)
    figure = f"test {dropped['test_loss']:.3f} vs {plain['test_loss']:.3f}"
    return Outcome(dropped["test_loss"] < plain["test_loss"], figure)


# ------------------------------------------------------------------------ 15 why backprop is fast


@claim("backprop-cost", "numerical: 2 forward passes per parameter, same gradient, gap grows")
def backprop_cost_counts(network_seed: int, data_seed: int) -> Outcome:
    layers_list = get_lesson("backprop-cost")["view"]["cost_table"]
    rows = backprop_cost_table(layers_list[:3], 10 + data_seed, network_seed, repeat_seconds=0)
    counted = all(row["numeric_forward_passes"] == 2 * row["parameters"] for row in rows)
    same = max(row["relative_error"] for row in rows) < 1e-6
    ratios = [row["multiply_add_ratio"] for row in rows]
    grows = all(a < b for a, b in itertools.pairwise(ratios))
    figure = ", ".join(f"{r['parameters']} params ×{r['multiply_add_ratio']:.0f}" for r in rows)
    return Outcome(counted and same and grows, figure)
