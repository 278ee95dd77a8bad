"""The engine against PyTorch: losses, autograd gradients and torch.optim trajectories recorded in
tests/reference/torch_reference.json by tests/reference/make_torch_reference.py (float64 torch).

PyTorch is not needed here (nor a dependency): only the recorded numbers are. Every activation ×
every allowed output/loss pair on several shapes, soft targets, saturated logits (|z| in the
hundreds) for bce and ce, and 3 steps of SGD, SGD momentum, RMSprop and Adam, each without and
with weight decay (the engine's l2, on weights only), on three networks.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Network, Trainer
from engine.activations import HIDDEN_ACTIVATIONS

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "torch_reference.json").read_text(encoding="utf-8")
)
GRADIENT_CASES = REFERENCE["gradient_cases"]
OPTIMIZER_CASES = REFERENCE["optimizer_cases"]

# Both sides are float64 and do the same arithmetic in a different order: the differences seen
# are ~1e-15 relative. 1e-6 leaves room for that and nothing for a wrong formula.
RTOL, ATOL = 1e-6, 1e-9
PAIRS = {("linear", "mse"), ("sigmoid", "mse"), ("sigmoid", "bce"), ("softmax", "ce")}
PAIRS |= {("softmax", "mse")}


def close(actual: Any, expected: Any, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), np.asarray(expected), RTOL, ATOL, err_msg=what
    )


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[c["name"] for c in GRADIENT_CASES])
def test_loss_and_gradients_match_torch_autograd(case: dict[str, Any]) -> None:
    net = Network.from_spec(case["spec"])
    X, Y = np.array(case["X"]), np.array(case["Y"])
    # σ(z) of a saturated logit overflows exp(−z) to inf (1/inf = 0 is the right value).
    with np.errstate(over="ignore"):
        loss = net.loss(X, Y)
        grads = net.gradients(X, Y)
    assert np.isfinite(loss)
    close(loss, case["loss"], "loss")
    for layer, grad in enumerate(grads):
        close(grad["W"], case["grad_weights"][layer], f"dL/dW[{layer}]")
        close(grad["b"], case["grad_biases"][layer], f"dL/db[{layer}]")


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=[c["name"] for c in OPTIMIZER_CASES])
def test_trainer_steps_match_torch_optim(case: dict[str, Any]) -> None:
    net = Network.from_spec(case["spec"])
    trainer = Trainer(net, **case["trainer"])
    for t, step in enumerate(case["steps"], start=1):
        result = trainer.step(np.array(step["X"]), np.array(step["Y"]))
        assert not result.diverged, result.message
        close(result.loss, step["loss"], f"loss before step {t}")
        for layer, (W, b) in enumerate(zip(net.weights, net.biases, strict=True)):
            close(W, step["weights"][layer], f"W[{layer}] after step {t} ({case['torch']})")
            close(b, step["biases"][layer], f"b[{layer}] after step {t} ({case['torch']})")


def test_reference_covers_every_activation_pair_and_optimizer() -> None:
    """A regenerated reference cannot silently drop a combination."""
    combos = {
        (c["spec"]["activation"], c["spec"]["output"], c["spec"]["loss"]) for c in GRADIENT_CASES
    }
    assert combos >= {(a, o, loss) for a in HIDDEN_ACTIVATIONS for o, loss in PAIRS}
    shapes = {tuple(c["spec"]["layers"]) for c in GRADIENT_CASES}
    assert {(2, 3, 1), (3, 4, 4, 2), (2, 5, 3)} <= shapes
    saturated = {c["spec"]["loss"] for c in GRADIENT_CASES if c["max_abs_logit"] > 300}
    assert saturated >= {"bce", "ce"}
    runs = {(c["trainer"]["optimizer"], c["trainer"]["l2"] > 0) for c in OPTIMIZER_CASES}
    assert runs == {(o, wd) for o in ("sgd", "momentum", "rmsprop", "adam") for wd in (False, True)}
    assert all(len(c["steps"]) == 3 for c in OPTIMIZER_CASES)
