"""A session's place in a classroom room: nobody's, the teacher's, a follower's or a forked
student's. It applies the room messages, mirrors a teacher's run to the room, feeds a follower
the teacher's frames within its own credit window, and carries runs (server/room_copies.py)
and figures (server/room_contest.py) between processes (server/room_hub.py, room_broker.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocketDisconnect

from engine.datasets import shown
from server import frames, messages, protocol, rooms
from server.room_contest import Contest
from server.room_copies import RunCopies
from server.room_hub import RoomHub, new_member_id

if TYPE_CHECKING:
    from server.session import Session

# What a teacher's session mirrors to its room (and keeps for newcomers), by message type.
VIEW_TYPES = ("state", "data", "status", "inspect", "lesson")
# A teacher's frames carry the newest loss points, not only those since its last frame: a
# follower that skips frames still draws a whole curve (the page drops points it has).
ROOM_HISTORY = 32
# A fork makes the teacher's session copy its whole run: one per student every few seconds.
FORK_INTERVAL_SECONDS = 2.0
# A follower's messages waiting to be sent (state, data, phases): beyond this it cannot keep
# up with the room even without frames, and is closed rather than kept at any memory cost.
MAX_OUTBOX_BYTES = 16 * 1024 * 1024

log = logging.getLogger("backprop-lab.rooms")


def refused(message: str) -> protocol.ProtocolError:
    return protocol.ProtocolError(message, field="room")


class RoomLink:
    """The room side of one Session; `role` is None, "teacher", "follower" or "fork"."""

    def __init__(self, session: Session, hub: RoomHub | None, off_reason: str | None) -> None:
        self.session, self.hub, self.off_reason = session, hub, off_reason
        self.role: str | None = None
        self.code: str | None = None
        self.member_id = new_member_id()
        self.name = ""
        self.outbox: deque[str | bytes] = deque()
        self.outbox_bytes = 0
        self.frame: bytes | None = None  # the newest followed frame not sent yet
        self.window: deque = deque(maxlen=ROOM_HISTORY)
        self.contest = Contest(self)
        self.copies = RunCopies(self)
        self.own_run: tuple[Any, int] | None = None  # teacher showing a student: its own run
        self.forked_at = -math.inf
        self.tasks: set[asyncio.Task] = set()

    # ----- state -------------------------------------------------------------------------

    @property
    def teaching(self) -> bool:
        return self.role == "teacher"

    @property
    def following(self) -> bool:
        return self.role == "follower"

    @property
    def wants_view(self) -> bool:
        """Whether the teacher's run is queued for this connection (joining: held until the
        join's reply has gone)."""
        return self.role in ("joining", "follower")

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the session (a broker callback must not block); errors logged."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        if not isinstance(task.exception(), WebSocketDisconnect | RuntimeError):  # a closed tab
            log.warning("backprop-lab room: %r", task.exception())

    def room_message_for(self, role: str | None, **extra: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"type": "room", "role": role}
        if role is not None and self.code:
            payload.update(code=self.code, spoken=rooms.spoken(self.code))
        return {**payload, **extra}

    # ----- what the hub delivers (Member) ---------------------------------------------------

    def room_frame(self, frame: bytes) -> None:
        self.frame = frame
        self.session.wake.set()

    def room_message(self, message: str | bytes) -> None:
        """Queued in order; sent by the session's sender once the member follows."""
        if isinstance(message, str) and message.startswith('{"type":"challenge"'):
            self.contest.heard(message)
        self.outbox.append(message)
        self.outbox_bytes += len(message)
        if self.outbox_bytes > MAX_OUTBOX_BYTES:
            self.spawn(self.session.close(1008, "too slow to follow the room"))
        self.session.wake.set()

    def room_closed(self, reason: str) -> None:
        self.spawn(self._closed(reason))

    async def _closed(self, reason: str) -> None:
        await self._stop_listening()
        self._forget_room()
        await self.session.send_json({"type": "room_closed", "reason": reason})
        async with self.session.engine_lock:
            await self.session.new_run(data=True)  # the student's own run again
            self.session.changed()

    def _forget_room(self) -> None:
        self.role, self.code = None, None
        self.outbox.clear()
        self.outbox_bytes, self.frame = 0, None
        self.contest.heard(None)

    async def send_queued(self) -> None:
        """The room's messages in order, then, for a follower, the newest frame if a credit
        is free (a slow laptop gets the newest frame only)."""
        while self.outbox:
            message = self.outbox.popleft()
            self.outbox_bytes -= len(message)
            if isinstance(message, str):  # as it is: JSON already, never mirrored back
                await self.session.deliver(self.session.websocket.send_text, message)
            else:
                await self.session.send_bytes(message)
        if self.following and self.frame is not None and self.session.credits.free:
            frame, self.frame = self.frame, None
            self.session.credits.spend()
            await self.session.send_bytes(frame)

    # ----- mirroring a teacher's run -----------------------------------------------------

    def frame_history(self, history: deque) -> deque:
        """The loss points a teacher's frame carries: the newest ROOM_HISTORY (a copy)."""
        self.window.extend(history)
        history.clear()
        return deque(self.window)

    async def mirror_text(self, kind: str, text: str) -> None:
        if self.teaching and kind in VIEW_TYPES:
            await self.hub.publish_view(self.code, kind, text)

    async def publish_frame(self, frame: bytes) -> None:
        await self.hub.publish_frame(self.code, frame)

    async def mirror_phase(self, phase: bytes) -> None:
        if self.teaching:
            await self.hub.publish_phase(self.code, phase)

    # ----- client messages -----------------------------------------------------------------

    async def handle(self, message: Any) -> None:
        if self.hub is None:
            raise refused(self.off_reason or "rooms are off on this server")
        try:
            await getattr(self, f"on_{message.type}")(message)
        except protocol.ProtocolError:
            raise
        except ValueError as error:  # server/rooms.py's "field: reason" messages
            field, _, reason = str(error).partition(": ")
            raise protocol.ProtocolError(reason, field=field) from None

    def refusal(self) -> protocol.ProtocolError:
        """Why a follower's control message changes nothing."""
        spoken = rooms.spoken(self.code or "")
        return refused(
            f"you are following the teacher's run in room {spoken}: it is read-only here; "
            "fork it to try your own changes"
        )

    async def on_room_open(self, message: protocol.RoomOpen) -> None:
        if self.role in ("follower", "fork"):
            raise refused("you are a student in a room: leave it before opening one")
        if self.teaching:
            await self.session.send_json(self.opened_message(None))
            return
        token = None
        if message.code is not None or message.token is not None:
            if message.code is None or message.token is None:
                raise refused("to take a room back, send both its code and its token")
            self.code = await self.hub.reclaim(message.code, message.token, self.member_id)
        else:
            self.code, token = await self.hub.open(self.member_id)
        self.role = "teacher"
        await self.hub.listen_teacher(self.code, self._teacher_inbox)
        await self.hub.listen_member(self.member_id, self.copies.member_inbox)
        await self.session.send_json(self.opened_message(token))
        if token is None:  # a reclaimed room: its students are there already
            await self.session.send_json(
                {"type": "room_members", "count": await self.hub.count(self.code)}
            )
        async with self.session.engine_lock:  # the room starts with the run as it is now
            # Straight to the room: a `state` to the teacher's own page would clear its charts.
            data, state = messages.data(self.session.run), self.session.state_message()
            for kind, payload in (("data", data), ("state", state)):
                text = json.dumps(frames.json_safe(payload), separators=(",", ":"))
                await self.mirror_text(kind, text)
            self.session.changed()

    def opened_message(self, token: str | None) -> dict[str, Any]:
        websocket = self.session.websocket
        scheme = "https" if websocket.url.scheme == "wss" else "http"
        host = websocket.headers.get("host", "localhost")
        extra: dict[str, Any] = {
            "url": f"{scheme}://{host}/r/{self.code}",
            "qr": f"/r/{self.code}/qr.svg",
        }
        if token is not None:
            extra["token"] = token
        return self.room_message_for("teacher", **extra)

    async def on_room_close(self, message: protocol.RoomClose) -> None:
        if not self.teaching:
            raise refused("only the room's teacher can close it")
        code = self.code
        await self._stop_listening()
        self._forget_room()
        await self.hub.close(code, "the teacher closed the room")
        await self.session.send_json(self.room_message_for(None))

    async def on_join(self, message: protocol.Join) -> None:
        if self.teaching:
            raise refused("you lead a room: close it before joining another")
        name = rooms.clean_name(message.name)
        code = rooms.normalise_code(message.code)
        if self.code is not None:
            await self.leave_room()
        # "joining": the catch-up messages wait in the outbox until the reply has gone, so the
        # page knows it follows before the teacher's state arrives.
        self.role, self.code, self.name = "joining", code, name
        try:
            await self.hub.join(code, self.session.client_address, self)
        except ValueError:
            self._forget_room()
            raise
        self.session.set_playing(False)  # the student's own run waits while they follow
        await self.session.send_json(self.room_message_for("follower", name=name))
        self.role = "follower"
        self.session.wake.set()
        await self.hub.listen_member(self.member_id, self.copies.member_inbox)
        await self.hub.to_teacher(code, {"type": "members"})

    async def on_leave(self, message: protocol.Leave) -> None:
        if self.teaching:
            raise refused("the teacher closes a room with room_close")
        await self.leave_room()
        await self.session.send_json(self.room_message_for(None))
        async with self.session.engine_lock:
            await self.session.new_run(data=True)
            self.session.changed()

    async def leave_room(self) -> None:
        code = self.code
        if code is None or self.hub is None:
            return
        await self.hub.leave(code, self)
        self._forget_room()
        await self.hub.to_teacher(code, {"type": "members"})

    async def on_follow(self, message: protocol.Follow) -> None:
        if self.role != "fork":
            raise refused("follow goes back to the teacher's run after a fork")
        self.role = "follower"
        self.session.set_playing(False)
        await self.session.send_json(self.room_message_for("follower", name=self.name))
        await self.hub.catch_up(self.code, self)

    async def on_fork(self, message: protocol.Fork) -> None:
        if self.role not in ("follower", "fork"):
            raise refused("fork takes the teacher's run in a room you joined")
        if time.monotonic() - self.forked_at < FORK_INTERVAL_SECONDS:
            raise refused(f"one fork every {FORK_INTERVAL_SECONDS:g} s; try again in a moment")
        self.forked_at = time.monotonic()
        run_id, run = await self.copies.teachers_run()
        self.outbox.clear()
        self.outbox_bytes, self.frame = 0, None
        self.role = "fork"
        # Before the state: the page starts afresh on a role change, then takes the fork's run.
        await self.session.send_json(self.room_message_for("fork", name=self.name))
        async with self.session.engine_lock:
            self.session.run_id = max(self.session.run_id, run_id)
            await self.session.new_run(run, data=True)
            self.session.changed()

    async def on_challenge(self, message: protocol.Challenge) -> None:
        if not self.teaching:
            raise refused("only the room's teacher sets a challenge")
        await self.contest.start(message)

    async def report_loop(self) -> None:
        await self.contest.report_loop()

    async def on_show(self, message: protocol.Show) -> None:
        if not self.teaching:
            raise refused("only the room's teacher shows a student's network")
        if message.member is None:
            if self.own_run is None:
                raise refused("your own run is already shown")
            run, playing = self.own_run
            self.own_run = None
        else:
            if message.member not in self.contest.entries():
                raise refused("show: no such student on the leaderboard")
            run = await self.copies.students_run(message.member)
            if self.own_run is None:
                self.own_run = (self.session.run, self.session.playing)
            playing = False
        async with self.session.engine_lock:
            self.session.set_playing(playing)
            await self.session.new_run(run, data=True)
            self.session.changed()
        shown = None if message.member is None else self.contest.entries()[message.member].name
        await self.session.send_json({**self.opened_message(None), "showing": shown})

    async def on_room_lesson(self, message: protocol.RoomLesson) -> None:
        if not self.teaching:
            raise refused("only the room's teacher chooses the room's lesson")
        known = {lesson["id"] for lesson in protocol.lessons()}
        if message.lesson is not None and message.lesson not in known:
            raise protocol.ProtocolError(f"no lesson {shown(message.lesson)}", field="lesson")
        payload = {"type": "lesson", "id": message.lesson}
        await self.mirror_text("lesson", json.dumps(payload, separators=(",", ":")))

    # ----- between processes ---------------------------------------------------------------

    def _teacher_inbox(self, message: bytes) -> None:
        self.spawn(self._teacher_message(json.loads(message)))

    async def _teacher_message(self, payload: dict[str, Any]) -> None:
        kind = payload.get("type")
        if not self.teaching:
            return
        if kind == "fork":
            await self.copies.send(str(payload["member"]))
        elif kind == "members":
            count = await self.hub.count(self.code)
            await self.session.send_json({"type": "room_members", "count": count})
        elif kind == "report":
            await self.contest.reported(payload)
        elif kind == "replaced" and payload.get("by") != self.member_id:
            await self._stop_listening()
            self._forget_room()
            note = "this room is now led from another tab"
            await self.session.send_json(self.room_message_for(None, message=note))

    # ----- leaving -------------------------------------------------------------------------

    async def _stop_listening(self) -> None:
        if self.hub is None or self.code is None:
            return
        if self.teaching:
            await self.hub.stop_listening_teacher(self.code, self._teacher_inbox)
        await self.hub.stop_listening_member(self.member_id)

    async def depart(self) -> None:
        """The connection ended: a teacher's room waits for a reload; a student leaves."""
        for task in list(self.tasks):
            task.cancel()
        if self.hub is None or self.code is None:
            return
        if self.teaching:
            code = self.code
            await self._stop_listening()
            await self.hub.teacher_left(code, self.member_id)
        else:
            await self.hub.stop_listening_member(self.member_id)
            await self.leave_room()
