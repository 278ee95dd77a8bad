"""The spec of a recurrent network: its keys, defaults, parameter shapes, validation and initial
weights. Every ValueError starts with the name of the field that was wrong."""

import math
from typing import Any

import numpy as np

from .activations import OUTPUT_ACTIVATIONS
from .losses import DEFAULT_LOSS, LOSSES
from .network import (
    INITS,
    MAX_PARAMETERS,
    _check_choice,
    _describe,
    _init_scale,
    _initial_weights,
    _is_int,
    _is_number,
    _parameter,
    _seed,
)

Array = np.ndarray

CELLS = ("rnn", "lstm")
RNN_ACTIVATIONS = ("tanh", "relu")
# Gate order inside W_x, W_h and b (column blocks of width H), as in torch.nn.LSTM.
LSTM_GATES = ("i", "f", "g", "o")
SPEC_KEYS = (
    "cell",
    "inputs",
    "hidden",
    "outputs",
    "activation",
    "output",
    "loss",
    "init",
    "init_scale",
    "forget_bias",
    "seed",
    "weights",
)
DEFAULTS: dict[str, Any] = {
    "cell": "rnn",
    "activation": "tanh",
    "output": "linear",
    "init": "xavier",
    "init_scale": 1.0,
    "forget_bias": 0.0,
    "seed": 0,
}
# A forget-gate bias of 1-2 is the usual start (Jozefowicz et al. 2015); beyond 10 σ(b) is 1.
MAX_FORGET_BIAS = 10.0
SIZE_KEYS = ("inputs", "hidden", "outputs")


def parameter_shapes(cell: str, D: int, H: int, K: int) -> dict[str, tuple[int, ...]]:
    """Name → shape of every parameter, in the order they sit in the flat vector."""
    if cell == "rnn":
        recurrent = {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)}
    else:
        recurrent = {"W_x": (D, 4 * H), "W_h": (H, 4 * H), "b": (4 * H,)}
    return {**recurrent, "W_hy": (H, K), "b_y": (K,)}


def validate_spec(spec: Any) -> dict[str, Any]:
    """The spec with defaults filled in and `weights` as a dict of float64 arrays (complete:
    names not given are drawn from init and seed)."""
    if not isinstance(spec, dict):
        raise ValueError(f"spec: expected a dict, got {type(spec).__name__}")
    for key in spec:
        if key not in SPEC_KEYS:
            name = key if isinstance(key, str) and len(key) <= 40 else _describe(key)
            raise ValueError(f"{name}: unknown key; allowed keys are {', '.join(SPEC_KEYS)}")
    fields = {**DEFAULTS, **spec}
    _check_choice(fields, "cell", CELLS)
    for key in SIZE_KEYS:
        if key not in spec:
            raise ValueError(f"{key}: required (an integer >= 1)")
        fields[key] = _size(key, spec[key])
    _check_activation(fields, spec)
    _check_output_and_loss(fields)
    _check_choice(fields, "init", INITS)
    fields["init_scale"] = _init_scale(fields["init_scale"])
    fields["forget_bias"] = _forget_bias(fields)
    fields["seed"] = _seed(fields["seed"])
    shapes = parameter_shapes(fields["cell"], fields["inputs"], fields["hidden"], fields["outputs"])
    n_parameters = sum(int(np.prod(shape)) for shape in shapes.values())
    if n_parameters > MAX_PARAMETERS:
        raise ValueError(
            f"hidden: {n_parameters:,} parameters, more than the {MAX_PARAMETERS:,} allowed"
        )
    fields["weights"] = _weights(fields, shapes, spec.get("weights"))
    return fields


def _forget_bias(fields: dict[str, Any]) -> float:
    """The initial value of the forget gate's bias block (lstm; 0 for an rnn)."""
    value = fields["forget_bias"]
    if not _is_number(value) or not math.isfinite(value) or abs(value) > MAX_FORGET_BIAS:
        bound = f"[-{MAX_FORGET_BIAS:g}, {MAX_FORGET_BIAS:g}]"
        raise ValueError(f"forget_bias: must be a finite number in {bound}, got {_describe(value)}")
    if value != 0 and fields["cell"] != "lstm":
        raise ValueError(f"forget_bias: only an lstm has a forget gate, got {value!r} for an rnn")
    return float(value)


def _size(key: str, value: Any) -> int:
    if not _is_int(value) or value < 1:
        raise ValueError(f"{key}: expected an integer >= 1, got {_describe(value)}")
    if value > MAX_PARAMETERS:
        shown = f"{value:,}" if value < 10**15 else f"a {len(str(value))}-digit number"
        raise ValueError(f"{key}: at most {MAX_PARAMETERS:,}, got {shown}")
    return int(value)


def _check_activation(fields: dict[str, Any], spec: dict[str, Any]) -> None:
    if fields["cell"] == "lstm":
        # The LSTM's nonlinearities are part of the cell: sigmoid gates, tanh candidate and state.
        if spec.get("activation", "tanh") != "tanh":
            raise ValueError(
                f"activation: the lstm cell has fixed activations (sigmoid gates, tanh); "
                f"got {_describe(spec['activation'])}"
            )
        fields["activation"] = "tanh"
        return
    _check_choice(fields, "activation", RNN_ACTIVATIONS)


def _check_output_and_loss(fields: dict[str, Any]) -> None:
    _check_choice(fields, "output", OUTPUT_ACTIVATIONS)
    if fields["output"] == "softmax" and fields["outputs"] < 2:
        raise ValueError("output: softmax needs at least 2 outputs (outputs >= 2)")
    fields.setdefault("loss", DEFAULT_LOSS[fields["output"]])
    _check_choice(fields, "loss", tuple(LOSSES))
    allowed = LOSSES[fields["loss"]].outputs
    if fields["output"] not in allowed:
        raise ValueError(
            f"loss: {fields['loss']} needs output {' or '.join(allowed)}, "
            f"got output {fields['output']}"
        )


def _weights(
    fields: dict[str, Any], shapes: dict[str, tuple[int, ...]], given: Any
) -> dict[str, Array]:
    """Given weights checked; the others drawn. Every matrix is drawn, given or not, so a weight
    left out gets the same value whichever others are given."""
    if given is not None and not isinstance(given, dict):
        raise ValueError(f"weights: expected a dict of name → nested list, got {_describe(given)}")
    given = given or {}
    for name in given:
        if name not in shapes:
            shown = name if isinstance(name, str) and len(name) <= 40 else _describe(name)
            raise ValueError(f"weights.{shown}: unknown parameter; expected {', '.join(shapes)}")
    rng = np.random.default_rng(fields["seed"])
    weights = {}
    for name, shape in shapes.items():
        if len(shape) == 2:
            drawn = _initial_weights(fields["init"], fields["init_scale"], shape, rng)  # type: ignore[arg-type]
        else:
            drawn = np.zeros(shape)
            if name == "b":  # the lstm's gate biases, blocks i, f, g, o
                drawn[fields["hidden"] : 2 * fields["hidden"]] = fields["forget_bias"]
        if name in given:
            drawn = _parameter(f"weights.{name}", given[name], shape)
        weights[name] = drawn
    return weights
