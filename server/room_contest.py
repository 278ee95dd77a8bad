"""A room's challenge: the teacher's session keeps the leaderboard; each forked student's
session reports the figures the server computed from its own run (a client never sends one)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from server import protocol, rooms

if TYPE_CHECKING:
    from server.room_link import RoomLink

REPORT_SECONDS = 1.0  # a forked student's figures reach the leaderboard this often
LEADERBOARD_SECONDS = 0.5  # the leaderboard is published at most this often


class Contest:
    """The challenge side of one RoomLink: the board (teacher) or the challenge heard (student)."""

    def __init__(self, link: RoomLink) -> None:
        self.link = link
        self.challenge: rooms.Challenge | None = None  # teacher: the running one
        self.board: rooms.Leaderboard | None = None
        self.heard_challenge: dict[str, Any] | None = None  # a student: the room's message
        self.board_sent = 0.0
        self.board_pending = False

    # ----- teacher -----------------------------------------------------------------------

    async def start(self, message: protocol.Challenge) -> None:
        """Start (or with goal null, stop) a challenge on the current data set."""
        link, now = self.link, time.time()
        if message.goal is None:
            self.challenge, self.board = None, None
            payload: dict[str, Any] = {"type": "challenge", "goal": None}
        else:
            data = link.session.run.config["data"]
            self.challenge = rooms.Challenge.start(
                message.goal, message.seconds, data, now, message.accuracy
            )
            self.board = rooms.Leaderboard(self.challenge)
            payload = self.challenge.to_message(now)
        await link.hub.publish_room(link.code, payload)
        await link.session.send_json(payload)
        await self.publish_board(force=True)

    def entries(self) -> dict[str, rooms.Entry]:
        return self.board.entries if self.board is not None else {}

    async def reported(self, payload: dict[str, Any]) -> None:
        """A student's session's figures: kept if on the challenge's data, in time, and best."""
        if self.board is None:
            return
        entry = rooms.Entry(**payload["entry"])
        if self.challenge.accepts(payload["digest"], time.time()) and self.board.report(entry):
            await self.publish_board()

    async def publish_board(self, force: bool = False) -> None:
        """The leaderboard to the teacher and the room, at most every LEADERBOARD_SECONDS: a
        change within that time is sent when it is over."""
        if self.board is None:
            return
        wait = self.board_sent + LEADERBOARD_SECONDS - time.monotonic()
        if not force and wait > 0:
            if not self.board_pending:
                self.board_pending = True
                self.link.spawn(self._publish_board_later(wait))
            return
        self.board_sent = time.monotonic()
        payload = {"type": "leaderboard", "goal": self.challenge.goal, "rows": self.board.rows()}
        await self.link.hub.publish_room(self.link.code, payload)
        await self.link.session.send_json(payload)

    async def _publish_board_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self.board_pending = False
        if self.link.teaching:
            await self.publish_board(force=True)

    # ----- student -----------------------------------------------------------------------

    def heard(self, message: str | None) -> None:
        """The room's `challenge` message (None: no room any more)."""
        self.heard_challenge = json.loads(message) if message else None
        if self.heard_challenge is not None:
            self.heard_challenge["received"] = time.monotonic()

    def running(self) -> bool:
        challenge = self.heard_challenge
        if self.link.role != "fork" or not challenge or challenge.get("goal") is None:
            return False
        return time.monotonic() - challenge["received"] <= challenge["seconds_left"]

    async def report_loop(self) -> None:
        """While a challenge runs and the fork's run changes, its figures go to the teacher."""
        link, last_iteration = self.link, None
        while True:
            await asyncio.sleep(REPORT_SECONDS)
            if not self.running():
                continue
            session = link.session
            async with session.engine_lock:
                metrics = await session.engine_call("metrics", session.metrics)
                layers = session.run.config["network"]["layers"]
                digest = rooms.data_digest(session.run.config["data"])
            if metrics["iteration"] == last_iteration:
                continue
            last_iteration = metrics["iteration"]
            neurons = rooms.hidden_neurons(layers)
            entry = rooms.entry_from_metrics(link.member_id, link.name, metrics, neurons)
            report = {"type": "report", "entry": vars(entry), "digest": digest}
            await link.hub.to_teacher(link.code, report)
