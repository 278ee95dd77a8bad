"""RecurrentRun: one validated recurrent training run (a Recurrent net, its Trainer, training and
test sequences), with the interface the server drives for a feed-forward `Run` (train,
next_phase, set, metrics, inspect, reset, clone, ...), and `build_run`, which makes the run a
configuration's network.kind asks for. See docs/recurrent.md and docs/architecture.md.

Training is full batch (every step sees every training sequence), so an iteration is an epoch.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import schema
from .checks import FieldError, Range, check_choice, check_integer, check_number, check_object
from .config import network_kind, validate_config
from .datasets import shown
from .recurrent import (
    Recurrent,
    RecurrentTrace,
    forget_gate_means,
    gradient_norms_through_time,
)
from .recurrent_config import network_spec, task_options, validate_recurrent_training
from .recurrent_phases import explain_hidden_state, explain_recurrent_weight
from .run import Run
from .schema import RECURRENT, Limits
from .sequences import SEQUENCE_TASKS, TEST_SEED_OFFSET, alphabet, generate_sequences
from .stepping import MAX_EDIT, Stepping, finite_or_none
from .trainer import Trainer

TEST_SEQUENCES = 64


def build_run(config: dict[str, Any], limits: Limits | None = None) -> Run | RecurrentRun:
    """The run `config` describes: a RecurrentRun when network.kind is recurrent, else a Run."""
    kind = network_kind(check_object("config", config, schema.SECTIONS))
    if kind == RECURRENT:
        return RecurrentRun(config, limits)
    return Run(config, limits)


class RecurrentRun(Stepping):
    """One recurrent training run. Randomness: `data.seed` fixes the sequences (the test ones
    from data.seed + 1000), `network.seed` the initial weights; the same config, the same run."""

    kind = RECURRENT

    def __init__(self, config: dict[str, Any], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.config = validate_config(config, self.limits)
        if self.config["network"]["kind"] != RECURRENT:
            raise FieldError("network.kind", "a RecurrentRun needs a recurrent network")
        self._load_data()
        self.focus = 0
        self._start_network()

    # ----- construction -------------------------------------------------------------------

    def _load_data(self) -> None:
        data = self.config["data"]
        options = task_options(data)
        shape = (data["length"], data["noise"])
        self.train_sequences = generate_sequences(
            data["task"], data["n_sequences"], *shape, data["seed"], **options
        )
        test_seed = data["seed"] + TEST_SEED_OFFSET
        self.test_sequences = generate_sequences(
            data["task"], TEST_SEQUENCES, *shape, test_seed, **options
        )
        self.task = SEQUENCE_TASKS[data["task"]]
        self.alphabet = alphabet(data["text"]) if data["task"] == "text" else None

    def _start_network(self) -> None:
        """Fresh weights, optimizer state and counters from the configuration."""
        spec = network_spec(self.config["network"], self.config["data"])
        self.network = Recurrent.from_spec(spec)
        self.trainer = Trainer(self.network, **self._trainer_options(self.config["training"]))
        self._phases: Iterator[dict[str, Any]] | None = None
        self._held_trace: tuple[np.ndarray, RecurrentTrace] | None = None  # _train_trace's
        self._stepped = False
        self.iteration = 0
        self.epoch = 0
        # What engine/progress.py saves of a feed-forward run: here one batch, no order to keep.
        self._order, self._cursor = np.empty(0, dtype=np.intp), 0
        self._shuffle_rng = np.random.default_rng([self.config["network"]["seed"], 1])

    def _trainer_options(self, training: dict[str, Any]) -> dict[str, Any]:
        return {**training, "seed": self.config["network"]["seed"]}

    @property
    def n_train(self) -> int:
        """Number of training sequences."""
        return int(self.train_sequences[0].shape[1])

    # ----- training -----------------------------------------------------------------------

    def _one_iteration(self) -> tuple[bool, str | None]:
        """One full-batch step (`Stepping.train` calls it), or the rest of a stepped one."""
        if self._phases is not None:
            phase = self._finish_phases()
            return phase["diverged"], phase.get("message")
        result = self.trainer.step(*self.train_sequences)
        if not result.diverged:
            self._advance()
        return result.diverged, result.message

    def _advance(self) -> None:
        self.iteration += 1
        self.epoch += 1
        self._stepped = True

    def next_phase(self) -> dict[str, Any]:
        """The next phase of the current step (engine/recurrent_phases.py), plus "iteration",
        "focus_sample" (the followed sequence) and "kind": "recurrent"."""
        if self._phases is None:
            X, Y, mask = self.train_sequences
            self._phases = self.trainer.phases(X, Y, focus=self.focus, mask=mask)
        phase = dict(next(self._phases))
        phase.update(iteration=self.iteration + 1, focus_sample=self.focus, kind=RECURRENT)
        if phase["phase"] == "update":
            self._phases = None
            if phase["diverged"]:
                phase.setdefault("message", "diverged: the parameters are kept")
            else:
                self._advance()
        return phase

    # ----- live options -------------------------------------------------------------------

    def set(self, options: dict[str, Any]) -> None:
        """Change any subset of the training options, all or nothing; weights are kept."""
        training = validate_recurrent_training(options, self.config["training"])
        self.trainer.set(**self._trainer_options(training))
        self.config["training"] = training
        self._phases = None

    # ----- what the page shows ------------------------------------------------------------

    def metrics(self) -> dict[str, Any]:
        """Loss and accuracy on the training and the test sequences (accuracy: the share of
        the steps with a target predicted right; None for adding and sine, which are fitted)."""
        held = self._train_trace(keep=True)  # the frame's unrolled view runs it too
        train = self._evaluate(self.train_sequences, held)
        return self._metrics(train, self._evaluate(self.test_sequences), [])

    def _evaluate(
        self, sequences: tuple[np.ndarray, ...], trace: RecurrentTrace | None = None
    ) -> tuple[float | None, float | None]:
        X, Y, mask = sequences
        with np.errstate(all="ignore"):
            trace = trace or self.network.forward_trace(X)
            loss = self.network.trace_loss(trace, Y, mask)
            correct = self._accuracy(trace.Yhat, Y, mask)
        return finite_or_none(loss), correct

    def _train_trace(self, keep: bool) -> RecurrentTrace:
        """The training sequences' forward pass at the current parameters. A frame needs it
        twice, for its metrics (first: `keep`) and its unrolled view (last: the held pass is
        let go). A session holds at most one such pass between frames (metrics recorded while
        the frame window is full keep theirs until the next frame). Held passes are
        compared by parameter values, so any change of the weights (a step, an edit) is seen."""
        params, held = self.network.params, self._held_trace
        self._held_trace = None
        if held is None or not np.array_equal(held[0], params):
            with np.errstate(all="ignore"):
                held = (params.copy(), self.network.forward_trace(self.train_sequences[0]))
        if keep:
            self._held_trace = held
        return held[1]

    def _accuracy(self, Yhat: np.ndarray, Y: np.ndarray, mask: np.ndarray) -> float | None:
        steps = mask.astype(bool)
        if self.task.output == "softmax":
            right = Yhat.argmax(axis=2) == Y.argmax(axis=2)
        elif self.task.output == "sigmoid":
            right = (Yhat[..., 0] > 0.5) == (Y[..., 0] > 0.5)
        elif self.config["data"]["task"] == "echo":  # ±1 targets: the sign is the answer
            right = np.sign(Yhat[..., 0]) == np.sign(Y[..., 0])
        else:
            return None
        return float(right[steps].mean())

    def unrolled(self) -> dict[str, Any]:
        """The focus sequence unrolled, as the engine computed it on the training sequences (the
        backward pass as the trainer runs it, truncation included): x, y, yhat, mask (T, ·),
        h and dh (T, H), for an lstm c (T, H); and the batch's ‖∂L/∂h_t‖ per step (T,) and, for
        an lstm, the mean forget gate per step (T,)."""
        X, Y, mask = self.train_sequences
        focus, net = self.focus, self.network
        with np.errstate(all="ignore"):
            trace = self._train_trace(keep=False)
            backward = net.backward(trace, Y, mask, self.trainer.options.get("truncate") or None)
            figures = {
                "x": X[:, focus],
                "y": Y[:, focus],
                "yhat": trace.Yhat[:, focus],
                "mask": mask[:, focus],
                "h": trace.H[1:, focus],
                "dh": backward.dH[:, focus] * X.shape[1],  # the sequence's own, as phases say
                "dh_norms": gradient_norms_through_time(backward),
            }
            if net.cell == "lstm":
                figures["c"] = trace.C[1:, focus]  # type: ignore[index]
                figures["forget_gates"] = forget_gate_means(net, trace)
        return figures

    # ----- changes by hand ----------------------------------------------------------------

    def edit(self, param: str, layer: int | None, i: int | None, j: int, value: float) -> None:
        """Set one entry of the parameter named `param` (rnn W_xh, W_hh, b_h; lstm W_x, W_h, b;
        both W_hy, b_y) to value, a finite number, |value| ≤ 100: W[i, j], or b[j] (i ignored).
        A recurrent net's parameters are named, not layered: `layer` must be None.

        The optimizer's state is kept; an iteration being stepped through restarts."""
        net = self.network
        param = check_choice("param", param, tuple(net.shapes))
        if layer is not None:
            raise FieldError(
                "layer", f"a recurrent network's parameters are named by param, got {shown(layer)}"
            )
        shape = net.shapes[param]
        j = check_integer("j", j, 0, shape[-1] - 1)
        if len(shape) == 2:
            i = check_integer("i", i, 0, shape[0] - 1)
        value = check_number("value", value, Range(-MAX_EDIT, MAX_EDIT))
        net.weights[param][(i, j) if len(shape) == 2 else j] = value
        self._phases = None

    def set_points(self, points: Any) -> None:
        raise FieldError("points", "a recurrent run learns sequences (data.task), not points")

    def set_parameters(self, parameters: dict[str, Any]) -> None:
        """Start from these weights (`{"weights": {name: nested list}}`); the seed is kept."""
        spec = network_spec(self.config["network"], self.config["data"])
        network = Recurrent.from_spec({**spec, "weights": parameters["weights"]})
        self.network.params[...] = network.params
        self._phases = None

    def set_focus(self, sample: int) -> None:
        """Follow training sequence `sample` in the unrolled view and the phases."""
        self.focus = check_integer("sample", sample, 0, self.n_train - 1)
        self._phases = None

    def reset(self, seed: int | None = None) -> None:
        """New weights, optimizer state and counters (from `seed` when given); data stays."""
        if seed is not None:
            seed = schema.field("network.seed").check(seed)
            network = {**self.config["network"], "seed": seed}
            network.pop("weights", None)
            self.config["network"] = network
        self._start_network()

    def clone(self, training: dict[str, Any] | None = None) -> RecurrentRun:
        """An independent run with the same data, weights and counters, other training options;
        its optimizer state starts fresh."""
        options = validate_recurrent_training(training or {}, self.config["training"])
        twin = copy.copy(self)
        twin.config = copy.deepcopy(self.config)
        twin.config["training"] = options
        twin.network = self.network.copy()
        twin.trainer = Trainer(twin.network, **twin._trainer_options(options))
        twin._phases, twin._stepped = None, False
        return twin

    # ----- the chain rule -----------------------------------------------------------------

    def inspect(self, target: dict[str, Any]) -> dict[str, Any]:
        """The chain rule of one recurrent parameter entry (a sum over time, term by term, with
        a central-difference check) or one hidden state δ_{t,j}, on the training sequences,
        following the focus sequence.

        target: {"kind": "recurrent_weight", "name", "i", "j"} (a bias: i = 0) |
        {"kind": "hidden_state", "t", "j"}."""
        target = check_object("target", target, ("kind", "name", "i", "j", "t", "layer"))
        kind = check_choice("target.kind", target.get("kind"), ("recurrent_weight", "hidden_state"))
        X, Y, mask = self.train_sequences
        truncate = self.config["training"]["truncate"] or None
        net, length = self.network, X.shape[0]
        if kind == "hidden_state":
            t = check_integer("target.t", target.get("t"), 0, length - 1)
            j = check_integer("target.j", target.get("j"), 0, net.hidden - 1)
            result = explain_hidden_state(net, X, Y, t, j, mask, truncate, self.focus)
        else:
            name = check_choice("target.name", target.get("name"), tuple(net.shapes))
            shape = net.shapes[name]
            j = check_integer("target.j", target.get("j"), 0, shape[-1] - 1)
            i = 0
            if len(shape) == 2:
                i = check_integer("target.i", target.get("i", 0), 0, shape[0] - 1)
            result = explain_recurrent_weight(net, X, Y, name, i, j, mask, truncate, self.focus)
            result["gradcheck"] = {"analytic": result["gradient"], **result["check"]}
        result["data"] = "train"
        return result
