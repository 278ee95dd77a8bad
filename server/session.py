"""One websocket connection's training session: a receiver, a frame sender, a training loop and
an ack watchdog side by side; when one ends the others are cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi import WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from engine.run import Limits, Run, TrainStatus, default_config
from server import frames, protocol
from server.config import PROTOCOL_VERSION, Settings

MAX_CHUNK = 1000  # iterations per engine call, whatever the speed
MAX_STEP_ITERATIONS = 20_000  # a few seconds of training at most
# Rate-limit tokens per message: building a run and sending its data, or a gradient check,
# costs far more than a slider move (a person does not need ten of them a second).
MESSAGE_COST = {"config": 20, "points": 20, "reset": 5, "inspect": 5, "compare": 5}
# A phase step costs this many tokens per phase: each is a layer's pass over the whole batch,
# sent as f64 (up to about a megabyte on the largest network).
PHASE_COST = 1
# `{"type": "ack"}` with room for whitespace; anything longer is parsed after the rate limit.
MAX_ACK_CHARS = 64


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


@dataclass
class Variant:
    """One racer of `compare`: a clone of the run with its own training options."""

    label: str
    run: Run
    history: deque
    diverged: bool = False
    cache: MetricsCache = field(default_factory=MetricsCache)

    def metrics(self) -> dict[str, Any]:
        return self.cache.get(self.run)


def add_point(history: deque, metrics: dict[str, Any]) -> None:
    """One point of a loss curve, as `history` in frames has it."""
    history.append([metrics["iteration"], metrics["train_loss"], metrics["test_loss"]])


def message_cost(message: BaseModel) -> int:
    """Rate-limit tokens `message` costs in all: a phase step pays for every phase it sends."""
    if isinstance(message, protocol.Step) and message.unit == "phase":
        return PHASE_COST * message.count
    return MESSAGE_COST.get(message.type, 1)


class TokenBucket:
    """Per-connection message rate limit: `rate` per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self, tokens: int) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < tokens:
            return False
        self.tokens -= tokens
        return True


class Session:
    """The run of one browser tab and the stream of frames that shows it."""

    def __init__(self, websocket: WebSocket, settings: Settings) -> None:
        self.websocket, self.settings = websocket, settings
        self.limits = Limits(
            max_hidden_layers=settings.max_hidden_layers,
            max_neurons=settings.max_neurons,
            max_points=settings.max_points,
        )
        self.run = Run(default_config(), limits=self.limits)
        self.variants: list[Variant] = []
        self.playing = False
        self.speed: int | str = 1
        self.fps = settings.default_fps
        self.applied = 0  # client messages applied so far: frames say which they reflect
        self.history: deque = deque(maxlen=settings.history_cap)
        self.chunk = 1  # iterations per engine call, adapted to keep each call short
        # The frame slot: `dirty` means the run changed since the last frame was built.
        self.dirty = True
        self.in_flight = 0
        self.waiting_since = time.monotonic()
        self.wake = asyncio.Event()  # a frame may be sendable (state changed or credit freed)
        self.wake.set()  # the first frame goes out right after the greeting
        self.play_event = asyncio.Event()
        self.bucket = TokenBucket(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.last_rate_error = 0.0
        self.send_lock = asyncio.Lock()
        # Serialises every use of the run: handlers, training slices, and frames built in a
        # worker thread (NumPy releases the GIL, so other sessions keep going meanwhile).
        self.engine_lock = asyncio.Lock()
        # How long each kind of engine call took last; a gradient check always goes to a thread.
        self.durations: dict[str, float] = {"inspect": math.inf}
        self._metrics = MetricsCache()
        self._cancel: Callable[[], None] | None = None

    # ----- lifecycle -------------------------------------------------------------------------

    async def serve(self) -> None:
        """Greet, then serve until the client leaves or is closed."""
        try:
            await self.send_json(self.hello())
            await self.send_json(self.data_message())
            async with anyio.create_task_group() as group:
                self._cancel = group.cancel_scope.cancel
                for task in (self.receive_loop, self.send_loop, self.train_loop, self.ack_watchdog):
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
        async with self.send_lock:
            await self.websocket.send_text(text)

    async def send_bytes(self, message: bytes) -> None:
        async with self.send_lock:
            await self.websocket.send_bytes(message)

    async def send_error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})

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
        """Build and send the newest frame whenever the run changed and a frame credit is free."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            if not self.dirty or self.in_flight >= self.settings.frame_window:
                continue
            self.dirty = False
            async with self.engine_lock:
                message = await self.engine_call("frame", self.frame_message)
                # Take the send lock before a handler can change the run: a frame of the old
                # run then always reaches the page before the new run's `state` reply.
                await self.send_lock.acquire()
            try:
                if self.in_flight == 0:
                    self.waiting_since = time.monotonic()
                self.in_flight += 1
                await self.websocket.send_bytes(message)
            finally:
                self.send_lock.release()

    async def ack_watchdog(self) -> None:
        """Close a client that holds frames without acking them for `ack_timeout` seconds."""
        timeout = self.settings.ack_timeout
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            if self.in_flight and time.monotonic() - self.waiting_since > timeout:
                await self.close(1008, f"no ack for {timeout:g} s")
                return

    def acked(self) -> None:
        if self.in_flight:
            self.in_flight -= 1
            self.waiting_since = time.monotonic()
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
        if self.frees_a_credit(text):
            self.acked()
            return
        upfront = self.upfront_cost(text)
        if not self.bucket.take(upfront):  # before parsing: parsing is work too
            await self.rate_limited()
            return
        try:
            message = protocol.parse_message(
                text if text is not None else data,
                self.settings.max_message_bytes,
                self.settings.max_json_depth,
                self.settings.max_config_bytes,
            )
            extra = message_cost(message) - upfront
            if extra > 0 and not self.bucket.take(extra):
                await self.rate_limited()
                return
            await self.apply(message)
        except ValueError as error:  # ProtocolError, and the engine's ValueError messages
            await self.send_error(str(error))

    def upfront_cost(self, text: str | None) -> int:
        """Tokens taken before parsing: one, or a config's cost for a message over the common
        limit (only a config may be that big, and parsing it is the expensive part)."""
        if text is not None and len(text) > self.settings.max_message_bytes:
            return MESSAGE_COST["config"]
        return 1

    def frees_a_credit(self, text: str | None) -> bool:
        """Whether `text` is a valid ack of a frame in flight: those skip the rate limit.

        A dropped ack would hold its frame credit for good (two fill the window, and the
        watchdog later closes a client that did ack). An ack with nothing in flight grants
        nothing, so it goes through the bucket like any other message.
        """
        if not self.in_flight or text is None or len(text) > MAX_ACK_CHARS:
            return False
        try:
            message = protocol.parse_message(text, MAX_ACK_CHARS, self.settings.max_json_depth)
        except ValueError:  # refused again below, charged, with its error
            return False
        return isinstance(message, protocol.Ack)

    async def rate_limited(self) -> None:
        # One error a second is enough to explain; more would be a flood of our own.
        now = time.monotonic()
        if now - self.last_rate_error >= 1.0:
            self.last_rate_error = now
            limit = self.settings.rate_limit_per_second
            await self.send_error(f"rate limit: more than {limit:g} messages per second; dropped")

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

    async def on_config(self, message: protocol.Config) -> None:
        config = {"network": message.network, "training": message.training, "data": message.data}
        run = Run(config, limits=self.limits)
        self.run = run
        self.set_playing(False)
        self.restart_variants()
        self.history.clear()
        await self.send_json(self.state_message())
        await self.send_json(self.data_message())

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
        self.restart_variants()
        self.history.clear()
        await self.send_json(self.state_message())

    async def on_step(self, message: protocol.Step) -> None:
        self.check_step_size(message)
        if self.playing:
            self.set_playing(False)
            await self.send_status()
        if message.unit == "phase":
            # One at a time, each sent before the next is computed: memory stays flat.
            for _ in range(message.count):
                await self.send_phase(await self.engine_call("phase", self.run.next_phase))
            return
        per_unit = 1 if message.unit == "iteration" else self.iterations_per_epoch()
        await self.train(message.count * per_unit)

    def check_step_size(self, message: protocol.Step) -> None:
        """A step runs while the receiver waits: keep it to seconds, play is for longer runs."""
        if message.unit != "epoch":
            return
        iterations = message.count * self.iterations_per_epoch()
        if iterations > MAX_STEP_ITERATIONS:
            raise ValueError(
                f"step.count: {message.count} epochs are {iterations} iterations, more than "
                f"{MAX_STEP_ITERATIONS} in one step; use play"
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
        self.restart_variants()
        self.history.clear()
        await self.send_json(self.state_message())
        await self.send_json(self.data_message())

    async def on_compare(self, message: protocol.Compare) -> None:
        # Every clone is validated before the race (or the old one) changes.
        self.variants = [self.racer(v.label, v.training()) for v in message.variants]

    async def on_export(self, message: protocol.Export) -> None:
        await self.send_json(self.export_message())

    def racer(self, label: str, training: dict[str, Any]) -> Variant:
        """A clone of the run as it is now (same data, weights, batch order), other options."""
        run = self.run.clone(training=training)
        return Variant(label, run, deque(maxlen=self.settings.history_cap))

    def restart_variants(self) -> None:
        """After a new run, reset or new points, the race restarts from the run's new weights."""
        try:
            self.variants = [self.racer(v.label, v.run.config["training"]) for v in self.variants]
        except ValueError:  # a racer's options no longer fit the new network: stop the race
            self.variants = []

    def set_playing(self, playing: bool) -> None:
        self.playing = playing
        if playing:
            self.play_event.set()
        else:
            self.play_event.clear()

    # ----- training --------------------------------------------------------------------------

    async def train_loop(self) -> None:
        """While playing: each display tick, train `speed` iterations, then offer a frame."""
        while True:
            await self.play_event.wait()
            tick_start = time.monotonic()
            interval = 1.0 / self.fps
            if self.speed == "max":
                await self.play_tick(None, deadline=tick_start + interval / 2)
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
            chunk = self.chunk if remaining is None else min(self.chunk, remaining)
            async with self.engine_lock:
                if not self.playing:  # paused (or a new run) while we waited for the lock
                    return
                status = self.train_slice(chunk)
            if remaining is not None:
                remaining -= chunk
            if not await self.after_slice(status):
                return

    async def train(self, iterations: int) -> None:
        """Train for a message handler, which holds the engine lock: in slices of at most
        `slice_seconds`, yielding to the event loop between them so other sessions go on."""
        remaining = iterations
        while remaining > 0:
            chunk = min(self.chunk, remaining)
            status = self.train_slice(chunk)
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
        """Call `function` on the event loop if its `kind` took less than a slice last time,
        else in a worker thread (NumPy releases the GIL there, so other sessions keep going).

        Small networks stay inline because a thread hand-off costs more than it saves on a
        busy machine; big ones (a 5000-point metrics pass, a gradient check) never block.
        """

        def timed() -> Any:
            # CPU time of this thread: being preempted on a busy machine does not count.
            started = time.thread_time()
            result = function(*args)
            self.durations[kind] = time.thread_time() - started
            return result

        if self.durations.get(kind, 0.0) <= self.settings.slice_seconds:
            return timed()
        return await anyio.to_thread.run_sync(timed)

    def train_slice(self, chunk: int) -> TrainStatus:
        started = time.perf_counter()  # wall time: what the other sessions wait for
        status = self.run.train(chunk)
        self.train_variants(chunk)
        self.adapt_chunk(chunk, time.perf_counter() - started)
        self._metrics.forget()
        return status

    def adapt_chunk(self, chunk: int, elapsed: float) -> None:
        per_iteration = max(elapsed / chunk, 1e-7)
        self.chunk = max(1, min(MAX_CHUNK, int(self.settings.slice_seconds / per_iteration)))

    def train_variants(self, chunk: int) -> None:
        for variant in self.variants:
            if not variant.diverged:
                variant.diverged = variant.run.train(chunk).diverged
                variant.cache.forget()

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
        for variant in self.variants:
            add_point(variant.history, variant.metrics())

    def metrics(self) -> dict[str, Any]:
        return self._metrics.get(self.run)

    # ----- messages to the client ------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "limits": self.settings.limits(),
            "defaults": default_config(),
            "options": protocol.options(),
            "lessons": protocol.lessons(),
            "speed": self.speed,
            "fps": self.fps,
            "state": self.state_message(),
        }

    def state_message(self) -> dict[str, Any]:
        return {
            "type": "state",
            "config": self.run.config,
            "network": self.run.network.to_spec(),
            "playing": self.playing,
            "iteration": self.run.iteration,
            "epoch": self.run.epoch,
        }

    def export_message(self) -> dict[str, Any]:
        """The run's config with its current weights as float64 JSON numbers: a file that
        rebuilds the network exactly (Python's float repr round-trips every double)."""
        config = copy.deepcopy(self.run.config)
        config["network"] = {**config["network"], **self.run.network.to_spec()}
        return {
            "type": "export",
            "config": config,
            "iteration": self.run.iteration,
            "epoch": self.run.epoch,
        }

    def data_message(self) -> dict[str, Any]:
        data = self.run.data
        return {
            "type": "data",
            "train": data.train_rows(),
            "test": data.test_rows(),
            "kind": data.kind,
            "n_classes": data.n_classes,
        }

    def frame_message(self) -> bytes:
        metrics = self.metrics()
        if not self.history or self.history[-1][0] != metrics["iteration"]:
            add_point(self.history, metrics)  # the history ends with this frame's own point
        header = {
            **metrics,
            "history": list(self.history),
            "playing": self.playing,
            "speed": self.speed,
            "fps": self.fps,
            "seq": self.applied,
            "focus_sample": self.run.focus,
        }
        self.history.clear()
        if self.variants:
            header["compare"] = [self.variant_summary(variant) for variant in self.variants]
        surfaces = self.run.surfaces(self.settings.output_grid, self.settings.neuron_grid)
        return frames.frame_message(header, self.parameters(), surfaces)

    def variant_summary(self, variant: Variant) -> dict[str, Any]:
        m = variant.metrics()
        summary = {
            "label": variant.label,
            "iteration": m["iteration"],
            "train_loss": m["train_loss"],
            "test_loss": m["test_loss"],
            "diverged": variant.diverged,
            "history": list(variant.history),
        }
        variant.history.clear()
        return summary

    def parameters(self) -> list[tuple[str, Any]]:
        network = self.run.network
        arrays = [(f"W/{layer}", W) for layer, W in enumerate(network.weights)]
        arrays += [(f"b/{layer}", b) for layer, b in enumerate(network.biases)]
        # The gradient the last step applied (zeros before the first one).
        gradients = self.run.trainer.last_gradients
        arrays += [(f"dW/{layer}", g["W"]) for layer, g in enumerate(gradients)]
        arrays += [(f"db/{layer}", g["b"]) for layer, g in enumerate(gradients)]
        return arrays

    async def send_phase(self, phase: dict[str, Any]) -> None:
        # The engine's phase already names its iteration and the sample it follows.
        await self.send_bytes(frames.phase_message(phase))
