"""The session's training loop: while playing, each display tick trains `speed` iterations
(or, at "max", for the time its frame leaves free) in slices short enough that messages and other
sessions get in between, then offers a frame. A part of `Session` (server/session.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.run import TrainStatus
from server.pacing import max_training_seconds, tick_iterations, tick_seconds
from server.race import add_point

if TYPE_CHECKING:
    from server.session import Session


class TrainingLoop:
    async def train_loop(self: Session) -> None:
        """While playing: each tick (a little shorter than the page's frame time), train for the
        time a frame leaves free at "max", or `speed` iterations when they fit in that time (as
        many as fit when they do not), then offer a frame."""
        while True:
            await self.play_event.wait()
            tick_start = time.monotonic()
            interval = tick_seconds(self.fps)
            durations = self.engine.durations
            frame = durations.get("frame", 0.0) + durations.get("history", 0.0)
            budget = max_training_seconds(self.fps, frame, self.settings.slice_seconds)
            if self.speed == "max":
                await self.play_tick(None, deadline=tick_start + budget)
            else:
                # Planned with the last measured cost, and stopped at the same deadline: a new
                # run far costlier than the last (an lstm after a small network) cannot hold
                # the frame back for the tick its old cost planned.
                cost = self.chunk.cpu_per_iteration
                iterations = tick_iterations(int(self.speed), budget, cost)
                await self.play_tick(iterations, deadline=tick_start + budget)
            if self.playing:
                async with self.engine_lock:
                    await self.engine_call("history", self.record_history)
                self.offer_frame()  # the figures just recorded are the frame's: keep them
            await asyncio.sleep(max(0.0, tick_start + interval - time.monotonic()))

    async def play_tick(self: Session, iterations: int | None, deadline: float) -> None:
        """One display tick of a playing run: `iterations` (None: as many as fit), in slices
        that end by `deadline` (one slice at least). The engine lock is taken per slice so that
        messages get in between slices; a pause stops the tick at the next slice."""
        remaining, sliced = iterations, False
        while remaining is None or remaining > 0:
            # At least one slice per call: on a busy machine the deadline may be gone already.
            if sliced and time.monotonic() >= deadline:
                return
            # No slice past the deadline (the first one goes anyway).
            chunk = self.chunk.fitting(deadline - time.monotonic()) if sliced else self.chunk.size
            if remaining is not None:
                chunk = min(chunk, remaining)
            sliced = True
            async with self.engine_lock:
                if not self.playing:  # paused (or a new run) while we waited for the lock
                    return
                status = await self.train_slice(chunk)
            if remaining is not None:
                remaining -= chunk
            if not await self.after_slice(status):
                return

    async def train(self: Session, iterations: int) -> None:
        """Train for a message handler, which holds the engine lock: in slices of at most
        `slice_seconds`, yielding to the event loop between them so other sessions go on."""
        remaining = iterations
        while remaining > 0:
            chunk = min(self.chunk.size, remaining)
            status = await self.train_slice(chunk)
            remaining -= chunk
            if not await self.after_slice(status):
                return

    async def after_slice(self: Session, status: TrainStatus) -> bool:
        """Pause a diverged run, else yield to the event loop; whether training may go on."""
        if status.diverged:
            await self.diverged(status.message)
            return False
        await asyncio.sleep(0)
        return True

    async def engine_call(
        self: Session, kind: str, function: Callable[..., Any], *args: Any
    ) -> Any:
        """`function(*args)` in the session's fair turn of the engine (server/fairness.py)."""
        return await self.engine.call(kind, function, *args)

    async def train_slice(self: Session, chunk: int) -> TrainStatus:
        """`chunk` iterations of the run and its racers, in the session's turn of the engine."""
        async with self.engine.inline():
            started, cpu_started = time.perf_counter(), time.thread_time()
            status = self.run.train(chunk)
            self.race.train(chunk)
            # Wall time sizes the slice (what others wait); CPU time plans a tick's iterations.
            elapsed = time.perf_counter() - started
            self.chunk.measured(chunk, elapsed, time.thread_time() - cpu_started)
        self._metrics.forget()
        return status

    async def diverged(self: Session, message: str | None) -> None:
        self.set_playing(False)
        self.changed()
        await self.send_status(message or "the run diverged and was paused")

    def iterations_per_epoch(self: Session) -> int:
        # A recurrent run has no batch size: each iteration trains on every sequence.
        batch = int(self.run.config["training"].get("batch_size", self.run.n_train))
        return max(1, -(-self.run.n_train // batch))  # the last batch of a pass may be smaller

    def record_history(self: Session) -> None:
        """One loss point per tick, for the run and each racer."""
        add_point(self.history, self.metrics())
        self.race.record()

    def metrics(self: Session) -> dict[str, Any]:
        return self._metrics.get(self.run)
