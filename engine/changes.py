"""A person changes one field: the run's configuration after that change, with the fields that
depend on it made to fit (a new data set brings the output layer it needs, new features the
input layer's width), validated as a whole. The page applies no rule of its own: it sends the
change and shows the configuration that comes back, or the error naming the field."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from . import schema
from .cells import LSTM_ACTIVATION, RNN_ACTIVATIONS
from .checks import FieldError
from .config import _validate_network, output_widths, validate_config
from .datasets import DATASETS, train_count
from .losses import DEFAULT_LOSS
from .recurrent_config import network_spec
from .recurrent_config import validate_network as validate_recurrent_network
from .recurrent_spec import parameter_shapes
from .reshape import carry_weights, keeps_weights
from .schema import RECURRENT, Limits


def changeable(path: str, limits: Limits) -> schema.Field:
    """The field a person may change on its own (not weights or points), or FieldError."""
    try:
        entry = schema.field(path, limits)
    except KeyError:
        raise FieldError("path", f"unknown field {path[:60]!r}") from None
    if entry.kind not in schema.CHECKED_KINDS:
        raise FieldError(path, "is not changed on its own (send a config)")
    return entry


def apply_change(config: dict[str, Any], path: str, value: Any, limits: Limits) -> dict[str, Any]:
    """The validated configuration after `path` became `value` (FieldError names the field).

    A change that rebuilds the run drops given weights: the new run starts from the seed."""
    entry = changeable(path, limits)
    changed = with_dependents(config, path, entry.check(value))
    if not entry.live:
        changed["network"].pop("weights", None)
        changed["network"].pop("biases", None)
    return validate_config(changed, limits)


def carried_parameters(
    old_config: dict[str, Any], old_network: dict[str, Any], new_config: dict[str, Any]
) -> dict[str, Any] | None:
    """The weights and biases of the network `new_config` describes, carried over from the
    running network `old_network` (a spec with its parameters) wherever both neurons of a weight
    survive, new ones drawn by the new init (engine/reshape.py); None when the change asks for
    new weights (init, init scale or seed) or starts a new data set's run."""
    kinds = old_config["network"]["kind"], new_config["network"]["kind"]
    if RECURRENT in kinds:
        return _carried_recurrent(old_config, old_network, new_config)
    if old_config["data"]["dataset"] != new_config["data"]["dataset"]:
        return None  # a new task: the old weights would only confuse the start
    if not keeps_weights(old_network, new_config["network"]):
        return None
    rng = np.random.default_rng(new_config["network"]["seed"])
    features = old_config["data"]["features"], new_config["data"]["features"]
    spec = carry_weights(old_network, new_config["network"], rng, *features)
    return {"weights": spec["weights"], "biases": spec["biases"]}


def _carried_recurrent(
    old_config: dict[str, Any], old_network: dict[str, Any], new_config: dict[str, Any]
) -> dict[str, Any] | None:
    """A recurrent net keeps its weights through a change of the data that leaves the task and
    every weight's shape as they were (a longer sequence, another delay, more sequences)."""
    old, new = old_config["network"], new_config["network"]
    if new["kind"] != RECURRENT or old["kind"] != RECURRENT:
        return None  # another kind of network: nothing carries over
    if old_config["data"]["task"] != new_config["data"]["task"] or old != new:
        return None
    shapes = recurrent_shapes(old_config), recurrent_shapes(new_config)
    return {"weights": old_network["weights"]} if shapes[0] == shapes[1] else None


def recurrent_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    spec = network_spec(config["network"], config["data"])
    return parameter_shapes(spec["cell"], spec["inputs"], spec["hidden"], spec["outputs"])


# The big leaves of a config: a change never alters them in place (it replaces or drops them).
BIG_LEAVES = (("data", "points"), ("network", "weights"), ("network", "biases"))


def with_dependents(
    config: dict[str, Any], path: str, value: Any, share_big_leaves: bool = False
) -> dict[str, Any]:
    """A copy of `config` with `path` set and the fields that must follow it adjusted. With
    `share_big_leaves`, the copy shares the drawn points and the weights with `config` instead
    of copying them (a trial that is validated and thrown away: 5,000 points took ~25 ms)."""
    if path == "network.kind":
        return _of_kind(config, value)
    memo: dict[int, Any] = {}
    if share_big_leaves:
        for section, key in BIG_LEAVES:
            leaf = config.get(section, {}).get(key)
            if leaf is not None:
                memo[id(leaf)] = leaf
    changed = copy.deepcopy(config, memo)
    section, key = path.split(".", 1)
    changed[section][key] = value
    data, network, training = changed["data"], changed["network"], changed["training"]
    if path == "data.dataset":
        data.pop("points", None)  # drawn for another data set
        network.update(_head(value))
        network["layers"][-1] = DATASETS[value].n_outputs
    elif path == "data.features":
        network["layers"][0] = len(value)
    elif path == "network.output":
        regression = DATASETS[data["dataset"]].kind == "regression"
        network["loss"] = "mse" if regression else DEFAULT_LOSS[value]
        if len(output_widths(data)) > 1:  # a two-class set: softmax has one output per class
            network["layers"][-1] = 2 if value == "softmax" else 1
    elif path in ("data.n_points", "data.train_ratio"):
        _fit_batch(changed)
    elif path == "network.cell":  # an lstm's activations are fixed; only it has a forget gate
        if value == "lstm":
            network["activation"] = LSTM_ACTIVATION
        else:
            network["forget_bias"] = schema.field("network.forget_bias").default
    elif path == "data.length" and data.get("task") == "echo":
        data["delay"] = min(data["delay"], value - 1)  # the echo must fit in the sequence
    elif path == "network.layers":
        weight_layers = len(value) - 1
        frozen = training.get("frozen", [])
        training["frozen"] = [layer for layer in frozen if layer < weight_layers]
        if value[-1] != config["network"]["layers"][-1] and len(output_widths(data)) > 1:
            network.update(_two_class_head(value[-1], network["output"]))
    return changed


def _fit_batch(config: dict[str, Any]) -> None:
    """A smaller training set takes the batch size down with it (each batch the whole set)."""
    data, training = config["data"], config["training"]
    n = len(data["points"]) if data.get("points") else data["n_points"]
    training["batch_size"] = min(training["batch_size"], train_count(n, data["train_ratio"]))


def _of_kind(config: dict[str, Any], kind: str) -> dict[str, Any]:
    """A `kind` run's default config keeping every field the two kinds share (noise, seeds,
    init, optimizer, learning rate, ...); a hidden activation the new kind cannot take is left
    at its default."""
    changed = schema.default_config(kind)
    for entry in schema.fields():
        if kind not in entry.kinds or len(entry.kinds) == 1 or entry.kind == "parameters":
            continue
        section, key = entry.section, entry.key
        if key in config[section] and key != "kind":
            changed[section][key] = copy.deepcopy(config[section][key])
    if kind == RECURRENT and changed["network"]["activation"] not in RNN_ACTIVATIONS:
        changed["network"]["activation"] = schema.field("network.activation").default
    return changed


def _head(dataset: str) -> dict[str, str]:
    """The output activation and loss a data set's targets call for."""
    entry = DATASETS[dataset]
    if entry.kind == "regression":
        return {"output": "linear", "loss": "mse"}
    output = "softmax" if entry.n_outputs > 1 else "sigmoid"
    return {"output": output, "loss": DEFAULT_LOSS[output]}


def _two_class_head(width: int, output: str) -> dict[str, str]:
    """A two-class set's output layer at a new width: two softmax outputs, or one sigmoid."""
    if width == 2:
        output = "softmax"
    elif output == "softmax":
        output = "sigmoid"
    return {"output": output, "loss": DEFAULT_LOSS[output]}


# The key of `allowed_choices` naming the output layer widths the data set takes.
OUTPUT_WIDTHS = "network.layers[-1]"


def allowed_choices(config: dict[str, Any], limits: Limits) -> dict[str, list[Any]]:
    """For each choice of the network section, the values a change to it would be accepted
    with, now (a loss must suit the output, a regression set takes only mse, ...): the page
    offers these and no others. Tried on the network alone, without weights: cheap. A
    feed-forward run adds OUTPUT_WIDTHS, the output layer's widths (a two-class set: 1 or 2)."""
    allowed: dict[str, list[Any]] = {}
    for entry in schema.section_fields("network", limits, config["network"]["kind"]):
        if entry.kind == "choice":
            fits = [value for value in entry.values if _fits(config, entry.path, value, limits)]
            allowed[entry.path] = fits
    if config["network"]["kind"] != RECURRENT:
        allowed[OUTPUT_WIDTHS] = list(output_widths(config["data"]))
    return allowed


def _fits(config: dict[str, Any], path: str, value: str, limits: Limits) -> bool:
    trial = with_dependents(config, path, value, share_big_leaves=True)
    network = {k: v for k, v in trial["network"].items() if k not in ("weights", "biases")}
    try:
        if network["kind"] == RECURRENT:
            validate_recurrent_network(network, trial["data"], limits)
        else:
            _validate_network(network, trial["data"], limits)
    except ValueError:
        return False
    return True
