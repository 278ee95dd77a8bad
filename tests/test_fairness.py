"""The fair share of a worker's engine: least-charged first, no banked credit, cancellation
passes the turn on; and a phase is charged by its size."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

import pytest

from server.fairness import IDLE_CREDIT, Account, FairShare
from server.pacing import PHASE_BYTES_PER_TOKEN, TokenBucket, phase_tokens


def run(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop
    running in the main thread for the whole session."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def served_order(charges: list[float]) -> list[int]:
    """Sessions with these charges queue behind a running job: the order they are served in."""
    fair, order = FairShare(), []
    accounts = [Account() for _ in charges]
    for account, used in zip(accounts, charges, strict=True):
        account.used = used

    async def job(index: int) -> None:
        async with fair.turn(accounts[index]):
            order.append(index)

    blocker = Account()
    blocker.used = min(charges)  # the floor stays below every waiter: no one is lifted
    async with fair.turn(blocker):
        tasks = [asyncio.create_task(job(index)) for index in range(len(charges))]
        await asyncio.sleep(0)
        assert fair.waiting == len(charges)
    await asyncio.gather(*tasks)
    return order


def test_waiting_sessions_are_served_least_charged_first():
    assert run(served_order([3.0, 1.0, 2.0, 1.0])) == [1, 3, 2, 0]


def test_one_job_at_a_time():
    async def scenario() -> int:
        fair, running, most = FairShare(), [0], [0]

        async def job() -> None:
            async with fair.turn(Account()):
                running[0] += 1
                most[0] = max(most[0], running[0])
                await asyncio.sleep(0.001)
                running[0] -= 1

        await asyncio.gather(*(job() for _ in range(10)))
        return most[0]

    assert run(scenario()) == 1


def test_a_session_back_from_a_pause_does_not_bank_its_idle_time():
    async def scenario() -> float:
        fair, busy, sleeper = FairShare(), Account(), Account()
        busy.used = 10.0
        async with fair.turn(busy):
            pass
        async with fair.turn(sleeper):
            return sleeper.used

    assert run(scenario()) == pytest.approx(10.0 - IDLE_CREDIT)


def test_a_cancelled_waiter_passes_the_turn_on():
    async def scenario() -> list[str]:
        fair, order = FairShare(), []

        async def job(name: str) -> None:
            async with fair.turn(Account()):
                order.append(name)

        async with fair.turn(Account()):
            doomed = asyncio.create_task(job("cancelled"))
            survivor = asyncio.create_task(job("served"))
            await asyncio.sleep(0)
            doomed.cancel()
        await asyncio.gather(doomed, survivor, return_exceptions=True)
        assert not fair.running
        return order

    assert run(scenario()) == ["served"]


def test_a_phase_is_charged_by_its_size_and_debt_stops_the_next_messages():
    assert phase_tokens(1000) == 0
    assert phase_tokens(800 * 1024) == 800 * 1024 // PHASE_BYTES_PER_TOKEN == 25
    bucket = TokenBucket(rate=1e-9, burst=200)  # no refill within the test
    bucket.charge(250)
    assert bucket.in_debt and not bucket.take(1)


def test_short_work_does_not_wait_behind_long_work_in_a_thread():
    from server.fairness import Engine, Lanes

    async def scenario() -> list[str]:
        lanes, order = Lanes(), []
        big, small = Engine(lanes, slice_seconds=0.004), Engine(lanes, slice_seconds=0.004)
        big.durations["metrics"] = 1.0  # took long last time: goes to the thread lane
        started = asyncio.Event()

        def long_job() -> None:
            order.append("long started")
            while not started.is_set():  # until the short job has run meanwhile
                time.sleep(0.001)
            order.append("long done")

        async def short_job() -> None:
            while not order:  # the long job holds its lane from here on
                await asyncio.sleep(0.001)
            await small.call("slice", lambda: order.append("short"))
            started.set()

        await asyncio.gather(big.call("metrics", long_job), short_job())
        return order

    assert run(scenario()) == ["long started", "short", "long done"]
