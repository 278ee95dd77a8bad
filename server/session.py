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

from engine.run import Run, default_config
from server import frames, messages, protocol
from server.config import DEFAULT_SPEED, Settings
from server.fairness import Engine, Lanes
from server.handlers import MessageHandlers
from server.pacing import (
    ChunkSizer,
    Credits,
    Gate,
    RateLimitedError,
)
from server.race import MetricsCache, Race
from server.room_hub import RoomHub
from server.room_link import RoomLink
from server.training_loop import TrainingLoop

# Close codes the page acts on (docs/protocol.md): a policy breach (no ack, not reading), and
# an idle session, which the page does not reconnect by itself but offers to resume.
CLOSE_POLICY = 1008
# Handlers that read no more of the run than a copy of its config, taken before they wait:
# the cost table times the numerical gradient for up to a quarter of a second a row, which
# under the engine lock would stop the run's training and frames each time.
WITHOUT_ENGINE_LOCK = frozenset({"cost"})
CLOSE_IDLE = 4000


def reports_frame_rate(message: BaseModel) -> bool:
    """A `set` of `fps` alone: the page telling the rate it draws at (as it does by itself
    while frames come), not a control; a follower's is kept for its own run after a fork."""
    return isinstance(message, protocol.Set) and message.model_fields_set == {"type", "fps"}


class Session(MessageHandlers, TrainingLoop):
    """The run of one browser tab and the stream of frames that shows it: its lifecycle, what it
    sends and receives; the handlers of each message (server/handlers.py) and the training
    loop (server/training_loop.py) are its other two parts."""

    def __init__(
        self,
        websocket: WebSocket,
        settings: Settings,
        lanes: Lanes | None = None,
        rooms: RoomHub | None = None,
    ) -> None:
        self.websocket, self.settings = websocket, settings
        # The worker's engine, shared fairly with its other sessions (server/fairness.py).
        self.engine = Engine(lanes or Lanes(), settings.slice_seconds)
        self.limits = settings.run_limits()
        self.run = Run(default_config(), limits=self.limits)
        self.run_id = 1
        self.race = Race(settings.history_cap)
        self.playing = False
        self.speed: int | str = DEFAULT_SPEED
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
        self.unsent_frame: bytes | None = None  # built (for a room) while no credit was free
        self.room = RoomLink(self, rooms, settings.rooms_off_reason)

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
        self.unsent_frame = None  # built for the old socket: a fresh one follows
        self.offer_frame()

    @property
    def client_address(self) -> str:
        """Who join attempts are counted against."""
        client = self.websocket.client
        return client.host if client else "unknown"

    @property
    def in_flight(self) -> int:
        """Frames sent and not yet acked."""
        return self.credits.in_flight

    # ----- lifecycle -------------------------------------------------------------------------

    async def serve(self) -> None:
        """Greet, then serve until the client leaves or is closed."""
        try:
            await self.send_json(await self.engine_call("state", self.hello))
            await self.send_json(await self.engine_call("data", messages.data, self.run))
            async with anyio.create_task_group() as group:
                self._cancel = group.cancel_scope.cancel
                tasks = (self.receive_loop, self.send_loop, self.train_loop, self.watchdog)
                for task in (*tasks, self.room.report_loop):
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
        if self.room.teaching:
            await self.room.mirror_text(payload["type"], text)

    async def send_bytes(self, message: bytes) -> None:
        await self.deliver(self.websocket.send_bytes, message)

    async def deliver(self, send: Callable[[Any], Awaitable[None]], message: Any) -> None:
        """Send with a deadline: a client that stopped reading (its socket buffers full) is
        closed after `send_timeout` seconds, whatever was being sent, frame, phase or text."""
        timeout = self.settings.send_timeout
        async with self.send_lock:
            if self.close_code is not None:  # closed meanwhile (a cap, a watchdog, shutdown)
                raise WebSocketDisconnect(self.close_code)
            with anyio.move_on_after(timeout) as waited:
                try:
                    await send(message)
                except RuntimeError:
                    # The socket closed under this send: uvicorn closed it (a message over its
                    # read limit, 1009) or `close` did meanwhile; starlette and uvicorn say so
                    # with a RuntimeError, which would end the session with a traceback.
                    raise WebSocketDisconnect(self.close_code or 1006) from None
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
        A frame may reach the page after a newer run's `state`: its `run` says to drop it.

        A room's teacher builds each frame for the room at once, whatever its own page's
        credit (that page gets the newest when it acks); a follower is sent the room's."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            await self.room.send_queued()  # room news; for a follower, the teacher's run
            if self.room.following:
                continue
            if self.dirty and (self.credits.free or self.room.teaching):
                self.dirty = False
                async with self.engine_lock:
                    self.unsent_frame = await self.engine_call("frame", self.frame_message)
                if self.room.teaching:
                    await self.room.publish_frame(self.unsent_frame)
            if self.unsent_frame is not None and self.credits.free:
                message, self.unsent_frame = self.unsent_frame, None
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
            # A room's teacher or student is never idle: watching is what they came for.
            quiet = not self.playing and self.room.role is None
            if quiet and time.monotonic() - self.last_activity > idle:
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
        if message.type in protocol.ROOM_MESSAGE_TYPES:
            await self.room.handle(message)
            self.applied += 1
            return
        if self.room.following and not reports_frame_rate(message):
            raise self.room.refusal()
        handler = getattr(self, f"on_{message.type}")
        if message.type in WITHOUT_ENGINE_LOCK:
            await handler(message)  # it measures copies: training and frames go on meanwhile
            self.applied += 1
            return
        async with self.engine_lock:
            await handler(message)
            self.applied += 1
            self.changed()

    # ----- messages to the client ------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        greeting = messages.hello(
            self.settings, self.limits, self.state_message(), self.speed, self.fps
        )
        return {**greeting, "session": self.token, "resumed": self.resumed}

    def state_message(self) -> dict[str, Any]:
        return messages.state(self.run, self.run_id, self.playing)

    def frame_message(self) -> bytes:
        if not self.room.teaching:  # a teacher's frames carry the newest points anyway (rooms)
            self.unacked.append((list(self.history), [list(v.history) for v in self.race.variants]))
        header = {
            "run": self.run_id,
            "playing": self.playing,
            "speed": self.speed,
            "fps": self.fps,
            "seq": self.applied,
        }
        history = self.room.frame_history(self.history) if self.room.teaching else self.history
        return messages.frame(self.run, self.metrics(), history, self.race, self.settings, header)
