"""Whole runs copied between the sessions of a room, in this process or another: the teacher's
run to a student who forks it, a forked student's run to the teacher who shows it. A copy is
asked for through the hub and arrives on the asker's member channel as SNAPSHOT, the run's id
and server/run_snapshot.py's bytes."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from server import protocol
from server.run_snapshot import dump_run, load_run

if TYPE_CHECKING:
    from server.room_link import RoomLink

SNAPSHOT_WAIT_SECONDS = 10.0
SNAPSHOT, REQUEST = b"S", b"J"


class RunCopies:
    """The copies one RoomLink asks for, and those it sends when asked."""

    def __init__(self, link: RoomLink) -> None:
        self.link = link
        self.waiting: asyncio.Future | None = None  # a copy asked for

    async def teachers_run(self) -> tuple[int, Any]:
        """A copy of the teacher's run (a fork) and its run id."""
        link = self.link
        request = {"type": "fork", "member": link.member_id}
        return await self._fetch(lambda: link.hub.to_teacher(link.code, request))

    async def students_run(self, member: str) -> Any:
        """A copy of the run of the forked student `member` (the teacher shows it)."""
        request = {"type": "share", "reply_to": self.link.member_id}
        message = REQUEST + json.dumps(request).encode()
        _, run = await self._fetch(lambda: self.link.hub.to_member(member, message))
        return run

    async def _fetch(self, ask: Callable[[], Awaitable[None]]) -> tuple[int, Any]:
        """Ask for a run (`ask()` sends the request) and wait for it on our member channel."""
        session = self.link.session
        self.waiting = asyncio.get_running_loop().create_future()
        try:
            await ask()
            async with asyncio.timeout(SNAPSHOT_WAIT_SECONDS):
                data = await self.waiting
        except TimeoutError:
            raise protocol.ProtocolError(
                "the run did not arrive (its tab may have closed); try again", field="room"
            ) from None
        finally:
            self.waiting = None
        (run_id,) = struct.unpack_from("<I", data)
        run = await session.engine_call("snapshot", load_run, data[4:], session.limits)
        return run_id, run

    async def send(self, member: str) -> None:
        """A copy of this session's run to `member`'s channel."""
        session = self.link.session
        async with session.engine_lock:
            data = await session.engine_call("snapshot", dump_run, session.run)
            run_id = session.run_id
        await self.link.hub.to_member(member, SNAPSHOT + struct.pack("<I", run_id) + data)

    def member_inbox(self, message: bytes) -> None:
        """Our member channel: a copy we asked for, or (a forked student) a request for ours."""
        kind, payload = message[:1], message[1:]
        if kind == SNAPSHOT and self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(payload)
        elif kind == REQUEST and self.link.role == "fork":
            request = json.loads(payload)
            if request.get("type") == "share":
                self.link.spawn(self.send(str(request["reply_to"])))
