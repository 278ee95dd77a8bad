"""Run: one validated training run (network + trainer + data), the facade the server drives.

The run configuration's validation lives here too; see docs/architecture.md for the contract.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .datasets import (
    DATASETS,
    MAX_NOISE,
    Dataset,
    from_rows,
    generate,
    shown,
    train_count,
    validate_rows,
)
from .datasets import is_finite_number as _is_number
from .features import FEATURES, expand
from .gradcheck import check_parameter, numeric_derivative, parameter_index, relative_error
from .losses import DEFAULT_LOSS
from .metrics import accuracy, layer_metrics
from .network import Network, Trace
from .optimizers import OPTIMIZERS
from .phases import explain_bias, explain_neuron, explain_weight
from .surfaces import surfaces
from .trainer import Trainer

SEED_LIMIT = 2**63
MAX_EDIT = 100.0

DEFAULT_NETWORK: dict[str, Any] = {
    "layers": [2, 4, 2, 1],
    "activation": "tanh",
    "output": "sigmoid",
    "init": "xavier",
    "init_scale": 1.0,
    "seed": 1,
    "bias": True,
}
DEFAULT_TRAINING: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.03,
    "momentum": 0.9,
    "alpha": 0.99,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "l1": 0.0,
    "l2": 0.0,
    "dropout": 0.0,
    "batch_size": 10,
    "frozen": [],
}
DEFAULT_DATA: dict[str, Any] = {
    "dataset": "circle",
    "n_points": 200,
    "noise": 0,
    "train_ratio": 0.5,
    "features": ["x1", "x2"],
    "seed": 1,
}
SECTIONS = {"network": DEFAULT_NETWORK, "training": DEFAULT_TRAINING, "data": DEFAULT_DATA}
NETWORK_KEYS = (*DEFAULT_NETWORK, "loss", "weights", "biases")
DATA_KEYS = (*DEFAULT_DATA, "points")


@dataclass(frozen=True)
class Limits:
    """Size limits the server imposes on every run."""

    max_hidden_layers: int = 8
    max_neurons: int = 32
    max_points: int = 5000


@dataclass(frozen=True)
class TrainStatus:
    """What `Run.train` did: iterations completed, and whether it stopped on a diverging step."""

    iterations_run: int
    diverged: bool
    message: str | None = None


def default_config() -> dict[str, Any]:
    """A full default configuration (a fresh copy)."""
    config = copy.deepcopy(SECTIONS)
    config["network"]["loss"] = DEFAULT_LOSS[config["network"]["output"]]
    return config


# ------------------------------------------------------------------ value checks


def _number(field: str, value: Any, low: float, high: float, bounds: str = "[]") -> float:
    """A finite real in the interval written by `bounds` ("[]", "(]", "[)") from low to high."""
    if _is_number(value) and _within(value, low, high, bounds):
        return float(value)
    interval = f"{bounds[0]}{low:g}, {high:g}{bounds[1]}"
    raise ValueError(f"{field}: must be a finite number in {interval}, got {shown(value)}")


def _within(value: float, low: float, high: float, bounds: str) -> bool:
    above = value > low if bounds[0] == "(" else value >= low
    below = value < high if bounds[1] == ")" else value <= high
    return above and below


def _integer(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{field}: must be an integer in [{low}, {high}], got {shown(value)}")
    return value


def _choice(field: str, value: Any, allowed: Any) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{field}: must be one of {', '.join(allowed)}, got {shown(value)}")
    return value


def _section(field: str, given: Any, allowed_keys: tuple[str, ...]) -> dict[str, Any]:
    """A dict with only known keys (a copy)."""
    if not isinstance(given, dict):
        raise ValueError(f"{field}: must be an object, got {type(given).__name__}")
    for key in given:
        if key not in allowed_keys:
            name = key if isinstance(key, str) and len(key) <= 40 else shown(key)
            raise ValueError(f"{field}.{name}: unknown key; allowed: {', '.join(allowed_keys)}")
    return copy.deepcopy(given)


# ----------------------------------------------------------------- data section


def _validate_data(given: Any, limits: Limits) -> dict[str, Any]:
    data = {**DEFAULT_DATA, **_section("data", given, DATA_KEYS)}
    data["dataset"] = _choice("data.dataset", data["dataset"], DATASETS)
    data["n_points"] = _integer("data.n_points", data["n_points"], 1, limits.max_points)
    data["noise"] = _number("data.noise", data["noise"], 0, MAX_NOISE)
    # Up to 1 (not 0.95): a hand-made set of a few points may be all training, no test set.
    data["train_ratio"] = _number("data.train_ratio", data["train_ratio"], 0.05, 1)
    data["features"] = _features(data["features"])
    data["seed"] = _integer("data.seed", data["seed"], 0, SEED_LIMIT - 1)
    if data.get("points") is not None:
        rows = validate_rows(data["points"], data["dataset"], limits.max_points, "data.points")
        data["points"] = rows.tolist()
    else:
        data.pop("points", None)
    return data


def _features(names: Any) -> list[str]:
    if not isinstance(names, list) or not names:
        raise ValueError(f"data.features: must be a non-empty list of names, got {shown(names)}")
    for index, name in enumerate(names):
        _choice(f"data.features[{index}]", name, FEATURES)
    if len(set(names)) != len(names):
        raise ValueError(f"data.features: each feature at most once, got {shown(names)}")
    return list(names)


def build_dataset(data: dict[str, Any]) -> Dataset:
    """The data set a validated `data` section describes (user points, else generated)."""
    if "points" in data:
        rows = np.array(data["points"], dtype=np.float64)
        return from_rows(data["dataset"], rows, data["train_ratio"], data["seed"])
    return generate(
        data["dataset"], data["n_points"], data["noise"], data["train_ratio"], data["seed"]
    )


def _data_shape(data: dict[str, Any]) -> tuple[int, int]:
    """(number of training samples, number of outputs) of a validated data section."""
    if "points" in data:
        n, width = len(data["points"]), len(data["points"][0])
        outputs = DATASETS[data["dataset"]].n_outputs if width == 3 else width - 2
    else:
        n, outputs = data["n_points"], DATASETS[data["dataset"]].n_outputs
    return train_count(n, data["train_ratio"]), outputs


# -------------------------------------------------------------- network section


def _validate_network(given: Any, data: dict[str, Any], limits: Limits) -> dict[str, Any]:
    network = {**DEFAULT_NETWORK, **_section("network", given, NETWORK_KEYS)}
    layers = _layers(network["layers"], limits)
    n_features, n_outputs = len(data["features"]), _data_shape(data)[1]
    if layers[0] != n_features:
        raise ValueError(
            f"network.layers[0]: must equal the number of features ({n_features}), got {layers[0]}"
        )
    if layers[-1] != n_outputs:
        raise ValueError(
            f"network.layers[{len(layers) - 1}]: must equal the number of outputs of "
            f"{data['dataset']} ({n_outputs}), got {layers[-1]}"
        )
    _refuse_huge_integers("network", network)
    try:
        spec = Network.from_spec(network).to_spec()
    except ValueError as error:
        raise ValueError(f"network.{error}") from None
    for key in ("weights", "biases"):
        if network.get(key) is None:
            del spec[key]
    return spec


def _refuse_huge_integers(field: str, value: Any) -> None:
    """Network.from_spec turns numbers into floats; an int beyond float range (10**400) would
    raise OverflowError there, so it is named here as the bad field instead."""
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_huge_integers(f"{field}.{key}", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_huge_integers(f"{field}[{index}]", item)
    elif isinstance(value, int) and not isinstance(value, bool) and not _is_number(value):
        raise ValueError(
            f"{field}: must be a finite number, got an integer of {value.bit_length()} bits"
        )


def _layers(layers: Any, limits: Limits) -> list[int]:
    # Checked before Network.from_spec so an absurd size never allocates anything.
    hidden_max = limits.max_hidden_layers
    if not isinstance(layers, list) or not 2 <= len(layers) <= hidden_max + 2:
        raise ValueError(
            f"network.layers: must be a list of 2 to {hidden_max + 2} sizes "
            f"(at most {hidden_max} hidden layers), got {shown(layers)}"
        )
    for index, size in enumerate(layers):
        _integer(f"network.layers[{index}]", size, 1, limits.max_neurons)
    return layers


# ------------------------------------------------------------- training section


def validate_training(
    options: Any, base: dict[str, Any], n_train: int, n_layers: int
) -> dict[str, Any]:
    """`base` with `options` (any subset of the training keys) applied, every field checked."""
    given = _section("training", options, tuple(DEFAULT_TRAINING))
    training = {**base, **given}
    training["optimizer"] = _choice("training.optimizer", training["optimizer"], OPTIMIZERS)
    training["lr"] = _number("training.lr", training["lr"], 0, 10, "(]")
    training["momentum"] = _number("training.momentum", training["momentum"], 0, 1, "[)")
    for key in ("alpha", "beta1", "beta2"):
        training[key] = _number(f"training.{key}", training[key], 0, 1, "[)")
    training["eps"] = _number("training.eps", training["eps"], 0, 1, "(]")
    for key in ("l1", "l2"):
        training[key] = _number(f"training.{key}", training[key], 0, 1)
    training["dropout"] = _number("training.dropout", training["dropout"], 0, 0.9)
    # A batch size kept from before new points shrank the training set is left alone (each
    # batch is then the whole set); a batch size being changed must fit the training set.
    kept = given.get("batch_size", base["batch_size"]) == base["batch_size"]
    largest = max(n_train, base["batch_size"]) if kept else n_train
    training["batch_size"] = _integer("training.batch_size", training["batch_size"], 1, largest)
    training["frozen"] = _frozen(training["frozen"], n_layers)
    return training


def _frozen(frozen: Any, n_layers: int) -> list[int]:
    if not isinstance(frozen, list):
        raise ValueError(f"training.frozen: must be a list of layer indices, got {shown(frozen)}")
    for index, layer in enumerate(frozen):
        _integer(f"training.frozen[{index}]", layer, 0, n_layers - 1)
    if len(set(frozen)) != len(frozen):
        raise ValueError(f"training.frozen: each layer at most once, got {shown(frozen)}")
    return sorted(frozen)


def validate_config(config: Any, limits: Limits) -> dict[str, Any]:
    """The normalised configuration (every default filled in); ValueError names the field."""
    config = _section("config", config, tuple(SECTIONS))
    data = _validate_data(config.get("data", {}), limits)
    network = _validate_network(config.get("network", {}), data, limits)
    n_train = _data_shape(data)[0]
    # The default batch size shrinks to fit a smaller training set; a given one must fit.
    base = {**copy.deepcopy(DEFAULT_TRAINING), "batch_size": min(10, n_train)}
    training = validate_training(
        config.get("training", {}), base, n_train, len(network["layers"]) - 1
    )
    return {"network": network, "training": training, "data": data}


def _finite_or_none(value: float | None) -> float | None:
    """JSON has no inf or NaN: an overflowed figure is reported as None."""
    return value if value is None or math.isfinite(value) else None


def _trainer_options(training: dict[str, Any]) -> dict[str, Any]:
    """The Trainer's keyword options from a training section (batches are the Run's job)."""
    return {key: value for key, value in training.items() if key != "batch_size"}


# ------------------------------------------------------------------------ the run


class Run:
    """One complete training run; see docs/architecture.md ("engine.run.Run").

    Randomness: `data.seed` fixes the data and its split; `network.seed` fixes the initial
    weights, the dropout masks and the order of the mini-batches. The same configuration gives
    bit-for-bit the same run.
    """

    def __init__(self, config: dict[str, Any], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.config = validate_config(config, self.limits)
        self._load_data()
        self.focus = 0
        self._start_network()

    # ----- construction pieces ------------------------------------------------------------

    def _load_data(self) -> None:
        self.data = build_dataset(self.config["data"])
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

    def train(self, iterations: int) -> TrainStatus:
        """Run up to `iterations` iterations; stop at a diverging step (its parameters are kept
        from before it). A phase-stepped iteration in progress is completed first."""
        _integer("iterations", iterations, 1, 1_000_000)
        for done in range(iterations):
            diverged, message = self._one_iteration()
            if diverged:
                return TrainStatus(done, True, message)
        return TrainStatus(iterations, False, None)

    def _one_iteration(self) -> tuple[bool, str | None]:
        if self._phases is not None:
            phase = self._finish_phases()
            return phase["diverged"], phase.get("message")
        batch = self._batch()
        result = self.trainer.step(self._X_train[batch], self.data.train_targets[batch])
        if not result.diverged:
            self._advance(len(batch))
        return result.diverged, result.message

    def _finish_phases(self) -> dict[str, Any]:
        phase = self.next_phase()
        while phase["phase"] != "update":
            phase = self.next_phase()
        return phase

    def next_phase(self) -> dict[str, Any]:
        """The next phase of the current iteration (see engine.phases), plus "iteration" (the
        iteration it belongs to, 1-based), "focus_sample" (the training index it follows) and
        "focus_in_batch".

        The batches are the ones `train` would use. If the chosen focus sample is not in this
        batch, the phase view follows the batch's first sample and says so (focus_in_batch).
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
        where = np.flatnonzero(batch == self.focus)
        position = int(where[0]) if len(where) else 0
        self._phase_context = {
            "iteration": self.iteration + 1,
            "focus_sample": int(batch[position]),
            "focus_in_batch": bool(len(where)),
            "batch_size": len(batch),
        }
        X, Y = self._X_train[batch], self.data.train_targets[batch]
        self._phases = self.trainer.phases(X, Y, focus=position)

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
        test_loss, test_accuracy = None, None
        if len(self._X_test):
            test_loss, test_accuracy, _ = self._evaluate(self._X_test, self.data.test_targets)
        return {
            "iteration": self.iteration,
            "epoch": self.epoch,
            "train_loss": train_loss,
            "test_loss": test_loss,
            "train_accuracy": train_accuracy,
            "test_accuracy": test_accuracy,
            "layers": self._layer_metrics(trace.A),
        }

    def _evaluate(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, float | None, Trace]:
        """Loss, accuracy (None for regression) and the forward pass, in one pass over X."""
        # Parameters on the edge of divergence may overflow here; that is reported as None.
        with np.errstate(all="ignore"):
            trace = self.network.forward_trace(X)
            loss = self.network.trace_loss(trace, Y)
        classification = self.data.kind == "classification"
        correct = accuracy(trace.A[-1], Y) if classification else None
        return _finite_or_none(loss), correct, trace

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
                layers.append({key: _finite_or_none(value) for key, value in figures.items()})
        return layers

    def surfaces(self, output_grid: int = 48, neuron_grid: int = 20) -> dict[str, Any]:
        """Every neuron's output over the plane (see engine.surfaces), float64 arrays."""
        return surfaces(self.network, self.config["data"]["features"], output_grid, neuron_grid)

    # ----- changes by hand ----------------------------------------------------------------

    def edit(self, param: str, layer: int, i: int | None, j: int, value: float) -> None:
        """Set W[layer][i, j] or b[layer][j] (i ignored) to value, a finite number, |value| ≤ 100.

        The optimizer's state is kept; an iteration being stepped through restarts.
        """
        param = _choice("param", param, ("W", "b"))
        layer = _integer("layer", layer, 0, self.network.n_layers - 1)
        fan_in, fan_out = self.network.layers[layer], self.network.layers[layer + 1]
        j = _integer("j", j, 0, fan_out - 1)
        if param == "W":
            i = _integer("i", i, 0, fan_in - 1)
        elif not self.network.bias:
            raise ValueError("param: this network has no biases (network.bias is false)")
        value = _number("value", value, -MAX_EDIT, MAX_EDIT)
        if param == "W":
            self.network.weights[layer][i, j] = value
        else:
            self.network.biases[layer][j] = value
        self._phases = None

    def set_focus(self, sample: int) -> None:
        """Follow training sample `sample` (an index into the training set) in the phase view."""
        self.focus = _integer("sample", sample, 0, self.n_train - 1)
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
            seed = _integer("seed", seed, 0, SEED_LIMIT - 1)
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
        """The chain-rule explanation of one weight, bias or neuron (engine.phases), on the whole
        training set without dropout, following the focus sample; with a gradient check.

        target: {"kind": "weight", "layer", "i", "j"} | {"kind": "bias" | "neuron", "layer", "j"}.
        The check compares backprop with central differences of the data loss: for a neuron, its
        batch-mean δ_j against ∂L/∂b_j (a bias sees exactly δ_j).
        """
        kind, layer, i, j = self._inspect_target(target)
        X, Y = self._X_train, self.data.train_targets
        net, training = self.network, self.config["training"]
        if kind == "weight":
            l1, l2 = training["l1"], training["l2"]
            result = explain_weight(net, X, Y, layer, i, j, self.focus, l1=l1, l2=l2)
            result["gradcheck"] = check_parameter(net, X, Y, "W", layer, i, j)
        elif kind == "bias":
            result = explain_bias(net, X, Y, layer, j, self.focus)
            result["gradcheck"] = check_parameter(net, X, Y, "b", layer, 0, j) if net.bias else None
        else:
            result = explain_neuron(net, X, Y, layer, j, self.focus)
            result["gradcheck"] = self._check_delta(layer, j, result["batch_mean_delta"])
        result["data"] = "train"
        return result

    def _inspect_target(self, target: Any) -> tuple[str, int, int, int]:
        target = _section("target", target, ("kind", "layer", "i", "j"))
        kind = _choice("kind", target.get("kind"), ("weight", "bias", "neuron"))
        layer = _integer("layer", target.get("layer"), 0, self.network.n_layers - 1)
        j = _integer("j", target.get("j"), 0, self.network.layers[layer + 1] - 1)
        i = 0
        if kind == "weight":
            i = _integer("i", target.get("i"), 0, self.network.layers[layer] - 1)
        return kind, layer, i, j

    def _check_delta(self, layer: int, j: int, mean_delta: float) -> dict[str, float]:
        X, Y = self._X_train, self.data.train_targets
        index = parameter_index(self.network, "b", layer, 0, j)
        numeric = numeric_derivative(self.network, X, Y, index)
        return {
            "analytic": mean_delta,
            "numeric": numeric,
            "relative_error": relative_error(mean_delta, numeric),
        }
