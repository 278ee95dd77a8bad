"""Generate tests/reference/torch_reference.json: PyTorch's float64 autograd and torch.optim on
fixed networks, so tests/test_torch_reference.py can check the engine without importing torch.

    pip install torch==2.13.0   # only to regenerate; never a dependency of the project
    python tests/reference/make_torch_reference.py

Networks are written out by hand in torch (z = a @ W + b with W shaped (fan_in, fan_out), as in
the engine), not with nn.Linear. The losses follow the engine's definitions and are checked,
value and gradient, against torch's own functional losses where the two coincide:

    mse = mean over samples of Σ_outputs ½(ŷ − y)²   == F.mse_loss(reduction="sum") / (2n)
    bce = mean over samples of Σ_outputs −[y log σ(z) + (1 − y) log(1 − σ(z))]
                                                     == F.binary_cross_entropy_with_logits(
                                                            reduction="sum") / n
    ce  = mean over samples of −Σ_outputs y log softmax(z)
                                                     == F.cross_entropy(reduction="sum") / n

Optimizers: torch.optim.SGD(lr=0.1), SGD(lr=0.1, momentum=0.9), RMSprop(lr=0.01), Adam(lr=0.01),
all other hyperparameters at torch's defaults, each without and with weight_decay. The engine's
l2 is coupled like weight_decay but applies to weights only, so weights and biases are two param
groups and only the weights' group has weight_decay.

All inputs (X, Y, weights, biases) come from one seeded NumPy generator and are written into the
JSON with full float64 precision (json writes repr of each float), so the file is self-contained.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (torch's usual name)
from reference_json import write_cases  # this folder is on sys.path

OUT = Path(__file__).with_name("torch_reference.json")
SEED = 20240613
N_SAMPLES = 4
N_STEPS = 3
WEIGHT_DECAY = 0.05

ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")
PAIRS = (
    ("linear", "mse"),
    ("sigmoid", "mse"),
    ("sigmoid", "bce"),
    ("softmax", "ce"),
    ("softmax", "mse"),
)
SHAPES = ([2, 3, 1], [3, 4, 4, 2], [2, 5, 3])

# (engine trainer options, torch optimizer factory, description); hyperparameters not named are
# torch's defaults, which are also the engine's (momentum 0.9, alpha 0.99, betas, eps 1e-8).
OPTIMIZERS: tuple[tuple[dict[str, Any], Any, str], ...] = (
    ({"optimizer": "sgd", "lr": 0.1}, lambda g: torch.optim.SGD(g, lr=0.1), "SGD(lr=0.1)"),
    (
        {"optimizer": "momentum", "lr": 0.1, "momentum": 0.9},
        lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9),
        "SGD(lr=0.1, momentum=0.9)",
    ),
    (
        {"optimizer": "rmsprop", "lr": 0.01},
        lambda g: torch.optim.RMSprop(g, lr=0.01),
        "RMSprop(lr=0.01)",
    ),
    ({"optimizer": "adam", "lr": 0.01}, lambda g: torch.optim.Adam(g, lr=0.01), "Adam(lr=0.01)"),
)
# Networks every optimizer configuration is run on (layers, activation, output, loss).
OPTIMIZER_NETWORKS = (
    ([3, 4, 4, 2], "tanh", "softmax", "ce"),
    ([2, 5, 3], "leaky_relu", "linear", "mse"),
    ([2, 3, 1], "relu", "sigmoid", "bce"),
)

TOL = 1e-12  # explicit loss vs torch's functional loss: same value and gradient, up to rounding


def hidden(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "linear":
        return z
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    if name == "leaky_relu":
        return F.leaky_relu(z, negative_slope=0.01)
    raise ValueError(name)


def logits(spec: dict[str, Any], X: torch.Tensor, Ws, bs) -> torch.Tensor:
    a = X
    for layer, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        z = a @ W + b
        if layer == len(Ws) - 1:
            return z
        a = hidden(spec["activation"], z)
    raise AssertionError("unreachable")


def output(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "linear":
        return z
    if name == "sigmoid":
        return torch.sigmoid(z)
    return torch.softmax(z, dim=1)


def explicit_loss(spec: dict[str, Any], z: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """The engine's definition, written out (log σ and log softmax in their stable forms)."""
    loss = spec["loss"]
    if loss == "mse":
        r = output(spec["output"], z) - Y
        per_sample = (0.5 * r * r).sum(dim=1)
    elif loss == "bce":
        per_sample = -(Y * F.logsigmoid(z) + (1.0 - Y) * F.logsigmoid(-z)).sum(dim=1)
    else:
        per_sample = -(Y * torch.log_softmax(z, dim=1)).sum(dim=1)
    return per_sample.mean()


def functional_losses(spec: dict[str, Any], z: torch.Tensor, Y: torch.Tensor) -> list:
    """The same loss through torch's own functional losses (each must agree with the above)."""
    n = z.shape[0]
    loss = spec["loss"]
    if loss == "mse":
        return [F.mse_loss(output(spec["output"], z), Y, reduction="sum") / (2 * n)]
    if loss == "bce":
        found = [F.binary_cross_entropy_with_logits(z, Y, reduction="sum") / n]
        if z.abs().max() < 30:  # F.binary_cross_entropy clamps log at -100: only unsaturated
            found.append(F.binary_cross_entropy(torch.sigmoid(z), Y, reduction="sum") / n)
        return found
    found = [F.cross_entropy(z, Y, reduction="sum") / n]  # probability targets
    if bool(((Y == 0) | (Y == 1)).all()) and bool((Y.sum(dim=1) == 1).all()):
        found.append(F.cross_entropy(z, Y.argmax(dim=1), reduction="sum") / n)  # class indices
    return found


def tensors(spec: dict[str, Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in spec["weights"]]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in spec["biases"]]
    return Ws, bs


def loss_and_gradients(spec: dict[str, Any], X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """Loss and autograd gradients with the explicit loss, checked against the functional ones."""
    Xt = torch.tensor(X, dtype=torch.float64)
    Yt = torch.tensor(Y, dtype=torch.float64)
    Ws, bs = tensors(spec)
    params = [*Ws, *bs]
    z = logits(spec, Xt, Ws, bs)
    loss = explicit_loss(spec, z, Yt)
    grads = torch.autograd.grad(loss, params, retain_graph=True)
    for other in functional_losses(spec, z, Yt):
        other_grads = torch.autograd.grad(other, params, retain_graph=True)
        assert abs(other.item() - loss.item()) <= TOL * max(1.0, abs(loss.item())), spec
        for g, h in zip(grads, other_grads, strict=True):
            assert torch.allclose(g, h, rtol=TOL, atol=TOL), spec
    n_layers = len(Ws)
    return {
        "loss": loss.item(),
        "grad_weights": [g.tolist() for g in grads[:n_layers]],
        "grad_biases": [g.tolist() for g in grads[n_layers:]],
        "max_abs_logit": z.abs().max().item(),
    }


def random_spec(
    rng: np.random.Generator, layers: list[int], activation: str, out: str, loss: str
) -> dict[str, Any]:
    weights, biases = [], []
    for fan_in, fan_out in itertools.pairwise(layers):
        limit = 1.5 * math.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, size=(fan_in, fan_out)).tolist())
        biases.append(rng.normal(0.0, 0.3, size=fan_out).tolist())
    return {
        "layers": layers,
        "activation": activation,
        "output": out,
        "loss": loss,
        "weights": weights,
        "biases": biases,
    }


def random_batch(
    rng: np.random.Generator, spec: dict[str, Any], n: int = N_SAMPLES
) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(0.0, 1.0, size=(n, spec["layers"][0]))
    k = spec["layers"][-1]
    if spec["loss"] == "bce":
        Y = (rng.random((n, k)) < 0.5).astype(np.float64)
    elif spec["output"] == "softmax":
        Y = np.eye(k)[rng.integers(0, k, size=n)]
    elif spec["output"] == "sigmoid":
        Y = rng.uniform(0.0, 1.0, size=(n, k))
    else:
        Y = rng.normal(0.0, 1.0, size=(n, k))
    return X, Y


def gradient_case(name: str, spec: dict[str, Any], X: np.ndarray, Y: np.ndarray) -> dict:
    return {"name": name, "spec": spec, "X": X.tolist(), "Y": Y.tolist()} | loss_and_gradients(
        spec, X, Y
    )


def gradient_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for activation in ACTIVATIONS:
        for out, loss in PAIRS:
            for layers in SHAPES:
                if out == "softmax" and layers[-1] < 2:
                    continue
                spec = random_spec(rng, layers, activation, out, loss)
                X, Y = random_batch(rng, spec)
                name = f"{activation}/{out}+{loss}/{'-'.join(map(str, layers))}"
                cases.append(gradient_case(name, spec, X, Y))
    # Soft targets for the fused pairs (the engine's δ = ŷ − y holds for any targets).
    for out, loss in (("sigmoid", "bce"), ("softmax", "ce")):
        spec = random_spec(rng, [2, 5, 3], "tanh", out, loss)
        X, _ = random_batch(rng, spec)
        if out == "softmax":
            Y = rng.dirichlet(np.ones(3), size=N_SAMPLES)
        else:
            Y = rng.random((N_SAMPLES, 3))
        cases.append(gradient_case(f"tanh/{out}+{loss}/2-5-3/soft-targets", spec, X, Y))
    cases.extend(saturated_cases(rng))
    return cases


def saturated_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Output logits of several hundred: σ(z) and softmax(z) are exactly 0 or 1 in float64, so a
    loss computed as log(ŷ) would be −inf (or clamped); from the logits it stays exact."""
    cases = []
    for out, loss, layers in (("sigmoid", "bce", [2, 3, 2]), ("softmax", "ce", [2, 3, 3])):
        spec = random_spec(rng, layers, "tanh", out, loss)
        # Hidden tanh units are saturated by large inputs; the output layer scales them up.
        spec["weights"][-1] = (400.0 * np.sign(np.asarray(spec["weights"][-1]))).tolist()
        spec["biases"][-1] = [0.0] * layers[-1]
        X = rng.normal(0.0, 20.0, size=(N_SAMPLES, layers[0]))
        if loss == "bce":
            Y = (rng.random((N_SAMPLES, layers[-1])) < 0.5).astype(np.float64)
        else:
            Y = np.eye(layers[-1])[rng.integers(0, layers[-1], size=N_SAMPLES)]
        case = gradient_case(f"saturated/{out}+{loss}/{'-'.join(map(str, layers))}", spec, X, Y)
        assert case["max_abs_logit"] > 300 and math.isfinite(case["loss"])
        cases.append(case)
    return cases


def optimizer_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for layers, activation, out, loss in OPTIMIZER_NETWORKS:
        spec = random_spec(rng, layers, activation, out, loss)
        batches = [random_batch(rng, spec) for _ in range(N_STEPS)]
        for options, make, description in OPTIMIZERS:
            for weight_decay in (0.0, WEIGHT_DECAY):
                trainer = {**options, "l2": weight_decay}
                steps = trajectory(spec, batches, make, weight_decay)
                net = f"{activation}/{out}+{loss}/{'-'.join(map(str, layers))}"
                cases.append(
                    {
                        "name": f"{options['optimizer']}/wd={weight_decay}/{net}",
                        "torch": f"{description}, weight_decay={weight_decay} on weights only",
                        "spec": spec,
                        "trainer": trainer,
                        "steps": steps,
                    }
                )
    return cases


def trajectory(spec: dict[str, Any], batches, make, weight_decay: float) -> list[dict[str, Any]]:
    """Parameters after each torch.optim step, one batch per step; loss is before the step."""
    Ws, bs = tensors(spec)
    groups = [{"params": Ws, "weight_decay": weight_decay}, {"params": bs, "weight_decay": 0.0}]
    optimizer = make(groups)
    steps = []
    for X, Y in batches:
        Xt = torch.tensor(X, dtype=torch.float64)
        Yt = torch.tensor(Y, dtype=torch.float64)
        optimizer.zero_grad()
        loss = explicit_loss(spec, logits(spec, Xt, Ws, bs), Yt)
        loss.backward()
        optimizer.step()
        steps.append(
            {
                "X": X.tolist(),
                "Y": Y.tolist(),
                "loss": loss.item(),
                "weights": [W.detach().tolist() for W in Ws],
                "biases": [b.detach().tolist() for b in bs],
            }
        )
    return steps


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(SEED)
    grads = gradient_cases(rng)
    opts = optimizer_cases(rng)
    meta = {
        "generator": "tests/reference/make_torch_reference.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "seed": SEED,
        "dtype": "float64",
        "losses": "mse: mean_n sum_o 0.5(yhat-y)^2; bce, ce: summed over outputs, mean over n",
        "weight_decay": "torch weight_decay on the weights' param group only (engine l2)",
    }
    write_cases(OUT, meta, {"gradient_cases": grads, "optimizer_cases": opts})
    size = OUT.stat().st_size
    print(f"wrote {OUT}: {len(grads)} gradient cases, {len(opts)} optimizer cases, {size} bytes")


if __name__ == "__main__":
    main()
