"""The inspector's figures for one weight, bias or neuron of a feed-forward network: which one
is asked for, its chain rule on a batch (engine/phases.py) with a gradient check, and the same
gradient over the whole training set. `Run.inspect` (engine/run.py) chooses the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import check_choice, check_integer, check_object
from .gradcheck import check_parameter, numeric_derivative, parameter_index, relative_error
from .network import Network
from .phases import explain_bias, explain_neuron, explain_weight

# (kind, layer, i, j): i is 0 for a bias or a neuron.
Target = tuple[str, int, int, int]


def checked_target(network: Network, target: Any) -> Target:
    """The inspected parameter or neuron: target {"kind": "weight", "layer", "i", "j"} |
    {"kind": "bias" | "neuron", "layer", "j"}, checked against the network's shape."""
    target = check_object("target", target, ("kind", "layer", "i", "j"))
    kind = check_choice("kind", target.get("kind"), ("weight", "bias", "neuron"))
    layer = check_integer("layer", target.get("layer"), 0, network.n_layers - 1)
    j = check_integer("j", target.get("j"), 0, network.layers[layer + 1] - 1)
    i = 0
    if kind == "weight":
        i = check_integer("i", target.get("i"), 0, network.layers[layer] - 1)
    return kind, layer, i, j


def explain_target(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    target: Target,
    focus: int | tuple[np.ndarray, np.ndarray],
    training: dict[str, Any],
) -> dict[str, Any]:
    """The chain rule of `target` on the batch X: (n, d), Y: (n, k), following `focus` (its row
    of the batch, else its own (x, y)), with backprop checked against central differences of
    the batch's data loss: for a neuron, its batch-mean δ_j against ∂L/∂b_j (a bias sees
    exactly δ_j). A weight's gradient includes `training`'s L1/L2 penalty."""
    kind, layer, i, j = target
    if kind == "weight":
        l1, l2 = training["l1"], training["l2"]
        result = explain_weight(net, X, Y, layer, i, j, focus, l1=l1, l2=l2)
        result["gradcheck"] = check_parameter(net, X, Y, "W", layer, i, j)
    elif kind == "bias":
        result = explain_bias(net, X, Y, layer, j, focus)
        result["gradcheck"] = check_parameter(net, X, Y, "b", layer, 0, j) if net.bias else None
    else:
        result = explain_neuron(net, X, Y, layer, j, focus)
        result["gradcheck"] = _check_delta(net, X, Y, layer, j, result["batch_mean_delta"])
    return result


def training_set_gradient(
    network: Network, X: np.ndarray, Y: np.ndarray, target: Target
) -> dict[str, Any]:
    """The inspected gradient (for a neuron, its mean δ) over the whole training set
    X: (n, d), Y: (n, k), without dropout or penalty."""
    kind, layer, i, j = target
    with np.errstate(all="ignore"):
        grads = network.backward(network.forward_trace(X), Y)
    if kind == "weight":
        figure = {"gradient": float(grads.dW[layer][i, j])}
    elif kind == "bias":
        figure = {"gradient": float(grads.db[layer][j])}
    else:
        figure = {"mean_delta": float(grads.dZ[layer][:, j].sum())}
    return {"n": len(X), **figure}


def _check_delta(
    network: Network, X: np.ndarray, Y: np.ndarray, layer: int, j: int, mean_delta: float
) -> dict[str, float]:
    index = parameter_index(network, "b", layer, 0, j)
    numeric = numeric_derivative(network, X, Y, index)
    return {
        "analytic": mean_delta,
        "numeric": numeric,
        "relative_error": relative_error(mean_delta, numeric),
    }
