"""Recurrent: a one-layer RNN or LSTM with a readout at every time step, and backpropagation
through time written as one reverse loop over the steps (as in karpathy's min-char-rnn).

Time comes first: X (T, n, D), Y (T, n, K), mask (T, n). Steps are t = 0 … T−1; the state
before step 0 is zero. All parameters live in one flat float64 vector `params`; `weights[name]`
are views into it (edit in place). See docs/recurrent.md.
"""

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .activations import ACTIVATIONS, _sigmoid
from .checks import FieldError
from .datasets import shown
from .losses import LOSSES
from .recurrent_spec import LSTM_GATES, parameter_shapes, validate_spec

Array = np.ndarray

# Beyond this many steps a sequence is a typo, not a lesson; the task generators allow fewer.
MAX_STEPS = 10_000


class RecurrentTrace(NamedTuple):
    """One forward pass. H[t + 1] is h_t and H[0] the zero start state, (T + 1, n, H).
    rnn: A[t] = z_t, the pre-activation (T, n, H). lstm: A[t] the gate values [i f g o] after
    their nonlinearities (T, n, 4H), C like H for the cell state, TC[t] = tanh(c_t).
    Zy (T, n, K) the readout logits, Yhat = out(Zy)."""

    X: Array
    A: Array
    H: Array
    C: Array | None
    TC: Array | None
    Zy: Array
    Yhat: Array


class RecurrentBackward(NamedTuple):
    """One backward pass. dH[t] = ∂L/∂h_t (everything that reaches h_t: its own readout and,
    unless cut by truncation, the future), dA[t] = ∂L/∂ of the pre-activations of step t
    (rnn (T, n, H), lstm the four gates (T, n, 4H)), dC[t] = ∂L/∂c_t (lstm), dZy = ∂L/∂ logits.
    `flat` is the gradient laid out like `params`, `grads` its named views."""

    dH: Array  # noqa: N815 (math names)
    dA: Array  # noqa: N815
    dC: Array | None  # noqa: N815
    dZy: Array  # noqa: N815
    grads: dict[str, Array]
    flat: Array


class Recurrent:
    """Recurrent network built by `Recurrent.from_spec(spec)`."""

    def __init__(self, fields: dict[str, Any]) -> None:
        """Use `from_spec`; `fields` is an already validated spec with every weight given."""
        self.cell, self.activation = fields["cell"], fields["activation"]
        self.inputs, self.hidden = fields["inputs"], fields["hidden"]
        self.outputs = fields["outputs"]
        self.output, self.loss_name = fields["output"], fields["loss"]
        self.init, self.init_scale, self.seed = fields["init"], fields["init_scale"], fields["seed"]
        self.forget_bias = fields["forget_bias"]
        self.hidden_fn = ACTIVATIONS[self.activation]
        self.output_fn = ACTIVATIONS[self.output]
        self.loss_fn = LOSSES[self.loss_name]
        self.shapes = parameter_shapes(self.cell, self.inputs, self.hidden, self.outputs)
        self.params = np.zeros(sum(int(np.prod(shape)) for shape in self.shapes.values()))
        self.weights = self.named(self.params)
        for name, value in fields["weights"].items():
            self.weights[name][...] = value
        # Which entries of `params` are weights (L1/L2 apply to those only), as in Network.
        self.weight_mask = np.zeros_like(self.params)
        for name, view in self.named(self.weight_mask).items():
            view[...] = 1.0 if name.startswith("W") else 0.0

    # ----- construction and serialisation -------------------------------------------------

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> "Recurrent":
        """Build from a JSON-able spec; ValueError names the first invalid field."""
        return cls(validate_spec(spec))

    def to_spec(self) -> dict[str, Any]:
        """JSON-able spec with current parameters; `from_spec(to_spec())` rebuilds it exactly."""
        return self._fields() | {"weights": {name: W.tolist() for name, W in self.weights.items()}}

    def copy(self) -> "Recurrent":
        """An independent network with the same spec and parameters."""
        return Recurrent(self._fields() | {"weights": self.weights})

    def _fields(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "inputs": self.inputs,
            "hidden": self.hidden,
            "outputs": self.outputs,
            "activation": self.activation,
            "output": self.output,
            "loss": self.loss_name,
            "init": self.init,
            "init_scale": self.init_scale,
            "forget_bias": self.forget_bias,
            "seed": self.seed,
        }

    def named(self, flat: Array) -> dict[str, Array]:
        """Name → view into any vector laid out like `params`."""
        views, start = {}, 0
        for name, shape in self.shapes.items():
            end = start + int(np.prod(shape))
            views[name] = flat[start:end].reshape(shape)
            start = end
        return views

    @property
    def recurrent_name(self) -> str:
        """The weight that carries the state from one step to the next: W_hh or W_h."""
        return "W_hh" if self.cell == "rnn" else "W_h"

    # ----- forward --------------------------------------------------------------------------

    def forward(self, X: Array) -> Array:
        """Outputs Ŷ: (T, n, K) for inputs X: (T, n, D)."""
        return self.forward_trace(X).Yhat

    def forward_trace(
        self, X: Array, start: tuple[Array, Array | None] | None = None
    ) -> RecurrentTrace:
        """Forward pass through time keeping every state the backward pass needs.

        start: the state (h, c) (each (n, H); c None for an rnn) before step 0; zero when None.
        """
        X = self.check_inputs(X)
        T, n, _ = X.shape
        H = np.zeros((T + 1, n, self.hidden))
        if start is not None:
            H[0] = start[0]
        if self.cell == "rnn":
            A = self._rnn_forward(X, H)
            C = TC = None
        else:
            A, C, TC = self._lstm_forward(X, H, None if start is None else start[1])
        Zy = H[1:] @ self.weights["W_hy"]
        Zy += self.weights["b_y"]
        Yhat = self.output_fn.value(Zy.reshape(T * n, self.outputs)).reshape(Zy.shape)
        return RecurrentTrace(X, A, H, C, TC, Zy, Yhat)

    def _rnn_forward(self, X: Array, H: Array) -> Array:
        W_xh, W_hh, b_h = self.weights["W_xh"], self.weights["W_hh"], self.weights["b_h"]
        Z = X @ W_xh  # the input part of every step at once; the recurrence must go step by step
        Z += b_h
        for t in range(X.shape[0]):
            Z[t] += H[t] @ W_hh
            H[t + 1] = self.hidden_fn.value(Z[t])
        return Z

    def _lstm_forward(self, X: Array, H: Array, c0: Array | None) -> tuple[Array, Array, Array]:
        W_x, W_h, b, size = self.weights["W_x"], self.weights["W_h"], self.weights["b"], self.hidden
        G = X @ W_x
        G += b
        C = np.zeros_like(H)
        if c0 is not None:
            C[0] = c0
        TC = np.empty((X.shape[0], X.shape[1], size))
        i, f, c_hat, o = gate_blocks(G, size)
        for t in range(X.shape[0]):
            pre = G[t] + H[t] @ W_h
            G[t] = _sigmoid(pre)
            c_hat[t] = np.tanh(pre[:, 2 * size : 3 * size])
            C[t + 1] = f[t] * C[t] + i[t] * c_hat[t]
            TC[t] = np.tanh(C[t + 1])
            H[t + 1] = o[t] * TC[t]
        return G, C, TC

    # ----- loss -----------------------------------------------------------------------------

    def loss(self, X: Array, Y: Array, mask: Array | None = None) -> float:
        """Mean over the n sequences of the sum over masked steps of the per-step loss."""
        trace = self.forward_trace(X)
        Y, mask = self.check_targets(Y, mask, trace.X.shape)
        return self.trace_loss(trace, Y, mask)

    def step_losses(self, trace: RecurrentTrace, Y: Array) -> Array:
        """Per-step, per-sequence loss (T, n), before masking."""
        T, n, K = trace.Zy.shape
        flat = self.loss_fn.per_sample(
            trace.Zy.reshape(T * n, K), trace.Yhat.reshape(T * n, K), Y.reshape(T * n, K)
        )
        return flat.reshape(T, n)

    def trace_loss(self, trace: RecurrentTrace, Y: Array, mask: Array | None) -> float:
        """The loss of an existing forward pass (Y and mask already checked)."""
        per_step = self.step_losses(trace, Y)
        if mask is not None:
            per_step = per_step * mask
        return float(np.add.reduce(per_step, axis=None)) / per_step.shape[1]

    # ----- backward ---------------------------------------------------------------------------

    def gradients(
        self, X: Array, Y: Array, mask: Array | None = None, truncate: int | None = None
    ) -> dict[str, Array]:
        """Exact gradient of `loss(X, Y, mask)`, or with `truncate=k` truncated BPTT: windows
        of k steps, the state carried across a window start but no gradient through it."""
        trace = self.forward_trace(X)
        Y, mask = self.check_targets(Y, mask, trace.X.shape)
        return self.backward(trace, Y, mask, truncate).grads

    def backward(
        self, trace: RecurrentTrace, Y: Array, mask: Array | None, truncate: int | None = None
    ) -> RecurrentBackward:
        """The whole backward pass: every step of `BackwardThroughTime`."""
        bptt = BackwardThroughTime(self, trace, Y, mask, truncate)
        for _ in bptt.steps():
            pass
        return bptt.result()

    # ----- input checks -------------------------------------------------------------------------

    def check_inputs(self, X: Array) -> Array:
        """X as float64 (T, n, D); ValueError names X."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3 or X.shape[2] != self.inputs or 0 in X.shape:
            raise ValueError(f"X: expected shape (T >= 1, n >= 1, {self.inputs}), got {X.shape}")
        if X.shape[0] > MAX_STEPS:
            raise ValueError(f"X: at most {MAX_STEPS:,} time steps, got {X.shape[0]:,}")
        if not np.isfinite(X).all():
            raise ValueError("X: every value must be finite")
        return X

    def check_targets(
        self, Y: Array, mask: Array | None, shape: tuple[int, ...]
    ) -> tuple[Array, Array | None]:
        """Y (T, n, K) and mask (T, n) of 0/1 (or None) for inputs of `shape`."""
        T, n = shape[0], shape[1]
        Y = np.asarray(Y, dtype=np.float64)
        if Y.shape != (T, n, self.outputs):
            raise ValueError(f"Y: expected shape ({T}, {n}, {self.outputs}), got {Y.shape}")
        if not np.isfinite(Y).all():
            raise ValueError("Y: every value must be finite")
        if mask is None:
            return Y, None
        mask = np.asarray(mask, dtype=np.float64)
        if mask.shape != (T, n):
            raise ValueError(f"mask: expected shape ({T}, {n}), got {mask.shape}")
        if not ((mask == 0.0) | (mask == 1.0)).all():
            raise ValueError("mask: every value must be 0 or 1")
        return Y, mask


def check_truncate(truncate: Any) -> int | None:
    """None or 0: full backpropagation through time; k >= 1: windows of k steps."""
    if truncate is None or (isinstance(truncate, int | np.integer) and truncate == 0):
        return None
    if (
        isinstance(truncate, bool)
        or not isinstance(truncate, int | np.integer)
        or not 0 <= truncate <= MAX_STEPS
    ):
        allowed = f"an integer in [0, {MAX_STEPS}] (0: no truncation)"
        raise FieldError("training.truncate", f"expected {allowed}, got {shown(truncate)}")
    return int(truncate)


def gate_blocks(G: Array, size: int) -> tuple[Array, Array, Array, Array]:
    """The four gate blocks i, f, g, o (views, (…, H) each) of gate values G (…, 4H)."""
    return tuple(G[..., k * size : (k + 1) * size] for k in range(len(LSTM_GATES)))  # type: ignore[return-value]


class BackwardThroughTime:
    """Backpropagation through time, one step per iteration of `steps()`, from the last step to
    the first. The readout's gradient needs no recurrence and is done at once in the
    constructor. After the loop, `result()` holds the gradient; the phase stepper reads the
    attributes between steps (dh, dA[t], dC[t], the partial sums in `grads`)."""

    def __init__(
        self,
        net: Recurrent,
        trace: RecurrentTrace,
        Y: Array,
        mask: Array | None,
        truncate: int | None = None,
    ) -> None:
        self.net, self.trace, self.truncate = net, trace, check_truncate(truncate)
        T, n, K = trace.Zy.shape
        self.flat = np.zeros_like(net.params)
        self.grads = net.named(self.flat)
        # 1/n and the mask here make every later product the gradient of the masked mean loss.
        dZy = net.loss_fn.delta(
            trace.Zy.reshape(T * n, K),
            trace.Yhat.reshape(T * n, K),
            Y.reshape(T * n, K),
            net.output_fn,
        ).reshape(T, n, K)
        dZy *= (1.0 / n) if mask is None else mask[:, :, None] * (1.0 / n)
        self.dZy = dZy
        self.grads["W_hy"][...] = trace.H[1:].reshape(T * n, -1).T @ dZy.reshape(T * n, K)
        self.grads["b_y"][...] = np.add.reduce(dZy, axis=(0, 1))
        # ∂L_t/∂h_t: what each step's own readout sends back, before the future is added.
        self.dH_own = dZy @ net.weights["W_hy"].T
        self.dH = np.empty_like(self.dH_own)
        self.dA = np.empty_like(trace.A)
        self.dC = np.empty_like(self.dH_own) if net.cell == "lstm" else None
        self.dh_next = np.zeros((n, net.hidden))  # ∂L/∂h_t arriving from step t + 1
        self.dc_next = np.zeros((n, net.hidden))  # ∂L/∂c_t arriving from step t + 1 (lstm)
        if net.cell == "lstm":  # views split once, indexed by t in the loop
            self.gates = gate_blocks(trace.A, net.hidden)
            self.dgates = gate_blocks(self.dA, net.hidden)

    def steps(self) -> Iterator[int]:
        """The reverse loop; yields each step t after its gradients are added."""
        step = self._rnn_step if self.net.cell == "rnn" else self._lstm_step
        for t in range(self.trace.X.shape[0] - 1, -1, -1):
            step(t)
            if self.truncate is not None and t % self.truncate == 0:
                # A window starts at t: the state came in detached, so nothing flows further back.
                self.dh_next = np.zeros_like(self.dh_next)
                self.dc_next = np.zeros_like(self.dc_next)
            yield t

    def _rnn_step(self, t: int) -> None:
        trace, W, g = self.trace, self.net.weights, self.grads
        dh = self.dH_own[t] + self.dh_next
        dz = self.net.hidden_fn.backprop(trace.A[t], trace.H[t + 1], dh)
        g["W_xh"] += trace.X[t].T @ dz
        g["W_hh"] += trace.H[t].T @ dz
        g["b_h"] += np.add.reduce(dz, 0)
        self.dh_next = dz @ W["W_hh"].T
        self.dH[t], self.dA[t] = dh, dz

    def _lstm_step(self, t: int) -> None:
        trace, W, g = self.trace, self.net.weights, self.grads
        dh = self.dH_own[t] + self.dh_next
        gate_i, gate_f, gate_g, gate_o = self.gates
        i, f, c_hat, o = gate_i[t], gate_f[t], gate_g[t], gate_o[t]
        tc = trace.TC[t]  # type: ignore[index]
        dc = self.dc_next + dh * o * (1.0 - tc * tc)
        di, df, dg, do = self.dgates
        di[t] = dc * c_hat * i * (1.0 - i)
        df[t] = dc * trace.C[t] * f * (1.0 - f)  # type: ignore[index]
        dg[t] = dc * i * (1.0 - c_hat * c_hat)
        do[t] = dh * tc * o * (1.0 - o)
        da = self.dA[t]
        g["W_x"] += trace.X[t].T @ da
        g["W_h"] += trace.H[t].T @ da
        g["b"] += np.add.reduce(da, 0)
        self.dh_next = da @ W["W_h"].T
        self.dc_next = dc * f
        self.dH[t] = dh
        self.dC[t] = dc  # type: ignore[index]

    def result(self) -> RecurrentBackward:
        return RecurrentBackward(self.dH, self.dA, self.dC, self.dZy, self.grads, self.flat)


def gradient_norms_through_time(backward: RecurrentBackward) -> Array:
    """‖∂L/∂h_t‖ for every step t, (T,): the L2 norm over the batch and the hidden units."""
    return np.sqrt(np.einsum("tnh,tnh->t", backward.dH, backward.dH))


def forget_gate_means(net: Recurrent, trace: RecurrentTrace) -> Array:
    """Mean forget-gate value per step, (T,) (lstm only): near 1 the cell keeps its memory."""
    if net.cell != "lstm":
        raise ValueError("cell: forget gates exist only in an lstm")
    size = net.hidden
    return trace.A[:, :, size : 2 * size].mean(axis=(1, 2))
