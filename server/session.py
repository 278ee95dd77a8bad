"""One websocket connection's training session: a receiver, a frame sender, a training loop and
an ack watchdog side by side in one task group; when one ends the others are cancelled.

What they share is the run (behind `engine_lock`), the frame slot (`dirty` + `wake`) and the
credit window. Which run a message belongs to is said, not guessed: `run_id` counts the runs
this session has started, and every state, frame and phase carries it, so the page drops
whatever belongs to an earlier run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from fastapi import WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from engine import progress
from engine.changes import apply_change, changeable
from engine.run import Limits, Run, TrainStatus, default_config
from server import frames, messages, protocol
from server.config import Settings
from server.fairness import Engine, Lanes
from server.pacing import (
    ChunkSizer,
    Credits,
    Gate,
    RateLimitedError,
    max_training_seconds,
    phase_tokens,
    tick_seconds,
)
from server.race import MetricsCache, Race, add_point

MAX_STEP_ITERATIONS = 20_000  # a few seconds of training at most
# Close codes the page acts on (docs/protocol.md): a policy breach (no ack, not reading), and
# an idle session, which the page does not reconnect by itself but offers to resume.
CLOSE_POLICY = 1008
CLOSE_IDLE = 4000


class Session:
    """The run of one browser tab and the stream of frames that shows it."""

    def __init__(
        self, websocket: WebSocket, settings: Settings, lanes: Lanes | None = None
    ) -> None:
        self.websocket, self.settings = websocket, settings
        # The worker's engine, shared fairly with its other sessions (server/fairness.py).
        self.engine = Engine(lanes or Lanes(), settings.slice_seconds)
        self.limits = Limits(
            max_hidden_layers=settings.max_hidden_layers,
            max_neurons=settings.max_neurons,
            max_points=settings.max_points,
        )
        self.run = Run(default_config(), limits=self.limits)
        self.run_id = 1
        self.race = Race(settings.history_cap)
        self.playing = False
        self.speed: int | str = 1
        self.fps = settings.default_fps
        self.applied = 0  # client messages applied so far: frames say which they reflect
        self.history: deque = deque(maxlen=settings.history_cap)
        self.chunk = ChunkSizer(settings.slice_seconds)
        # The frame slot: `dirty` means the run changed since the last frame was built.
        self.dirty = True
        self.credits = Credits(settings.frame_window)
        self.wake = asyncio.Event()  # a frame may be sendable (state changed or credit freed)
        self.wake.set()  # the first frame goes out right after the greeting
        self.play_event = asyncio.Event()
        self.gate = Gate(settings)
        self.send_lock = asyncio.Lock()
        # Serialises every use of the run: handlers, training slices, and frames built in a
        # worker thread (NumPy releases the GIL, so other sessions keep going meanwhile).
        self.engine_lock = asyncio.Lock()
        self._metrics = MetricsCache()
        self._cancel: Callable[[], None] | None = None
        # The secret a page resumes this session with after its socket dropped (server/app.py).
        self.token = secrets.token_urlsafe(24)
        self.resumed = False
        self.last_activity = time.monotonic()  # the client's last message other than an ack
        # The loss points of each frame in flight: a frame lost with its socket is not a gap.
        self.unacked: deque[tuple[list, list[list]]] = deque()
        self.close_code: int | None = None

    def attach(self, websocket: WebSocket) -> None:
        """Carry on with a new socket (a resume): what was in flight on the old one is lost,
        so its loss points go out again with the next frame (the page skips ones it has)."""
        self.websocket, self.resumed, self.close_code = websocket, True, None
        self.send_lock = asyncio.Lock()
        self.credits = Credits(self.settings.frame_window)
        while self.unacked:
            points, racers = self.unacked.pop()
            self.history.extendleft(reversed(points))
            for variant, lost in zip(self.race.variants, racers, strict=False):
                variant.history.extendleft(reversed(lost))
        self.last_activity = time.monotonic()
        self.wake = asyncio.Event()
        self.offer_frame()

    @property
    def in_flight(self) -> int:
        """Frames sent and not yet acked."""
        return self.credits.in_flight

    # ----- lifecycle -------------------------------------------------------------------------

    async def serve(self) -> None:
        """Greet, then serve until the client leaves or is closed."""
        try:
            await self.send_json(self.hello())
            await self.send_json(messages.data(self.run))
            async with anyio.create_task_group() as group:
                self._cancel = group.cancel_scope.cancel
                for task in (self.receive_loop, self.send_loop, self.train_loop, self.watchdog):
                    group.start_soon(self._until_first_ends, task, group.cancel_scope)
        except WebSocketDisconnect:
            pass

    @staticmethod
    async def _until_first_ends(
        task: Callable[[], Awaitable[None]], scope: anyio.CancelScope
    ) -> None:
        try:
            await task()
        except WebSocketDisconnect:
            pass  # the client left while we were sending: the session simply ends
        finally:
            scope.cancel()

    async def close(self, code: int, reason: str) -> None:
        """Close the socket (tolerating one already gone) and stop every task of the session."""
        self.close_code = code
        # A client that stopped reading can hold a send forever: give the close a deadline.
        with anyio.move_on_after(5), contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self.websocket.close(code, reason)
        if self._cancel is not None:
            self._cancel()

    # ----- sending ---------------------------------------------------------------------------

    async def send_json(self, payload: dict[str, Any]) -> None:
        try:  # plain Python values, all finite: the common case, and fast for 8 x 32 weights
            text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):  # NumPy scalars, or NaN from a diverged figure
            text = json.dumps(frames.json_safe(payload), separators=(",", ":"), allow_nan=False)
        await self.deliver(self.websocket.send_text, text)

    async def send_bytes(self, message: bytes) -> None:
        await self.deliver(self.websocket.send_bytes, message)

    async def deliver(self, send: Callable[[Any], Awaitable[None]], message: Any) -> None:
        """Send with a deadline: a client that stopped reading (its socket buffers full) is
        closed after `send_timeout` seconds, whatever was being sent, frame, phase or text."""
        timeout = self.settings.send_timeout
        async with self.send_lock:
            with anyio.move_on_after(timeout) as waited:
                await send(message)
        if waited.cancelled_caught:
            await self.close(CLOSE_POLICY, f"not reading: a message waited {timeout:g} s")
            raise WebSocketDisconnect(CLOSE_POLICY)

    async def send_error(self, error: ValueError) -> None:
        """A refused message: the field it names (when it names one) and what was wrong."""
        await self.send_json(protocol.error_message(error))

    async def send_status(self, message: str | None = None) -> None:
        payload: dict[str, Any] = {"type": "status", "playing": self.playing}
        if message is not None:
            payload["message"] = message
        await self.send_json(payload)

    def changed(self) -> None:
        """The run changed: forget its figures, and the next frame must show it."""
        self._metrics.forget()
        self.offer_frame()

    def offer_frame(self) -> None:
        """Fill the frame slot: the sender builds it as soon as a credit is free."""
        self.dirty = True
        self.wake.set()

    async def send_loop(self) -> None:
        """Build and send the newest frame whenever the run changed and a frame credit is free.
        A frame may reach the page after a newer run's `state`: its `run` says to drop it."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            if not self.dirty or not self.credits.free:
                continue
            self.dirty = False
            async with self.engine_lock:
                message = await self.engine_call("frame", self.frame_message)
            self.credits.spend()
            await self.send_bytes(message)

    async def watchdog(self) -> None:
        """Close a client that holds frames without acking them for `ack_timeout` seconds, and
        a session that neither plays nor sends for `idle_timeout` (it keeps a slot and memory
        that the next student may need; the page offers to resume it)."""
        timeout, idle = self.settings.ack_timeout, self.settings.idle_timeout
        while True:
            await asyncio.sleep(min(1.0, timeout / 4, idle / 4))
            if self.credits.overdue(timeout):
                await self.close(CLOSE_POLICY, f"no ack for {timeout:g} s")
                return
            if not self.playing and time.monotonic() - self.last_activity > idle:
                await self.close(CLOSE_IDLE, f"idle for {idle / 60:g} min")
                return

    def acked(self) -> None:
        if self.credits.release():
            if self.unacked:
                self.unacked.popleft()
            self.wake.set()

    # ----- receiving -------------------------------------------------------------------------

    async def receive_loop(self) -> None:
        while True:
            event = await self.websocket.receive()
            if event["type"] == "websocket.disconnect":
                return
            await self.handle_raw(event.get("text"), event.get("bytes"))
            # Queued messages are received without suspending: yield, or one flooding client
            # would hold the event loop until its queue is empty.
            await asyncio.sleep(0)

    async def handle_raw(self, text: str | None, data: bytes | None) -> None:
        try:
            admit = functools.partial(self.gate.admit, text, data, self.credits.in_flight)
            # A run-sized message takes milliseconds to parse: the session's share pays for it.
            big = text is not None and len(text) > self.settings.max_message_bytes
            message = await self.engine_call("parse", admit) if big else admit()
            if not isinstance(message, protocol.Ack):
                self.last_activity = time.monotonic()  # acks are not activity: a page sends them
            await self.apply(message)
        except RateLimitedError as refused:
            if refused.report:
                await self.send_error(ValueError(str(refused)))
        except ValueError as error:  # ProtocolError, and the engine's FieldErrors
            await self.send_error(error)

    async def apply(self, message: BaseModel) -> None:
        if isinstance(message, protocol.Ack):
            self.acked()
            return
        handler = getattr(self, f"on_{message.type}")
        async with self.engine_lock:
            await handler(message)
            self.applied += 1
            self.changed()

    # ----- message handlers: each validates fully before it changes anything -------------------

    async def new_run(self, run: Run | None = None, *, data: bool = False) -> None:
        """A new run (config, reset, new points): a new id, a fresh history, the race restarted
        on it, and the page told by `state` (and `data` when the data changed)."""
        if run is not None:
            self.run = run
        self.run_id += 1
        self.race.restart(self.run)
        self.history.clear()
        await self.send_json(self.state_message())
        if data:
            await self.send_json(messages.data(self.run))

    async def on_config(self, message: protocol.Config) -> None:
        run = await self.engine_call("config", lambda: Run(message.config(), limits=self.limits))
        self.set_playing(False)
        await self.new_run(run, data=True)

    async def on_change(self, message: protocol.Change) -> None:
        """A control changed: a live field is set on the run; any other rebuilds it, and a
        playing run keeps playing (the person changed one thing, not the transport)."""
        entry = changeable(message.path, self.limits)
        if entry.live:
            self.run.set({entry.key: message.value})
            await self.send_json(self.state_message())
            return
        config = apply_change(self.run.config, message.path, message.value, self.limits)
        await self.new_run(Run(config, limits=self.limits), data=entry.section == "data")

    async def on_set(self, message: protocol.Set) -> None:
        training = message.training()
        if training:
            self.run.set(training)
        if message.speed is not None:
            self.speed = message.speed
        if message.fps is not None:
            self.fps = message.fps

    async def on_play(self, message: protocol.Play) -> None:
        self.set_playing(True)
        await self.send_status()

    async def on_pause(self, message: protocol.Pause) -> None:
        self.set_playing(False)
        await self.send_status()

    async def on_reset(self, message: protocol.Reset) -> None:
        self.run.reset(seed=message.seed)
        await self.new_run()

    async def on_step(self, message: protocol.Step) -> None:
        self.check_step_size(message)
        if self.playing:
            self.set_playing(False)
            await self.send_status()
        if message.unit == "phase":
            await self.send_phases(message.count)
            return
        per_unit = 1 if message.unit == "iteration" else self.iterations_per_epoch()
        await self.train(message.count * per_unit)

    async def send_phases(self, count: int) -> None:
        """One phase at a time, each sent before the next is computed (memory stays flat), each
        charged by its size; a step that runs the rate limit into debt stops there."""
        bucket = self.gate.bucket
        for _ in range(count):
            if bucket.in_debt:
                refused = self.gate.refused()
                if refused.report:
                    await self.send_error(ValueError(str(refused)))
                return
            encoded = await self.engine_call("phase", self.encoded_phase)
            bucket.charge(phase_tokens(len(encoded)))
            await self.send_bytes(encoded)

    def encoded_phase(self) -> bytes:
        return frames.phase_message({**self.run.next_phase(), "run": self.run_id})

    def check_step_size(self, message: protocol.Step) -> None:
        """A step runs while the receiver waits: keep it to seconds, play is for longer runs."""
        if message.unit != "epoch":
            return
        iterations = message.count * self.iterations_per_epoch()
        if iterations > MAX_STEP_ITERATIONS:
            raise protocol.ProtocolError(
                f"{message.count} epochs are {iterations} iterations, more than "
                f"{MAX_STEP_ITERATIONS} in one step; use play",
                field="step.count",
            )

    async def on_inspect(self, message: protocol.Inspect) -> None:
        explanation = await self.engine_call("inspect", self.run.inspect, message.target())
        await self.send_json({"type": "inspect", **explanation})

    async def on_focus(self, message: protocol.Focus) -> None:
        self.run.set_focus(message.sample)

    async def on_edit(self, message: protocol.Edit) -> None:
        self.run.edit(message.param, message.layer, message.i, message.j, message.value)
        await self.send_json(self.state_message())

    async def on_points(self, message: protocol.Points) -> None:
        self.run.set_points(message.points)
        await self.new_run(data=True)

    async def on_compare(self, message: protocol.Compare) -> None:
        self.race.start(self.run, [(v.label, v.training()) for v in message.variants])

    async def on_export(self, message: protocol.Export) -> None:
        exported = await self.engine_call("export", messages.export, self.run)
        await self.send_json(exported)

    async def on_restore(self, message: protocol.Restore) -> None:
        """The run goes on from an export's progress: same run (its id too), new counters."""
        await self.engine_call("restore", progress.restore, self.run, message.progress)
        self.race.restart(self.run)
        await self.send_json(self.state_message())

    def set_playing(self, playing: bool) -> None:
        self.playing = playing
        if playing:
            self.play_event.set()
        else:
            self.play_event.clear()

    # ----- training --------------------------------------------------------------------------

    async def train_loop(self) -> None:
        """While playing: each tick (a little shorter than the page's frame time), train `speed`
        iterations, or for the time a frame leaves free at "max", then offer a frame."""
        while True:
            await self.play_event.wait()
            tick_start = time.monotonic()
            interval = tick_seconds(self.fps)
            if self.speed == "max":
                durations = self.engine.durations
                frame = durations.get("frame", 0.0) + durations.get("history", 0.0)
                budget = max_training_seconds(self.fps, frame, self.settings.slice_seconds)
                await self.play_tick(None, deadline=tick_start + budget)
            else:
                await self.play_tick(int(self.speed))
            if self.playing:
                async with self.engine_lock:
                    await self.engine_call("history", self.record_history)
                self.offer_frame()  # the figures just recorded are the frame's: keep them
            await asyncio.sleep(max(0.0, tick_start + interval - time.monotonic()))

    async def play_tick(self, iterations: int | None, deadline: float | None = None) -> None:
        """One display tick of a playing run: `iterations`, or until `deadline` when None (one
        slice at least). The engine lock is taken per slice so that messages get in between
        slices; a pause stops the tick at the next slice."""
        remaining, sliced = iterations, False
        while remaining is None or remaining > 0:
            # At least one slice per call: on a busy machine the deadline may be gone already.
            if deadline is not None and sliced and time.monotonic() >= deadline:
                return
            sliced = True
            chunk = self.chunk.size if remaining is None else min(self.chunk.size, remaining)
            async with self.engine_lock:
                if not self.playing:  # paused (or a new run) while we waited for the lock
                    return
                status = await self.train_slice(chunk)
            if remaining is not None:
                remaining -= chunk
            if not await self.after_slice(status):
                return

    async def train(self, iterations: int) -> None:
        """Train for a message handler, which holds the engine lock: in slices of at most
        `slice_seconds`, yielding to the event loop between them so other sessions go on."""
        remaining = iterations
        while remaining > 0:
            chunk = min(self.chunk.size, remaining)
            status = await self.train_slice(chunk)
            remaining -= chunk
            if not await self.after_slice(status):
                return

    async def after_slice(self, status: TrainStatus) -> bool:
        """Pause a diverged run, else yield to the event loop; whether training may go on."""
        if status.diverged:
            await self.diverged(status.message)
            return False
        await asyncio.sleep(0)
        return True

    async def engine_call(self, kind: str, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` in the session's fair turn of the engine (server/fairness.py)."""
        return await self.engine.call(kind, function, *args)

    async def train_slice(self, chunk: int) -> TrainStatus:
        """`chunk` iterations of the run and its racers, in the session's turn of the engine."""
        async with self.engine.inline():
            started = time.perf_counter()
            status = self.run.train(chunk)
            self.race.train(chunk)
            self.chunk.measured(chunk, time.perf_counter() - started)  # wall: what others wait
        self._metrics.forget()
        return status

    async def diverged(self, message: str | None) -> None:
        self.set_playing(False)
        self.changed()
        await self.send_status(message or "the run diverged and was paused")

    def iterations_per_epoch(self) -> int:
        batch = int(self.run.config["training"]["batch_size"])
        return max(1, -(-self.run.n_train // batch))  # the last batch of a pass may be smaller

    def record_history(self) -> None:
        """One loss point per tick, for the run and each racer."""
        add_point(self.history, self.metrics())
        self.race.record()

    def metrics(self) -> dict[str, Any]:
        return self._metrics.get(self.run)

    # ----- messages to the client ------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        greeting = messages.hello(
            self.settings, self.limits, self.state_message(), self.speed, self.fps
        )
        return {**greeting, "session": self.token, "resumed": self.resumed}

    def state_message(self) -> dict[str, Any]:
        return messages.state(self.run, self.run_id, self.playing)

    def frame_message(self) -> bytes:
        self.unacked.append((list(self.history), [list(v.history) for v in self.race.variants]))
        header = {
            "run": self.run_id,
            "playing": self.playing,
            "speed": self.speed,
            "fps": self.fps,
            "seq": self.applied,
        }
        return messages.frame(
            self.run, self.metrics(), self.history, self.race, self.settings, header
        )
