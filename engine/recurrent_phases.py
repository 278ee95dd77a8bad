"""Backpropagation through time made visible: one training iteration of a Recurrent net as an
ordered stream of phases, and the chain rule of any recurrent weight or hidden state with its
real numbers (a sum over the time steps, term by term)."""

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .datasets import shown
from .gradcheck import relative_error
from .phases import _check_focus, _num
from .recurrent import (
    BackwardThroughTime,
    Recurrent,
    RecurrentBackward,
    RecurrentTrace,
    check_truncate,
    forget_gate_means,
    gradient_norms_through_time,
)
from .recurrent_spec import LSTM_GATES

if TYPE_CHECKING:
    from .trainer import Trainer

Array = np.ndarray

OWN_NOTE = (
    "focus values are the followed sequence's own (the batch gradient is the mean over the "
    "sequences); with truncation the gradient, and its check, are those of the windows' losses"
)


# ----- the phase stream ---------------------------------------------------------------------


def recurrent_phases(
    trainer: "Trainer", X: Array, Y: Array, mask: Array | None = None, focus: int = 0
) -> Iterator[dict[str, Any]]:
    """forward (t = 0 … T−1), loss, backward (t = T−1 … 0), update; see docs/recurrent.md.

    Running every phase leaves the network bit for bit where `trainer.step(X, Y, mask)` would.
    Inputs are checked here, before the first phase, so bad input changes nothing.
    """
    net: Recurrent = trainer.net  # type: ignore[assignment]
    X = net.check_inputs(X)
    Y, mask = net.check_targets(Y, mask, X.shape)
    _check_focus(focus, X.shape[1])
    return _phases(trainer, net, X, Y, mask, focus)


def _phases(
    trainer: "Trainer", net: Recurrent, X: Array, Y: Array, mask: Array | None, focus: int
) -> Iterator[dict[str, Any]]:
    n = X.shape[1]
    # errstate is entered per computation, never across a yield, so it cannot leak to the caller.
    with np.errstate(all="ignore"):
        trace = net.forward_trace(X)
    for t in range(X.shape[0]):
        yield _forward_phase(net, trace, t, focus)
    with np.errstate(all="ignore"):
        per_step = net.step_losses(trace, Y)
        masked = per_step if mask is None else per_step * mask
        loss = net.trace_loss(trace, Y, mask)
    yield {
        "phase": "loss",
        "loss": loss,
        "step_losses": masked.sum(axis=1) / n,  # each step's share of the loss, (T,)
        "mask": mask,
        "Yhat": trace.Yhat,
        "Y": Y,
        "focus": {
            "loss": float(masked[:, focus].sum()),
            "step_losses": masked[:, focus],
            "yhat": trace.Yhat[:, focus],  # (T, K): the followed sequence's predictions
        },
    }
    with np.errstate(all="ignore"):
        bptt = BackwardThroughTime(net, trace, Y, mask, trainer._truncate)
    steps = bptt.steps()
    while True:
        with np.errstate(all="ignore"):
            t = next(steps, None)
        if t is None:
            break
        yield _backward_phase(net, bptt, t, focus)
    yield _update_phase(trainer, net, trace, bptt.result(), loss)


def _forward_phase(net: Recurrent, trace: RecurrentTrace, t: int, focus: int) -> dict[str, Any]:
    phase = {
        "phase": "forward",
        "t": t,
        "x": trace.X[t],
        "h": trace.H[t + 1],
        "yhat": trace.Yhat[t],
        "focus": {"x": trace.X[t][focus], "h": trace.H[t + 1][focus]},
    }
    if net.cell == "rnn":
        phase["z"] = trace.A[t]
        phase["focus"]["z"] = trace.A[t][focus]
    else:
        phase["gates"], phase["c"] = trace.A[t], trace.C[t + 1]  # type: ignore[index]
        phase["focus"]["gates"] = trace.A[t][focus]
        phase["focus"]["c"] = trace.C[t + 1][focus]  # type: ignore[index]
    phase["focus"]["yhat"] = trace.Yhat[t][focus]
    return phase


def _backward_phase(
    net: Recurrent, bptt: BackwardThroughTime, t: int, focus: int
) -> dict[str, Any]:
    n = bptt.trace.X.shape[1]
    delta_key = "dz" if net.cell == "rnn" else "dgates"
    phase = {
        "phase": "backward",
        "t": t,
        "dh": bptt.dH[t],
        delta_key: bptt.dA[t],
        "dh_norm": float(np.sqrt(np.dot(bptt.dH[t].ravel(), bptt.dH[t].ravel()))),
        # True where a truncation window starts: no gradient flows from here to step t − 1.
        "window_start": bptt.truncate is not None and t % bptt.truncate == 0,
        # The recurrent weight's gradient summed so far (steps t … T−1).
        "partial": bptt.grads[net.recurrent_name].copy(),
        "focus": {"dh": bptt.dH[t][focus] * n, delta_key: bptt.dA[t][focus] * n},
    }
    if bptt.dC is not None:
        phase["dc"] = bptt.dC[t]
        phase["focus"]["dc"] = bptt.dC[t][focus] * n
    return phase


def _update_phase(
    trainer: "Trainer",
    net: Recurrent,
    trace: RecurrentTrace,
    backward: RecurrentBackward,
    loss: float,
) -> dict[str, Any]:
    with np.errstate(all="ignore"):
        gradient = trainer.optimizer_gradient(backward.flat)
        result = trainer.update(gradient, loss) if np.isfinite(loss) else None
        dh_norms = gradient_norms_through_time(backward)
    diverged = result is None or result.diverged
    delta = np.zeros_like(net.params) if diverged else trainer._last_update
    phase = {
        "phase": "update",
        "grads": net.named(gradient),
        "delta": net.named(delta),
        "weights": {name: W.copy() for name, W in net.weights.items()},
        "dh_norms": dh_norms,
        "gradient_norm": trainer.last_gradient_norm if trainer._clip else None,
        "diverged": diverged,
    }
    if net.cell == "lstm":
        phase["forget_gates"] = forget_gate_means(net, trace)
    return phase


# ----- the chain rule of one weight or hidden state -----------------------------------------


def explain_recurrent_weight(
    net: Recurrent,
    X: Array,
    Y: Array,
    name: str,
    i: int,
    j: int,
    mask: Array | None = None,
    truncate: int | None = None,
    focus: int = 0,
) -> dict[str, Any]:
    """∂L/∂W[i, j] = Σ_t in_{t,i} · δ_{t,j}, term by term; `in` is x_t (W_xh, W_x), h_{t−1}
    (W_hh, W_h), 1 (biases: i ignored) or h_t (W_hy), δ the pre-activation gradient that
    parameter feeds (δz_t, a gate's δ, or the readout's δo_t). A central-difference check sits
    beside it (with truncation: of the windows' losses, which truncated BPTT differentiates)."""
    trace, backward, Y, mask = _plain_pass(net, X, Y, mask, truncate, focus)
    inputs, deltas, symbol = _factors(net, trace, backward, name)
    i = _check_index(net, name, i, j)
    n = trace.X.shape[1]
    column_in = inputs[:, :, i] if inputs is not None else np.ones(deltas.shape[:2])
    column_delta = deltas[:, :, j]
    batch_terms = np.einsum("tn,tn->t", column_in, column_delta)
    terms = [
        {
            "t": t,
            "input": float(column_in[t, focus]),
            "delta": float(column_delta[t, focus] * n),
            "product": float(column_in[t, focus] * column_delta[t, focus] * n),
            "batch": float(batch_terms[t]),
        }
        for t in range(trace.X.shape[0])
    ]
    gradient = float(backward.grads[name][(i, j) if inputs is not None else (j,)])
    total = float(batch_terms.sum())
    numeric = _numeric_derivative(net, X, Y, mask, truncate, name, i, j)
    shown = " + ".join(_num(term["batch"]) for term in terms)
    return {
        "kind": "recurrent_weight",
        "name": name,
        "i": i,
        "j": j,
        "unit": _unit(net, name, j),
        "value": float(net.weights[name][(i, j) if inputs is not None else (j,)]),
        "gradient": gradient,
        "terms": terms,
        "sum": total,
        "formula": f"∂L/∂{name}[{i},{j}] = Σ_t {symbol} = {shown} = {_num(total)}",
        "check": {"numeric": numeric, "relative_error": relative_error(gradient, numeric)},
        "focus_sequence": focus,
        "truncate": check_truncate(truncate),
        "note": OWN_NOTE,
    }


def explain_hidden_state(
    net: Recurrent,
    X: Array,
    Y: Array,
    t: int,
    j: int,
    mask: Array | None = None,
    truncate: int | None = None,
    focus: int = 0,
) -> dict[str, Any]:
    """δ_{t,j} = ∂L/∂h_{t,j} of the focus sequence: what its own readout sends back,
    Σ_k W_hy[j,k]·δo_{t,k}, plus what step t+1 sends back, Σ_m W_rec[j,m]·δa_{t+1,m}
    (rnn: δa = f′(z_{t+1}) ⊙ δ_{t+1}; lstm: the four gates' δ)."""
    trace, backward, Y, mask = _plain_pass(net, X, Y, mask, truncate, focus)
    T, n = trace.X.shape[:2]
    if not (isinstance(t, int) and 0 <= t < T):
        raise ValueError(f"t: expected a time step in 0..{T - 1}, got {shown(t)}")
    if not (isinstance(j, int) and 0 <= j < net.hidden):
        raise ValueError(f"j: expected a hidden unit in 0..{net.hidden - 1}, got {shown(j)}")
    W_hy, W_rec = net.weights["W_hy"], net.weights[net.recurrent_name]
    readout = [
        {"k": k, "w": float(W_hy[j, k]), "delta": float(backward.dZy[t, focus, k] * n)}
        for k in range(net.outputs)
    ]
    # Nothing comes back from after the last step, nor across a truncation window's start.
    k = check_truncate(truncate)
    cut = t == T - 1 or (k is not None and (t + 1) % k == 0)
    future = [] if cut else _future_terms(net, trace, backward, W_rec, t, j, focus, n)
    own = sum(term["w"] * term["delta"] for term in readout)
    later = sum(term["w"] * term["delta"] for term in future)
    delta = float(backward.dH[t, focus, j] * n)
    return {
        "kind": "hidden_state",
        "t": t,
        "j": j,
        "h": float(trace.H[t + 1, focus, j]),
        "delta": delta,
        "readout": readout,
        "future": future,
        "future_cut": cut,
        "own_part": own,
        "future_part": later,
        "formula": (
            f"δ_{{{t},{j}}} = Σ_k W_hy[{j},k]·δo_{{{t},k}} + Σ_m {net.recurrent_name}[{j},m]·"
            f"δa_{{{t + 1},m}} = {_num(own)} + {_num(later)} = {_num(delta)}"
        ),
        "focus_sequence": focus,
        "note": OWN_NOTE,
    }


def _future_terms(
    net: Recurrent,
    trace: RecurrentTrace,
    backward: RecurrentBackward,
    W_rec: Array,
    t: int,
    j: int,
    focus: int,
    n: int,
) -> list[dict[str, Any]]:
    terms = []
    for m in range(W_rec.shape[1]):
        term = {"m": m, "w": float(W_rec[j, m]), "delta": float(backward.dA[t + 1, focus, m] * n)}
        if net.cell == "rnn":
            term["f_prime"] = float(
                net.hidden_fn.derivative(trace.A[t + 1], trace.H[t + 2])[focus, m]  # type: ignore[misc]
            )
            term["dh_next"] = float(backward.dH[t + 1, focus, m] * n)
        else:
            term["unit"] = _unit(net, net.recurrent_name, m)
        terms.append(term)
    return terms


def _plain_pass(
    net: Recurrent, X: Array, Y: Array, mask: Array | None, truncate: int | None, focus: int
) -> tuple[RecurrentTrace, RecurrentBackward, Array, Array | None]:
    trace = net.forward_trace(X)
    Y, mask = net.check_targets(Y, mask, trace.X.shape)
    _check_focus(focus, trace.X.shape[1])
    return trace, net.backward(trace, Y, mask, truncate), Y, mask


def _factors(
    net: Recurrent, trace: RecurrentTrace, backward: RecurrentBackward, name: str
) -> tuple[Array | None, Array, str]:
    """(inputs (T, n, ·) or None for a bias, deltas (T, n, ·), the summand in words)."""
    if name not in net.shapes:
        raise ValueError(f"name: expected one of {', '.join(net.shapes)}, got {shown(name)}")
    if name == "W_hy":
        return trace.H[1:], backward.dZy, "h_{t,i}·δo_{t,j}"
    if name == "b_y":
        return None, backward.dZy, "δo_{t,j}"
    if name in ("W_xh", "W_x"):
        return trace.X, backward.dA, "x_{t,i}·δa_{t,j}"
    if name in ("W_hh", "W_h"):
        return trace.H[:-1], backward.dA, "h_{t−1,i}·δa_{t,j}"
    return None, backward.dA, "δa_{t,j}"


def _check_index(net: Recurrent, name: str, i: int, j: int) -> int:
    shape = net.shapes[name]
    if not (isinstance(j, int) and 0 <= j < shape[-1]):
        raise ValueError(f"j: expected 0..{shape[-1] - 1} for {name}, got {shown(j)}")
    if len(shape) == 1:
        return 0
    if not (isinstance(i, int) and 0 <= i < shape[0]):
        raise ValueError(f"i: expected 0..{shape[0] - 1} for {name}, got {shown(i)}")
    return i


def _unit(net: Recurrent, name: str, j: int) -> dict[str, Any] | None:
    """For an lstm gate column: which gate (i, f, g, o) and which hidden unit it belongs to."""
    if net.cell != "lstm" or name not in ("W_x", "W_h", "b"):
        return None
    return {"gate": LSTM_GATES[j // net.hidden], "unit": j % net.hidden}


def _numeric_derivative(
    net: Recurrent,
    X: Array,
    Y: Array,
    mask: Array | None,
    truncate: int | None,
    name: str,
    i: int,
    j: int,
    eps: float = 1e-6,
) -> float:
    """Central difference, in one parameter, of what the gradient is the derivative of: the loss,
    or with truncation the windows' losses from held start states. The parameter is restored."""
    loss = differentiated_loss(net, X, Y, mask, truncate)
    view = net.weights[name]
    index = (i, j) if view.ndim == 2 else (j,)
    original = float(view[index])
    try:
        view[index] = original + eps
        plus = loss()
        view[index] = original - eps
        minus = loss()
    finally:
        view[index] = original
    return (plus - minus) / (2.0 * eps)


def differentiated_loss(
    net: Recurrent, X: Array, Y: Array, mask: Array | None, truncate: int | None
) -> Callable[[], float]:
    """Truncated BPTT differentiates the sum of the windows' losses, each window run from the
    state the current parameters reach at its start, held fixed there (torch's h.detach())."""
    k = check_truncate(truncate)
    if k is None:
        return lambda: net.loss(X, Y, mask)
    held = net.forward_trace(X)

    def windows() -> float:
        total = 0.0
        for start in range(0, X.shape[0], k):
            end = min(start + k, X.shape[0])
            state = (held.H[start], None if held.C is None else held.C[start])
            window = net.forward_trace(X[start:end], state)
            total += net.trace_loss(window, Y[start:end], None if mask is None else mask[start:end])
        return total

    return windows
