"""Backpropagation made visible: one training iteration as an ordered stream of phases, and the
chain-rule arithmetic behind any single weight, bias or neuron, with its real numbers."""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .datasets import shown
from .gradcheck import parameter_index
from .network import Backward, Network, Trace

if TYPE_CHECKING:
    from .trainer import Trainer

Array = np.ndarray

PLAIN_GRADIENT_NOTE = (
    "the exact gradient of the network's loss on this batch, without dropout; "
    "L1/L2 penalties appear under 'penalty' when given"
)


# ----- the phase stream ---------------------------------------------------------------------

# A followed sample: a row of the batch (int), or a sample (x: (d,), y: (k,)) the batch does not
# hold, followed with the batch's weights. Such a sample is not trained on: no dropout mask is
# drawn for it (drawing one would change the run's random stream) and it adds nothing to ΔW.
Focus = int | tuple[Array, Array]


def iteration_phases(trainer: "Trainer", X: Array, Y: Array, focus: Focus = 0) -> Iterator[dict]:
    """forward (l = 0 … L−1), loss, backward (l = L−1 … 0), update; see docs/architecture.md.

    Each phase but the update carries, under "focus", the followed sample's own values (Z, A,
    its loss, δ and ∂L/∂W as if it were a batch of one), computed with the weights the batch
    sees, whether or not the sample is in the batch.
    Running every phase leaves the network bit-for-bit where `trainer.step(X, Y)` would.
    Inputs are checked here, before the first phase, so bad input changes nothing.
    """
    net = trainer.net
    X = net._check_inputs(X)
    Y = net._check_targets(Y, X.shape[0])
    focus = _checked_focus(net, focus, X.shape[0])
    return _phases(trainer, X, Y, focus)


def _phases(trainer: "Trainer", X: Array, Y: Array, focus: Focus) -> Iterator[dict]:
    net = trainer.net
    # errstate is entered per computation, never across a yield, so it cannot leak to the caller.
    with np.errstate(all="ignore"):
        trace = trainer.forward(X)
        own_trace, own_Y = _own_pass(net, trace, Y, focus)
    for layer in range(net.n_layers):
        yield _forward_phase(trace, own_trace, layer)
    with np.errstate(all="ignore"):
        per_sample = net.loss_fn.per_sample(trace.Z[-1], trace.A[-1], Y)
        loss = float(per_sample.mean())
        own_loss = float(net.loss_fn.per_sample(own_trace.Z[-1], own_trace.A[-1], own_Y)[0])
    yield {
        "phase": "loss",
        "loss": loss,
        "Yhat": trace.A[-1],
        "Y": Y,
        "focus": {"loss": own_loss},
    }
    with np.errstate(all="ignore"):
        grads, gradient = trainer.backward(trace, Y)
        own = net.backward(own_trace, own_Y)
    dW_batch, db_batch = net.unflatten(gradient)
    for layer in range(net.n_layers - 1, -1, -1):
        yield {
            "phase": "backward",
            "layer": layer,
            "dZ": grads.dZ[layer],
            "dW": dW_batch[layer],
            "db": db_batch[layer],
            "focus": {"dZ": own.dZ[layer][0], "dW": own.dW[layer]},
        }
    yield _update_phase(trainer, gradient, loss)


def _own_pass(net: Network, trace: Trace, Y: Array, focus: Focus) -> tuple[Trace, Array]:
    """The followed sample's forward pass as a batch of one, and its target (1, k): its row of
    the batch's pass (its own dropout mask row included), or its own pass with the same weights."""
    if isinstance(focus, tuple):
        x, y = focus
        return net.forward_trace(x[None, :]), y[None, :]
    return _sample_trace(trace, focus), Y[focus : focus + 1]


def _forward_phase(trace: Trace, own: Trace, layer: int) -> dict[str, Any]:
    return {
        "phase": "forward",
        "layer": layer,
        "Z": trace.Z[layer],
        "A": trace.A[layer],
        "mask": trace.masks[layer] if trace.masks is not None else None,
        "focus": {"Z": own.Z[layer][0], "A": own.A[layer][0]},
    }


def _update_phase(trainer: "Trainer", gradient: Array, loss: float) -> dict[str, Any]:
    net = trainer.net
    with np.errstate(all="ignore"):
        result = trainer.update(gradient, loss) if np.isfinite(loss) else None
    diverged = result is None or result.diverged
    delta = np.zeros_like(net.params) if diverged else trainer._last_update
    dW, db = net.unflatten(delta)
    return {
        "phase": "update",
        "dW": dW,
        "db": db,
        "W": [W.copy() for W in net.weights],
        "b": [b.copy() for b in net.biases],
        "diverged": diverged,
    }


def _sample_trace(trace: Trace, s: int) -> Trace:
    """The forward pass of sample s alone (its own dropout mask row included)."""
    rows = slice(s, s + 1)
    masks = None if trace.masks is None else [m if m is None else m[rows] for m in trace.masks]
    return Trace(
        trace.X[rows],
        [Z[rows] for Z in trace.Z],
        [A[rows] for A in trace.A],
        [F[rows] for F in trace.F],
        masks,
    )


def _check_focus(focus: Any, n: int) -> None:
    if not isinstance(focus, int | np.integer) or isinstance(focus, bool) or not 0 <= focus < n:
        raise ValueError(f"focus: expected a sample index in 0..{n - 1}, got {shown(focus)}")


def _checked_focus(net: Network, focus: Any, n: int) -> Focus:
    """A row of the batch (0..n−1), or a sample (x, y) outside it with the network's shapes."""
    if not isinstance(focus, tuple):
        _check_focus(focus, n)
        return int(focus)
    if len(focus) != 2:
        raise ValueError(f"focus: expected a row of the batch or (x, y), got {shown(focus)}")
    try:
        x = net._check_inputs(np.asarray(focus[0], dtype=np.float64)[None, :])[0]
        y = net._check_targets(np.asarray(focus[1], dtype=np.float64)[None, :], 1)[0]
    except (ValueError, IndexError) as error:
        raise ValueError(f"focus: {error}") from None
    return x, y


# ----- the chain rule of one weight, bias or neuron -----------------------------------------


class _Pass(NamedTuple):
    """A plain (no dropout) forward and backward pass of the batch, and of the focus sample as a
    batch of one (`own_trace`, `own_Y` (1, k), `own`); `focus` is its row of the batch, or None
    when the batch does not hold it."""

    trace: Trace
    batch: Backward
    own_trace: Trace
    own_Y: Array  # noqa: N815 (math names)
    own: Backward
    focus: int | None


def _plain_pass(net: Network, X: Array, Y: Array, focus: Focus) -> _Pass:
    trace = net.forward_trace(X)
    Y = net._check_targets(Y, trace.X.shape[0])
    focus = _checked_focus(net, focus, trace.X.shape[0])
    batch = net.backward(trace, Y)
    own_trace, own_Y = _own_pass(net, trace, Y, focus)
    own = net.backward(own_trace, own_Y)
    row = None if isinstance(focus, tuple) else focus
    return _Pass(trace, batch, own_trace, own_Y, own, row)


def explain_weight(
    net: Network,
    X: Array,
    Y: Array,
    layer: int,
    i: int,
    j: int,
    focus: Focus = 0,
    l1: float = 0.0,
    l2: float = 0.0,
) -> dict[str, Any]:
    """∂L/∂w for w = W[layer][i, j]: a_i · δ_j for the focus sample and averaged over the batch.

    focus: a row of the batch, or a sample (x, y) outside it (see `Focus`).
    l1, l2: when given, the penalty terms λ₁·sign(w) and λ₂·w the trainer adds are listed too.
    """
    parameter_index(net, "W", layer, i, j)
    chain = _plain_pass(net, X, Y, focus)
    inputs = _layer_inputs(chain.trace, layer)
    a_i = float(_layer_inputs(chain.own_trace, layer)[0, i])
    value = float(net.weights[layer][i, j])
    gradient = float(chain.batch.dW[layer][i, j])
    explanation = _explain_parameter(net, chain, layer, j, inputs[:, i], a_i, value, gradient, "w")
    explanation.update(kind="weight", layer=layer, i=i, j=j)
    if l1 or l2:
        penalty = l1 * float(np.sign(value)) + l2 * value
        explanation["penalty"] = {"l1": l1, "l2": l2, "value": penalty}
        explanation["gradient_with_penalty"] = gradient + penalty
    return explanation


def explain_bias(
    net: Network, X: Array, Y: Array, layer: int, j: int, focus: Focus = 0
) -> dict[str, Any]:
    """∂L/∂b for b = b[layer][j]: a bias is a weight from a node that always outputs 1."""
    parameter_index(net, "b", layer, 0, j)
    chain = _plain_pass(net, X, Y, focus)
    ones = np.ones(chain.trace.X.shape[0])
    value = float(net.biases[layer][j])
    gradient = float(chain.batch.db[layer][j])
    explanation = _explain_parameter(net, chain, layer, j, ones, 1.0, value, gradient, "b")
    explanation.update(kind="bias", layer=layer, j=j, trained=net.bias)
    return explanation


def explain_neuron(
    net: Network, X: Array, Y: Array, layer: int, j: int, focus: Focus = 0
) -> dict[str, Any]:
    """Neuron (layer, j) for the focus sample: z_j = Σ_i a_i·w_ij + b_j, a_j = f(z_j), and δ_j."""
    parameter_index(net, "b", layer, 0, j)
    chain = _plain_pass(net, X, Y, focus)
    inputs = _layer_inputs(chain.own_trace, layer)[0]
    W, b = net.weights[layer], net.biases[layer]
    incoming = [
        {"i": i, "a": float(inputs[i]), "w": float(W[i, j]), "product": float(inputs[i] * W[i, j])}
        for i in range(W.shape[0])
    ]
    z = float(chain.own_trace.Z[layer][0, j])
    a = float(chain.own_trace.A[layer][0, j])
    delta = _delta_terms(net, chain, layer, j)
    n = chain.trace.X.shape[0]
    sum_text = " + ".join(f"{_num(t['a'])}×{_num(t['w'])}" for t in incoming)
    return {
        "kind": "neuron",
        "layer": layer,
        "j": j,
        "focus_sample": chain.focus,
        "z": z,
        "a": a,
        "bias": float(b[j]),
        "incoming": incoming,
        "activation": net.output if layer == net.n_layers - 1 else net.activation,
        "delta": delta,
        "batch_mean_delta": float(chain.batch.dZ[layer][:, j].sum()),
        "n": n,
        "formula": f"z_j = Σ a_i·w_ij + b_j = {sum_text} + {_num(float(b[j]))} = {_num(z)}",
        "delta_formula": delta["formula"],
        "note": PLAIN_GRADIENT_NOTE,
    }


def _layer_inputs(trace: Trace, layer: int) -> Array:
    """What flows into weight layer `layer`: features X or the previous layer's A, (n, fan_in)."""
    return trace.X if layer == 0 else trace.A[layer - 1]


def _explain_parameter(
    net: Network,
    chain: _Pass,
    layer: int,
    j: int,
    inputs: Array,
    a_i: float,
    value: float,
    gradient: float,
    symbol: str,
) -> dict[str, Any]:
    """The common part of a weight and a bias (symbol "b", a_i = 1): ∂L/∂w = a_i · δ_j.
    inputs: a_i of each sample of the batch, (n,); a_i: the focus sample's."""
    n = inputs.shape[0]
    delta = _delta_terms(net, chain, layer, j)
    product = a_i * delta["delta"]
    # The batch dZ already carries the 1/n of the mean; times n it is each sample's own δ.
    own_deltas = chain.batch.dZ[layer][:, j] * n
    mean_product = float(np.mean(inputs * own_deltas))
    return {
        "value": value,
        "gradient": gradient,
        "focus_sample": chain.focus,
        "focus": {"a_i": a_i, "delta_j": delta["delta"], "product": product, "delta": delta},
        "batch": {"n": n, "mean_a_delta": mean_product, "gradient": gradient},
        "formula": (
            f"∂L/∂{symbol} = a_i · δ_j = {_num(a_i)} × {_num(delta['delta'])} = {_num(product)}"
        ),
        "delta_formula": delta["formula"],
        "batch_formula": (
            f"∂L/∂{symbol} = mean over {n} sample{'s' if n > 1 else ''} of a_i · δ_j "
            f"= {_num(mean_product)} "
            f"(backprop: {_num(gradient)})"
        ),
        "note": PLAIN_GRADIENT_NOTE,
    }


def _delta_terms(net: Network, chain: _Pass, layer: int, j: int) -> dict[str, Any]:
    """δ_j = ∂L/∂z_j of the focus sample, and the terms it is made of."""
    delta = float(chain.own.dZ[layer][0, j])
    if layer < net.n_layers - 1:
        return _hidden_delta(net, chain, layer, j, delta)
    own = chain.own_trace
    yhat = float(own.A[-1][0, j])
    y = float(chain.own_Y[0, j])
    if net.loss_fn.fused is not None:
        return {
            "kind": f"{net.output}+{net.loss_name}",
            "delta": delta,
            "yhat": yhat,
            "y": y,
            "formula": f"δ_j = ŷ_j − y_j = {_num(yhat)} − {_num(y)} = {_num(delta)}",
        }
    if net.output == "softmax":
        return _softmax_mse_delta(chain, j, delta)
    f_prime = float(net.output_fn.derivative(own.Z[-1], own.A[-1])[0, j])
    return {
        "kind": "output",
        "delta": delta,
        "yhat": yhat,
        "y": y,
        "dL_dyhat": yhat - y,
        "f_prime": f_prime,
        "formula": (
            f"δ_j = ∂L/∂ŷ_j · f′(z_j) = ({_num(yhat)} − {_num(y)}) × {_num(f_prime)} "
            f"= {_num(delta)}"
        ),
    }


def _hidden_delta(net: Network, chain: _Pass, layer: int, j: int, delta: float) -> dict[str, Any]:
    own = chain.own_trace
    f_prime = float(
        net.hidden_fn.derivative(own.Z[layer], own.F[layer])[0, j]  # type: ignore[misc]
    )
    W_next = net.weights[layer + 1]
    downstream_deltas = chain.own.dZ[layer + 1][0]
    downstream = [
        {
            "k": k,
            "w": float(W_next[j, k]),
            "delta": float(downstream_deltas[k]),
            "product": float(W_next[j, k] * downstream_deltas[k]),
        }
        for k in range(W_next.shape[1])
    ]
    total = float(W_next[j] @ downstream_deltas)
    terms = " + ".join(f"{_num(t['w'])}×{_num(t['delta'])}" for t in downstream)
    return {
        "kind": "hidden",
        "delta": delta,
        "z": float(own.Z[layer][0, j]),
        "f_prime": f_prime,
        "downstream": downstream,
        "sum": total,
        "formula": (
            f"δ_j = f′(z_j) · Σ_k w_jk δ_k = {_num(f_prime)} × ({terms}) "
            f"= {_num(f_prime)} × {_num(total)} = {_num(delta)}"
        ),
    }


def _softmax_mse_delta(chain: _Pass, j: int, delta: float) -> dict[str, Any]:
    yhat = chain.own_trace.A[-1][0]
    g = yhat - chain.own_Y[0]
    weighted = float(yhat @ g)
    return {
        "kind": "softmax+mse",
        "delta": delta,
        "yhat": float(yhat[j]),
        "y": float(chain.own_Y[0, j]),
        "dL_dyhat": float(g[j]),
        "weighted_sum": weighted,
        "formula": (
            f"δ_j = ŷ_j · (∂L/∂ŷ_j − Σ_k ŷ_k ∂L/∂ŷ_k) = {_num(float(yhat[j]))} × "
            f"({_num(float(g[j]))} − {_num(weighted)}) = {_num(delta)}"
        ),
    }


def _num(x: float) -> str:
    """Four significant digits; negative numbers in parentheses so products read unambiguously."""
    text = f"{x:.4g}"
    return f"({text})" if x < 0 else text
