"""Load test of a classroom room: one teacher plays the default network at the default 30
frames/s while N simulated followers (100 by default) watch, each acking every frame the moment
it has read it, as the page does after drawing.

Reports each follower's frames/s (min and median), the teacher's (first alone in its room: the
baseline of this machine at this moment), and the server's CPU and
memory (summed over its process tree, from /proc), for one worker, and for two workers sharing
the room through a real redis-server started on a free port. The server is the real one
(server.cli's serve, with --workers N), started with a connection cap above N + 1.
Usage: python benchmarks/room_load.py [--followers 100] [--seconds 15] [--setups 1 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from browser_bench import wait_until_up  # noqa: E402
from ws_load import cpu_seconds, free_port, memory_mib  # noqa: E402

from tests.redis_helpers import running_redis  # noqa: E402

SERVE = (
    "import json, sys; from server.cli import serve; from server.config import Settings; "
    "raise SystemExit(serve(Settings(**json.loads(sys.argv[1]))))"
)


def header_of(message: bytes) -> dict:
    (length,) = struct.unpack_from("<I", message, 0)
    return json.loads(message[4 : 4 + length])


class Viewer:
    """A page's socket: counts the frames of the run it shows while the clock runs."""

    def __init__(self) -> None:
        self.frames = 0
        self.counting = False
        self.socket = None

    async def open(self, url: str) -> None:
        self.socket = await connect(url, max_size=2**24)
        for _ in range(2):  # hello, data
            await self.socket.recv()

    async def send(self, **message: object) -> None:
        await self.socket.send(json.dumps(message))

    async def until_text(self, kind: str) -> dict:
        while True:
            message = await self.socket.recv()
            if isinstance(message, bytes):
                await self.frame(message)
            elif (text := json.loads(message))["type"] == kind:
                return text

    async def frame(self, message: bytes) -> None:
        if header_of(message)["type"] == "frame":
            if self.counting:
                self.frames += 1
            await self.send(type="ack")

    async def watch(self) -> None:
        async for message in self.socket:
            if isinstance(message, bytes):
                await self.frame(message)


def start_server(port: int, workers: int, redis_url: str | None, cap: int) -> subprocess.Popen:
    settings = {
        "port": port,
        "workers": workers,
        "redis_url": redis_url,
        "max_connections": cap,
        "room_cap": cap,
        "join_attempts_per_minute": 1000,
    }
    blas = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, json.dumps(settings)],
        cwd=ROOT,
        env={**os.environ, **blas, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
    )
    wait_until_up(f"http://127.0.0.1:{port}", process)
    return process


async def measure(followers: int, workers: int, seconds: float, redis_url: str | None) -> dict:
    port = free_port()
    server = start_server(port, workers, redis_url, cap=followers * workers + 16)
    url = f"ws://127.0.0.1:{port}/ws"
    try:
        teacher = Viewer()
        await teacher.open(url)
        await teacher.send(type="room_open")
        code = (await teacher.until_text("room"))["code"]
        students = [Viewer() for _ in range(followers)]
        for number, student in enumerate(students):
            await student.open(url)
            await student.send(type="join", code=code, name=f"student {number}")
            await student.until_text("room")
        tasks = [asyncio.create_task(viewer.watch()) for viewer in (teacher, *students)]
        await teacher.send(type="play")
        await asyncio.sleep(2.0)  # everyone past the catch-up
        for viewer in (teacher, *students):
            viewer.counting = True
        cpu_before, wall_before = cpu_seconds(server.pid), time.perf_counter()
        own_before = time.process_time()
        await asyncio.sleep(seconds)
        for viewer in (teacher, *students):
            viewer.counting = False
        wall = time.perf_counter() - wall_before
        cpu = (cpu_seconds(server.pid) - cpu_before) / wall
        client_cpu = (time.process_time() - own_before) / wall
        rss, peak = memory_mib(server.pid, "VmRSS"), memory_mib(server.pid, "VmHWM")
        for task in tasks:
            task.cancel()
        for viewer in (teacher, *students):
            await viewer.socket.close()
    finally:
        server.terminate()
        server.wait(timeout=15)
    rates = [student.frames / wall for student in students] or [float("nan")]
    return {
        "followers": followers,
        "workers": workers,
        "broker": "redis" if redis_url else "memory",
        "fps_min": min(rates),
        "fps_median": statistics.median(rates),
        "teacher_fps": teacher.frames / wall,
        "server_cpu_percent": 100 * cpu,
        "client_cpu_percent": 100 * client_cpu,
        "server_rss_mib": rss,
        "server_peak_rss_mib": peak,
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--setups", type=int, nargs="+", default=[1, 2], help="worker counts; 2+ use Redis"
    )
    args = parser.parse_args()
    print(
        f"{'workers':>7} {'broker':>7} {'followers':>9} {'fps min':>8} {'fps med':>8} "
        f"{'teacher':>8} {'cpu %':>6} {'rss MiB':>8} {'peak':>6} {'clients cpu %':>13} "
        f"{'load':>5}"
    )
    # First a teacher with no followers: the same machine's baseline, measured in the same run
    # (on a busy machine the teacher's own rate is what limits everyone's).
    setups = [(1, 0)] + [(workers, args.followers) for workers in args.setups]
    with ExitStack() as stack:
        redis_url = None
        for workers, followers in setups:
            if workers > 1 and redis_url is None:
                redis_url = stack.enter_context(running_redis(free_port()))
            figures = asyncio.run(
                measure(followers, workers, args.seconds, redis_url if workers > 1 else None)
            )
            print(
                f"{figures['workers']:>7} {figures['broker']:>7} {figures['followers']:>9} "
                f"{figures['fps_min']:>8.1f} {figures['fps_median']:>8.1f} "
                f"{figures['teacher_fps']:>8.1f} {figures['server_cpu_percent']:>6.0f} "
                f"{figures['server_rss_mib']:>8.1f} {figures['server_peak_rss_mib']:>6.1f} "
                f"{figures['client_cpu_percent']:>13.0f} {figures['load_average']:>5.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
