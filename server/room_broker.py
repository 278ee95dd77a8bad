"""Where rooms live: one small interface, two implementations (as channels_redis's layers).

`MemoryBroker` keeps rooms in this process: enough for the default single-worker server and for
tests. `RedisBroker` keeps them in Redis and fans messages out with its pub/sub, so a room works
whichever worker or host a student's connection lands on.

A room is a record (text fields), a follower count under a cap, a few kept messages (the newest
of each kind, what a newcomer needs to catch up) and channels. A channel delivers each message
once to every callback subscribed to it, in the order published; callbacks are plain functions
that must not block (they hand the message on to the sockets' own queues).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

Callback = Callable[[bytes], None]
# A backstop: a room whose teacher's process died without saying so vanishes after a day.
ROOM_MAX_SECONDS = 24 * 3600
PREFIX = "backprop-lab"

log = logging.getLogger("backprop-lab.rooms")


def room_channel(code: str) -> str:
    """What the room shows: the teacher's frames, state, phases; read by every follower."""
    return f"{PREFIX}:room:{code}:all"


def teacher_channel(code: str) -> str:
    """What reaches the room's teacher session: fork requests, students' figures."""
    return f"{PREFIX}:room:{code}:teacher"


def member_channel(member: str) -> str:
    """Replies to one connection (a fork's snapshot of the teacher's run)."""
    return f"{PREFIX}:member:{member}"


class Broker(ABC):
    """Rooms shared by every process that uses the same broker."""

    @abstractmethod
    async def create(self, code: str, record: dict[str, str]) -> bool:
        """Store a new room; False if `code` is taken."""

    @abstractmethod
    async def record(self, code: str) -> dict[str, str] | None:
        """The room's record, None if there is no such room (or it expired)."""

    @abstractmethod
    async def update(self, code: str, fields: dict[str, str]) -> None: ...

    @abstractmethod
    async def expire(self, code: str, seconds: float) -> None:
        """The room and everything kept for it vanish after `seconds` (unless set again)."""

    @abstractmethod
    async def delete(self, code: str) -> None: ...

    @abstractmethod
    async def add_member(self, code: str, cap: int) -> int | None:
        """Count one more follower if the room exists and has fewer than `cap`: the new count,
        else None (no such room: 0 is never returned; full: -1)."""

    @abstractmethod
    async def remove_member(self, code: str) -> None: ...

    @abstractmethod
    async def member_count(self, code: str) -> int: ...

    @abstractmethod
    async def publish(self, channel: str, message: bytes, keep: tuple[str, str] | None = None):
        """Deliver `message` to `channel`'s subscribers; with keep=(code, name) it also becomes
        the room's kept message `name`, in the same step (a newcomer reading the kept messages
        after subscribing misses nothing; it may see one twice)."""

    @abstractmethod
    async def kept(self, code: str) -> dict[str, bytes]: ...

    @abstractmethod
    async def subscribe(self, channel: str, callback: Callback) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str, callback: Callback) -> None: ...

    @abstractmethod
    async def attempts(self, key: str, window: float, add: int = 1) -> int:
        """Count `add` attempts under `key` (0: only look): how many in the current `window`
        seconds, these included (fixed windows, shared by every process)."""

    async def close(self) -> None:  # noqa: B027 (nothing to release in memory)
        """Release connections."""


# --------------------------------------------------------------------------- in memory


@dataclass
class _MemoryRoom:
    record: dict[str, str]
    members: int = 0
    kept: dict[str, bytes] = field(default_factory=dict)
    deadline: float = 0.0


class MemoryBroker(Broker):
    """Rooms of one process (the default `--workers 1`)."""

    def __init__(self) -> None:
        self._rooms: dict[str, _MemoryRoom] = {}
        self._subscribers: dict[str, list[Callback]] = defaultdict(list)
        self._attempts: dict[tuple[str, int], int] = {}

    def _room(self, code: str) -> _MemoryRoom | None:
        room = self._rooms.get(code)
        if room is not None and time.monotonic() >= room.deadline:
            del self._rooms[code]
            return None
        return room

    async def create(self, code: str, record: dict[str, str]) -> bool:
        if self._room(code) is not None:
            return False
        self._rooms[code] = _MemoryRoom(dict(record), deadline=time.monotonic() + ROOM_MAX_SECONDS)
        return True

    async def record(self, code: str) -> dict[str, str] | None:
        room = self._room(code)
        return dict(room.record) if room else None

    async def update(self, code: str, fields: dict[str, str]) -> None:
        room = self._room(code)
        if room:
            room.record.update(fields)

    async def expire(self, code: str, seconds: float) -> None:
        room = self._room(code)
        if room:
            room.deadline = time.monotonic() + seconds

    async def delete(self, code: str) -> None:
        self._rooms.pop(code, None)

    async def add_member(self, code: str, cap: int) -> int | None:
        room = self._room(code)
        if room is None:
            return None
        if room.members >= cap:
            return -1
        room.members += 1
        return room.members

    async def remove_member(self, code: str) -> None:
        room = self._room(code)
        if room and room.members > 0:
            room.members -= 1

    async def member_count(self, code: str) -> int:
        room = self._room(code)
        return room.members if room else 0

    async def publish(self, channel: str, message: bytes, keep: tuple[str, str] | None = None):
        if keep is not None and (room := self._room(keep[0])) is not None:
            room.kept[keep[1]] = message
        for callback in list(self._subscribers.get(channel, ())):
            callback(message)

    async def kept(self, code: str) -> dict[str, bytes]:
        room = self._room(code)
        return dict(room.kept) if room else {}

    async def subscribe(self, channel: str, callback: Callback) -> None:
        self._subscribers[channel].append(callback)

    async def unsubscribe(self, channel: str, callback: Callback) -> None:
        callbacks = self._subscribers.get(channel, [])
        with contextlib.suppress(ValueError):
            callbacks.remove(callback)
        if not callbacks:
            self._subscribers.pop(channel, None)

    async def attempts(self, key: str, window: float, add: int = 1) -> int:
        slot = (key, int(time.time() // window))
        self._attempts = {k: v for k, v in self._attempts.items() if k[1] >= slot[1]}
        self._attempts[slot] = self._attempts.get(slot, 0) + add
        return self._attempts[slot]


# --------------------------------------------------------------------------- Redis

# A new record, unless the code is taken; leftovers of an expired room of that code go.
# KEYS = record, members, kept; ARGV = seconds to live, then field, value, field, value, ...
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
# Atomic under the cap, and only for a room that exists: KEYS = record, members.
ADD_MEMBER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local count = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], redis.call('TTL', KEYS[1]))
if count > tonumber(ARGV[1]) then redis.call('DECR', KEYS[2]) return -1 end
return count
"""
REMOVE_MEMBER = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


def _keys(code: str) -> tuple[str, str, str]:
    base = f"{PREFIX}:room:{code}"
    return base, f"{base}:members", f"{base}:kept"


class RedisBroker(Broker):
    """Rooms in Redis (redis-py's asyncio client): every worker and host that points at the same
    server shares them. One connection listens to the channels this process subscribed to."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis  # only a server started with --redis needs it

        self.url = url
        self._client = redis.Redis.from_url(url)
        self._pubsub = self._client.pubsub()
        self._subscribers: dict[str, list[Callback]] = defaultdict(list)
        self._create = self._client.register_script(CREATE)
        self._add_member = self._client.register_script(ADD_MEMBER)
        self._remove_member = self._client.register_script(REMOVE_MEMBER)
        self._reader: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    async def check(self) -> None:
        """Fail now, with the URL in the message, if Redis cannot be reached."""
        try:
            await self._client.ping()
        except Exception as error:
            raise RuntimeError(f"--redis {self.url}: cannot reach Redis: {error}") from error

    async def create(self, code: str, record: dict[str, str]) -> bool:
        pairs = [item for pair in record.items() for item in pair]
        created = await self._create(keys=list(_keys(code)), args=[ROOM_MAX_SECONDS, *pairs])
        return bool(created)

    async def record(self, code: str) -> dict[str, str] | None:
        fields = await self._client.hgetall(_keys(code)[0])
        if not fields:
            return None
        return {name.decode(): value.decode() for name, value in fields.items()}

    async def update(self, code: str, fields: dict[str, str]) -> None:
        key = _keys(code)[0]
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.exists(key)
            pipe.hset(key, mapping=fields)
            exists, _ = await pipe.execute()
        if not exists:  # it expired meanwhile: do not leave a record without a TTL behind
            await self._client.delete(key)

    async def expire(self, code: str, seconds: float) -> None:
        milliseconds = max(1, int(seconds * 1000))
        async with self._client.pipeline(transaction=True) as pipe:
            for key in _keys(code):
                pipe.pexpire(key, milliseconds)
            await pipe.execute()

    async def delete(self, code: str) -> None:
        await self._client.delete(*_keys(code))

    async def add_member(self, code: str, cap: int) -> int | None:
        key, members, _ = _keys(code)
        count = int(await self._add_member(keys=[key, members], args=[cap]))
        return None if count == -2 else count

    async def remove_member(self, code: str) -> None:
        await self._remove_member(keys=[_keys(code)[1]])

    async def member_count(self, code: str) -> int:
        return int(await self._client.get(_keys(code)[1]) or 0)

    async def publish(self, channel: str, message: bytes, keep: tuple[str, str] | None = None):
        if keep is None:
            await self._client.publish(channel, message)
            return
        kept = _keys(keep[0])[2]
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(kept, keep[1], message)
            pipe.expire(kept, ROOM_MAX_SECONDS)
            pipe.publish(channel, message)
            await pipe.execute()

    async def kept(self, code: str) -> dict[str, bytes]:
        fields = await self._client.hgetall(_keys(code)[2])
        return {name.decode(): value for name, value in fields.items()}

    async def subscribe(self, channel: str, callback: Callback) -> None:
        first = channel not in self._subscribers
        self._subscribers[channel].append(callback)
        if first:
            await self._pubsub.subscribe(channel)
            self._subscribed.set()
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def unsubscribe(self, channel: str, callback: Callback) -> None:
        callbacks = self._subscribers.get(channel, [])
        with contextlib.suppress(ValueError):
            callbacks.remove(callback)
        if not callbacks and channel in self._subscribers:
            del self._subscribers[channel]
            await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        """Hand each message to the callbacks of its channel, until closed."""
        while True:
            if not self._pubsub.subscribed:
                self._subscribed.clear()
                await self._subscribed.wait()
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis restarted: redis-py reconnects and resubscribes
                log.warning("backprop-lab: Redis pub/sub: %s; retrying in 1 s", error)
                await asyncio.sleep(1.0)
                continue
            if message is None or message["type"] != "message":
                continue
            for callback in list(self._subscribers.get(message["channel"].decode(), ())):
                callback(message["data"])

    async def attempts(self, key: str, window: float, add: int = 1) -> int:
        slot = int(time.time() // window)
        name = f"{PREFIX}:attempts:{key}:{slot}"
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incrby(name, add)
            pipe.expire(name, int(window) + 1)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()
        await self._client.aclose()


def broker_for(redis_url: str | None) -> Broker:
    return RedisBroker(redis_url) if redis_url else MemoryBroker()
