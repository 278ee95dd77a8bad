"""Run: one validated training run (network + trainer + data), the facade the server drives.

The configuration's defaults and validation live in engine.config; see docs/architecture.md.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import schema
from .checks import Range, check_choice, check_integer, check_number
from .config import Limits, default_config, validate_config, validate_training
from .datasets import Dataset, from_rows, generate, validate_rows
from .features import expand
from .inspection import checked_target, explain_target, training_set_gradient
from .metrics import accuracy, layer_metrics
from .network import Network, Trace
from .stepping import MAX_EDIT, Stepping, TrainStatus, finite_or_none
from .surfaces import output_surface, surfaces
from .trainer import Trainer

__all__ = ["Limits", "Run", "TrainStatus", "default_config"]


def build_dataset(data: dict[str, Any]) -> Dataset:
    """The data set a validated `data` section describes (user points, else generated)."""
    if "points" in data:
        rows = np.array(data["points"], dtype=np.float64)
        return from_rows(data["dataset"], rows, data["train_ratio"], data["seed"])
    return generate(
        data["dataset"], data["n_points"], data["noise"], data["train_ratio"], data["seed"]
    )


def _trainer_options(training: dict[str, Any]) -> dict[str, Any]:
    """The Trainer's keyword options from a training section (batches are the Run's job)."""
    return {key: value for key, value in training.items() if key != "batch_size"}


# ------------------------------------------------------------------------ the run


class Run(Stepping):
    """One complete training run; see docs/architecture.md ("engine.run.Run").

    Randomness: `data.seed` fixes the data and its split; `network.seed` fixes the initial
    weights, the dropout masks and the order of the mini-batches. The same configuration gives
    bit-for-bit the same run.
    """

    kind = schema.FEED_FORWARD  # network.kind; engine/recurrent_run.py has the other kind

    def __init__(self, config: dict[str, Any], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.config = validate_config(config, self.limits)
        self._load_data()
        self.focus = 0
        self._start_network()

    # ----- construction pieces ------------------------------------------------------------

    def _load_data(self) -> None:
        # A two-class set learnt by two softmax outputs takes its targets as one-hot rows.
        self.data = build_dataset(self.config["data"]).with_outputs(self.network_outputs)
        features = self.config["data"]["features"]
        self._X_train = expand(self.data.train_points, features)
        self._X_test = expand(self.data.test_points, features)
        self._order: np.ndarray = np.empty(0, dtype=np.intp)
        self._cursor = 0
        self._phases: Iterator[dict[str, Any]] | None = None

    def _start_network(self) -> None:
        """Fresh weights, optimizer state, batch order and counters from the configuration."""
        seed = self.config["network"]["seed"]
        self.network = Network.from_spec(self.config["network"])
        options = _trainer_options(self.config["training"])
        self.trainer = Trainer(self.network, **options, seed=seed)
        # A stream of its own, so turning dropout on does not change the batch order.
        self._shuffle_rng = np.random.default_rng([seed, 1])
        self._order, self._cursor, self._phases = np.empty(0, dtype=np.intp), 0, None
        self._stepped = False
        self.iteration = 0
        self.epoch = 0

    @property
    def network_outputs(self) -> int:
        """The output layer's width (the targets' width)."""
        return int(self.config["network"]["layers"][-1])

    # ----- mini-batches -------------------------------------------------------------------

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return len(self._X_train)

    def _batch(self) -> np.ndarray:
        """Training indices of the next batch; a new shuffled pass starts when one ends.

        A batch never exceeds the training set, and the last one of a pass may be smaller.
        """
        if self._cursor >= len(self._order):
            self._order = self._shuffle_rng.permutation(self.n_train)
            self._cursor = 0
        return self._order[self._cursor : self._cursor + self.config["training"]["batch_size"]]

    def _advance(self, batch_size: int) -> None:
        """Count one applied iteration on a batch of batch_size samples."""
        self._cursor += batch_size
        self.iteration += 1
        self._stepped = True
        if self._cursor >= len(self._order):
            self.epoch += 1

    # ----- training -----------------------------------------------------------------------

    def _one_iteration(self) -> tuple[bool, str | None]:
        if self._phases is not None:
            phase = self._finish_phases()
            return phase["diverged"], phase.get("message")
        batch = self._batch()
        result = self.trainer.step(self._X_train[batch], self.data.train_targets[batch])
        if not result.diverged:
            self._advance(len(batch))
        return result.diverged, result.message

    def next_phase(self) -> dict[str, Any]:
        """The next phase of the current iteration (see engine.phases), plus "iteration" (the
        iteration it belongs to, 1-based), "focus_sample" (the followed training sample, always
        the chosen one), "focus_in_batch" and "batch_size".

        The batches are the ones `train` would use. The chosen sample's own values are shown
        whether or not it is in this batch; when it is not, it is not trained on (focus_in_batch
        false) and the update is the batch's alone.
        """
        if self._phases is None:
            self._begin_phases()
        phase = dict(next(self._phases))
        phase.update(self._phase_context)
        if phase["phase"] == "update":
            self._phases = None
            if phase["diverged"]:
                phase.setdefault("message", "diverged: the parameters are kept")
            else:
                self._advance(self._phase_context["batch_size"])
        return phase

    def _begin_phases(self) -> None:
        batch = self._batch()
        focus, in_batch = self._focus_in(batch)
        self._phase_context = {
            "iteration": self.iteration + 1,
            "focus_sample": self.focus,
            "focus_in_batch": in_batch,
            "batch_size": len(batch),
        }
        X, Y = self._X_train[batch], self.data.train_targets[batch]
        self._phases = self.trainer.phases(X, Y, focus=focus)

    def _focus_in(self, batch: np.ndarray) -> tuple[int | tuple[np.ndarray, np.ndarray], bool]:
        """The followed sample as engine.phases takes it: its row of `batch`, else its own
        (x, y); and whether the batch holds it."""
        where = np.flatnonzero(batch == self.focus)
        if len(where):
            return int(where[0]), True
        return (self._X_train[self.focus], self.data.train_targets[self.focus]), False

    def next_batch(self) -> np.ndarray:
        """Training indices of the batch the next iteration uses (the one being stepped through,
        mid-iteration). Asking draws a new pass's order early, from the same generator, so the
        run goes on exactly as it would have."""
        return self._batch().copy()

    # ----- live options -------------------------------------------------------------------

    def set(self, options: dict[str, Any]) -> None:
        """Change any subset of the training options, all or nothing; weights are kept.

        A new optimizer starts from fresh state. A phase-stepped iteration in progress restarts
        (on the same batch) so that it runs with the new options from its first phase.
        """
        training = validate_training(
            options, self.config["training"], self.n_train, self.network.n_layers
        )
        self.trainer.set(**_trainer_options(training))
        self.config["training"] = training
        self._phases = None

    # ----- what the page shows ------------------------------------------------------------

    def metrics(self) -> dict[str, Any]:
        """JSON-able figures after the last iteration; losses are the data loss without the
        L1/L2 penalty, measured without dropout. Test figures are None without a test set, and
        any figure that overflowed (a run on the edge of divergence) is None."""
        train_loss, train_accuracy, trace = self._evaluate(self._X_train, self.data.train_targets)
        test: tuple[float | None, float | None] = (None, None)
        if len(self._X_test):
            test = self._evaluate(self._X_test, self.data.test_targets)[:2]
        return self._metrics((train_loss, train_accuracy), test, self._layer_metrics(trace.A))

    def _evaluate(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, float | None, Trace]:
        """Loss, accuracy (None for regression) and the forward pass, in one pass over X."""
        # Parameters on the edge of divergence may overflow here; that is reported as None.
        with np.errstate(all="ignore"):
            trace = self.network.forward_trace(X)
            loss = self.network.trace_loss(trace, Y)
        classification = self.data.kind == "classification"
        correct = accuracy(trace.A[-1], Y) if classification else None
        return finite_or_none(loss), correct, trace

    def _layer_metrics(self, activations: list[np.ndarray]) -> list[dict[str, float | None]]:
        gradients = self.trainer.last_gradients if self._stepped else None
        updates = self.trainer.last_update if self._stepped else None
        names = [self.network.activation] * (self.network.n_layers - 1) + [self.network.output]
        layers = []
        with np.errstate(all="ignore"):  # once per frame, not per layer: entering it costs
            for index, (W, A) in enumerate(zip(self.network.weights, activations, strict=True)):
                dW = gradients[index]["W"] if gradients else None
                update = updates[index]["W"] if updates else None
                figures = layer_metrics(W, dW, update, A, names[index])
                layers.append({key: finite_or_none(value) for key, value in figures.items()})
        return layers

    def output_surface(self, output_grid: int = 48) -> np.ndarray:
        """The network's outputs over the plane alone (engine.surfaces.output_surface)."""
        return output_surface(self.network, self.config["data"]["features"], output_grid)

    def surfaces(self, output_grid: int, neuron_grid: int) -> dict[str, Any]:
        """Every neuron's output over the plane (see engine.surfaces), float64 arrays; the grids
        are the caller's (the server's settings)."""
        return surfaces(self.network, self.config["data"]["features"], output_grid, neuron_grid)

    # ----- changes by hand ----------------------------------------------------------------

    def edit(self, param: str, layer: int, i: int | None, j: int, value: float) -> None:
        """Set W[layer][i, j] or b[layer][j] (i ignored) to value, a finite number, |value| ≤ 100.

        The optimizer's state is kept; an iteration being stepped through restarts.
        """
        param = check_choice("param", param, ("W", "b"))
        layer = check_integer("layer", layer, 0, self.network.n_layers - 1)
        fan_in, fan_out = self.network.layers[layer], self.network.layers[layer + 1]
        j = check_integer("j", j, 0, fan_out - 1)
        if param == "W":
            i = check_integer("i", i, 0, fan_in - 1)
        elif not self.network.bias:
            raise ValueError("param: this network has no biases (network.bias is false)")
        value = check_number("value", value, Range(-MAX_EDIT, MAX_EDIT))
        if param == "W":
            self.network.weights[layer][i, j] = value
        else:
            self.network.biases[layer][j] = value
        self._phases = None

    def set_parameters(self, parameters: dict[str, Any]) -> None:
        """Start from these weights and biases (`{"weights", "biases"}` shaped like the network,
        e.g. carried over from the network before a structural change). The configuration keeps
        its seed: a reset draws from it again."""
        spec = {**self.config["network"], **parameters}
        network = Network.from_spec(spec)
        self.network.params[...] = network.params
        self._phases = None

    def set_focus(self, sample: int) -> None:
        """Follow training sample `sample` (an index into the training set) in the phase view."""
        self.focus = check_integer("sample", sample, 0, self.n_train - 1)
        self._phases = None

    def set_points(self, points: Any) -> None:
        """Replace the data with user points `[[x1, x2, target], ...]`; the weights are kept.

        The points are split by data.train_ratio with data.seed. If the new training set is
        smaller than the batch size, each batch is the whole training set.
        """
        data = self.config["data"]
        rows = validate_rows(points, data["dataset"], self.limits.max_points, "points")
        outputs = rows.shape[1] - 2 if self.data.kind == "regression" else self.data.n_outputs
        if outputs != self.network.layers[-1]:
            raise ValueError(
                f"points: rows carry {outputs} targets, the network has "
                f"{self.network.layers[-1]} outputs"
            )
        self.config["data"] = {**data, "points": rows.tolist()}
        self._load_data()
        if self.focus >= self.n_train:
            self.focus = 0

    def reset(self, seed: int | None = None) -> None:
        """New weights, optimizer state, batch order and counters; the data stays.

        Without a seed the run restarts exactly as configured (given weights included); with
        one, the weights are drawn from it and network.seed becomes it.
        """
        if seed is not None:
            seed = schema.field("network.seed").check(seed)
            network = {**self.config["network"], "seed": seed}
            network.pop("weights", None)
            network.pop("biases", None)
            self.config["network"] = network
        self._start_network()

    def clone(self, training: dict[str, Any] | None = None) -> Run:
        """An independent run with the same data, current weights, counters and batch order,
        and other training options (validated first). Its optimizer state starts fresh."""
        options = validate_training(
            training or {}, self.config["training"], self.n_train, self.network.n_layers
        )
        twin = copy.copy(self)
        twin.config = copy.deepcopy(self.config)
        twin.config["training"] = options
        twin.network = self.network.copy()
        seed = twin.config["network"]["seed"]
        twin.trainer = Trainer(twin.network, **_trainer_options(options), seed=seed)
        twin.trainer.rng = copy.deepcopy(self.trainer.rng)
        twin._shuffle_rng = copy.deepcopy(self._shuffle_rng)
        twin._order = self._order.copy()
        twin._phases = None
        twin._stepped = False
        return twin

    # ----- the chain rule of one parameter ------------------------------------------------

    def inspect(self, target: dict[str, Any]) -> dict[str, Any]:
        """The chain-rule explanation of one weight, bias or neuron (engine.phases) on the batch
        the next iteration uses (the one being stepped through, mid-iteration), without dropout,
        following the focus sample (in the batch or not); with a gradient check on that batch.

        target: {"kind": "weight", "layer", "i", "j"} | {"kind": "bias" | "neuron", "layer", "j"}.
        The check compares backprop with central differences of the batch's data loss: for a
        neuron, its batch-mean δ_j against ∂L/∂b_j (a bias sees exactly δ_j). "training_set"
        gives the same gradient (mean δ for a neuron) over the whole training set, for
        comparison: a batch's gradient is a noisy estimate of it.
        """
        target = checked_target(self.network, target)
        batch = self.next_batch()
        focus, in_batch = self._focus_in(batch)
        X, Y = self._X_train[batch], self.data.train_targets[batch]
        result = explain_target(self.network, X, Y, target, focus, self.config["training"])
        X_train, Y_train = self._X_train, self.data.train_targets
        result.update(
            data="batch",
            batch_iteration=self.iteration + 1,
            focus_sample=self.focus,
            focus_in_batch=in_batch,
            training_set=training_set_gradient(self.network, X_train, Y_train, target),
        )
        return result
