"""Trainer: one optimisation step of a Network on a batch, with L1/L2, dropout, frozen layers
and divergence detection (reported, never raised; the parameters before a bad step are kept)."""

import math
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np

from .network import Backward, Network, Trace
from .optimizers import OPTIMIZERS, Hyper, State

Array = np.ndarray

DEFAULT_OPTIONS: dict[str, Any] = {
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
    "frozen": (),
    "seed": 0,
}


class Range(NamedTuple):
    """Allowed values of a numeric option: `bounds` writes which ends are included ("[]", "(]",
    "[)"), as in the error messages."""

    low: float
    high: float
    bounds: str = "[]"

    def contains(self, value: float) -> bool:
        above = value > self.low if self.bounds[0] == "(" else value >= self.low
        below = value < self.high if self.bounds[1] == ")" else value <= self.high
        return above and below

    def __str__(self) -> str:
        return f"{self.bounds[0]}{self.low:g}, {self.high:g}{self.bounds[1]}"


# The one table of numeric options; a run's configuration uses it too (engine.config).
OPTION_RANGES: dict[str, Range] = {
    "lr": Range(0.0, 10.0, "(]"),
    "momentum": Range(0.0, 1.0, "[)"),
    "alpha": Range(0.0, 1.0, "[)"),
    "beta1": Range(0.0, 1.0, "[)"),
    "beta2": Range(0.0, 1.0, "[)"),
    "eps": Range(0.0, 1.0, "(]"),
    "l1": Range(0.0, 10.0),
    "l2": Range(0.0, 10.0),
    "dropout": Range(0.0, 1.0, "[)"),
}


class StepResult(NamedTuple):
    """loss: batch-mean loss before the update (no penalty terms); diverged: the step was
    rejected and the parameters kept; message: why, in words (None when all is well)."""

    loss: float
    diverged: bool
    message: str | None


class Trainer:
    """Trains `net` in place; options as in docs/architecture.md ("training" part of a run)."""

    def __init__(self, net: Network, **options: Any) -> None:
        """Options: optimizer, lr, momentum, alpha, beta1, beta2, eps, l1, l2, dropout, frozen,
        seed (for the dropout masks). ValueError names the first invalid option."""
        self.net = net
        self._options = _validate_options({**DEFAULT_OPTIONS, **options}, net.n_layers)
        self._apply_options(self._options)
        self.rng = np.random.default_rng(self._options["seed"])
        self.reset_state()
        self._last_gradient = np.zeros_like(net.params)
        self._last_update = np.zeros_like(net.params)

    # ----- options ----------------------------------------------------------------------

    @property
    def options(self) -> dict[str, Any]:
        """Current options, JSON-able."""
        return {**self._options, "frozen": sorted(self._options["frozen"])}

    def set(self, **options: Any) -> None:
        """Change options live, all or nothing. A new optimizer starts from fresh state; other
        changes (lr, momentum, ...) keep it. A new seed restarts the dropout generator."""
        merged = _validate_options({**self._options, **options}, self.net.n_layers)
        optimizer_changed = merged["optimizer"] != self._options["optimizer"]
        self._options = merged
        self._apply_options(merged)
        if optimizer_changed:
            self.reset_state()
        if "seed" in options:
            self.rng = np.random.default_rng(merged["seed"])

    def reset_state(self) -> None:
        """Forget the optimizer's running averages and step counts."""
        self._state: State = self._optimizer.initial_state(self.net.params.size)

    def _apply_options(self, options: dict[str, Any]) -> None:
        self._optimizer = OPTIMIZERS[options["optimizer"]]
        self._hyper = Hyper(*(options[name] for name in Hyper._fields))
        self._l1, self._l2, self._dropout = options["l1"], options["l2"], options["dropout"]
        self._trainable: Array | None = None
        if options["frozen"]:
            trainable = np.ones(self.net.params.size, dtype=bool)
            Ws, bs = self.net.unflatten(trainable)
            for layer in options["frozen"]:
                Ws[layer][...] = False
                bs[layer][...] = False
            self._trainable = trainable

    # ----- what metrics read --------------------------------------------------------------

    @property
    def last_gradients(self) -> list[dict[str, Array]]:
        """Gradient used by the last applied step (penalties included), per layer {"W", "b"}."""
        return _per_layer(self.net, self._last_gradient)

    @property
    def last_update(self) -> list[dict[str, Array]]:
        """ΔW and Δb actually applied by the last applied step (zero for frozen layers)."""
        return _per_layer(self.net, self._last_update)

    # ----- one step -------------------------------------------------------------------------

    def step(self, X: Array, Y: Array) -> StepResult:
        """One update of the network on the batch X: (n, d), Y: (n, n_out)."""
        with np.errstate(all="ignore"):
            trace = self.forward(X)
            Y = self.net._check_targets(Y, trace.X.shape[0])
            loss = self.net.trace_loss(trace, Y)
            if not math.isfinite(loss):
                return StepResult(loss, True, _diverged_message(f"the loss is {loss}"))
            _, gradient = self.backward(trace, Y)
            return self.update(gradient, loss)

    def phases(self, X: Array, Y: Array, focus: int = 0) -> Iterator[dict[str, Any]]:
        """The same step as an ordered stream of phases (see engine.phases)."""
        from .phases import iteration_phases

        return iteration_phases(self, X, Y, focus)

    # The three parts of a step, shared by `step` and the phase stream so both draw the same
    # dropout masks and do the same arithmetic.

    def forward(self, X: Array) -> Trace:
        """Forward pass in training mode (dropout masks drawn from this trainer's generator)."""
        if self._dropout == 0.0:
            return self.net.forward_trace(X)
        X = self.net._check_inputs(X)
        return self.net.forward_trace(X, self._dropout_masks(X.shape[0]))

    def backward(self, trace: Trace, Y: Array) -> tuple[Backward, Array]:
        """Backward pass and the flat gradient the optimizer sees (L1/L2 added to weights)."""
        grads = self.net.backward(trace, Y)
        gradient = grads.flat
        params = self.net.params
        if self._l2 != 0.0:
            gradient = gradient + (self._l2 * params) * self.net.weight_mask
        if self._l1 != 0.0:
            gradient = gradient + (self._l1 * np.sign(params)) * self.net.weight_mask
        return grads, gradient

    def update(self, gradient: Array, loss: float) -> StepResult:
        """Apply the optimizer to the flat gradient, unless that makes a parameter non-finite."""
        delta, state = self._optimizer.propose(gradient, self._hyper, self._state)
        if self._trainable is not None:
            delta = np.where(self._trainable, delta, 0.0)
            state = tuple(
                np.where(self._trainable, new, old)
                for new, old in zip(state, self._state, strict=True)
            )
        new_params = self.net.params + delta
        if not math.isfinite(np.add.reduce(new_params)):
            return StepResult(loss, True, _diverged_message("a parameter became infinite or NaN"))
        self.net.params[...] = new_params
        self._state = state
        self._last_gradient, self._last_update = gradient, delta
        return StepResult(loss, False, None)

    def _dropout_masks(self, n: int) -> list[Array | None]:
        """Inverted dropout: hidden units kept with probability 1 − p and scaled by 1 / (1 − p)."""
        keep_scale = 1.0 / (1.0 - self._dropout)
        masks: list[Array | None] = []
        for size in self.net.layers[1:-1]:
            keep = self.rng.random((n, size)) >= self._dropout
            masks.append(keep * keep_scale)
        masks.append(None)  # never on the output layer
        return masks


def _diverged_message(reason: str) -> str:
    return f"diverged: {reason}; the parameters from before this step are kept"


def _per_layer(net: Network, flat: Array) -> list[dict[str, Array]]:
    Ws, bs = net.unflatten(flat)
    return [{"W": W, "b": b} for W, b in zip(Ws, bs, strict=True)]


def _validate_options(options: dict[str, Any], n_layers: int) -> dict[str, Any]:
    """Options with every value checked and normalised; ValueError names the first bad one."""
    for key in options:
        if key not in DEFAULT_OPTIONS:
            raise ValueError(
                f"{key}: unknown training option; allowed: {', '.join(DEFAULT_OPTIONS)}"
            )
    result = dict(options)
    if result["optimizer"] not in OPTIMIZERS:
        raise ValueError(
            f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {result['optimizer']!r}"
        )
    for key, allowed in OPTION_RANGES.items():
        result[key] = _number_in_range(key, result[key], allowed)
    result["frozen"] = _frozen_layers(result["frozen"], n_layers)
    seed = result["seed"]
    if not isinstance(seed, Integral) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"seed: must be an integer in [0, 2^63), got {seed!r}")
    result["seed"] = int(seed)
    return result


def _number_in_range(key: str, value: Any, allowed: Range) -> float:
    if isinstance(value, Real) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range, such as 10**400
            number = math.inf
        if math.isfinite(number) and allowed.contains(number):
            return number
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    raise ValueError(f"{key}: must be a finite number in {allowed}, got {text}")


def _frozen_layers(value: Any, n_layers: int) -> tuple[int, ...]:
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValueError(f"frozen: expected a list of layer indices, got {value!r}")
    layers = []
    for layer in value:
        if not isinstance(layer, Integral) or isinstance(layer, bool) or not 0 <= layer < n_layers:
            raise ValueError(
                f"frozen: layer indices must be integers in [0, {n_layers - 1}], got {layer!r}"
            )
        layers.append(int(layer))
    return tuple(sorted(set(layers)))
