"""Brokers and hubs: the in-memory broker and a real redis-server (tests/redis_helpers.py) pass
the same tests; a room's messages cross from one hub to another as between two workers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from server.room_broker import Broker, MemoryBroker, RedisBroker
from server.room_hub import RoomHub, new_member_id


def run(test: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """The scenario on an event loop of its own thread: the browser tests' Playwright keeps one
    running on the main thread for the whole session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, test(*args)).result()


def make_broker(kind: str, url: str | None) -> Broker:
    return MemoryBroker() if kind == "memory" else RedisBroker(url)


@pytest.fixture(params=["memory", "redis"])
def broker_factory(request) -> Callable[[], Broker]:
    """New clients of one broker: in memory, one shared instance; with Redis, new connections
    to one test server (as two worker processes would have)."""
    if request.param == "memory":
        shared = MemoryBroker()
        return lambda: shared
    url = request.getfixturevalue("redis_url")
    return lambda: RedisBroker(url)


class Student:
    """What a session does with room messages, recorded."""

    def __init__(self, following: bool = True) -> None:
        self.member_id = new_member_id()
        self.wants_view = following
        self.frames: list[bytes] = []
        self.messages: list[str | bytes] = []
        self.closed: list[str] = []
        self.arrived = asyncio.Event()

    def room_frame(self, frame: bytes) -> None:
        self.frames.append(frame)
        self.arrived.set()

    def room_message(self, message: str | bytes) -> None:
        self.messages.append(message)
        self.arrived.set()

    def room_closed(self, reason: str) -> None:
        self.closed.append(reason)
        self.arrived.set()

    async def wait(self, condition: Callable[[], bool], seconds: float = 5.0) -> None:
        async with asyncio.timeout(seconds):
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()


def hub(broker: Broker, cap: int = 500, grace: float = 60.0, joins: int = 20) -> RoomHub:
    # An hour's window: a test never straddles the end of a fixed window.
    return RoomHub(broker, cap, grace_seconds=grace, joins_per_minute=joins, join_window=3600)


def test_records_caps_kept_messages_and_expiry(broker_factory):
    async def scenario() -> None:
        broker = broker_factory()
        assert await broker.create("ABCDEF", {"token": "t", "teacher": "x"})
        assert not await broker.create("ABCDEF", {"token": "u", "teacher": "y"})  # taken
        assert (await broker.record("ABCDEF"))["token"] == "t"
        assert await broker.add_member("ABCDEF", cap=2) == 1
        assert await broker.add_member("ABCDEF", cap=2) == 2
        assert await broker.add_member("ABCDEF", cap=2) == -1  # full
        assert await broker.member_count("ABCDEF") == 2
        await broker.remove_member("ABCDEF")
        assert await broker.add_member("ABCDEF", cap=2) == 2
        assert await broker.add_member("ZZZZZZ", cap=2) is None  # no such room
        await broker.publish("any", b"x", keep=("ABCDEF", "state"))
        await broker.publish("any", b"y", keep=("ABCDEF", "state"))
        assert await broker.kept("ABCDEF") == {"state": b"y"}
        await broker.expire("ABCDEF", 0.05)
        await asyncio.sleep(0.3)
        assert await broker.record("ABCDEF") is None
        assert await broker.kept("ABCDEF") == {}
        assert await broker.member_count("ABCDEF") == 0
        assert await broker.create("ABCDEF", {"token": "v", "teacher": "z"})  # free again
        await broker.close()

    run(scenario)


def test_attempts_are_counted_per_key_over_every_client(broker_factory):
    async def scenario() -> None:
        first, second = broker_factory(), broker_factory()
        counts = [await client.attempts("join:10.0.0.1", 3600) for client in (first, second) * 2]
        assert counts == [1, 2, 3, 4]
        assert await second.attempts("join:10.0.0.1", 3600, add=0) == 4  # looking adds nothing
        assert await first.attempts("join:10.0.0.2", 3600) == 1
        await first.close()
        await second.close()

    run(scenario)


def test_a_room_reaches_followers_in_order_and_newcomers_catch_up(broker_factory):
    async def scenario() -> None:
        teacher_hub, student_hub = hub(broker_factory()), hub(broker_factory())
        code, _ = await teacher_hub.open("teacher-1")
        early = Student()
        assert await student_hub.join(code.lower(), "10.0.0.1", early) == code
        await teacher_hub.publish_view(code, "data", '{"type":"data","train":[]}')
        await teacher_hub.publish_view(code, "state", '{"type":"state","iteration":0}')
        for n in range(3):
            await teacher_hub.publish_frame(code, b"frame%d" % n)
        await teacher_hub.publish_phase(code, b"phase-bytes")
        await early.wait(lambda: len(early.messages) == 3)
        assert early.messages == ['{"type":"data","train":[]}', '{"type":"state","iteration":0}',
                                  b"phase-bytes"]  # fmt: skip
        await early.wait(lambda: early.frames[-1:] == [b"frame2"])
        late = Student()
        await student_hub.join(code, "10.0.0.2", late)  # the kept messages, frame last
        assert late.messages == ['{"type":"data","train":[]}', '{"type":"state","iteration":0}']
        assert late.frames == [b"frame2"]
        assert await teacher_hub.count(code) == 2
        await student_hub.leave(code, late)
        assert await teacher_hub.count(code) == 1
        await teacher_hub.shutdown()
        await student_hub.shutdown()

    run(scenario)


def test_a_forked_student_gets_room_news_but_not_the_teachers_run(broker_factory):
    async def scenario() -> None:
        teacher_hub, student_hub = hub(broker_factory()), hub(broker_factory())
        code, _ = await teacher_hub.open("t")
        forked = Student(following=False)
        await student_hub.join(code, "10.0.0.1", forked)
        await teacher_hub.publish_frame(code, b"frame")
        await teacher_hub.publish_view(code, "state", '{"type":"state"}')
        await teacher_hub.publish_room(code, {"type": "leaderboard", "rows": []})
        await forked.wait(lambda: bool(forked.messages))
        assert forked.messages == ['{"type":"leaderboard","rows":[]}'] and not forked.frames
        await teacher_hub.shutdown()
        await student_hub.shutdown()

    run(scenario)


def test_joins_are_refused_with_the_reason(broker_factory):
    async def scenario() -> None:
        teacher_hub = hub(broker_factory())
        student_hub = hub(broker_factory(), cap=1, joins=3)
        code, _ = await teacher_hub.open("t")
        await student_hub.join(code, "10.0.0.1", Student())
        with pytest.raises(ValueError, match=r"is full \(1 students\)"):
            await student_hub.join(code, "10.0.0.2", Student())
        missing = "ABCDEF" if code != "ABCDEF" else "ABCDEG"
        with pytest.raises(ValueError, match=r"^code: no open room ABC-DE"):
            await student_hub.join(missing, "10.0.0.3", Student())
        with pytest.raises(ValueError, match=r"^code: a room code is 6"):
            await student_hub.join("00000", "10.0.0.3", Student())
        await student_hub.leave(code, next(iter(student_hub.members[code])))
        await student_hub.join(code, "10.0.0.3", (right := Student()))  # a right code is free
        await student_hub.leave(code, right)
        with pytest.raises(ValueError, match=r"^code: no open room"):
            await student_hub.join(missing, "10.0.0.3", Student())  # the third wrong code
        with pytest.raises(ValueError, match=r"^join: more than 3 wrong codes a minute"):
            await student_hub.join(code, "10.0.0.3", Student())  # now even the right one
        await student_hub.join(code, "10.0.0.4", Student())  # another address is not affected
        await teacher_hub.shutdown()
        await student_hub.shutdown()

    run(scenario)


def test_the_token_reclaims_the_room_and_the_old_tab_is_told(broker_factory):
    async def scenario() -> None:
        first_hub, second_hub = hub(broker_factory()), hub(broker_factory())
        code, token = await first_hub.open("tab-1")
        told: list[bytes] = []
        await first_hub.listen_teacher(code, told.append)
        with pytest.raises(ValueError, match=r"^token: not the token of an open room"):
            await second_hub.reclaim(code, token[:-2] + "xx", "tab-2")
        assert await first_hub.is_teacher(code, "tab-1")
        assert await second_hub.reclaim(code, token, "tab-2") == code
        assert await first_hub.is_teacher(code, "tab-2")
        async with asyncio.timeout(5):
            while not told:
                await asyncio.sleep(0.01)
        assert told == [b'{"type":"replaced","by":"tab-2"}']
        await first_hub.shutdown()
        await second_hub.shutdown()

    run(scenario)


def test_a_room_closes_after_its_teacher_leaves_unless_reclaimed(broker_factory):
    async def scenario() -> None:
        teacher_hub = hub(broker_factory(), grace=0.2)
        student_hub = hub(broker_factory())
        code, token = await teacher_hub.open("t")
        student = Student()
        await student_hub.join(code, "10.0.0.1", student)
        await teacher_hub.teacher_left(code, "t")
        await asyncio.sleep(0.05)
        await teacher_hub.reclaim(code, token, "t2")  # back in time: stays open
        await asyncio.sleep(0.4)
        assert not student.closed and await teacher_hub.is_teacher(code, "t2")
        await teacher_hub.teacher_left(code, "t2")
        await student.wait(lambda: bool(student.closed))
        assert student.closed == ["the teacher left 0.2 s ago: the room is closed"]
        assert await teacher_hub.broker.record(code) is None
        assert code not in student_hub.members  # its subscription is released
        with pytest.raises(ValueError, match=r"^token: "):
            await teacher_hub.reclaim(code, token, "t3")
        await teacher_hub.shutdown()
        await student_hub.shutdown()

    run(scenario)


def test_directed_messages_reach_the_teacher_and_one_member(broker_factory):
    async def scenario() -> None:
        teacher_hub, student_hub = hub(broker_factory()), hub(broker_factory())
        code, _ = await teacher_hub.open("t")
        inbox: list[bytes] = []
        await teacher_hub.listen_teacher(code, inbox.append)
        student, other = Student(), Student()
        replies: list[bytes] = []
        await student_hub.join(code, "10.0.0.1", student)
        await student_hub.listen_member(student.member_id, replies.append)
        await student_hub.join(code, "10.0.0.2", other)
        await student_hub.to_teacher(code, {"type": "fork", "member": student.member_id})
        await teacher_hub.to_member(student.member_id, b"snapshot")
        async with asyncio.timeout(5):
            while not (inbox and replies):
                await asyncio.sleep(0.01)
        assert inbox == [b'{"type":"fork","member":"%s"}' % student.member_id.encode()]
        assert replies == [b"snapshot"]
        await teacher_hub.shutdown()
        await student_hub.shutdown()

    run(scenario)


def test_followers_hear_when_their_rooms_teacher_process_vanished(broker_factory):
    async def scenario() -> None:
        teacher_hub, student_hub = hub(broker_factory()), hub(broker_factory())
        student_hub.watch_seconds = 0.05
        code, _ = await teacher_hub.open("t")
        student = Student()
        await student_hub.join(code, "10.0.0.1", student)
        await teacher_hub.broker.delete(code)  # as its entries expire after a crash
        await student.wait(lambda: bool(student.closed))
        assert student.closed == ["the room is gone: its server stopped"]
        assert code not in student_hub.members
        await teacher_hub.shutdown()
        await student_hub.shutdown()

    run(scenario)
