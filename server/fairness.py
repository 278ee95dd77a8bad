"""A fair share of one worker process's CPU for its sessions.

Engine work (training slices, frames, phases, metrics, building a run) runs one job at a time
per process, each job charged to its session by the CPU time it took. When sessions queue for
the engine, the one that has been charged least goes first: a session that asks for more than
its share (speed "max", the largest network, phase-step spam) waits behind the others and so
slows itself, never its neighbours. No job holds its turn across a network send, so a client
that stops reading holds up only its own session.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
