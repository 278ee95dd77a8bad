"""The lesson presets: one idea of backpropagation per lesson, as a run configuration plus text.

Every claim a lesson's text makes is a check in tests/lesson_claims.py, run over many network
and data seeds at the page's pace by tests/test_lessons.py (and scripts/lesson_fractions.py for
the full table); see docs/lessons.md.
"""

import copy

import numpy as np

from engine.datasets import shown
from engine.run import default_config


def _config(
    network: dict | None = None, training: dict | None = None, data: dict | None = None
) -> dict:
    """A full run configuration: the default configuration with the given keys replaced."""
    config = default_config()
    config["network"].update(copy.deepcopy(network or {}))
    config["training"].update(copy.deepcopy(training or {}))
    config["data"].update(copy.deepcopy(data or {}))
    return config


def _rounded_points(points: np.ndarray, labels: np.ndarray) -> list[list[float]]:
    """User points [[x1, x2, label], ...] as plain floats rounded to 2 decimals (tidy in a URL)."""
    rows = np.column_stack([np.round(points, 2), labels])
    return [[float(value) for value in row] for row in rows]


def stripes_off_origin(seed: int = 6) -> list[list[float]]:
    """Two vertical stripes right of the origin: class 0 at x1 in [1, 2.5], class 1 in [3.5, 5].

    The boundary x1 = 3 does not pass through the origin, so no line through it separates them.
    """
    rng = np.random.default_rng(seed)
    x1 = np.concatenate([rng.uniform(1.0, 2.5, 30), rng.uniform(3.5, 5.0, 30)])
    x2 = rng.uniform(-5.0, 5.0, 60)
    labels = np.repeat([0.0, 1.0], 30)
    return _rounded_points(np.column_stack([x1, x2]), labels)


# The 2-2-2 worked example from Matt Mazur's "A Step by Step Backpropagation Example" (2015):
# one sample, sigmoid everywhere, halved squared error, learning rate 0.5.
WORKED_EXAMPLE_NETWORK = {
    "layers": [2, 2, 2],
    "activation": "sigmoid",
    "output": "sigmoid",
    "loss": "mse",
    "weights": [[[0.15, 0.25], [0.20, 0.30]], [[0.40, 0.50], [0.45, 0.55]]],
    "biases": [[0.35, 0.35], [0.60, 0.60]],
}

# Lesson 4's rates: too small, good, too large (the loss jumps up), and far too large (the main
# run diverges with it and pauses with a message).
SMALL_LR, GOOD_LR, LARGE_LR = 0.00001, 0.1, 0.9
DIVERGING_LR = 10.0


def _rate(lr: float) -> str:
    """A learning rate as a class reads it: 0.00001, not 1e-05."""
    return f"{lr:.5f}".rstrip("0").rstrip(".")


LESSONS: list[dict] = [
    {
        "id": "forward-pass",
        "title": "The forward pass",
        "summary": "Follow one sample through a tiny network, node by node.",
        "text": (
            "A network turns an input into a prediction one layer at a time. Each neuron takes "
            "the outputs of the layer before it, multiplies each by a weight, adds its bias, and "
            "passes that weighted sum z through its activation function to give a = f(z). This "
            "network has two inputs, two hidden neurons and one output, so every number fits on "
            "the screen."
        ),
        "watch": (
            "Press Step: the forward phase lights up one layer at a time, and each node shows "
            "its activation a for the followed sample. Click a neuron: the inspector shows its "
            "weighted sum z, term by term, and a = f(z)."
        ),
        "try": (
            "Check a hidden neuron's z by hand: each input times its weight, plus the bias. "
            "Then pick another sample to follow and step again (every step here uses the whole "
            "training set, so any sample can be followed)."
        ),
        "config": _config(
            network={"layers": [2, 2, 1], "activation": "tanh"},
            training={"batch_size": 20},
            data={"dataset": "gauss", "n_points": 40},
        ),
        "view": {"mode": "step"},
    },
    {
        "id": "loss-functions",
        "title": "Loss functions",
        "summary": "Squared error against cross-entropy when the network is confidently wrong.",
        "text": (
            "The loss turns a prediction into one number to make smaller, and its derivative "
            "starts the backward pass. This one-neuron classifier starts confidently wrong: it "
            "gives every point the wrong class with a probability above 0.99. With "
            "cross-entropy, the error signal at the output is simply prediction minus target, "
            "close to 1 here, and within a second every point is on the right side. With "
            "squared error the same signal is multiplied by the sigmoid's slope, which is "
            "almost zero where the sigmoid is saturated: the output's gradient is over a "
            "thousand times smaller, and learning cannot get started."
        ),
        "watch": (
            "The decision line and the gradient-norm chart during the first second: with "
            "cross-entropy the line swings round at once."
        ),
        "try": (
            "Press Reset, switch the loss to mean squared error (the weights are kept) and "
            "press Play: for five seconds not a single point changes side."
        ),
        "config": _config(
            network={
                "layers": [2, 1],
                "loss": "bce",
                "weights": [[[-3.0], [-3.0]]],
                "biases": [[0.0]],
            },
            training={"lr": 0.1},
            data={"dataset": "gauss", "n_points": 40, "train_ratio": 1.0},
        ),
        "view": {"charts": "gradients"},
    },
    {
        "id": "chain-rule",
        "title": "The chain rule, by hand",
        "summary": "The classic 2-2-2 worked example, every number matching the published one.",
        "text": (
            "This is the network from Matt Mazur's well-known worked example: inputs 0.05 and "
            "0.10, targets 0.01 and 0.99, sigmoid neurons, halved squared error and a learning "
            "rate of 0.5. Backpropagation is the chain rule applied layer by layer: the gradient "
            "of a weight is the activation flowing into it times the error signal δ of the "
            "neuron it feeds, and each δ is the slope f'(z) times the weighted sum of the δs "
            "one layer later."
        ),
        "watch": (
            "Step phase by phase. The loss phase shows the total error 0.298371109; after the "
            "update, the weight from the first hidden neuron to the first output is 0.35891648."
        ),
        "try": (
            "Click that weight (w5 in the article) after the backward phase and redo its "
            "chain-rule arithmetic yourself: ∂E/∂w5 = a_h1 · δ_o1 ≈ 0.082167."
        ),
        "config": _config(
            network=WORKED_EXAMPLE_NETWORK,
            training={"lr": 0.5, "batch_size": 1},
            data={"dataset": "plane", "points": [[0.05, 0.10, 0.01, 0.99]], "train_ratio": 1.0},
        ),
        "view": {"mode": "step"},
    },
    {
        "id": "learning-rate",
        "title": "The learning rate",
        "summary": "Too small, about right, too large, and far too large.",
        "text": (
            "Each update moves every weight by the learning rate times its gradient. Too small "
            "a rate and the network crawls; a good rate makes steady progress; too large a "
            "rate overshoots the valley it is trying to reach, so the loss jumps back up again "
            "and again on its way down; far too large and the weights fly off to infinity. The "
            "three racing runs share their data and their starting weights and differ only in "
            "the learning rate. Each step uses the whole training set, so every jump in a "
            "curve is the learning rate's doing."
        ),
        "watch": (
            f"The overlaid loss curves on the log scale. After five seconds lr "
            f"{_rate(SMALL_LR)} is still above half where it started, while lr "
            f"{_rate(GOOD_LR)} has fallen smoothly to under 1 % of it; lr {_rate(LARGE_LR)} "
            "jumps up by half or more, again and again (three times or more in ten seconds)."
        ),
        "try": (
            f"Stop the race, set the learning rate to {DIVERGING_LR:g} and press Play: the loss "
            "shoots up to infinity, training pauses itself and tells you why, and the last "
            "good weights are kept."
        ),
        "config": _config(
            network={"layers": [2, 4, 1], "output": "linear", "loss": "mse", "seed": 3},
            training={"lr": 0.1, "batch_size": 100},
            data={"dataset": "plane"},
        ),
        "view": {
            "compare": [
                {"label": f"lr {_rate(lr)}", "lr": lr} for lr in (SMALL_LR, GOOD_LR, LARGE_LR)
            ],
            "charts": "loss",
            "log_loss": True,
        },
    },
    {
        "id": "optimizers",
        "title": "Optimizers race",
        "summary": "SGD, momentum, RMSprop and Adam from the same starting weights.",
        "text": (
            "Plain gradient descent steps straight downhill, and where the slope is gentle it "
            "crawls. Momentum keeps a running velocity, so it speeds up along directions that "
            "keep agreeing. RMSprop divides each weight's step by a running size of its own "
            "gradients, so every weight moves at a similar pace. Adam does both. Here the four "
            "start from identical weights on identical data with the same learning rate: after "
            "500 iterations plain SGD has barely started, momentum is well on its way, and "
            "RMSprop and Adam have all but solved the circle."
        ),
        "watch": "The four loss curves, overlaid: which one is first to the bottom?",
        "try": (
            "Raise the learning rate to 0.03 and race again: everyone is faster, but the order "
            "stays the same."
        ),
        "config": _config(
            network={"layers": [2, 6, 6, 1]},
            training={"lr": 0.01},
            data={"dataset": "circle"},
        ),
        "view": {
            "compare": [
                {"label": "SGD", "optimizer": "sgd"},
                {"label": "Momentum", "optimizer": "momentum"},
                {"label": "RMSprop", "optimizer": "rmsprop"},
                {"label": "Adam", "optimizer": "adam"},
            ],
            "charts": "loss",
        },
    },
    {
        "id": "bias",
        "title": "Why biases matter",
        "summary": "Without a bias, a neuron's boundary must pass through the origin.",
        "text": (
            "A bias is a weight from a node whose output is always 1. Without it, a neuron's "
            "weighted sum is zero at the origin, so its decision line must pass through (0, 0). "
            "The two classes here are split by the line x1 = 3, which misses the origin, so a "
            "neuron without a bias cannot separate them however long it trains. This run starts "
            "with every bias switched off."
        ),
        "watch": "The decision line pivots about the origin and never settles between the stripes.",
        "try": (
            "Switch biases on and train again: the line slides over to x1 = 3 and every point "
            "is classified correctly. The always-1 node now feeds the output through a weight."
        ),
        "config": _config(
            network={"layers": [2, 1], "bias": False},
            training={"lr": 0.1},
            data={"dataset": "gauss", "points": stripes_off_origin(), "train_ratio": 1.0},
        ),
        "view": {"bias_nodes": True},
    },
    {
        "id": "vanishing-gradients",
        "title": "Vanishing gradients",
        "summary": "A deep sigmoid network whose first layers barely learn.",
        "text": (
            "The sigmoid's slope is at most 0.25, and the backward pass multiplies by one such "
            "slope per layer. Through six hidden sigmoid layers the error signal shrinks by "
            "orders of magnitude, so the first layer gets a gradient more than a hundred times "
            "smaller than the last and hardly learns. ReLU's slope is 1 wherever it is active, "
            "and He's initialisation draws the weights with variance 2 / fan-in, the factor 2 "
            "making up for the half of the units a ReLU switches off: with both, the signal "
            "keeps its size from layer to layer and reaches the first layer intact."
        ),
        "watch": (
            "The per-layer gradient-norm chart (log scale): the bars fall steeply from the "
            "output back to the input."
        ),
        "try": "Switch the activation to ReLU with He initialisation and compare the bars.",
        "config": _config(
            network={"layers": [2, 8, 8, 8, 8, 8, 8, 1], "activation": "sigmoid"},
            training={"lr": 0.1},
        ),
        "view": {"charts": "gradients"},
    },
    {
        "id": "exploding-gradients",
        "title": "Exploding gradients",
        "summary": "Large initial weights make the error signal grow layer by layer.",
        "text": (
            "If the weights are large, each step of the backward pass multiplies the error "
            "signal δ by a large matrix, so δ grows layer by layer on its way back to the "
            "input. Here a deep ReLU network starts from He's initialisation scaled up four "
            "times (a standard deviation of 2 in the 8-wide layers): the size of δ over the "
            "batch grows at every layer, and at the first hidden layer it is over a hundred "
            "times its size at the output. Plain He (scale 1) sizes the weights to keep δ's "
            "size from layer to layer: it then grows less than tenfold, and every layer's "
            "gradient is more than ten times smaller."
        ),
        "watch": (
            "Step through the backward phase: δ grows from layer to layer on its way back to "
            "the input, and the gradient-norm chart shows every layer's gradient. A followed "
            "sample can show δ = 0: its output may already be exactly right (a saturated "
            "sigmoid), or every ReLU of some layer is off for it and passes nothing back. "
            "Then follow another sample."
        ),
        "try": (
            "Set the init scale to 1 (plain He), press Reset and step through the backward "
            "phase again."
        ),
        "config": _config(
            network={
                "layers": [2, 8, 8, 8, 8, 8, 1],
                "activation": "relu",
                "init": "he",
                "init_scale": 4.0,
            },
            training={"lr": 0.001},
        ),
        "view": {"charts": "gradients"},
    },
    {
        "id": "initialisation",
        "title": "Initialisation and symmetry",
        "summary": "All-zero weights keep every hidden unit identical forever.",
        "text": (
            "If every weight starts at zero, every hidden neuron in a layer computes the same "
            "thing, receives the same gradient and makes the same update, so they stay copies "
            "of one another and the layer is worth a single neuron. Random initialisation, such "
            "as Xavier's or He's, breaks this symmetry, which is why networks start from random "
            "weights."
        ),
        "watch": "The hidden neurons' pictures: with zeros they are all the same, and stay so.",
        "try": "Switch the initialisation to Xavier or He and press Play again.",
        "config": _config(
            network={"layers": [2, 4, 4, 1], "activation": "sigmoid", "init": "zeros"},
            training={"lr": 0.3},
        ),
        "view": {},
    },
    {
        "id": "overfitting",
        "title": "Overfitting",
        "summary": "Few noisy points and a big network: test loss rises as training loss falls.",
        "text": (
            "With only a handful of noisy training points, a big network can bend its decision "
            "surface around each one, including the noise. The training loss keeps falling but "
            "the loss on test points it never sees starts to rise. L2 regularisation adds λ·w "
            "to every weight's gradient, pulling weights towards zero and keeping the surface "
            "smooth, so the gap between test and training loss shrinks."
        ),
        "watch": "Train and test loss curves drifting apart; the surface hugging single points.",
        "try": "Set L2 to 0.03, press Reset, then Play: from the same start the gap nearly closes.",
        "config": _config(
            network={"layers": [2, 16, 16, 1], "activation": "relu", "init": "he"},
            training={"lr": 0.03, "optimizer": "adam"},
            data={"dataset": "gauss", "n_points": 60, "noise": 40, "train_ratio": 0.34},
        ),
        "view": {"charts": "loss"},
    },
    {
        "id": "flat-regions",
        "title": "Flat regions",
        "summary": "XOR with two hidden neurons: long flat stretches that look like being stuck.",
        "text": (
            "XOR needs two hidden neurons working together. On the way there the loss curve "
            "lies flat for seconds, well above zero: the ground is so level that each step "
            "barely moves the weights. Often it stays flat with a whole quadrant wrong, which "
            "looks like a local minimum, a pit with no way out. For this network it is not "
            "one: Hamey (1998) showed that the error surface of the 2-2-1 XOR network has no "
            "local minima, only flat regions (plateaus and saddle points) where the loss still "
            "slopes down, just very gently. How long a run stays on one depends on where it "
            "starts."
        ),
        "watch": "The loss curve: a quick drop, then a long flat stretch well above zero.",
        "try": (
            "Leave it running through a flat stretch: the ground still slopes down, so five "
            "seconds later the loss is lower than where the stretch began. A pit would hold it."
        ),
        "config": _config(
            network={"layers": [2, 2, 1], "seed": 2},
            training={"lr": 0.1},
            data={"dataset": "xor"},
        ),
        "view": {},
    },
    {
        "id": "noisy-data",
        "title": "Noisy data",
        "summary": "The same problem with 0 % and 50 % noise.",
        "text": (
            "Real data is noisy: labels overlap and no boundary can be perfect. With no noise "
            "this network separates the two clusters completely. At 50 % noise the clusters "
            "spill into one another: the loss levels off far above zero and accuracy stays well "
            "below 100 %. That remaining error is in the data, not in the network."
        ),
        "watch": "The final loss and accuracy at each noise level.",
        "try": "Move the noise slider to 50 and train again from the same seed.",
        "config": _config(
            network={"layers": [2, 4, 1]},
            training={"lr": 0.1},
            data={"dataset": "gauss", "noise": 0},
        ),
        "view": {},
    },
    {
        "id": "layer-locking",
        "title": "Layer locking",
        "summary": "Freeze the first layer and watch only the later ones learn.",
        "text": (
            "Freezing (locking) a layer keeps its weights and biases fixed: the backward pass "
            "still goes through it, but the update skips it. The later layers must make do "
            "with the features the frozen layer already computes. This is how a pretrained "
            "network is fine-tuned: early layers locked, the last ones trained."
        ),
        "watch": "The first layer's edges never change; the later edges keep moving.",
        "try": "Unfreeze the first layer and compare how low the loss goes.",
        "config": _config(
            network={"layers": [2, 6, 4, 1]},
            training={"lr": 0.1, "frozen": [0]},
        ),
        "view": {},
    },
]


LESSONS += [
    {
        "id": "dropout",
        "title": "Dropout",
        "summary": "Hidden units switched off at random while training, and scaled up to match.",
        "text": (
            "Dropout switches off each hidden unit with probability p at every training step, "
            "a fresh random choice for every sample. In the forward phase a dropped unit "
            "passes on 0; the kept ones are multiplied by 1 / (1 − p), here 2, so that on "
            "average each unit passes on what it would without dropout. In the backward "
            "phase the same mask applies: a dropped unit's δ is 0, so the weights into it "
            "learn nothing from that sample. Testing and the loss curves use the whole "
            "network, without a mask. No unit can count on another being there, so none can "
            "specialise in single points: that is how dropout fights overfitting in large "
            "networks trained on little data. It is no cure-all: on a problem this small it "
            "keeps the training loss up every time, but lowers the test loss only on some "
            "seeds."
        ),
        "watch": (
            "Step through one iteration: in the forward phase some hidden nodes are dark "
            "(dropped) and the others' values are doubled; in the backward phase the dark "
            "nodes' δ is 0."
        ),
        "try": (
            "Set dropout to 0, press Reset and Play for three seconds: the training loss falls "
            "lower than with dropout, now that every unit can fit single points."
        ),
        "config": _config(
            network={"layers": [2, 16, 16, 1], "activation": "relu", "init": "he"},
            training={"lr": 0.03, "optimizer": "adam", "dropout": 0.5},
            data={"dataset": "gauss", "n_points": 60, "noise": 40, "train_ratio": 0.34},
        ),
        "view": {"mode": "step"},
    },
    {
        "id": "backprop-cost",
        "title": "Why backpropagation is fast",
        "summary": "A numerical gradient costs two forward passes per weight; backprop costs two.",
        "text": (
            "Training needs the slope of the loss along every parameter. The obvious way is to "
            "nudge one parameter up a little and run the network forward, nudge it down and "
            "run it again, and divide the difference: two forward passes per parameter, so a "
            "network with P parameters needs 2P forward passes for one gradient. "
            "Backpropagation gets all P slopes from one forward and one backward pass: each "
            "neuron's δ is computed once and reused by every weight that feeds it and by the "
            "layer before. A backward pass costs one to two forward passes, so the numerical "
            "way costs roughly P times more, and the gap widens as the network grows."
        ),
        "watch": (
            "The cost table: for networks of growing size, the parameters, the forward passes "
            "each way and the measured time of each. Both ways give the same gradient to at "
            "least six digits."
        ),
        "try": (
            "Add a hidden layer or a few neurons: the numerical way needs two more forward "
            "passes for every new parameter; backpropagation still needs one of each."
        ),
        "config": _config(network={"layers": [2, 4, 1]}),
        "view": {"cost_table": [[2, 2, 1], [2, 4, 4, 1], [2, 8, 8, 8, 1], [2, 16, 16, 16, 1]]},
    },
]

# Hand-made point sets: lesson id -> generator of the same kind of set from a seed, so the
# lesson's claims can be checked on other draws (tests/lesson_claims.py).
USER_POINTS = {"bias": stripes_off_origin}


def get_lesson(lesson_id: str) -> dict:
    """The lesson with this id (a copy, so callers cannot change the presets)."""
    for lesson in LESSONS:
        if lesson["id"] == lesson_id:
            return copy.deepcopy(lesson)
    known = ", ".join(lesson["id"] for lesson in LESSONS)
    raise ValueError(f"lesson: unknown id {shown(lesson_id)}; known lessons: {known}")
