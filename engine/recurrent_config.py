"""A recurrent run's configuration: validation of a config whose network.kind is "recurrent"
against the run schema's fields of that kind (engine/schema.py), and the rules that tie them
together: the sequence task decides the network's inputs, outputs, readout and loss; an echo's
delay must be shorter than the sequence (the spec itself checks the rest: an lstm's fixed
activations, a forget bias only for an lstm, the sizes)."""

from __future__ import annotations

from typing import Any

from . import schema
from .checks import FieldError, check_object
from .config import _checked_section
from .recurrent import Recurrent
from .schema import RECURRENT, SECTIONS, Limits
from .sequences import SEQUENCE_TASKS, generate_sequences

# The network section's keys that describe the net itself (the rest come from the task).
NETWORK_KEYS = ("cell", "hidden", "activation", "init", "init_scale", "seed", "forget_bias")


def task_options(data: dict[str, Any]) -> dict[str, Any]:
    """The options of the data section's task that the task reads (echo: delay, text: text)."""
    task = SEQUENCE_TASKS[data["task"]]
    return {key: data[key] for key in task.options if key in data}


def network_spec(network: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The `Recurrent.from_spec` spec of a validated recurrent config: the network's own keys,
    and the sizes, readout and loss the task calls for."""
    task = SEQUENCE_TASKS[data["task"]]
    inputs, outputs = task.sizes(**task_options(data))
    spec = {key: network[key] for key in NETWORK_KEYS}
    spec |= {"inputs": inputs, "outputs": outputs, "output": task.output, "loss": task.loss}
    if network.get("weights") is not None:
        spec["weights"] = network["weights"]
    return spec


def _validate_data(given: Any, limits: Limits) -> dict[str, Any]:
    base = schema.section_defaults("data", RECURRENT)
    data = _checked_section("data", given, base, limits, RECURRENT)
    if data["task"] == "echo" and data["delay"] >= data["length"]:
        raise FieldError(
            "data.delay",
            f"must be shorter than the sequence (length {data['length']}), got {data['delay']}",
        )
    # One short sequence: every rule of the task checked by the generator itself, in microseconds.
    generate_sequences(data["task"], 1, data["length"], data["noise"], 0, **task_options(data))
    return data


def validate_network(given: Any, data: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """The recurrent network section, checked against the (validated) data section's task."""
    base = schema.section_defaults("network", RECURRENT)
    network = _checked_section("network", given, base, limits, RECURRENT)
    net = Recurrent.from_spec(network_spec(network, data))  # FieldErrors name the field
    validated = {"kind": RECURRENT, **{key: network[key] for key in NETWORK_KEYS}}
    validated["forget_bias"] = net.to_spec()["forget_bias"]
    if network.get("weights") is not None:
        validated["weights"] = net.to_spec()["weights"]
    return validated


def validate_recurrent_config(config: Any, limits: Limits) -> dict[str, Any]:
    """The normalised recurrent configuration (every default filled in); FieldError names the
    field. A feed-forward field (data.dataset, network.layers, ...) is refused by name."""
    config = check_object("config", config, SECTIONS)
    data = _validate_data(config.get("data", {}), limits)
    network = validate_network(config.get("network", {}), data, limits)
    training = validate_recurrent_training(
        config.get("training", {}), schema.section_defaults("training", RECURRENT)
    )
    return {"network": network, "training": training, "data": data}


def validate_recurrent_training(options: Any, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with `options` (any subset of a recurrent run's training keys) applied, checked."""
    return _checked_section("training", options, base, Limits(), RECURRENT)
