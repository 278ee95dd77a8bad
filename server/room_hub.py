"""One process's side of the rooms: opens, joins and closes them in the broker, and fans each
room message out to the connections this process holds (one subscription per room, however
many of its followers are here).

Messages on a room's channel are bytes: one kind byte, then the payload.
  F  a frame (binary): each follower keeps only the newest, sent when its own credit allows
  V  a text message of the teacher's view (state, data, inspect, status, lesson), in order
  P  a binary message of the teacher's view in order (a phase)
  R  a text message about the room itself (followers count, challenge, leaderboard): it reaches
     forked students too
  C  the room closed; the payload is why
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from server import rooms
from server.room_broker import (
    ROOM_MAX_SECONDS,
    Broker,
    member_channel,
    room_channel,
    teacher_channel,
)

FRAME, VIEW, PHASE, ROOM, CLOSED = b"F", b"V", b"P", b"R", b"C"
# What a newcomer is sent from the kept messages, in this order (the frame last: it needs the
# state's network to be drawn).
CATCH_UP = ("data", "state", "status", "lesson", "inspect", "challenge", "leaderboard", "frame")
JOIN_ATTEMPT_WINDOW = 60.0  # seconds: "wrong codes a minute"
# How often a process holding followers checks that their room still exists: a teacher's
# process that died cannot say the room closed, but its broker entries expire.
WATCH_SECONDS = 30.0


class Member(Protocol):
    """A connection in a room (a follower, or a student who forked and still reports)."""

    member_id: str
    wants_view: bool  # False for a student who forked: room news only

    def room_frame(self, frame: bytes) -> None:
        """The newest frame of the teacher's run: replaces any not sent yet."""

    def room_message(self, message: str | bytes) -> None:
        """A text (str) or binary (bytes) message to send in order."""

    def room_closed(self, reason: str) -> None: ...


def envelope(kind: bytes, payload: str | bytes) -> bytes:
    return kind + (payload.encode() if isinstance(payload, str) else payload)


def text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


class RoomHub:
    """Rooms as seen from one server process."""

    def __init__(
        self,
        broker: Broker,
        cap: int,
        grace_seconds: float,
        joins_per_minute: int,
        join_window: float = JOIN_ATTEMPT_WINDOW,
    ) -> None:
        self.broker, self.join_window = broker, join_window
        self.cap, self.grace_seconds, self.joins_per_minute = cap, grace_seconds, joins_per_minute
        self.members: dict[str, set[Member]] = {}  # room code -> members held by this process
        self._callbacks: dict[str, Callable[[bytes], None]] = {}
        self._closers: dict[str, asyncio.Task] = {}
        self._member_callbacks: dict[str, Callable[[bytes], None]] = {}
        self._watchers: dict[str, asyncio.Task] = {}
        self.watch_seconds = WATCH_SECONDS

    # ----- the teacher -------------------------------------------------------------------

    async def open(self, teacher_id: str) -> tuple[str, str]:
        """A new room for the connection `teacher_id`: its code and its token (shown once)."""
        token = rooms.new_token()
        record = {
            "token": rooms.token_digest(token),
            "teacher": teacher_id,
            "present": "1",
            "opened": f"{time.time():.3f}",
        }
        while True:  # a collision is ~1e-6 likely with 1,000 rooms open: just draw again
            code = rooms.new_code()
            if await self.broker.create(code, record):
                return code, token

    async def reclaim(self, code: str, token: Any, teacher_id: str) -> str:
        """Hand the room to a reloaded or reconnected teacher tab holding its token; the
        previous teacher connection (if still open) is told it no longer leads. Its code."""
        code = rooms.normalise_code(code)
        record = await self.broker.record(code)
        if record is None or not rooms.token_matches(token, record["token"]):
            raise ValueError("token: not the token of an open room (it may have closed)")
        await self.broker.update(code, {"teacher": teacher_id, "present": "1"})
        await self.broker.expire(code, ROOM_MAX_SECONDS)
        closer = self._closers.pop(code, None)
        if closer is not None:
            closer.cancel()
        replaced = text({"type": "replaced", "by": teacher_id}).encode()
        await self.broker.publish(teacher_channel(code), replaced)
        return code

    async def teacher_left(self, code: str, teacher_id: str) -> None:
        """The teacher's connection ended: the room closes after the grace period unless a tab
        reclaims it; the broker forgets it then even if this process is gone by then."""
        record = await self.broker.record(code)
        if record is None or record["teacher"] != teacher_id:
            return  # another tab leads it now
        left = f"{time.time():.3f}"
        await self.broker.update(code, {"present": "0", "left": left})
        await self.broker.expire(code, self.grace_seconds + 60)
        task = asyncio.get_running_loop().create_task(self._close_later(code, left))
        self._closers[code] = task

    async def _close_later(self, code: str, left: str) -> None:
        await asyncio.sleep(self.grace_seconds)
        record = await self.broker.record(code)
        if record is not None and record.get("present") == "0" and record.get("left") == left:
            since = rooms.duration(self.grace_seconds)
            await self.close(code, f"the teacher left {since} ago: the room is closed")
        self._closers.pop(code, None)

    async def close(self, code: str, reason: str) -> None:
        """Close the room everywhere: every follower, in every process, is told why."""
        await self.broker.publish(room_channel(code), envelope(CLOSED, reason))
        await self.broker.delete(code)

    async def is_teacher(self, code: str, teacher_id: str) -> bool:
        record = await self.broker.record(code)
        return record is not None and record["teacher"] == teacher_id

    # ----- publishing the teacher's run --------------------------------------------------

    async def publish_frame(self, code: str, frame: bytes) -> None:
        await self.broker.publish(room_channel(code), envelope(FRAME, frame), keep=(code, "frame"))

    async def publish_view(self, code: str, kind: str, message: str) -> None:
        """A text message of the teacher's view (JSON of `type` `kind`), kept for newcomers."""
        await self.broker.publish(room_channel(code), envelope(VIEW, message), keep=(code, kind))

    async def publish_phase(self, code: str, phase: bytes) -> None:
        await self.broker.publish(room_channel(code), envelope(PHASE, phase))

    async def publish_room(self, code: str, payload: dict[str, Any]) -> None:
        kept = (code, payload["type"])
        await self.broker.publish(room_channel(code), envelope(ROOM, text(payload)), keep=kept)

    # ----- students ----------------------------------------------------------------------

    async def join(self, code: Any, address: str, member: Member) -> str:
        """Add `member` to the room and send it what it needs to catch up. Its code.

        Each wrong code counts against the address's limit (a class behind one NAT address
        joins freely), so codes cannot be tried cheaply; once over it, even a right code is
        refused until the minute is over."""
        key = f"join:{address}"
        if await self.broker.attempts(key, self.join_window, add=0) >= self.joins_per_minute:
            raise ValueError(
                f"join: more than {self.joins_per_minute} wrong codes a minute from your "
                "address; wait a minute and check the code"
            )
        try:
            code = rooms.normalise_code(code)
            added = await self.broker.add_member(code, self.cap)
            if added is None:
                raise ValueError(f"code: no open room {rooms.spoken(code)}; check the code")
        except ValueError:
            await self.broker.attempts(key, self.join_window)
            raise
        if added < 0:
            raise ValueError(f"join: room {rooms.spoken(code)} is full ({self.cap} students)")
        await self._hold(code, member)
        await self.catch_up(code, member)
        return code

    async def catch_up(self, code: str, member: Member) -> None:
        """Send `member` the room's kept messages: the teacher's run as it is now."""
        kept = await self.broker.kept(code)
        for name in CATCH_UP:
            if name in kept:
                self._deliver(member, kept[name])

    async def leave(self, code: str, member: Member) -> None:
        held = self.members.get(code)
        if held is None or member not in held:
            return
        held.discard(member)
        await self.broker.remove_member(code)
        await self.stop_listening_member(member.member_id)
        if not held:
            await self._release(code)

    async def count(self, code: str) -> int:
        """Followers and forked students in the room, over every process."""
        return await self.broker.member_count(code)

    async def _hold(self, code: str, member: Member) -> None:
        if code not in self.members:
            self.members[code] = set()

            def callback(message: bytes, code: str = code) -> None:
                self._fan_out(code, message)

            self._callbacks[code] = callback
            await self.broker.subscribe(room_channel(code), callback)
            self._watchers[code] = asyncio.get_running_loop().create_task(self._watch(code))
        self.members[code].add(member)

    async def _watch(self, code: str) -> None:
        while code in self.members:
            await asyncio.sleep(self.watch_seconds)
            if code in self.members and await self.broker.record(code) is None:
                self._fan_out(code, envelope(CLOSED, "the room is gone: its server stopped"))

    async def _release(self, code: str) -> None:
        self.members.pop(code, None)
        watcher = self._watchers.pop(code, None)
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        callback = self._callbacks.pop(code, None)
        if callback is not None:
            await self.broker.unsubscribe(room_channel(code), callback)

    def _fan_out(self, code: str, message: bytes) -> None:
        held = self.members.get(code, set())
        if message[:1] == CLOSED:
            reason = message[1:].decode()
            for member in list(held):
                member.room_closed(reason)
            self.members.pop(code, None)  # at once: a join now must not find it held
            asyncio.get_running_loop().create_task(self._release(code))
            return
        for member in list(held):
            self._deliver(member, message)

    @staticmethod
    def _deliver(member: Member, message: bytes) -> None:
        kind, payload = message[:1], message[1:]
        if kind == ROOM:
            member.room_message(payload.decode())
        elif not member.wants_view:
            return  # a forked student has its own run to show
        elif kind == FRAME:
            member.room_frame(payload)
        elif kind == VIEW:
            member.room_message(payload.decode())
        elif kind == PHASE:
            member.room_message(payload)
        elif kind == CLOSED:
            member.room_closed(payload.decode())

    # ----- directed messages: fork requests, figures, snapshots ------------------------

    async def to_teacher(self, code: str, payload: dict[str, Any]) -> None:
        await self.broker.publish(teacher_channel(code), text(payload).encode())

    async def to_member(self, member_id: str, message: bytes) -> None:
        await self.broker.publish(member_channel(member_id), message)

    async def listen_teacher(self, code: str, callback: Callable[[bytes], None]) -> None:
        await self.broker.subscribe(teacher_channel(code), callback)

    async def stop_listening_teacher(self, code: str, callback: Callable[[bytes], None]) -> None:
        await self.broker.unsubscribe(teacher_channel(code), callback)

    async def listen_member(self, member_id: str, callback: Callable[[bytes], None]) -> None:
        if member_id in self._member_callbacks:
            return
        self._member_callbacks[member_id] = callback
        await self.broker.subscribe(member_channel(member_id), callback)

    async def stop_listening_member(self, member_id: str) -> None:
        callback = self._member_callbacks.pop(member_id, None)
        if callback is not None:
            await self.broker.unsubscribe(member_channel(member_id), callback)

    async def shutdown(self) -> None:
        for task in [*self._closers.values(), *self._watchers.values()]:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.broker.close()


def new_member_id() -> str:
    """Names a connection on the broker's channels: unguessable, so no one can post to it."""
    return secrets.token_urlsafe(12)
