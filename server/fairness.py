"""A fair share of one worker process's CPU for its sessions.

Engine work (training slices, frames, phases, metrics, building a run) is charged to its session
by the CPU time it took, and runs in one of two lanes, one job at a time in each: short jobs on
the event loop, and long ones (a 5,000-point metrics pass, a gradient check, the largest
network's frame) in a worker thread, where NumPy releases the GIL. When sessions queue for a
lane, the one that has been charged least goes first: a session that asks for more than its
share (speed "max", the largest network, phase-step spam) waits behind the others and so slows
itself, never its neighbours; and a small run's short jobs never wait behind a big run's long
one. No job holds its turn across a network send, so a client that stops reading holds up only
its own session.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

# Kinds of engine work that go to a thread until one has been measured short.
THREAD_FIRST = ("inspect", "config", "state", "data", "restore", "export", "parse", "cost")
# CPU seconds of credit a session may keep after a pause: enough that a light session that
# just woke up goes first, never enough to bank a long burst while others wait.
IDLE_CREDIT = 0.02


class Account:
    """The CPU time charged to one session, its virtual time in the queue."""

    def __init__(self) -> None:
        self.used = 0.0

    def charge(self, seconds: float) -> None:
        self.used += seconds


class FairShare:
    """One engine job at a time; waiters are served least-charged first (see the module)."""

    def __init__(self) -> None:
        self.running = False
        self.queue: list[tuple[float, int, asyncio.Future[None]]] = []
        self.order = itertools.count()  # ties go first come, first served
        self.floor = 0.0  # the charge of the latest session served: about the least of the busy

    @asynccontextmanager
    async def turn(self, account: Account) -> AsyncIterator[None]:
        """Hold the engine for one job of `account`'s session."""
        # A session back from a pause does not bring the time it did not use.
        account.used = max(account.used, self.floor - IDLE_CREDIT)
        if self.running:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self.queue, (account.used, next(self.order), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self.hand_over()  # granted as we were cancelled: the next one goes
                else:
                    future.cancel()  # hand_over skips it
                raise
        else:
            self.running = True
        self.floor = max(self.floor, account.used)
        try:
            yield
        finally:
            self.hand_over()

    def hand_over(self) -> None:
        while self.queue:
            _, _, future = heapq.heappop(self.queue)
            if not future.done():
                future.set_result(None)  # `running` stays true: the turn passes on
                return
        self.running = False

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, future in self.queue if not future.done())


class Lanes:
    """A worker process's two lanes of engine work, shared by all its sessions."""

    def __init__(self) -> None:
        self.inline, self.threads = FairShare(), FairShare()


class Engine:
    """One session's access to its worker's engine: every call takes the session's turn in its
    lane and is charged by the CPU time it took (one account for both lanes)."""

    def __init__(self, lanes: Lanes, slice_seconds: float) -> None:
        self.lanes, self.account, self.slice_seconds = lanes, Account(), slice_seconds
        # How long each kind of call took last. A gradient check always goes to a thread, and
        # so does the first of each run-sized kind (the largest run's `state` alone takes a
        # second of trial networks): a new session must not hold the event loop to find out.
        self.durations: dict[str, float] = dict.fromkeys(THREAD_FIRST, math.inf)

    async def call(self, kind: str, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` on the event loop if its `kind` took less than a slice last time,
        else in a worker thread (NumPy releases the GIL there, so other sessions keep going).

        Small networks stay inline because a thread hand-off costs more than it saves on a
        busy machine; big ones (a 5000-point metrics pass, a gradient check) never block.
        """

        def timed() -> Any:
            # CPU time of this thread: being preempted on a busy machine does not count.
            started = time.thread_time()
            try:
                return function(*args)
            finally:
                self.durations[kind] = time.thread_time() - started
                self.account.charge(self.durations[kind])

        if self.durations.get(kind, 0.0) <= self.slice_seconds:
            async with self.lanes.inline.turn(self.account):
                return timed()
        async with self.lanes.threads.turn(self.account):
            return await anyio.to_thread.run_sync(timed)

    @asynccontextmanager
    async def inline(self) -> AsyncIterator[None]:
        """The session's turn for work done right here on the event loop, charged the same."""
        async with self.lanes.inline.turn(self.account):
            started = time.thread_time()
            try:
                yield
            finally:
                self.account.charge(time.thread_time() - started)
