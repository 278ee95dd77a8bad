"""Network: a fully connected feed-forward net whose parameters live in one flat float64 vector.

`weights[l]` (fan_in, fan_out) and `biases[l]` (fan_out,) are views into `params`, so optimizers
update every parameter with one vector operation. Edit them in place; never rebind them.
"""

import itertools
from collections.abc import Sequence
from numbers import Real
from typing import Any, NamedTuple

import numpy as np

from . import schema
from .activations import ACTIVATIONS
from .checks import FieldError, is_integer
from .datasets import is_finite_number, shown
from .inits import initial_weights
from .losses import DEFAULT_LOSS, LOSSES

Array = np.ndarray

# A teaching engine has no use for more; the cap keeps a typo from allocating gigabytes.
MAX_PARAMETERS = 10_000_000
# The fields of a spec that the run schema declares (engine/schema.py: defaults and checks).
SCHEMA_KEYS = ("activation", "output", "loss", "init", "init_scale", "seed", "bias")
SPEC_KEYS = ("layers", *SCHEMA_KEYS, "weights", "biases")


class Trace(NamedTuple):
    """One forward pass. Z[l], A[l]: (n, k_l). A[l] is what flows on (after the dropout mask);
    F[l] is f(Z[l]) before the mask (the same array when there is no mask)."""

    X: Array
    Z: list[Array]
    A: list[Array]
    F: list[Array]
    masks: Sequence[Array | None] | None


class Backward(NamedTuple):
    """One backward pass: dZ[l] (n, k_l), dW[l], db[l], and `flat`, the same gradient of the
    batch-mean loss laid out like `Network.params`."""

    dZ: list[Array]  # noqa: N815 (math names)
    dW: list[Array]  # noqa: N815
    db: list[Array]
    flat: Array


class Network:
    """Feed-forward network built by `Network.from_spec(spec)`; see docs/architecture.md."""

    def __init__(
        self,
        layers: Sequence[int],
        activation: str,
        output: str,
        loss: str,
        init: str,
        init_scale: float,
        seed: int,
        bias: bool,
        weights: Sequence[Array],
        biases: Sequence[Array],
    ) -> None:
        """Use `from_spec`; this constructor trusts its (already validated) arguments."""
        self.layers = [int(size) for size in layers]
        self.n_layers = len(self.layers) - 1
        self.activation, self.output, self.loss_name = activation, output, loss
        self.init, self.init_scale, self.seed, self.bias = init, float(init_scale), seed, bias
        self.hidden_fn = ACTIVATIONS[activation]
        self.output_fn = ACTIVATIONS[output]
        self.loss_fn = LOSSES[loss]
        self._shapes = list(itertools.pairwise(self.layers))
        self.params = np.zeros(sum(i * o + o for i, o in self._shapes))
        self._W, self._b = self.unflatten(self.params)
        for W, b, W_given, b_given in zip(self._W, self._b, weights, biases, strict=True):
            W[...] = W_given
            b[...] = b_given if bias else 0.0
        # Which entries of `params` are weights (L1/L2 apply to those only).
        self.weight_mask = np.zeros_like(self.params)
        for W in self.unflatten(self.weight_mask)[0]:
            W[...] = 1.0

    # ----- construction and serialisation -------------------------------------------------

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> "Network":
        """Build a network from a JSON-able spec; ValueError names the first invalid field."""
        fields = _validate_spec(spec)
        layers = fields["layers"]
        shapes = list(itertools.pairwise(layers))
        rng = np.random.default_rng(fields["seed"])
        weights = fields.get("weights")
        if weights is None:
            weights = [
                initial_weights(fields["init"], fields["init_scale"], s, rng) for s in shapes
            ]
        biases = fields.get("biases")
        if biases is None:
            biases = [np.zeros(fan_out) for _, fan_out in shapes]
        return cls(
            layers,
            fields["activation"],
            fields["output"],
            fields["loss"],
            fields["init"],
            fields["init_scale"],
            fields["seed"],
            fields["bias"],
            weights,
            biases,
        )

    def to_spec(self) -> dict[str, Any]:
        """JSON-able spec with current parameters; `from_spec(to_spec())` rebuilds it exactly."""
        return {
            "layers": list(self.layers),
            "activation": self.activation,
            "output": self.output,
            "loss": self.loss_name,
            "init": self.init,
            "init_scale": self.init_scale,
            "seed": self.seed,
            "bias": self.bias,
            "weights": [W.tolist() for W in self._W],
            "biases": [b.tolist() for b in self._b],
        }

    def copy(self) -> "Network":
        """An independent network with the same spec and parameters."""
        return Network(
            self.layers,
            self.activation,
            self.output,
            self.loss_name,
            self.init,
            self.init_scale,
            self.seed,
            self.bias,
            self._W,
            self._b,
        )

    # ----- parameters ---------------------------------------------------------------------

    @property
    def weights(self) -> list[Array]:
        """W[l]: (fan_in, fan_out) views into `params`; write in place (W[i, j] = v)."""
        return list(self._W)

    @property
    def biases(self) -> list[Array]:
        """b[l]: (fan_out,) views into `params`; all zero and never trained when `bias` is false."""
        return list(self._b)

    def unflatten(self, flat: Array) -> tuple[list[Array], list[Array]]:
        """Per-layer (W, b) views into any vector laid out like `params`."""
        Ws, bs, start = [], [], 0
        for fan_in, fan_out in self._shapes:
            end = start + fan_in * fan_out
            Ws.append(flat[start:end].reshape(fan_in, fan_out))
            bs.append(flat[end : end + fan_out])
            start = end + fan_out
        return Ws, bs

    # ----- forward and backward -----------------------------------------------------------

    def forward(self, X: Array) -> Array:
        """Network outputs Ŷ: (n, n_out) for inputs X: (n, d)."""
        return self.forward_trace(X).A[-1]

    def forward_trace(self, X: Array, masks: Sequence[Array | None] | None = None) -> Trace:
        """Forward pass keeping every layer's Z and A; masks[l] (n, k_l) multiplies A[l]."""
        X = self._check_inputs(X)
        Z_list, A_list, F_list = [], [], []
        A = X
        last = self.n_layers - 1
        for layer, (W, b) in enumerate(zip(self._W, self._b, strict=True)):
            Z = A @ W
            Z += b
            F = (self.output_fn if layer == last else self.hidden_fn).value(Z)
            mask = masks[layer] if masks is not None else None
            A = F if mask is None else F * mask
            Z_list.append(Z)
            F_list.append(F)
            A_list.append(A)
        return Trace(X, Z_list, A_list, F_list, masks)

    def backward(self, trace: Trace, Y: Array) -> Backward:
        """Gradient of the batch-mean loss for the pass `trace` and targets Y: (n, n_out)."""
        Y = self._check_targets(Y, trace.X.shape[0])
        n = Y.shape[0]
        dZ_list, dW_list, db_list = [], [], []  # filled from the last layer back, then reversed
        # 1/n here makes every later product the gradient of the mean, not of the sum.
        dZ = self.loss_fn.delta(trace.Z[-1], trace.A[-1], Y, self.output_fn) * (1.0 / n)
        for layer in range(self.n_layers - 1, -1, -1):
            A_prev = trace.X if layer == 0 else trace.A[layer - 1]
            dZ_list.append(dZ)
            dW_list.append(A_prev.T @ dZ)
            # np.add.reduce, not dZ.sum: the same sum without a Python-level wrapper (hot path).
            db_list.append(np.add.reduce(dZ, 0) if self.bias else np.zeros(dZ.shape[1]))
            if layer > 0:
                dA = dZ @ self._W[layer].T
                mask = trace.masks[layer - 1] if trace.masks is not None else None
                if mask is not None:
                    dA *= mask
                dZ = self.hidden_fn.backprop(trace.Z[layer - 1], trace.F[layer - 1], dA)
        dZ_list.reverse()
        dW_list.reverse()
        db_list.reverse()
        pieces = []
        for dW, db in zip(dW_list, db_list, strict=True):
            pieces += (dW.ravel(), db)
        return Backward(dZ_list, dW_list, db_list, np.concatenate(pieces))

    def loss(self, X: Array, Y: Array) -> float:
        """Mean over samples of the sample loss (mse: Σ ½(ŷ−y)²; bce, ce: summed over outputs)."""
        trace = self.forward_trace(X)
        return self.trace_loss(trace, self._check_targets(Y, trace.X.shape[0]))

    def trace_loss(self, trace: Trace, Y: Array) -> float:
        """Batch-mean loss of an existing forward pass."""
        per_sample = self.loss_fn.per_sample(trace.Z[-1], trace.A[-1], Y)
        return float(np.add.reduce(per_sample)) / per_sample.shape[0]

    def gradients(self, X: Array, Y: Array) -> list[dict[str, Array]]:
        """Exact gradient of `loss(X, Y)`: per layer {"W": (fan_in, fan_out), "b": (fan_out,)}."""
        grads = self.backward(self.forward_trace(X), Y)
        return [{"W": dW, "b": db} for dW, db in zip(grads.dW, grads.db, strict=True)]

    # ----- input checks (cheap: they run on every step) -----------------------------------

    def _check_inputs(self, X: Array) -> Array:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.layers[0] or X.shape[0] == 0:
            raise ValueError(f"X: expected shape (n >= 1, {self.layers[0]}), got {X.shape}")
        return X

    def _check_targets(self, Y: Array, n: int) -> Array:
        Y = np.asarray(Y, dtype=np.float64)
        if Y.shape != (n, self.layers[-1]):
            raise ValueError(f"Y: expected shape ({n}, {self.layers[-1]}), got {Y.shape}")
        return Y


# ----- spec validation ----------------------------------------------------------------------


def _validate_spec(spec: Any) -> dict[str, Any]:
    """Spec with defaults filled in and weights/biases as arrays; FieldError names the field."""
    if not isinstance(spec, dict):
        raise FieldError("network", f"expected a dict, got {type(spec).__name__}")
    spec = _without_kind(spec)
    for key in spec:
        if key not in SPEC_KEYS:
            name = key if isinstance(key, str) and len(key) <= 40 else shown(key)
            raise FieldError(f"network.{name}", f"unknown key; allowed: {', '.join(SPEC_KEYS)}")
    if "layers" not in spec:
        raise FieldError("network.layers", "required, e.g. [2, 4, 1]")
    fields = {**schema.section_defaults("network"), **spec}
    layers = _validate_layers(fields["layers"])
    fields["layers"] = layers
    if "loss" not in spec:
        fields["loss"] = DEFAULT_LOSS.get(fields["output"], fields["loss"])
    for key in SCHEMA_KEYS:
        fields[key] = schema.field(f"network.{key}").check(fields[key])
    if fields["output"] == "softmax" and layers[-1] < 2:
        raise FieldError("network.output", "softmax needs at least 2 outputs")
    allowed_outputs = LOSSES[fields["loss"]].outputs
    if fields["output"] not in allowed_outputs:
        raise FieldError(
            "network.loss",
            f"{fields['loss']} needs output {' or '.join(allowed_outputs)}, "
            f"got output {fields['output']}",
        )
    shapes = list(itertools.pairwise(layers))
    if spec.get("weights") is not None:
        fields["weights"] = _parameter_list("weights", spec["weights"], shapes)
    if spec.get("biases") is not None:
        fields["biases"] = _parameter_list("biases", spec["biases"], [(o,) for _, o in shapes])
        if not fields["bias"] and any(b.any() for b in fields["biases"]):
            raise FieldError("network.biases", "must all be zero when bias is false")
    return fields


def _without_kind(spec: dict[str, Any]) -> dict[str, Any]:
    """A run's network section names its kind (network.kind); this network is feed-forward."""
    if "kind" not in spec:
        return spec
    if spec["kind"] != "feed-forward":
        raise FieldError("network.kind", f"a Network is feed-forward, got {shown(spec['kind'])}")
    return {key: value for key, value in spec.items() if key != "kind"}


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _validate_layers(layers: Any) -> list[int]:
    field = "network.layers"
    if not isinstance(layers, list | tuple) or len(layers) < 2:
        raise FieldError(field, f"expected a list of at least 2 sizes, got {shown(layers)}")
    for index, size in enumerate(layers):
        if not is_integer(size) or size < 1:
            raise FieldError(
                f"{field}[{index}]", f"expected a whole number >= 1, got {shown(size)}"
            )
        if size > MAX_PARAMETERS:
            count = f"{size:,}" if size < 10**15 else f"a {len(str(size))}-digit number"
            raise FieldError(
                f"{field}[{index}]", f"at most {MAX_PARAMETERS:,} neurons, got {count}"
            )
    n_parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(layers))
    if n_parameters > MAX_PARAMETERS:
        allowed = f"more than the {MAX_PARAMETERS:,} allowed"
        raise FieldError(field, f"{n_parameters:,} parameters, {allowed}")
    return [int(size) for size in layers]


def _parameter_list(key: str, value: Any, shapes: list[tuple[int, ...]]) -> list[Array]:
    field = f"network.{key}"
    if not isinstance(value, list | tuple) or len(value) != len(shapes):
        raise FieldError(field, f"expected a list of {len(shapes)} layers, got {_describe(value)}")
    return [
        _parameter(f"{field}[{layer}]", v, shape)
        for layer, (v, shape) in enumerate(zip(value, shapes, strict=True))
    ]


def _parameter(field: str, value: Any, shape: tuple[int, ...]) -> Array:
    """One layer's nested list (or real-valued array) as a float64 array of exactly `shape`."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf":
            raise FieldError(field, f"expected real numbers, got dtype {value.dtype}")
        array = value.astype(np.float64)
    else:
        _check_nested_numbers(field, value, len(shape))
        try:
            array = np.array(value, dtype=np.float64)
        except ValueError:
            raise FieldError(field, f"rows differ in length; expected shape {shape}") from None
    if array.shape != shape:
        raise FieldError(field, f"expected shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise FieldError(field, "every value must be finite")
    return array


def _check_nested_numbers(field: str, value: Any, depth: int) -> None:
    """Nested lists of real numbers (bools rejected: True is not a weight)."""
    if depth == 0:
        if not is_finite_number(value):
            raise FieldError(field, f"must be a finite number, got {shown(value)}")
        return
    if not isinstance(value, list | tuple):
        raise FieldError(field, f"expected a list, got {_describe(value)}")
    for index, item in enumerate(value):
        _check_nested_numbers(f"{field}[{index}]", item, depth - 1)


def _describe(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    return shown(value)
