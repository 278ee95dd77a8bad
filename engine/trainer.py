"""Trainer: one optimisation step of a Network or a Recurrent network on a batch, with L1/L2,
dropout, frozen layers, gradient clipping, truncated BPTT (recurrent) and divergence detection
(reported, never raised; the parameters before a bad step are kept)."""

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from . import schema
from .checks import FieldError
from .datasets import shown
from .network import Backward, Network, Trace
from .optimizers import OPTIMIZERS, Hyper, State
from .recurrent import Recurrent, check_truncate

Array = np.ndarray

# The training options a Trainer takes: the run schema's training section (batches are the
# Run's business) and `seed`, which seeds the dropout masks (a run passes its network.seed).
TRAINER_KEYS = (
    *(key for key in schema.section_keys("training", schema.FEED_FORWARD) if key != "batch_size"),
    "seed",
)


def default_options() -> dict[str, Any]:
    """The Trainer's defaults: the schema's, the seed that of network.seed."""
    defaults = schema.section_defaults("training")
    del defaults["batch_size"]
    return {**defaults, "seed": schema.field("network.seed").default}


# Options only a Recurrent network takes: truncate = k steps per BPTT window (0: none); the run
# schema's training.truncate (a recurrent run's field) bounds it to the page's sequences.
RECURRENT_OPTIONS: dict[str, Any] = {"truncate": schema.field("training.truncate").default}
# torch.nn.utils.clip_grad_norm_ divides by norm + 1e-6; the same here, bit for bit.
CLIP_EPS = 1e-6


class StepResult(NamedTuple):
    """loss: batch-mean loss before the update (no penalty terms); diverged: the step was
    rejected and the parameters kept; message: why, in words (None when all is well)."""

    loss: float
    diverged: bool
    message: str | None


class Trainer:
    """Trains `net` in place; options as in docs/architecture.md ("training" part of a run)."""

    def __init__(self, net: Network | Recurrent, **options: Any) -> None:
        """Options: optimizer, lr, momentum, alpha, beta1, beta2, eps, l1, l2, dropout, clip,
        frozen, seed (for the dropout masks), and for a Recurrent net truncate (no dropout,
        no frozen layers there). ValueError names the first invalid option."""
        self.net = net
        self._recurrent = isinstance(net, Recurrent)
        defaults = {**default_options(), **(RECURRENT_OPTIONS if self._recurrent else {})}
        self._options = _validate_options({**defaults, **options}, net)
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
        merged = _validate_options({**self._options, **options}, self.net)
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
        self._clip, self._truncate = options["clip"], options.get("truncate")
        self.last_gradient_norm: float | None = None  # before clipping; set when clip > 0
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

    def step(self, X: Array, Y: Array, mask: Array | None = None) -> StepResult:
        """One update of the network on the batch X: (n, d), Y: (n, n_out); for a Recurrent
        net X: (T, n, D), Y: (T, n, K) and mask: (T, n) of 0/1 (None: every step)."""
        if self._recurrent:
            return self._recurrent_step(X, Y, mask)
        if mask is not None:
            raise FieldError("mask", "only a recurrent network takes a mask of time steps")
        with np.errstate(all="ignore"):
            trace = self.forward(X)
            Y = self.net._check_targets(Y, trace.X.shape[0])
            loss = self.net.trace_loss(trace, Y)
            if not math.isfinite(loss):
                return StepResult(loss, True, _diverged_message(f"the loss is {loss}"))
            _, gradient = self.backward(trace, Y)
            return self.update(gradient, loss)

    def _recurrent_step(self, X: Array, Y: Array, mask: Array | None) -> StepResult:
        net: Recurrent = self.net  # type: ignore[assignment]
        with np.errstate(all="ignore"):
            trace = net.forward_trace(X)
            Y, mask = net.check_targets(Y, mask, trace.X.shape)
            loss = net.trace_loss(trace, Y, mask)
            if not math.isfinite(loss):
                return StepResult(loss, True, _diverged_message(f"the loss is {loss}"))
            grads = net.backward(trace, Y, mask, self._truncate)
            return self.update(self.optimizer_gradient(grads.flat), loss)

    def phases(
        self, X: Array, Y: Array, focus: Any = 0, mask: Array | None = None
    ) -> Iterator[dict[str, Any]]:
        """The same step as an ordered stream of phases (engine.phases, engine.recurrent_phases).
        focus: the followed row of the batch, or for a Network a sample (x, y) outside it."""
        if self._recurrent:
            from .recurrent_phases import recurrent_phases

            return recurrent_phases(self, X, Y, mask, focus)
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
        """Backward pass and the flat gradient the optimizer sees (clipped, L1/L2 added)."""
        grads = self.net.backward(trace, Y)  # type: ignore[union-attr]
        return grads, self.optimizer_gradient(grads.flat)

    def optimizer_gradient(self, gradient: Array) -> Array:
        """The loss's flat gradient as the optimizer sees it: clipped to the global norm `clip`,
        then L1/L2 added to the weights (torch: clip_grad_norm_ before the weight decay that
        optimizer.step adds)."""
        if self._clip != 0.0:
            gradient = self._clipped(gradient)
        params = self.net.params
        if self._l2 != 0.0:
            gradient = gradient + (self._l2 * params) * self.net.weight_mask
        if self._l1 != 0.0:
            gradient = gradient + (self._l1 * np.sign(params)) * self.net.weight_mask
        return gradient

    def _clipped(self, gradient: Array) -> Array:
        """torch.nn.utils.clip_grad_norm_: scale = clip / (‖g‖ + 1e-6), applied when below 1.
        The norm is over the trained parameters (a frozen layer has no gradient in torch)."""
        trained = gradient if self._trainable is None else gradient[self._trainable]
        norm = math.sqrt(float(np.dot(trained, trained)))
        self.last_gradient_norm = norm
        scale = self._clip / (norm + CLIP_EPS)
        return gradient * scale if scale < 1.0 else gradient

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


def _per_layer(net: Network | Recurrent, flat: Array) -> Any:
    """Per layer {"W", "b"} for a Network; name → array for a Recurrent net."""
    if isinstance(net, Recurrent):
        return net.named(flat)
    Ws, bs = net.unflatten(flat)
    return [{"W": W, "b": b} for W, b in zip(Ws, bs, strict=True)]


def _validate_options(options: dict[str, Any], net: Network | Recurrent) -> dict[str, Any]:
    """Options with every value checked by its schema field; FieldError names the first bad one."""
    recurrent = isinstance(net, Recurrent)
    allowed = (*TRAINER_KEYS, *(RECURRENT_OPTIONS if recurrent else ()))
    for key in options:
        if key not in allowed:
            name = key if isinstance(key, str) and len(key) <= 40 else shown(key)
            raise FieldError(f"training.{name}", f"unknown option; allowed: {', '.join(allowed)}")
    result = dict(options)
    for key in TRAINER_KEYS:
        path = "network.seed" if key == "seed" else f"training.{key}"
        result[key] = schema.field(path).check(result[key])
    if recurrent:
        return _recurrent_options(result)
    n_layers = net.n_layers
    frozen = result["frozen"]
    if any(layer >= n_layers for layer in frozen):
        raise FieldError(
            "training.frozen", f"layer indices must be in [0, {n_layers - 1}], got {shown(frozen)}"
        )
    result["frozen"] = tuple(sorted(set(frozen)))
    return result


def _recurrent_options(result: dict[str, Any]) -> dict[str, Any]:
    """A Recurrent net: truncate checked; no dropout and no frozen layers (it has no layers)."""
    result["truncate"] = check_truncate(result["truncate"]) or 0
    if result["dropout"] != 0.0:
        raise FieldError(
            "training.dropout", f"a recurrent network takes none, got {result['dropout']:g}"
        )
    if list(result["frozen"]):
        raise FieldError("training.frozen", "a recurrent network has no layers to freeze")
    result["frozen"] = ()
    return result
