"""The run configuration: its defaults, the server's size limits, and the validation of every
field (a ValueError whose message starts with the dotted field name); see docs/architecture.md."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .datasets import DATASETS, MAX_NOISE, shown, train_count, validate_rows
from .datasets import is_finite_number as _is_number
from .features import FEATURES
from .losses import DEFAULT_LOSS
from .network import Network
from .optimizers import OPTIMIZERS
from .trainer import DEFAULT_OPTIONS, OPTION_RANGES, Range

SEED_LIMIT = 2**63

DEFAULT_NETWORK: dict[str, Any] = {
    "layers": [2, 4, 2, 1],
    "activation": "tanh",
    "output": "sigmoid",
    "init": "xavier",
    "init_scale": 1.0,
    "seed": 1,
    "bias": True,
}
# The Trainer's own defaults; its seed is network.seed, and batches are the Run's business.
DEFAULT_TRAINING: dict[str, Any] = {
    **{key: value for key, value in DEFAULT_OPTIONS.items() if key not in ("frozen", "seed")},
    "batch_size": 10,
    "frozen": [],
}
# Classroom limits, narrower than what the Trainer accepts: a penalty beyond λ = 1 swamps the data
# gradient of these small sets at once, and dropout above 0.9 leaves a small hidden layer all but
# empty. Every other numeric option is allowed exactly the Trainer's range.
CLASSROOM_RANGES: dict[str, Range] = {
    "l1": Range(0.0, 1.0),
    "l2": Range(0.0, 1.0),
    "dropout": Range(0.0, 0.9),
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


def default_config() -> dict[str, Any]:
    """A full default configuration (a fresh copy)."""
    config = copy.deepcopy(SECTIONS)
    config["network"]["loss"] = DEFAULT_LOSS[config["network"]["output"]]
    return config


# ------------------------------------------------------------------ value checks


def check_number(field: str, value: Any, low: float, high: float, bounds: str = "[]") -> float:
    """A finite real in the interval written by `bounds` ("[]", "(]", "[)") from low to high."""
    allowed = Range(low, high, bounds)
    if _is_number(value) and allowed.contains(value):
        return float(value)
    raise ValueError(f"{field}: must be a finite number in {allowed}, got {shown(value)}")


def check_integer(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{field}: must be an integer in [{low}, {high}], got {shown(value)}")
    return value


def check_choice(field: str, value: Any, allowed: Any) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{field}: must be one of {', '.join(allowed)}, got {shown(value)}")
    return value


def check_object(field: str, given: Any, allowed_keys: tuple[str, ...]) -> dict[str, Any]:
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
    data = {**DEFAULT_DATA, **check_object("data", given, DATA_KEYS)}
    data["dataset"] = check_choice("data.dataset", data["dataset"], DATASETS)
    data["n_points"] = check_integer("data.n_points", data["n_points"], 1, limits.max_points)
    data["noise"] = check_number("data.noise", data["noise"], 0, MAX_NOISE)
    # Up to 1 (not 0.95): a hand-made set of a few points may be all training, no test set.
    data["train_ratio"] = check_number("data.train_ratio", data["train_ratio"], 0.05, 1)
    data["features"] = _features(data["features"])
    data["seed"] = check_integer("data.seed", data["seed"], 0, SEED_LIMIT - 1)
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
        check_choice(f"data.features[{index}]", name, FEATURES)
    if len(set(names)) != len(names):
        raise ValueError(f"data.features: each feature at most once, got {shown(names)}")
    return list(names)


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
    network = {**DEFAULT_NETWORK, **check_object("network", given, NETWORK_KEYS)}
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
    regression = DATASETS[data["dataset"]].kind == "regression"
    if regression:
        network.setdefault("loss", "mse")  # the output's partner (bce, ce) would be refused
    try:
        spec = Network.from_spec(network).to_spec()
    except ValueError as error:
        raise ValueError(f"network.{error}") from None
    if regression and spec["loss"] != "mse":
        # bce and ce read targets as class probabilities; on targets in [-1, 1] they have no
        # floor, so a run "learns" a loss falling without end instead of fitting the surface.
        raise ValueError(
            f"network.loss: the regression set {data['dataset']} needs mse, got {spec['loss']}"
        )
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
        check_integer(f"network.layers[{index}]", size, 1, limits.max_neurons)
    return layers


# ------------------------------------------------------------- training section


def validate_training(
    options: Any, base: dict[str, Any], n_train: int, n_layers: int
) -> dict[str, Any]:
    """`base` with `options` (any subset of the training keys) applied, every field checked."""
    given = check_object("training", options, tuple(DEFAULT_TRAINING))
    training = {**base, **given}
    training["optimizer"] = check_choice("training.optimizer", training["optimizer"], OPTIMIZERS)
    for key in OPTION_RANGES:
        # Looked up at each call, so the Trainer's table stays the one source of the ranges.
        low, high, bounds = CLASSROOM_RANGES.get(key, OPTION_RANGES[key])
        training[key] = check_number(f"training.{key}", training[key], low, high, bounds)
    # A batch size kept from before new points shrank the training set is left alone (each
    # batch is then the whole set); a batch size being changed must fit the training set.
    kept = given.get("batch_size", base["batch_size"]) == base["batch_size"]
    largest = max(n_train, base["batch_size"]) if kept else n_train
    size = training["batch_size"]
    training["batch_size"] = check_integer("training.batch_size", size, 1, largest)
    training["frozen"] = _frozen(training["frozen"], n_layers)
    return training


def _frozen(frozen: Any, n_layers: int) -> list[int]:
    if not isinstance(frozen, list):
        raise ValueError(f"training.frozen: must be a list of layer indices, got {shown(frozen)}")
    for index, layer in enumerate(frozen):
        check_integer(f"training.frozen[{index}]", layer, 0, n_layers - 1)
    if len(set(frozen)) != len(frozen):
        raise ValueError(f"training.frozen: each layer at most once, got {shown(frozen)}")
    return sorted(frozen)


def validate_config(config: Any, limits: Limits) -> dict[str, Any]:
    """The normalised configuration (every default filled in); ValueError names the field."""
    config = check_object("config", config, tuple(SECTIONS))
    data = _validate_data(config.get("data", {}), limits)
    network = _validate_network(config.get("network", {}), data, limits)
    n_train = _data_shape(data)[0]
    # The default batch size shrinks to fit a smaller training set; a given one must fit.
    base = {**copy.deepcopy(DEFAULT_TRAINING), "batch_size": min(10, n_train)}
    training = validate_training(
        config.get("training", {}), base, n_train, len(network["layers"]) - 1
    )
    return {"network": network, "training": training, "data": data}
