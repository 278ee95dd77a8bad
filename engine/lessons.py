"""The lesson presets: one idea of backpropagation per lesson, as a run configuration plus text.

Every claim a lesson's text makes is checked on the engine by tests/test_lessons.py.
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


def _corner_clusters() -> list[list[float]]:
    """Class 1 near (-3, -3), class 0 near (3, 3): 20 points, fixed by a seed."""
    rng = np.random.default_rng(2)
    centres = np.repeat([[-3.0, -3.0], [3.0, 3.0]], 10, axis=0)
    labels = np.repeat([1.0, 0.0], 10)
    return _rounded_points(centres + rng.normal(0.0, 0.8, centres.shape), labels)


def _stripes_off_origin() -> list[list[float]]:
    """Two vertical stripes right of the origin: class 0 at x1 in [1, 2.5], class 1 in [3.5, 5].

    The boundary x1 = 3 does not pass through the origin, so no line through it separates them.
    """
    rng = np.random.default_rng(6)
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

# Lesson 4's "far too large" rate: the main run diverges with it and pauses with a message.
DIVERGING_LR = 10.0

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
            "its weighted sum z and its activation a for the followed sample."
        ),
        "try": (
            "Click a hidden neuron and check its z by hand: each input times its weight, plus "
            "the bias. Then pick another sample to follow and step again."
        ),
        "config": _config(
            network={"layers": [2, 2, 1], "activation": "tanh"},
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
            "gives every point the wrong class with a probability near 1. With cross-entropy, "
            "the error signal at the output is simply prediction minus target, close to 1 here. "
            "With squared error it is multiplied by the sigmoid's slope, which is nearly zero "
            "when the sigmoid is saturated, so learning barely starts."
        ),
        "watch": (
            "The gradient-norm chart and the loss curve during the first hundred iterations: "
            "with cross-entropy the decision line swings round at once."
        ),
        "try": (
            "Switch the loss to mean squared error, keep the same weights, and press Play: the "
            "output's gradient is hundreds of times smaller and the line hardly moves."
        ),
        "config": _config(
            network={
                "layers": [2, 1],
                "loss": "bce",
                "weights": [[[1.5], [1.5]]],
                "biases": [[0.0]],
            },
            training={"lr": 0.1},
            data={"dataset": "gauss", "points": _corner_clusters(), "train_ratio": 1.0},
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
            "a rate and the network barely moves; a good rate makes steady progress; too large "
            "a rate overshoots the valley it is trying to reach, so the loss jumps up and down; "
            "far too large and the weights fly off to infinity. The three racing runs share "
            "their data and their starting weights and differ only in the learning rate. Each "
            "step uses the whole training set, so every wiggle in a curve is the learning "
            "rate's doing."
        ),
        "watch": (
            "The overlaid loss curves on the log scale: a nearly flat line (lr 0.00003), a "
            "smooth fall (lr 0.1), and a curve that keeps bouncing up and down (lr 0.5)."
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
                {"label": "lr 0.00003", "lr": 0.00003},
                {"label": "lr 0.1", "lr": 0.1},
                {"label": "lr 0.5", "lr": 0.5},
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
            data={"dataset": "gauss", "points": _stripes_off_origin(), "train_ratio": 1.0},
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
            "so the signal reaches the first layer intact."
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
            "input. Here the weights start with a standard deviation of 2 in a deep ReLU "
            "network: δ grows at every layer, and at the first hidden layer it is over a "
            "hundred times its size at the output. He's initialisation scales the weights to "
            "the layer size: δ then grows far less, and every layer's gradient is more than ten "
            "times smaller."
        ),
        "watch": (
            "Step through the backward phase: δ on the nodes grows from layer to layer on its "
            "way back to the input. The gradient-norm chart shows how large every gradient is."
        ),
        "try": "Switch the initialisation to He and step through the backward phase again.",
        "config": _config(
            network={
                "layers": [2, 8, 8, 8, 8, 8, 1],
                "activation": "relu",
                "init": "normal",
                "init_scale": 2.0,
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
        "id": "local-minima",
        "title": "Plateaus and local minima",
        "summary": "XOR with two hidden neurons: some seeds solve it, some get stuck.",
        "text": (
            "XOR needs two hidden neurons working together. The loss surface of such a small "
            "network has flat regions and poor local minima, and where training ends up "
            "depends on the starting weights. With this seed the network gets stuck with a "
            "quarter of the points wrong, a whole quadrant, and stays there. With seed 1 the "
            "same network on the same data gets more than 90 % right (two tanh neurons cannot "
            "carve out the quadrants exactly, so a few points near the axes stay wrong)."
        ),
        "watch": "The loss curve flattening out well above zero, a quadrant left misclassified.",
        "try": "Change the weight seed to 1 and press Play again.",
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


def get_lesson(lesson_id: str) -> dict:
    """The lesson with this id (a copy, so callers cannot change the presets)."""
    for lesson in LESSONS:
        if lesson["id"] == lesson_id:
            return copy.deepcopy(lesson)
    known = ", ".join(lesson["id"] for lesson in LESSONS)
    raise ValueError(f"lesson: unknown id {shown(lesson_id)}; known lessons: {known}")
