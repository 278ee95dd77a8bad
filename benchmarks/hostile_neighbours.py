"""A class of well-behaved pages beside one hostile client, pattern by pattern.

The server runs as a classroom starts it (`backprop-lab --host 0.0.0.0`, its default workers).
20 page-like clients play the default run at 30 frames/s and ack each frame once read, as the
page does after drawing; they connect over loopback. Beside them, in a process of its own (so
its work does not slow the measuring clients' event loop), one hostile pattern runs from the
machine's network address, as a student's laptop would. For each pattern the table gives the
well-behaved clients' median and minimum frames/s over the same window, against the run with
no hostile client measured just before it, and how many well-behaved connections were refused.

Usage: python benchmarks/hostile_neighbours.py [--seconds 10] [--clients 20] [--patterns ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

from browser_bench import wait_until_up  # this directory is on sys.path
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from server.config import DEFAULT_SPEED  # noqa: E402  (the speed a page starts at)
from tests.largest_run import largest_run  # noqa: E402

# The largest run the limits allow: every feature, the most layers and neurons and points, the
# largest batch (every training point); read from the run schema, as the server's limits are.
LARGEST = {"type": "config", **largest_run()}
WARM_UP = 3.0  # seconds the hostile pattern runs before the window opens


def header_of(message: bytes) -> dict:
    (length,) = struct.unpack_from("<I", message, 0)
    return json.loads(message[4 : 4 + length])


# ----- the well-behaved class -------------------------------------------------------------------


async def student(url: str, window: tuple[float, float], refused: list[str]) -> float | None:
    """Plays the default run like a page; frames per second within `window` (None if refused)."""
    frames = 0
    try:
        async with connect(url, max_size=2**24, open_timeout=10) as socket_:
            await socket_.send(json.dumps({"type": "set", "fps": 30, "speed": DEFAULT_SPEED}))
            await socket_.send(json.dumps({"type": "play"}))
            while time.monotonic() < window[1]:
                message = await asyncio.wait_for(socket_.recv(), timeout=window[1] - window[0])
                if isinstance(message, bytes) and header_of(message)["type"] == "frame":
                    await socket_.send('{"type":"ack"}')
                    if window[0] <= time.monotonic() < window[1]:
                        frames += 1
    except (ConnectionClosed, InvalidStatus, OSError, TimeoutError) as error:
        refused.append(f"{type(error).__name__}: {error}"[:120])
        return None
    return frames / (window[1] - window[0])


async def class_of(url: str, clients: int, seconds: float) -> tuple[list[float], list[str]]:
    start = time.monotonic() + 1.0  # everyone connected and playing by then
    window = (start, start + seconds)
    refused: list[str] = []
    rates = await asyncio.gather(*(student(url, window, refused) for _ in range(clients)))
    return [rate for rate in rates if rate is not None], refused


# ----- hostile patterns (each runs in its own process until killed) ------------------------------


async def drain(socket_) -> None:
    """Read and drop everything, acking frames."""
    async for message in socket_:
        if isinstance(message, bytes) and header_of(message)["type"] == "frame":
            await socket_.send('{"type":"ack"}')


async def phase_spam(url: str) -> None:
    """Phase steps of 100 on the largest run, as fast as the socket takes them, reading all."""
    async with connect(url, max_size=None) as socket_:
        await socket_.send(json.dumps(LARGEST))
        reader = asyncio.create_task(drain(socket_))
        while not reader.done():
            await socket_.send(json.dumps({"type": "step", "unit": "phase", "count": 100}))
            await asyncio.sleep(0.001)


async def max_speed(url: str) -> None:
    """Four sessions of the largest run at speed "max", 60 frames/s, acking every frame."""

    async def one() -> None:
        async with connect(url, max_size=None) as socket_:
            await socket_.send(json.dumps(LARGEST))
            await socket_.send(json.dumps({"type": "set", "speed": "max", "fps": 60}))
            await socket_.send(json.dumps({"type": "play"}))
            await drain(socket_)

    await asyncio.gather(*(one() for _ in range(4)))


async def hoard(url: str) -> None:
    """As many sessions as the server gives, each acking its frames and otherwise idle."""
    held = []
    for _ in range(100):
        try:
            socket_ = await connect(url, max_size=None)
            held.append(asyncio.create_task(drain(socket_)))
        except (InvalidStatus, OSError):
            pass
    await asyncio.gather(*held, return_exceptions=True)
    await asyncio.sleep(3600)


async def read_nothing(url: str) -> None:
    """Sessions that start the largest run playing, ask for phases, and never read a byte."""

    async def one() -> None:
        try:
            socket_ = await connect(url, max_size=None, max_queue=1)
            await socket_.send(json.dumps(LARGEST))
            await socket_.send(json.dumps({"type": "set", "speed": "max", "fps": 60}))
            await socket_.send(json.dumps({"type": "play"}))
            await socket_.send(json.dumps({"type": "step", "unit": "phase", "count": 100}))
        except (InvalidStatus, OSError, ConnectionClosed):
            pass

    await asyncio.gather(*(one() for _ in range(40)))
    await asyncio.sleep(3600)


async def big_message(url: str) -> None:
    """10 MB messages, again and again on new connections as each is closed."""
    payload = json.dumps({"type": "config", "data": {"points": [[1.0, 1.0, 1]] * 700_000}})
    while True:
        try:
            async with connect(url, max_size=None) as socket_:
                await socket_.send(payload)
                await drain(socket_)
        except (ConnectionClosed, InvalidStatus, OSError):
            await asyncio.sleep(0.05)


async def slow_http(url: str) -> None:
    """Hundreds of HTTP requests whose headers arrive a byte a second (slowloris)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)

    async def one() -> None:
        while True:
            try:
                _, writer = await asyncio.open_connection(host, int(port))
                request = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: " + "a" * 1000
                for byte in request.encode():
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(1.0)
            except OSError:
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one() for _ in range(300)))


PATTERNS = {
    "phase-step spam, largest run": phase_spam,
    "4x speed max, largest run": max_speed,
    "connection hoarding": hoard,
    "40 read-nothing clients": read_nothing,
    "10 MB messages": big_message,
    "300 slow half-open HTTP requests": slow_http,
}


def run_pattern(name: str, url: str) -> None:
    asyncio.run(PATTERNS[name](url))


# ----- the server and the table --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return probe.getsockname()[1]


def room_address() -> str:
    from server.hosts import is_loopback_host, machine_addresses

    for address in sorted(machine_addresses()):
        if ":" not in address and not is_loopback_host(address):
            return address
    raise SystemExit("no non-loopback IPv4 address: the hostile client needs one of its own")


def start_server(port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "server.cli", "--no-browser", "--host", "0.0.0.0"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
    )
    wait_until_up(f"http://127.0.0.1:{port}", process)
    return process


def measure(pattern: str | None, clients: int, seconds: float) -> dict:
    port = free_port()
    server = start_server(port)
    hostile = None
    try:
        if pattern is not None:
            room_url = f"ws://{room_address()}:{port}/ws"
            context = multiprocessing.get_context("spawn")
            hostile = context.Process(target=run_pattern, args=(pattern, room_url), daemon=True)
            hostile.start()
            time.sleep(WARM_UP)
        rates, refused = asyncio.run(class_of(f"ws://127.0.0.1:{port}/ws", clients, seconds))
    finally:
        if hostile is not None:
            hostile.kill()
            hostile.join()
        server.terminate()
        server.wait(timeout=15)
    return {
        "pattern": pattern or "none (baseline)",
        "median": statistics.median(rates) if rates else 0.0,
        "min": min(rates) if rates else 0.0,
        "refused": clients - len(rates),
        "reasons": refused[:2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--patterns", nargs="*", choices=list(PATTERNS), default=list(PATTERNS))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{args.clients} page-like clients, {args.seconds:g} s windows, load {load:.1f}")
    print("Each pattern is measured right after a baseline of its own (no hostile client), so")
    print("that a change in the machine's load between them weighs little on the ratio.")
    print("| hostile pattern | baseline median / min fps | with it: median / min fps "
          "| median vs baseline | well-behaved refused |")  # fmt: skip
    print("|---|---|---|---|---|")
    for pattern in args.patterns:
        baseline = measure(None, args.clients, args.seconds)
        row = measure(pattern, args.clients, args.seconds)
        share = row["median"] / baseline["median"] if baseline["median"] else 0.0
        refused = baseline["refused"] + row["refused"]
        reasons = f" {row['reasons'] or baseline['reasons']}" if refused else ""
        print(
            f"| {pattern} | {baseline['median']:.1f} / {baseline['min']:.1f} "
            f"| {row['median']:.1f} / {row['min']:.1f} | {100 * share:.0f} % | {refused} |"
            + reasons,
            flush=True,
        )


if __name__ == "__main__":
    main()
