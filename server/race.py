"""The optimizer race (`compare`): clones of the run with other training options, trained in
lockstep with it, each with its own loss history and cached figures."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.run import Run


class MetricsCache:
    """A run's figures, computed at most once between two changes of the run: a metrics pass
    over every sample costs more than a training slice, and a tick and its frame both need it."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] | None = None

    def get(self, run: Run) -> dict[str, Any]:
        if self.figures is None:
            self.figures = run.metrics()
        return self.figures

    def forget(self) -> None:
        self.figures = None


def add_point(history: deque, metrics: dict[str, Any]) -> None:
    """One point of a loss curve, as `history` in frames has it."""
    history.append([metrics["iteration"], metrics["train_loss"], metrics["test_loss"]])


@dataclass
class Variant:
    """One racer: a clone of the run with its own training options."""

    label: str
    run: Run
    history: deque
    diverged: bool = False
    cache: MetricsCache = field(default_factory=MetricsCache)

    def metrics(self) -> dict[str, Any]:
        return self.cache.get(self.run)

    def summary(self) -> dict[str, Any]:
        """The racer's part of a frame header; its history points are handed over once."""
        figures = self.metrics()
        summary = {
            "label": self.label,
            "iteration": figures["iteration"],
            "train_loss": figures["train_loss"],
            "test_loss": figures["test_loss"],
            "diverged": self.diverged,
            "history": list(self.history),
        }
        self.history.clear()
        return summary


class Race:
    """The racers of one session; empty when no race runs."""

    def __init__(self, history_cap: int) -> None:
        self.history_cap = history_cap
        self.variants: list[Variant] = []

    def __bool__(self) -> bool:
        return bool(self.variants)

    def start(self, run: Run, variants: list[tuple[str, dict[str, Any]]]) -> None:
        """Race clones of `run` as it is now (same data, weights, batch order); every clone is
        validated before the race (or the old one) changes. [] stops the race."""
        self.variants = [self._racer(run, label, training) for label, training in variants]

    def restart(self, run: Run) -> None:
        """After a new run, reset or new points, the race restarts from the run's new weights."""
        try:
            self.start(run, [(v.label, v.run.config["training"]) for v in self.variants])
        except ValueError:  # a racer's options no longer fit the new network: stop the race
            self.variants = []

    def train(self, iterations: int) -> None:
        for variant in self.variants:
            if not variant.diverged:
                variant.diverged = variant.run.train(iterations).diverged
                variant.cache.forget()

    def record(self) -> None:
        """One loss point per racer."""
        for variant in self.variants:
            add_point(variant.history, variant.metrics())

    def summaries(self) -> list[dict[str, Any]]:
        return [variant.summary() for variant in self.variants]

    def _racer(self, run: Run, label: str, training: dict[str, Any]) -> Variant:
        return Variant(label, run.clone(training=training), deque(maxlen=self.history_cap))
