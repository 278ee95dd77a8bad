"""What a run of either kind (engine/run.py's `Run`, engine/recurrent_run.py's `RecurrentRun`)
does the same way: train iteration by iteration, finishing a phase-stepped iteration first; say
what `train` did; report its figures in one shape."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .checks import check_integer

# The largest |value| a parameter may be set to by hand (`edit`).
MAX_EDIT = 100.0


@dataclass(frozen=True)
class TrainStatus:
    """What `Run.train` did: iterations completed, and whether it stopped on a diverging step."""

    iterations_run: int
    diverged: bool
    message: str | None = None


def finite_or_none(value: float | None) -> float | None:
    """JSON has no inf or NaN: an overflowed figure is reported as None."""
    return value if value is None or math.isfinite(value) else None


class Stepping:
    """A run gives `_one_iteration() -> (diverged, message)`, `next_phase()` and the counters
    `iteration` and `epoch`."""

    def train(self, iterations: int) -> TrainStatus:
        """Run up to `iterations` iterations; stop at a diverging step (its parameters are kept
        from before it). A phase-stepped iteration in progress is completed first."""
        check_integer("iterations", iterations, 1, 1_000_000)
        for done in range(iterations):
            diverged, message = self._one_iteration()
            if diverged:
                return TrainStatus(done, True, message)
        return TrainStatus(iterations, False, None)

    def _finish_phases(self) -> dict[str, Any]:
        phase = self.next_phase()
        while phase["phase"] != "update":
            phase = self.next_phase()
        return phase

    def _metrics(
        self,
        train: tuple[float | None, float | None],
        test: tuple[float | None, float | None],
        layers: list[dict[str, float | None]],
    ) -> dict[str, Any]:
        """`metrics()`'s figures (docs/architecture.md): the counters, (loss, accuracy) on the
        training and on the test set, and the per-layer figures."""
        (train_loss, train_accuracy), (test_loss, test_accuracy) = train, test
        return {
            "iteration": self.iteration,
            "epoch": self.epoch,
            "train_loss": train_loss,
            "test_loss": test_loss,
            "train_accuracy": train_accuracy,
            "test_accuracy": test_accuracy,
            "layers": layers,
        }
