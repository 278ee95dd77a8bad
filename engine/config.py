"""A run's configuration: validation of a whole config against the run schema (engine/schema.py:
fields, defaults, ranges) and the rules that tie fields together (the network's first layer is
the number of features, its last the data set's outputs, ...). See docs/architecture.md."""

from __future__ import annotations

import copy
from typing import Any

from . import schema
from .checks import FieldError, Range, check_integer, check_integers, check_object
from .datasets import DATASETS, train_count, validate_rows
from .losses import DEFAULT_LOSS
from .network import Network
from .schema import FEED_FORWARD, SECTIONS, Limits, default_config

__all__ = [
    "Limits",
    "default_config",
    "output_widths",
    "validate_config",
    "validate_training",
]


def _checked_section(
    section: str, given: Any, base: dict[str, Any], limits: Limits, kind: str = FEED_FORWARD
) -> dict:
    """`base` with `given` applied, each field of a generic kind checked; only the fields of a
    `kind` run are allowed (a feed-forward run has no data.task, a recurrent one no layers)."""
    keys = schema.section_keys(section, kind)
    merged = {**base, **check_object(section, given, keys)}
    for entry in schema.section_fields(section, limits, kind):
        if entry.kind in schema.CHECKED_KINDS and entry.key in merged:
            merged[entry.key] = entry.check(merged[entry.key])
    return merged


# ----------------------------------------------------------------- data section


def _validate_data(given: Any, limits: Limits) -> dict[str, Any]:
    data = _checked_section("data", given, schema.section_defaults("data"), limits)
    if data.get("points") is not None:
        rows = validate_rows(data["points"], data["dataset"], limits.max_points, "data.points")
        data["points"] = copy.deepcopy(rows.tolist())
    else:
        data.pop("points", None)
    return data


def data_shape(data: dict[str, Any]) -> tuple[int, int]:
    """(number of training samples, number of outputs) of a validated data section."""
    if "points" in data:
        n, width = len(data["points"]), len(data["points"][0])
        outputs = DATASETS[data["dataset"]].n_outputs if width == 3 else width - 2
    else:
        n, outputs = data["n_points"], DATASETS[data["dataset"]].n_outputs
    return train_count(n, data["train_ratio"]), outputs


def output_widths(data: dict[str, Any]) -> tuple[int, ...]:
    """The output layer widths a validated data section can be learnt with: a two-class set
    one output (sigmoid) or two (softmax, one per class), any other set its number of outputs."""
    entry = DATASETS[data["dataset"]]
    return entry.output_widths if entry.kind == "classification" else (data_shape(data)[1],)


# -------------------------------------------------------------- network section


def _validate_network(given: Any, data: dict[str, Any], limits: Limits) -> dict[str, Any]:
    given = check_object("network", given, schema.section_keys("network", FEED_FORWARD))
    regression = DATASETS[data["dataset"]].kind == "regression"
    if regression and "loss" not in given:
        given["loss"] = "mse"  # the output's partner (bce, ce) would be refused
    network = _checked_section("network", given, schema.section_defaults("network"), limits)
    if "loss" not in given:  # the default loss is the output's partner
        network["loss"] = DEFAULT_LOSS[network["output"]]
    layers = network["layers"]
    n_features = len(data["features"])
    if layers[0] != n_features:
        raise FieldError(
            "network.layers[0]",
            f"must equal the number of features ({n_features}), got {layers[0]}",
        )
    _check_output_width(network, data)
    spec = {"kind": network["kind"], **Network.from_spec(network).to_spec()}
    if regression and spec["loss"] != "mse":
        # bce and ce read targets as class probabilities; on targets in [-1, 1] they have no
        # floor, so a run "learns" a loss falling without end instead of fitting the surface.
        raise FieldError(
            "network.loss", f"the regression set {data['dataset']} needs mse, got {spec['loss']}"
        )
    for key in ("weights", "biases"):
        if network.get(key) is None:
            del spec[key]
    return spec


def _check_output_width(network: dict[str, Any], data: dict[str, Any]) -> None:
    """The output layer is as wide as the data set's targets; a two-class set takes one sigmoid
    output or two softmax outputs, and the width says which."""
    width, widths, name = network["layers"][-1], output_widths(data), data["dataset"]
    field = f"network.layers[{len(network['layers']) - 1}]"
    if len(widths) == 1:
        if width != widths[0]:
            outputs = f"the number of outputs of {name} ({widths[0]})"
            raise FieldError(field, f"must equal {outputs}, got {width}")
        return
    if width not in widths:
        raise FieldError(
            field,
            f"the two-class set {name} takes 1 output (sigmoid) or 2 (softmax, one per class), "
            f"got {width}",
        )
    if (width == 2) != (network["output"] == "softmax"):
        raise FieldError(
            "network.output",
            f"on the two-class set {name}, 2 outputs go with softmax and 1 output with sigmoid "
            f"or linear; got {network['output']} with {width}",
        )


# ------------------------------------------------------------- training section


def validate_training(
    options: Any, base: dict[str, Any], n_train: int, n_layers: int
) -> dict[str, Any]:
    """`base` with `options` (any subset of the training keys) applied, every field checked."""
    given = check_object("training", options, schema.section_keys("training", FEED_FORWARD))
    # Two ranges depend on the run: the batch must fit the training set (a batch size kept from
    # before new points shrank the set is left alone: each batch is then the whole set), and
    # only this network's weight layers can be frozen. They are checked first, so the error
    # names the narrower range.
    kept = given.get("batch_size", base["batch_size"]) == base["batch_size"]
    largest = max(n_train, base["batch_size"]) if kept else n_train
    if "batch_size" in given:
        check_integer("training.batch_size", given["batch_size"], 1, largest)
    if "frozen" in given:
        layers = Range(0, n_layers - 1)
        check_integers("training.frozen", given["frozen"], layers, (0, n_layers), distinct=True)
    training = _checked_section("training", given, base, Limits())
    training["frozen"] = sorted(training["frozen"])
    return training


def network_kind(config: dict[str, Any]) -> str:
    """The network kind a configuration asks for (network.kind, feed-forward by default)."""
    network = config.get("network") or {}
    if not isinstance(network, dict):
        return FEED_FORWARD  # the section's own check names what is wrong
    return schema.field("network.kind").check(network.get("kind", FEED_FORWARD))


def validate_config(config: Any, limits: Limits) -> dict[str, Any]:
    """The normalised configuration (every default filled in); FieldError names the field."""
    config = check_object("config", config, SECTIONS)
    kind = network_kind(config)
    if kind != FEED_FORWARD:
        from .recurrent_config import validate_recurrent_config  # it builds on this module

        return validate_recurrent_config(config, limits)
    data = _validate_data(config.get("data", {}), limits)
    network = _validate_network(config.get("network", {}), data, limits)
    n_train = data_shape(data)[0]
    # The default batch size shrinks to fit a smaller training set; a given one must fit.
    defaults = schema.section_defaults("training")
    base = {**defaults, "batch_size": min(defaults["batch_size"], n_train)}
    training = validate_training(
        config.get("training", {}), base, n_train, len(network["layers"]) - 1
    )
    return {"network": network, "training": training, "data": data}
