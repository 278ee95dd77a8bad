"""The spec of a recurrent network: its keys, defaults, parameter shapes, validation and initial
weights. Every error is a FieldError naming the field (`network.hidden`, `network.weights.W_hh`);
the keys it shares with the feed-forward network are checked by the run schema's fields."""

from typing import Any

import numpy as np

from . import schema
from .cells import CELLS, FORGET_BIAS_RANGE, LSTM_ACTIVATION, LSTM_GATES, RNN_ACTIVATIONS
from .checks import FieldError, check_choice, check_number, is_integer
from .datasets import shown
from .inits import initial_weights
from .losses import DEFAULT_LOSS, LOSSES
from .network import MAX_PARAMETERS, _parameter

Array = np.ndarray
__all__ = ["CELLS", "FORGET_BIAS_RANGE", "LSTM_GATES", "RNN_ACTIVATIONS", "validate_spec"]

# Keys whose values the feed-forward network's schema fields check (network.output, ...).
SHARED_KEYS = ("output", "loss", "init", "init_scale", "seed")
SPEC_KEYS = (
    "cell",
    "inputs",
    "hidden",
    "outputs",
    "activation",
    *SHARED_KEYS,
    "forget_bias",
    "weights",
)
# The run schema's defaults of the keys it declares; a spec's readout (the task's, in a run)
# defaults to a linear one.
DEFAULTS: dict[str, Any] = {
    **{
        key: schema.field(f"network.{key}").default
        for key in ("cell", "activation", "init", "init_scale", "forget_bias", "seed")
    },
    "output": "linear",
}
SIZE_KEYS = ("inputs", "hidden", "outputs")


def parameter_shapes(cell: str, D: int, H: int, K: int) -> dict[str, tuple[int, ...]]:
    """Name → shape of every parameter, in the order they sit in the flat vector."""
    if cell == "rnn":
        recurrent = {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)}
    else:
        recurrent = {"W_x": (D, 4 * H), "W_h": (H, 4 * H), "b": (4 * H,)}
    return {**recurrent, "W_hy": (H, K), "b_y": (K,)}


def parameter_names() -> tuple[str, ...]:
    """Every parameter name either cell has (the names an `edit` may give)."""
    names = {**parameter_shapes("rnn", 1, 1, 1), **parameter_shapes("lstm", 1, 1, 1)}
    return tuple(names)


def validate_spec(spec: Any) -> dict[str, Any]:
    """The spec with defaults filled in and `weights` as a dict of float64 arrays (complete:
    names not given are drawn from init and seed)."""
    if not isinstance(spec, dict):
        raise FieldError("network", f"expected a dict, got {type(spec).__name__}")
    for key in spec:
        if key not in SPEC_KEYS:
            name = key if isinstance(key, str) and len(key) <= 40 else shown(key)
            raise FieldError(f"network.{name}", f"unknown key; allowed: {', '.join(SPEC_KEYS)}")
    fields = {**DEFAULTS, **spec}
    fields["cell"] = check_choice("network.cell", fields["cell"], CELLS)
    for key in SIZE_KEYS:
        if key not in spec:
            raise FieldError(f"network.{key}", "required (an integer >= 1)")
        fields[key] = _size(key, spec[key])
    _check_activation(fields, spec)
    if "loss" not in spec:
        fields["loss"] = DEFAULT_LOSS.get(fields["output"], "mse")
    for key in SHARED_KEYS:
        fields[key] = schema.field(f"network.{key}").check(fields[key])
    _check_output_and_loss(fields)
    fields["forget_bias"] = _forget_bias(fields)
    shapes = parameter_shapes(fields["cell"], fields["inputs"], fields["hidden"], fields["outputs"])
    n_parameters = sum(int(np.prod(shape)) for shape in shapes.values())
    if n_parameters > MAX_PARAMETERS:
        raise FieldError(
            "network.hidden",
            f"{n_parameters:,} parameters, more than the {MAX_PARAMETERS:,} allowed",
        )
    fields["weights"] = _weights(fields, shapes, spec.get("weights"))
    return fields


def _forget_bias(fields: dict[str, Any]) -> float:
    """The initial value of the forget gate's bias block (lstm; 0 for an rnn)."""
    value = check_number("network.forget_bias", fields["forget_bias"], FORGET_BIAS_RANGE)
    if value != 0 and fields["cell"] != "lstm":
        raise FieldError("network.forget_bias", f"only an lstm has a forget gate, got {value:g}")
    return value


def _size(key: str, value: Any) -> int:
    if not is_integer(value) or value < 1:
        raise FieldError(f"network.{key}", f"expected an integer >= 1, got {shown(value)}")
    if value > MAX_PARAMETERS:
        number = f"{value:,}" if value < 10**15 else f"a {len(str(value))}-digit number"
        raise FieldError(f"network.{key}", f"at most {MAX_PARAMETERS:,}, got {number}")
    return int(value)


def _check_activation(fields: dict[str, Any], spec: dict[str, Any]) -> None:
    if fields["cell"] == "lstm":
        # The LSTM's nonlinearities are part of the cell: sigmoid gates, tanh candidate and state.
        if spec.get("activation", LSTM_ACTIVATION) != LSTM_ACTIVATION:
            raise FieldError(
                "network.activation",
                f"the lstm cell has fixed activations (sigmoid gates, tanh); "
                f"got {shown(spec['activation'])}",
            )
        fields["activation"] = LSTM_ACTIVATION
        return
    fields["activation"] = check_choice("network.activation", fields["activation"], RNN_ACTIVATIONS)


def _check_output_and_loss(fields: dict[str, Any]) -> None:
    if fields["output"] == "softmax" and fields["outputs"] < 2:
        raise FieldError("network.output", "softmax needs at least 2 outputs (outputs >= 2)")
    allowed = LOSSES[fields["loss"]].outputs
    if fields["output"] not in allowed:
        raise FieldError(
            "network.loss",
            f"{fields['loss']} needs output {' or '.join(allowed)}, got output {fields['output']}",
        )


def _weights(
    fields: dict[str, Any], shapes: dict[str, tuple[int, ...]], given: Any
) -> dict[str, Array]:
    """Given weights checked; the others drawn. Every matrix is drawn, given or not, so a weight
    left out gets the same value whichever others are given."""
    if given is not None and not isinstance(given, dict):
        raise FieldError(
            "network.weights", f"expected a dict of name → nested list, got {shown(given)}"
        )
    given = given or {}
    for name in given:
        if name not in shapes:
            label = name if isinstance(name, str) and len(name) <= 40 else shown(name)
            raise FieldError(
                f"network.weights.{label}", f"unknown parameter; expected {', '.join(shapes)}"
            )
    rng = np.random.default_rng(fields["seed"])
    weights = {}
    for name, shape in shapes.items():
        if len(shape) == 2:
            drawn = initial_weights(fields["init"], fields["init_scale"], shape, rng)  # type: ignore[arg-type]
        else:
            drawn = np.zeros(shape)
            if name == "b":  # the lstm's gate biases, blocks i, f, g, o
                drawn[fields["hidden"] : 2 * fields["hidden"]] = fields["forget_bias"]
        if name in given:
            drawn = _parameter(f"network.weights.{name}", given[name], shape)
        weights[name] = drawn
    return weights
