"""engine.Recurrent and the Trainer against PyTorch: float64 torch.nn.RNN / torch.nn.LSTM with a
linear readout, autograd through time, truncated BPTT (h.detach() at each window start),
clip_grad_norm_ and torch.optim, recorded in tests/reference/torch_recurrent_reference.json by
tests/reference/make_torch_recurrent_reference.py. Torch itself is not needed here."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Recurrent, Trainer

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "torch_recurrent_reference.json").read_text("utf-8")
)
GRADIENT_CASES = REFERENCE["gradient_cases"]
TRAJECTORY_CASES = REFERENCE["trajectory_cases"]
# Both sides are float64 doing the same arithmetic in another order (~1e-15 relative apart).
RTOL, ATOL = 1e-6, 1e-9


def close(actual: Any, expected: Any, what: str) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), RTOL, ATOL, err_msg=what)


def mask_of(case: dict[str, Any]) -> np.ndarray | None:
    """The recorded mask, or None (the engine's every-step path) when it is all ones."""
    mask = np.array(case["mask"])
    return None if mask.all() else mask


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[c["name"] for c in GRADIENT_CASES])
def test_loss_and_bptt_gradients_match_torch(case: dict[str, Any]) -> None:
    net = Recurrent.from_spec(case["spec"])
    X, Y, mask = np.array(case["X"]), np.array(case["Y"]), mask_of(case)
    close(net.loss(X, Y, mask), case["loss"], "loss")
    grads = net.gradients(X, Y, mask, truncate=case["truncate"])
    for name, expected in case["grads"].items():
        close(grads[name], expected, f"dL/d{name}")


@pytest.mark.parametrize("case", TRAJECTORY_CASES, ids=[c["name"] for c in TRAJECTORY_CASES])
def test_trainer_steps_match_torch_optim_with_clipping_and_truncation(case: dict) -> None:
    net = Recurrent.from_spec(case["spec"])
    trainer = Trainer(net, **case["trainer"])
    for t, step in enumerate(case["steps"], start=1):
        X, Y, mask = np.array(step["X"]), np.array(step["Y"]), mask_of(step)
        result = trainer.step(X, Y, mask)
        assert not result.diverged, result.message
        close(result.loss, step["loss"], f"loss before step {t}")
        if step["gradient_norm"] is not None:
            close(trainer.last_gradient_norm, step["gradient_norm"], f"norm at step {t}")
        for name, expected in step["weights"].items():
            close(net.weights[name], expected, f"{name} after step {t}")


def test_reference_covers_both_cells_truncation_masks_clipping_and_every_optimizer() -> None:
    cases = {
        (c["spec"]["cell"], c["spec"]["activation"], c["spec"]["loss"], c["truncate"])
        for c in GRADIENT_CASES
    }
    cells = {("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh")}
    expected = {(*cell, loss) for cell in cells for loss in ("mse", "bce", "ce")}
    assert cases == {(*e, k) for e in expected for k in (None, 3)}
    assert sum(not np.array(c["mask"]).all() for c in GRADIENT_CASES) == len(GRADIENT_CASES) // 2
    runs = {
        (c["trainer"]["optimizer"], c["spec"]["cell"], c["trainer"]["clip"] > 0)
        for c in TRAJECTORY_CASES
    }
    optimizers = ("sgd", "momentum", "rmsprop", "adam")
    assert runs == {
        (o, cell, clip) for o in optimizers for cell in ("rnn", "lstm") for clip in (0, 1)
    }
    # Clipping really clipped somewhere (norms above 0.5), so the check means something.
    norms = [s["gradient_norm"] for c in TRAJECTORY_CASES for s in c["steps"] if s["gradient_norm"]]
    assert max(norms) > 0.5
