"""Rooms through real servers and websockets: a teacher's run on the students' sockets, refused
controls, exact forks, reclaim, caps, expiry, a leaderboard of server-computed figures, and one
room served by two server processes' worth of apps sharing a real Redis."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np
import pytest
import uvicorn
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from server import frames
from server.app import create_app, qr_svg
from server.config import Settings
from server.session import CLOSE_POLICY, Session
from tests.conftest import free_port
from tests.test_resume import StalledSocket


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app served by uvicorn in a thread, as a worker would; yields its base URL."""
    port = free_port()
    settings = Settings(**{**settings.__dict__, "port": port})
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Tab:
    """One page's websocket: sends messages, reads replies, acks frames unless told not to."""

    def __init__(self, base: str, stack: ExitStack, ack: bool = True) -> None:
        self.socket: ClientConnection = stack.enter_context(
            connect(base.replace("http", "ws") + "/ws", max_size=None)
        )
        self.ack = ack
        self.frames: list[dict[str, Any]] = []
        self.texts: list[dict[str, Any]] = []
        self.until(lambda m: m.get("type") == "hello")

    def send(self, **message: Any) -> None:
        self.socket.send(json.dumps(message))

    def until(self, wanted: Callable[[dict], bool], seconds: float = 10.0) -> dict[str, Any]:
        """Read until a message (text, or a decoded frame's header with "arrays") is wanted."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            seen = [m.get("type") for m in self.texts[-6:]]
            assert left > 0, f"timed out; last texts: {seen}, frames: {len(self.frames)}"
            try:
                raw = self.socket.recv(timeout=left)
            except TimeoutError:
                continue
            if isinstance(raw, bytes):
                header, arrays = frames.decode(raw)
                message = {**header, "arrays": arrays}
                if header["type"] == "frame":
                    self.frames.append(message)
                    if self.ack:
                        self.send(type="ack")
            else:
                message = json.loads(raw)
                self.texts.append(message)
            if wanted(message):
                return message

    def reply(self, kind: str, seconds: float = 10.0) -> dict[str, Any]:
        return self.until(lambda m: m.get("type") == kind, seconds)

    def frame(self, wanted: Callable[[dict], bool] = lambda f: True) -> dict[str, Any]:
        return self.until(lambda m: m.get("type") == "frame" and wanted(m))


def open_room(teacher: Tab) -> dict[str, Any]:
    teacher.send(type="room_open")
    room = teacher.reply("room")
    assert room["role"] == "teacher"
    return room


def join(student: Tab, code: str, name: str) -> dict[str, Any]:
    student.send(type="join", code=code, name=name)
    return student.until(lambda m: m.get("type") in ("room", "error"))


def exact_weights(state_or_export: dict) -> list:
    network = state_or_export.get("network") or state_or_export["config"]["network"]
    return network["weights"] + network["biases"]


def test_students_follow_the_teachers_run_and_their_controls_are_refused():
    with ExitStack() as stack:
        base = stack.enter_context(serving(Settings()))
        teacher, student = Tab(base, stack), Tab(base, stack)
        room = open_room(teacher)
        assert len(room["code"]) == 6 and len(room["token"]) >= 43
        assert room["url"].endswith(f"/r/{room['code']}") and room["qr"].endswith("qr.svg")
        assert join(student, room["code"].lower(), "Ada")["role"] == "follower"
        state = student.reply("state")
        assert state["network"]["layers"] == [2, 4, 2, 1]
        assert teacher.reply("room_members")["count"] == 1
        teacher.send(type="set", speed=5)
        teacher.send(type="play")
        seen = student.frame(lambda f: f["iteration"] >= 50)
        assert seen["run"] == state["run"] and seen["playing"]
        student.send(type="set", fps=45)  # the rate the page draws at: not a control
        student.send(type="no such type")
        assert student.reply("error")["message"].startswith("type: unknown message type")
        student.send(type="pause")
        error = student.reply("error")
        assert error["field"] == "room" and "fork it to try your own changes" in error["message"]
        later = student.frame(lambda f: f["iteration"] > seen["iteration"] + 20)
        assert later["playing"]  # the teacher's run went on
        teacher.send(type="room_lesson", lesson="nonsense")
        assert teacher.reply("error")["field"] == "lesson"
        teacher.send(type="room_lesson", lesson="chain-rule")
        assert student.reply("lesson")["id"] == "chain-rule"
        teacher.send(type="inspect", kind="weight", layer=1, i=2, j=0)
        shown = student.reply("inspect")  # the weight the teacher inspects
        assert (shown["kind"], shown["layer"], shown["i"], shown["j"]) == ("weight", 1, 2, 0)


def test_a_fork_continues_from_the_teachers_exact_run_and_follow_goes_back():
    with ExitStack() as stack:
        base = stack.enter_context(serving(Settings()))
        teacher, student = Tab(base, stack), Tab(base, stack)
        room = open_room(teacher)
        teacher.send(type="set", optimizer="adam", lr=0.05)
        teacher.send(type="step", unit="iteration", count=37)
        join(student, room["code"], "Bo")
        student.send(type="fork")
        assert student.reply("room")["role"] == "fork"
        forked = student.reply("state")
        teacher.send(type="export")
        exported = teacher.reply("export")
        assert exact_weights(forked) == exact_weights(exported)  # every float64 bit
        assert forked["iteration"] == exported["iteration"] == 37
        # Both go on 20 iterations: the fork kept Adam's moments and the batch order.
        for tab in (teacher, student):
            tab.send(type="step", unit="iteration", count=20)
            tab.send(type="export")
        assert exact_weights(teacher.reply("export")) == exact_weights(student.reply("export"))
        student.send(type="reset", seed=7)  # the fork is the student's own: controls work
        mine = student.reply("state")
        student.send(type="follow")
        assert student.reply("room")["role"] == "follower"
        assert student.reply("state")["run"] != mine["run"]


def test_a_slow_follower_holds_only_its_own_frames():
    with ExitStack() as stack:
        base = stack.enter_context(serving(Settings()))
        teacher = Tab(base, stack)
        room = open_room(teacher)
        stalled, lively = Tab(base, stack, ack=False), Tab(base, stack)
        join(stalled, room["code"], "Stalled")
        join(lively, room["code"], "Lively")
        teacher.send(type="play")
        lively.frame(lambda f: f["iteration"] >= 60)
        window = Settings().frame_window
        stalled.until(lambda m: len(stalled.frames) >= window, seconds=5)
        with pytest.raises(AssertionError, match="timed out"):
            stalled.until(lambda m: len(stalled.frames) > window, seconds=1.0)
        assert len(stalled.frames) == window  # its window and no more
        stalled.send(type="ack")
        newest = stalled.frame()
        assert newest["iteration"] > stalled.frames[-2]["iteration"] + 10  # the newest, not next


def test_a_follower_that_stops_reading_the_rooms_texts_is_closed():
    """The send deadline covers what a follower is sent in order (the teacher's state, data,
    lesson), not only frames and phases: a follower whose socket takes nothing is closed once a
    message has waited `send_timeout`, however little else the room sends it."""

    async def scenario(session: Session) -> None:
        session.room.role = "follower"
        session.room.room_message('{"type":"state"}')
        async with asyncio.timeout(5):  # without a deadline the send would wait for good
            with pytest.raises(WebSocketDisconnect):
                await session.room.send_queued()

    stalled = StalledSocket()
    session = Session(stalled, Settings(send_timeout=0.2))
    with ThreadPoolExecutor(1) as pool:  # a loop of its own: Playwright's runs on this thread
        pool.submit(asyncio.run, scenario(session)).result()
    assert stalled.closed == (CLOSE_POLICY, "not reading: a message waited 0.2 s")


def test_the_token_reclaims_a_room_after_a_reload_and_students_stay():
    with ExitStack() as stack:
        base = stack.enter_context(serving(Settings()))
        first = Tab(base, stack)
        room = open_room(first)
        student = Tab(base, stack)
        join(student, room["code"], "Cy")
        first.socket.close()
        reloaded = Tab(base, stack)
        reloaded.send(type="room_open", code=room["code"], token="x" * 43)
        assert reloaded.reply("error")["field"] == "token"
        reloaded.send(type="room_open", code=room["code"], token=room["token"])
        back = reloaded.reply("room")
        assert back["role"] == "teacher" and back["code"] == room["code"] and "token" not in back
        reloaded.send(type="reset", seed=99)
        seed = student.until(
            lambda m: m.get("type") == "state" and m["config"]["network"]["seed"] == 99
        )
        assert seed["config"]["network"]["seed"] == 99


def test_only_the_teacher_leads_the_room_and_closing_it_tells_every_student():
    teacher_only = [
        {"type": "room_close"},
        {"type": "challenge", "goal": "lowest_test_loss"},
        {"type": "show", "member": None},
        {"type": "room_lesson", "lesson": None},
    ]
    with ExitStack() as stack:
        base = stack.enter_context(serving(Settings()))
        teacher, follower, forked, outsider = (Tab(base, stack) for _ in range(4))
        room = open_room(teacher)
        join(follower, room["code"], "Fay")
        join(forked, room["code"], "Gus")
        forked.send(type="fork")
        assert forked.reply("room")["role"] == "fork"
        for tab in (follower, forked, outsider):
            for message in teacher_only:
                tab.send(**message)
                error = tab.reply("error")
                assert error["field"] == "room" and "only the room's teacher" in error["message"]
        teacher.send(type="room_close")
        assert teacher.reply("room")["role"] is None
        for student in (follower, forked):
            assert student.reply("room_closed")["reason"] == "the teacher closed the room"


def test_a_full_room_refuses_and_a_room_closes_after_its_teacher_left():
    settings = Settings(room_cap=1, room_grace_seconds=0.5)
    with ExitStack() as stack:
        base = stack.enter_context(serving(settings))
        teacher, first, second = Tab(base, stack), Tab(base, stack), Tab(base, stack)
        room = open_room(teacher)
        join(first, room["code"], "First")
        refused = join(second, room["code"], "Second")
        assert refused["type"] == "error" and "is full (1 students)" in refused["message"]
        own = first.reply("state")["run"]
        teacher.socket.close()
        closed = first.reply("room_closed", seconds=10)
        assert closed["reason"] == "the teacher left 0.5 s ago: the room is closed"
        assert first.reply("state")["run"] != own  # the student's own run is back
        first.send(type="play")  # and theirs to drive
        assert first.reply("status")["playing"] is True


def test_rooms_are_off_with_several_workers_and_no_redis():
    with ExitStack() as stack:
        base = stack.enter_context(serving(Settings(workers=2)))
        tab = Tab(base, stack)
        tab.send(type="room_open")
        error = tab.reply("error")
        assert error["field"] == "room" and "--redis" in error["message"]
        page = urllib.request.urlopen(base + "/").read().decode()
        assert 'data-rooms-off="rooms are off: 2 worker processes' in page


def test_the_join_link_and_its_qr_code():
    with ExitStack() as stack:
        base = stack.enter_context(serving(Settings()))
        page = urllib.request.urlopen(base + "/r/k7q-m4x").read().decode()
        assert 'data-room-code="K7QM4X"' in page
        response = urllib.request.urlopen(base + "/r/K7QM4X/qr.svg")
        assert response.headers["content-type"] == "image/svg+xml"
        svg = response.read()
        assert svg.startswith(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox=')
        assert svg == qr_svg(f"{base}/r/K7QM4X")  # the join link, as the page's Host names it
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(base + "/r/OOOOOO")
        assert error.value.code == 404


def test_one_room_across_two_workers_through_redis_with_a_leaderboard(redis_url):
    settings = Settings(redis_url=redis_url)
    with ExitStack() as stack:
        worker_a = stack.enter_context(serving(settings))
        worker_b = stack.enter_context(serving(settings))
        teacher = Tab(worker_a, stack)
        student = Tab(worker_b, stack)
        room = open_room(teacher)
        teacher.send(type="step", unit="iteration", count=5)
        assert join(student, room["code"], "Dee <b>")["role"] == "follower"
        student.frame(lambda f: f["iteration"] == 5)
        teacher.send(type="step", unit="phase")
        assert student.reply("phase")["phase"] == "forward"  # the phase animation crosses too
        teacher.send(type="challenge", goal="lowest_test_loss", seconds=120)
        assert student.reply("challenge")["goal"] == "lowest_test_loss"
        student.send(type="fork")
        forked = student.reply("state")
        teacher.send(type="export")
        assert exact_weights(forked) == exact_weights(teacher.reply("export"))
        student.send(type="step", unit="iteration", count=100)
        figures = student.frame(lambda f: f["iteration"] == 105)
        board = teacher.until(
            lambda m: (
                m.get("type") == "leaderboard" and any(r["iteration"] == 105 for r in m["rows"])
            )
        )
        (row,) = board["rows"]
        assert row["name"] == "Dee <b>" and row["rank"] == 1 and row["neurons"] == 6
        # The server's own figure (the frame rounds its header to 7 digits).
        assert row["test_loss"] == pytest.approx(figures["test_loss"], rel=1e-6)
        teacher.send(type="show", member=row["member"])
        shown = teacher.reply("state")
        student.send(type="export")
        assert exact_weights(shown) == exact_weights(student.reply("export"))
        assert teacher.reply("room")["showing"] == "Dee <b>"
        assert np.isfinite(row["test_loss"])


def test_watching_a_room_is_not_idleness():
    with ExitStack() as stack:
        base = stack.enter_context(serving(Settings(idle_timeout=1.0)))
        teacher, student, lonely = Tab(base, stack), Tab(base, stack), Tab(base, stack)
        room = open_room(teacher)
        join(student, room["code"], "Ed")
        time.sleep(3.0)  # three idle timeouts: a tab outside the room is closed
        with pytest.raises(ConnectionClosed):
            lonely.until(lambda m: False, seconds=2)
        teacher.send(type="step", unit="iteration")
        assert student.frame(lambda f: f["iteration"] == 1)["run"] is not None
