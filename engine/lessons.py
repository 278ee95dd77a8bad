"""The lesson presets: one idea of backpropagation per lesson, as a run configuration plus text.

Every claim a lesson's text makes is a check in tests/lesson_claims.py, run over many network
and data seeds at the page's pace by tests/test_lessons.py (and scripts/lesson_fractions.py for
the full table); see docs/lessons.md.
"""

import copy

from engine.datasets import shown
from engine.lesson_data import (
    DIVERGING_LR,
    GOOD_LR,
    LARGE_LR,
    SMALL_LR,
    USER_POINTS,
    WORKED_EXAMPLE_LR,
    WORKED_EXAMPLE_NETWORK,
    WORKED_EXAMPLE_POINTS,
    lesson_config,
    rate_text,
    stripes_off_origin,
)
from engine.lessons_later import LATER_LESSONS
from engine.lessons_recurrent import RECURRENT_LESSONS

__all__ = [
    "DIVERGING_LR",
    "GOOD_LR",
    "LARGE_LR",
    "LESSONS",
    "SMALL_LR",
    "USER_POINTS",
    "get_lesson",
]


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
            "Then pick another sample to follow and step again."
        ),
        "config": lesson_config(
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
        "config": lesson_config(
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
        "config": lesson_config(
            network=WORKED_EXAMPLE_NETWORK,
            training={"lr": WORKED_EXAMPLE_LR, "batch_size": 1},
            data={"dataset": "plane", "points": WORKED_EXAMPLE_POINTS, "train_ratio": 1.0},
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
            f"{rate_text(SMALL_LR)} is still above half where it started, while lr "
            f"{rate_text(GOOD_LR)} has fallen smoothly to under 1 % of it; lr "
            f"{rate_text(LARGE_LR)} jumps up by half or more, again and again (three times or "
            "more in those five seconds)."
        ),
        "try": (
            f"Stop the race, set the learning rate to {DIVERGING_LR:g} and press Play: the loss "
            "shoots up to infinity, training pauses itself and tells you why, and the last "
            "good weights are kept."
        ),
        "config": lesson_config(
            network={"layers": [2, 4, 1], "output": "linear", "loss": "mse", "seed": 3},
            training={"lr": 0.1, "batch_size": 100},
            data={"dataset": "plane"},
        ),
        "view": {
            "compare": [
                {"label": f"lr {rate_text(lr)}", "lr": lr} for lr in (SMALL_LR, GOOD_LR, LARGE_LR)
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
        "config": lesson_config(
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
        "config": lesson_config(
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
        "config": lesson_config(
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
        "config": lesson_config(
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
]

LESSONS += LATER_LESSONS
# Backpropagation through time: presets, texts and claims in engine/lessons_recurrent.py and
# tests/test_lessons_recurrent.py.
LESSONS += RECURRENT_LESSONS


def get_lesson(lesson_id: str) -> dict:
    """The lesson with this id (a copy, so callers cannot change the presets)."""
    for lesson in LESSONS:
        if lesson["id"] == lesson_id:
            return copy.deepcopy(lesson)
    known = ", ".join(lesson["id"] for lesson in LESSONS)
    raise ValueError(f"lesson: unknown id {shown(lesson_id)}; known lessons: {known}")
