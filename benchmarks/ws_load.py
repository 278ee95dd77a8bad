"""Load test: N simulated browsers against one server process (uvicorn in a subprocess).

Each client plays the default run at the default 30 frames/s and acks every frame the moment it
has read it, as the page does after drawing. Every client sends a `set` once a second while
playing and times it to the first frame whose `seq` shows it; client 0 then pauses and times
`step` messages the same way while the others keep playing. Server CPU and memory come from
/proc, summed over the server's process tree (its `--workers`). Usage:
python benchmarks/ws_load.py --clients 1 20 30 --seconds 10 [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from browser_bench import wait_until_up  # this directory is on sys.path
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from server.config import Settings  # noqa: E402  (the server's defaults, which it runs with)
from tests.process_helpers import process_tree  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class ClientFigures:
    frames: int = 0
    frames_while_playing: int = 0
    playing_seconds: float = 0.0
    set_latencies: list[float] = field(default_factory=list)
    step_latencies: list[float] = field(default_factory=list)


def header_of(message: bytes) -> dict:
    """Only the JSON header of a binary message: what a page reads before drawing."""
    (length,) = struct.unpack_from("<I", message, 0)
    return json.loads(message[4 : 4 + length])


class SimulatedBrowser:
    def __init__(self, url: str) -> None:
        self.url, self.figures, self.seq = url, ClientFigures(), 0

    async def send(self, socket_, message: dict) -> int:
        await socket_.send(json.dumps(message))
        if message["type"] != "ack":
            self.seq += 1
        return self.seq

    async def until_frame_with(self, socket_, seq: int) -> None:
        """Read (and ack) messages until a frame reflects message number `seq`."""
        while True:
            message = await socket_.recv()
            if isinstance(message, bytes):
                header = header_of(message)
                if header["type"] == "frame":
                    self.figures.frames += 1
                    await self.send(socket_, {"type": "ack"})
                    if header["seq"] >= seq:
                        return

    async def run(self, play_seconds: float, step_seconds: float) -> ClientFigures:
        async with connect(self.url, max_size=2**24) as socket_:
            for _ in range(2):  # hello, data
                await socket_.recv()
            await self.until_frame_with(socket_, 0)
            self.figures.frames = 0
            await self.send(socket_, {"type": "play"})
            started = time.perf_counter()
            lr = 0.03
            while time.perf_counter() - started < play_seconds:
                deadline = time.perf_counter() + 1.0
                lr = 0.05 if lr == 0.03 else 0.03
                sent = time.perf_counter()
                await self.until_frame_with(
                    socket_, await self.send(socket_, {"type": "set", "lr": lr})
                )
                self.figures.set_latencies.append(time.perf_counter() - sent)
                while time.perf_counter() < deadline:
                    await self.until_frame_with(socket_, self.seq)
            self.figures.playing_seconds = time.perf_counter() - started
            self.figures.frames_while_playing = self.figures.frames
            if step_seconds:
                await self.step_probe(socket_, step_seconds)
        return self.figures

    async def step_probe(self, socket_, seconds: float) -> None:
        await self.until_frame_with(socket_, await self.send(socket_, {"type": "pause"}))
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            sent = time.perf_counter()
            seq = await self.send(socket_, {"type": "step", "unit": "iteration"})
            await self.until_frame_with(socket_, seq)
            self.figures.step_latencies.append(time.perf_counter() - sent)
            await asyncio.sleep(0.1)


async def stalled_browser(url: str, seconds: float) -> None:
    """A tab that asks for a lot and never reads: the server must not buffer for it."""
    async with connect(url, max_size=2**24) as socket_:
        await socket_.send(json.dumps({"type": "play"}))
        defaults = Settings()
        big = {
            "type": "config",
            "data": {"n_points": defaults.max_points},
            "network": {"layers": [2, defaults.max_neurons, 1]},
        }
        for _ in range(defaults.rate_limit_burst):
            await socket_.send(json.dumps(big))
        await asyncio.sleep(seconds)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the server's whole process tree (live processes)."""
    total = 0
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def memory_mib(pid: int, key: str) -> float:
    """VmRSS or VmHWM summed over the process tree (shared pages counted in each process)."""
    total = 0
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                total += int(line.split()[1])
    return total / 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, workers: int | None) -> subprocess.Popen:
    command = [sys.executable, "-m", "server.cli", "--no-browser", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
    )
    wait_until_up(f"http://127.0.0.1:{port}", process)
    return process


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(
    n_clients: int, seconds: float, n_stalled: int = 0, workers: int | None = None
) -> dict:
    port = free_port()
    server = start_server(port, workers)
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        browsers = [SimulatedBrowser(url) for _ in range(n_clients)]
        cpu_before, wall_before = cpu_seconds(server.pid), time.perf_counter()
        own_before = time.process_time()
        # Client 0 plays for half the time, then probes `step` while the others keep playing.
        tasks = [browsers[0].run(seconds / 2, seconds / 2)]
        tasks += [browser.run(seconds, 0) for browser in browsers[1:]]
        tasks += [stalled_browser(url, seconds) for _ in range(n_stalled)]
        figures = await asyncio.gather(*tasks)
        wall = time.perf_counter() - wall_before
        cpu = (cpu_seconds(server.pid) - cpu_before) / wall
        client_cpu = (time.process_time() - own_before) / wall
        rss, peak = memory_mib(server.pid, "VmRSS"), memory_mib(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures = figures[:n_clients]
    rates = [f.frames_while_playing / f.playing_seconds for f in figures]
    sets = [latency for f in figures for latency in f.set_latencies]
    steps = figures[0].step_latencies
    return {
        "clients": n_clients,
        "workers": workers,
        "fps_min": min(rates),
        "fps_median": statistics.median(rates),
        "set_ms_median": 1000 * statistics.median(sets),
        "set_ms_p95": 1000 * percentile(sets, 0.95),
        "step_ms_median": 1000 * statistics.median(steps),
        "step_ms_p95": 1000 * percentile(steps, 0.95),
        "server_cpu_percent": 100 * cpu,
        "client_cpu_percent": 100 * client_cpu,
        "load_average": os.getloadavg()[0],
        "server_rss_mib": rss,
        "server_peak_rss_mib": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 20, 30])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--stalled", type=int, default=0, help="extra clients that flood and never read"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="server processes (default: the cli's default)"
    )
    args = parser.parse_args()
    print(
        f"{'clients':>7} {'fps min':>8} {'fps med':>8} {'set p50':>8} {'set p95':>8} "
        f"{'step p50':>9} {'step p95':>9} {'cpu %':>6} {'rss MiB':>8} {'peak':>6} "
        f"{'clients cpu %':>13} {'load':>5} workers={args.workers or 'default'}"
    )
    for n in args.clients:
        r = asyncio.run(measure(n, args.seconds, args.stalled, args.workers))
        print(
            f"{r['clients']:>7} {r['fps_min']:>8.1f} {r['fps_median']:>8.1f} "
            f"{r['set_ms_median']:>8.1f} {r['set_ms_p95']:>8.1f} {r['step_ms_median']:>9.1f} "
            f"{r['step_ms_p95']:>9.1f} {r['server_cpu_percent']:>6.0f} "
            f"{r['server_rss_mib']:>8.1f} {r['server_peak_rss_mib']:>6.1f} "
            f"{r['client_cpu_percent']:>13.0f} {r['load_average']:>5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
