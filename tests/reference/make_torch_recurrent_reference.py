"""Generate tests/reference/torch_recurrent_reference.json: float64 torch.nn.RNN / torch.nn.LSTM
with a torch.nn.Linear readout, autograd through time, truncated BPTT with h.detach(),
torch.nn.utils.clip_grad_norm_ and torch.optim, so tests/test_torch_recurrent_reference.py can
check engine.Recurrent and the Trainer without importing torch.

    python3 -m venv /work/torchvenv && /work/torchvenv/bin/pip install torch==2.13.0 numpy
    /work/torchvenv/bin/python tests/reference/make_torch_recurrent_reference.py

Conventions (the engine's names on the left):
    W_xh = rnn.weight_ih_l0ᵀ, W_hh = rnn.weight_hh_l0ᵀ, b_h = rnn.bias_ih_l0 (rnn.bias_hh_l0 is
    held at zero, requires_grad False: the engine has one bias; torch's two always add up)
    W_x, W_h, b the same for torch.nn.LSTM (gate blocks i, f, g, o in torch's order)
    W_hy = readout.weightᵀ, b_y = readout.bias
    loss = mean over the n sequences of the sum over masked steps of the per-step loss
    (mse: Σ_outputs ½(ŷ − y)²; bce, ce: summed over outputs, from the logits)
    truncate = k: the sequence run in windows of k steps from the previous window's final state
    detached; each window's loss is backpropagated on its own and the gradients add up
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (torch's usual name)
from reference_json import write_cases  # this folder is on sys.path

OUT = Path(__file__).with_name("torch_recurrent_reference.json")
SEED = 20261130
T, N, D, H = 7, 3, 2, 4
N_STEPS = 3
WEIGHT_DECAY = 0.05

CELLS = (("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"))
OUTPUTS = (("linear", "mse", 2), ("sigmoid", "bce", 2), ("softmax", "ce", 3))
OPTIMIZERS: tuple[tuple[dict[str, Any], Any], ...] = (
    ({"optimizer": "sgd", "lr": 0.1}, lambda g: torch.optim.SGD(g, lr=0.1)),
    ({"optimizer": "momentum", "lr": 0.1}, lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9)),
    ({"optimizer": "rmsprop", "lr": 0.01}, lambda g: torch.optim.RMSprop(g, lr=0.01)),
    ({"optimizer": "adam", "lr": 0.01}, lambda g: torch.optim.Adam(g, lr=0.01)),
)


def random_spec(rng: np.random.Generator, cell: str, activation: str, out: str, loss: str, K: int):
    width = H if cell == "rnn" else 4 * H
    names = ("W_xh", "W_hh", "b_h") if cell == "rnn" else ("W_x", "W_h", "b")
    weights = {
        names[0]: rng.uniform(-0.8, 0.8, (D, width)),
        names[1]: rng.uniform(-0.8, 0.8, (H, width)),
        names[2]: rng.normal(0.0, 0.3, width),
        "W_hy": rng.uniform(-0.8, 0.8, (H, K)),
        "b_y": rng.normal(0.0, 0.3, K),
    }
    spec = {"cell": cell, "inputs": D, "hidden": H, "outputs": K, "activation": activation}
    return spec | {
        "output": out,
        "loss": loss,
        "weights": {k: v.tolist() for k, v in weights.items()},
    }


def random_batch(rng: np.random.Generator, spec: dict[str, Any]):
    K = spec["outputs"]
    X = rng.normal(0.0, 1.0, (T, N, D))
    if spec["output"] == "softmax":
        Y = np.eye(K)[rng.integers(0, K, (T, N))]
    elif spec["output"] == "sigmoid":
        Y = (rng.random((T, N, K)) < 0.5).astype(np.float64)
    else:
        Y = rng.normal(0.0, 1.0, (T, N, K))
    mask = (rng.random((T, N)) < 0.6).astype(np.float64)
    mask[-1] = 1.0
    return X, Y, mask


class Model(torch.nn.Module):
    """torch's recurrent layer and a linear readout, loaded with the engine's spec."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.cell = spec["cell"]
        if self.cell == "rnn":
            self.rnn = torch.nn.RNN(D, H, nonlinearity=spec["activation"], dtype=torch.float64)
            names = ("W_xh", "W_hh", "b_h")
        else:
            self.rnn = torch.nn.LSTM(D, H, dtype=torch.float64)
            names = ("W_x", "W_h", "b")
        self.readout = torch.nn.Linear(H, spec["outputs"], dtype=torch.float64)
        self.names = (*names, "W_hy", "b_y")
        w = {
            name: torch.tensor(value, dtype=torch.float64)
            for name, value in spec["weights"].items()
        }
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(w[names[0]].T)
            self.rnn.weight_hh_l0.copy_(w[names[1]].T)
            self.rnn.bias_ih_l0.copy_(w[names[2]])
            self.rnn.bias_hh_l0.zero_()
            self.readout.weight.copy_(w["W_hy"].T)
            self.readout.bias.copy_(w["b_y"])
        self.rnn.bias_hh_l0.requires_grad_(False)

    def trained(self) -> list[torch.Tensor]:
        """The engine's parameters, in its order."""
        r = self.rnn
        return [
            r.weight_ih_l0,
            r.weight_hh_l0,
            r.bias_ih_l0,
            self.readout.weight,
            self.readout.bias,
        ]

    def as_engine(self, tensors: list[torch.Tensor]) -> dict[str, list]:
        """Tensors laid out like `trained()` (values or gradients), by engine name and shape."""
        return {
            name: (t.detach().T if t.dim() == 2 else t.detach()).tolist()
            for name, t in zip(self.names, tensors, strict=True)
        }

    def window(self, X: torch.Tensor, state):
        out, state = self.rnn(X, state)
        return self.readout(out), state


def step_losses(spec: dict[str, Any], Z: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Per-step, per-sequence loss (T, n) from the readout logits Z (T, n, K)."""
    if spec["loss"] == "mse":
        r = Z - Y if spec["output"] == "linear" else torch.sigmoid(Z) - Y
        return (0.5 * r * r).sum(dim=2)
    if spec["loss"] == "bce":
        return F.binary_cross_entropy_with_logits(Z, Y, reduction="none").sum(dim=2)
    return -(Y * torch.log_softmax(Z, dim=2)).sum(dim=2)


def backward_through_time(model: Model, spec, X, Y, mask, truncate: int | None) -> float:
    """Accumulate the (truncated) gradient in .grad; return the loss (the windows' sum)."""
    Xt, Yt, Mt = (torch.tensor(a, dtype=torch.float64) for a in (X, Y, mask))
    k = truncate or T
    state, total = None, 0.0
    for start in range(0, T, k):
        end = min(start + k, T)
        Z, state = model.window(Xt[start:end], state)
        loss = (step_losses(spec, Z, Yt[start:end]) * Mt[start:end]).sum() / N
        loss.backward()
        total += loss.item()
        # Carried into the next window, but no gradient flows back through it.
        state = state.detach() if model.cell == "rnn" else tuple(s.detach() for s in state)
    return total


def gradient_case(spec, X, Y, mask, truncate: int | None) -> dict[str, Any]:
    model = Model(spec)
    loss = backward_through_time(model, spec, X, Y, mask, truncate)
    grads = [p.grad for p in model.trained()]
    name = f"{spec['cell']}-{spec['activation']}/{spec['output']}+{spec['loss']}/k={truncate}"
    return {
        "name": name,
        "spec": spec,
        "X": X.tolist(),
        "Y": Y.tolist(),
        "mask": mask.tolist(),
        "truncate": truncate,
        "loss": loss,
        "grads": model.as_engine(grads),
    }


def trajectory_case(rng, spec, options, make, clip: float, truncate, weight_decay: float):
    model = Model(spec)
    params = model.trained()
    weights = [p for p in params if p.dim() == 2]
    biases = [p for p in params if p.dim() == 1]
    optimizer = make(
        [{"params": weights, "weight_decay": weight_decay}, {"params": biases, "weight_decay": 0.0}]
    )
    steps = []
    for _ in range(N_STEPS):
        X, Y, mask = random_batch(rng, spec)
        optimizer.zero_grad()
        loss = backward_through_time(model, spec, X, Y, mask, truncate)
        norm = torch.nn.utils.clip_grad_norm_(params, clip).item() if clip else None
        optimizer.step()
        steps.append(
            {
                "X": X.tolist(),
                "Y": Y.tolist(),
                "mask": mask.tolist(),
                "loss": loss,
                "gradient_norm": norm,
                "weights": model.as_engine(params),
            }
        )
    trainer = {**options, "clip": clip, "truncate": truncate or 0, "l2": weight_decay}
    name = f"{options['optimizer']}/{spec['cell']}/clip={clip}/k={truncate}/wd={weight_decay}"
    return {"name": name, "spec": spec, "trainer": trainer, "steps": steps}


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(SEED)
    gradients = []
    for cell, activation in CELLS:
        for out, loss, K in OUTPUTS:
            spec = random_spec(rng, cell, activation, out, loss, K)
            X, Y, mask = random_batch(rng, spec)
            for truncate in (None, 3):
                gradients.append(gradient_case(spec, X, Y, np.ones((T, N)), truncate))
                gradients.append(gradient_case(spec, X, Y, mask, truncate))
    for case in gradients[1::2]:
        case["name"] += "/masked"
    trajectories = []
    for cell, activation in (("rnn", "tanh"), ("lstm", "tanh")):
        spec = random_spec(rng, cell, activation, "linear", "mse", 2)
        for options, make in OPTIMIZERS:
            for clip, truncate, weight_decay in ((0.0, None, 0.0), (0.5, 3, WEIGHT_DECAY)):
                trajectories.append(
                    trajectory_case(rng, spec, options, make, clip, truncate, weight_decay)
                )
    meta = {
        "generator": "tests/reference/make_torch_recurrent_reference.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "seed": SEED,
        "dtype": "float64",
    }
    write_cases(OUT, meta, {"gradient_cases": gradients, "trajectory_cases": trajectories})
    size = OUT.stat().st_size
    print(
        f"wrote {OUT}: {len(gradients)} gradient cases, {len(trajectories)} trajectories, {size} B"
    )


if __name__ == "__main__":
    main()
