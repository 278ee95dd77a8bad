"""Lessons 14-17, on backpropagation through time: presets and text in RECURRENT_LESSONS (the same
keys as engine.lessons.LESSONS), and `LessonRun`, which builds a preset on the engine.

Every claim the text makes is measured by tests/test_lessons_recurrent.py over 10 seeds. A
preset's config is {"network", "training", "data"} with network.kind = "recurrent"; the data
section names a task of engine.sequences, whose sizes decide the network's inputs, outputs,
output activation and loss. Training is full batch: each step sees every training sequence.
"""

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from .recurrent import Recurrent, RecurrentBackward, gradient_norms_through_time
from .schema import RECURRENT, default_config
from .sequences import SEQUENCE_TASKS, TEST_SEED_OFFSET, Sequences, generate_sequences
from .trainer import StepResult, Trainer

TEST_SEQUENCES = 256  # fresh sequences a lesson's claims are measured on


def _config(network: dict, training: dict, data: dict) -> dict[str, Any]:
    """A complete recurrent run configuration (the schema's defaults, then these keys)."""
    config = default_config(RECURRENT)
    for section, given in (("network", network), ("training", training), ("data", data)):
        config[section].update(given)
    return config


RECURRENT_LESSONS: list[dict[str, Any]] = [
    {
        "id": "bptt",
        "title": "Backpropagation through time",
        "summary": "Unroll a recurrent network in time and follow the error back through it.",
        "text": (
            "A recurrent network reads a sequence one step at a time and carries a hidden state "
            "h_t from each step to the next through the same weights W_hh. Unrolled in time it "
            "is a deep feed-forward network with one layer per time step, every layer sharing "
            "W_hh. Backpropagation through time is ordinary backpropagation on that unrolled "
            "network: the error flows from the last step to the first, and because W_hh is used "
            "at every step, its gradient is the sum of one term per step, h_{t-1} times δ_t."
        ),
        "watch": (
            "Step through the phases: the forward sweep fills h_t left to right, the backward "
            "sweep carries δ_t right to left. Click a W_hh weight: the inspector lists its "
            "gradient as a sum over the time steps, term by term, beside a numerical check."
        ),
        "try": "Change the sequence length and watch the sum gain or lose terms.",
        "config": _config(
            network={"cell": "rnn", "activation": "tanh", "hidden": 4},
            training={"lr": 0.1},
            data={"task": "echo", "delay": 2, "length": 6, "n_sequences": 16},
        ),
        "view": {"mode": "step", "unrolled": True},
    },
    {
        "id": "vanishing-through-time",
        "title": "Vanishing gradients through time",
        "summary": "A tanh RNN's gradient fades step by step; an LSTM's cell keeps it.",
        "text": (
            "Echo with delay 15: at its last step the network must output the first input it "
            "saw, 15 steps before. Going back one step multiplies the gradient by W_hh and by "
            "tanh', and in this tanh RNN each step shrinks it, so ‖∂L/∂h_t‖ at the first step "
            "is thousands of times smaller than at the last. Trained with momentum, the RNN "
            "gets almost no signal from the first input and stays near guessing. An LSTM "
            "carries its cell state from step to step through the forget gate alone (here "
            "started near 1 by a forget bias of 2), so far more of the gradient reaches the "
            "first step, and with the same training it learns to echo the first input on "
            "sequences it has never seen."
        ),
        "watch": (
            "The gradient-through-time chart (log scale): a steep fall from right to left "
            "for the RNN, a much flatter line for the LSTM."
        ),
        "try": (
            "Press “try the LSTM” over the view (this lesson's run with an LSTM cell and a "
            "forget bias of 2) and compare the chart and the echo accuracy. Then give the "
            "RNN Adam (lr 0.02): Adam divides each weight's step by the size of that weight's "
            "recent gradients, which makes up for much of the fading, and the RNN now most "
            "often learns the echo too."
        ),
        "config": _config(
            network={"cell": "rnn", "activation": "tanh", "hidden": 8, "init_scale": 0.5},
            training={"optimizer": "momentum", "lr": 0.02, "clip": 1.0},
            data={"task": "echo", "delay": 15, "length": 16, "n_sequences": 128},
        ),
        "view": {"charts": "gradient_through_time", "compare_cell": {"forget_bias": 2.0}},
    },
    {
        "id": "exploding-through-time",
        "title": "Exploding gradients through time, and clipping",
        "summary": "A large W_hh makes the gradient grow back through time; clipping tames it.",
        "text": (
            "When W_hh is large (here a relu RNN started with 1.5 times the usual weights), "
            "the gradient grows as it goes back through time: ‖∂L/∂h_t‖ is larger at the first "
            "step than at the last. One step of plain gradient descent along such a gradient "
            "overshoots, and the loss jumps up instead of down. Clipping rescales the whole "
            "gradient to a norm of at most clip before the update (as "
            "torch.nn.utils.clip_grad_norm_ does), keeping its direction: the loss then never "
            "climbs above where it started, and it ends lower than without clipping."
        ),
        "watch": "The loss curve's spikes without clipping; the gradient-through-time chart.",
        "try": "Set clip to 1 and train again from the same start.",
        "config": _config(
            network={"cell": "rnn", "activation": "relu", "hidden": 8, "init_scale": 1.5},
            training={"lr": 0.05},
            data={"task": "sine", "length": 20, "n_sequences": 64},
        ),
        "view": {
            "charts": "gradient_through_time",
            "compare": [{"label": "no clipping", "clip": 0.0}, {"label": "clip 1", "clip": 1.0}],
        },
    },
    {
        "id": "truncated-bptt",
        "title": "Truncated backpropagation through time",
        "summary": "Cut the backward pass into windows of k steps: nothing longer is learned.",
        "text": (
            "Long sequences are usually trained with truncated BPTT: the sequence is cut into "
            "windows of k steps; the hidden state still flows forward across a window's start, "
            "but the gradient stops there. It is cheaper, but a dependency longer than k steps "
            "gets no gradient at all. Here an LSTM must echo the first input 10 steps later: "
            "with windows of 3 steps it stays far from solving it in most runs (the state still "
            "carries information forward, so now and then a run keeps the first input by "
            "luck); with full backpropagation through time it echoes every sequence."
        ),
        "watch": "In the backward sweep δ_t drops to zero at every window start.",
        "try": "Set truncate to 0 (no truncation) and train again.",
        "config": _config(
            network={"cell": "lstm", "hidden": 8},
            training={"optimizer": "adam", "lr": 0.02, "truncate": 3},
            data={"task": "echo", "delay": 10, "length": 11, "n_sequences": 128},
        ),
        "view": {
            "mode": "step",
            "compare": [
                {"label": "truncate 3", "truncate": 3},
                {"label": "full BPTT", "truncate": 0},
            ],
        },
    },
]


def get_recurrent_lesson(lesson_id: str) -> dict[str, Any]:
    """The lesson with this id (a copy)."""
    for lesson in RECURRENT_LESSONS:
        if lesson["id"] == lesson_id:
            return copy.deepcopy(lesson)
    known = ", ".join(lesson["id"] for lesson in RECURRENT_LESSONS)
    raise ValueError(f"lesson: unknown id {lesson_id!r}; known recurrent lessons: {known}")


@dataclass
class LessonRun:
    """A preset built on the engine: the net, its trainer, training and test sequences."""

    net: Recurrent
    trainer: Trainer
    train: Sequences
    test: Sequences

    @classmethod
    def from_config(cls, config: dict[str, Any], seed: int | None = None) -> "LessonRun":
        """Build a preset's config; `seed` replaces both the network's and the data's seed."""
        network, data = dict(config["network"]), dict(config["data"])
        if seed is not None:
            network["seed"] = data["seed"] = seed
        task = SEQUENCE_TASKS[data["task"]]
        options = {key: data[key] for key in task.options if key in data}
        inputs, outputs = task.sizes(**options)
        spec = {key: value for key, value in network.items() if key != "kind"}
        spec |= {"inputs": inputs, "outputs": outputs, "output": task.output, "loss": task.loss}
        net = Recurrent.from_spec(spec)
        shape = (data["n_sequences"], data["length"], data["noise"])
        train = generate_sequences(data["task"], *shape, data["seed"], **options)
        test_shape = (TEST_SEQUENCES, data["length"], data["noise"])
        test_seed = data["seed"] + TEST_SEED_OFFSET
        test = generate_sequences(data["task"], *test_shape, test_seed, **options)
        training = {key: value for key, value in config["training"].items()}
        return cls(net, Trainer(net, **training), train, test)

    def step(self) -> StepResult:
        """One full-batch training step."""
        return self.trainer.step(*self.train)

    def backward(self) -> RecurrentBackward:
        """The (truncated, as trained) backward pass on the training sequences."""
        X, Y, mask = self.train
        truncate = self.trainer.options.get("truncate")
        return self.net.backward(self.net.forward_trace(X), Y, mask, truncate)

    def gradient_norms(self) -> np.ndarray:
        """‖∂L/∂h_t‖ for every step t on the training sequences, (T,)."""
        return gradient_norms_through_time(self.backward())

    def accuracy(self, sequences: Sequences | None = None) -> float:
        """Fraction of the masked steps predicted right (on the test sequences by default):
        the sign for ±1 targets, the arg max for one-hot ones, > 0.5 for 0/1 ones."""
        X, Y, mask = self.test if sequences is None else sequences
        predicted = self.net.forward(X)
        steps = mask.astype(bool)
        if self.net.output == "softmax":
            right = predicted.argmax(axis=2) == Y.argmax(axis=2)
        elif self.net.output == "sigmoid":
            right = (predicted[..., 0] > 0.5) == (Y[..., 0] > 0.5)
        else:
            right = np.sign(predicted[..., 0]) == np.sign(Y[..., 0])
        return float(right[steps].mean())
