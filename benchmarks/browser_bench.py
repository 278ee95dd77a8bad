"""Shared parts of the page benchmarks: servers in subprocesses (this tree, or another git ref
exported beside it for a before/after in one run), headless Chromium, and the in-page counter.

Imported by page_fps.py, recurrent_fps.py and vs_playground.py (run them as scripts: this
directory is on sys.path).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]

# Counts, by the page's own clock, animation ticks, the ticks on which the page had a new frame
# to show (`store.frame` is replaced when the loop draws one), the iterations those frames
# advanced, and the drawing work per tick (the loop's running mean, sampled every tick). Timed
# as ../shared/anchors/measure_tf_playground.py times Playground: from the first tick's
# timestamp to the last's, counting the ticks after the first (timing from the call instead
# adds the wait for the first tick, up to a frame period, and reads ~0.4 % low at 60 Hz).
COUNT_FRAMES = """async (seconds) => {
  const store = window.backpropLab.store;
  let frames = 0, ticks = 0, drawMs = 0, last = null, first = null, start = 0, now = 0;
  await new Promise((done) => {
    const tick = (timestamp) => {
      now = timestamp;
      if (first === null) {
        [first, last, start] = [timestamp, store.frame, store.frame.header.iteration];
      } else {
        ticks += 1;
        drawMs += store.drawMs;
        if (store.frame !== last) { frames += 1; last = store.frame; }
      }
      if (timestamp - first < seconds * 1000) requestAnimationFrame(tick); else done();
    };
    requestAnimationFrame(tick);
  });
  const elapsed = (now - first) / 1000;
  return {
    framesPerSecond: frames / elapsed,
    ticksPerSecond: ticks / elapsed,
    iterationsPerSecond: (store.frame.header.iteration - start) / elapsed,
    drawMsPerTick: drawMs / ticks,
  };
}"""


@dataclass
class Build:
    """One backprop-lab server: `label` names it in tables, `url` is where it serves."""

    label: str
    url: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chromium_path() -> str:
    return os.environ.get("CHROMIUM", "/usr/bin/chromium")


def export_ref(ref: str, into: Path) -> Path:
    """The files of git `ref` of this repository, unpacked under `into` (no work tree needed)."""
    archive = into / "ref.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=out, check=True)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


@contextlib.contextmanager
def serve(tree: Path, label: str) -> Iterator[Build]:
    """The console script of `tree` (its own server/, engine/, static/) on a free port, one
    worker process: the server as a user starts it (single-threaded BLAS included)."""
    port = free_port()
    command = [sys.executable, "-m", "server.cli", f"--port={port}", "--workers=1", "--no-browser"]
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    process = subprocess.Popen(command, cwd=tree, env=environment, stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, process)
        yield Build(label, url)
    finally:
        process.terminate()
        process.wait(timeout=15)


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 20.0) -> None:
    """Returns once the server at `url` answers /healthz; kills it if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
            return
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"no server at {url} after {seconds:g} s")


@contextlib.contextmanager
def builds(baseline: str | None) -> Iterator[list[Build]]:
    """This tree's server, and `baseline`'s (a git ref) first when one is given."""
    with contextlib.ExitStack() as stack:
        found = []
        if baseline:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            found.append(stack.enter_context(serve(export_ref(baseline, scratch), baseline)))
        found.append(stack.enter_context(serve(ROOT, "this tree")))
        yield found


# Moves the speed slider to the stop of `speed` (a number of iterations per frame, or "max").
# A baseline whose slider has no "max" stop gets it as a message (its server knows "max").
SET_SPEED = """async (speed) => {
  const transport = await import("/static/js/transport.js");
  const SPEEDS = transport.SPEEDS ?? transport.speedStops(); // a baseline may have the old list
  const stop = SPEEDS.findIndex((value) => String(value) === speed);
  if (stop < 0 && speed === "max") return window.backpropLab.socket.send({ type: "set", speed });
  if (stop < 0) throw new Error(`speed ${speed} is not one of ${SPEEDS}`);
  const slider = document.querySelector('[data-testid="speed"]');
  slider.value = String(stop);
  slider.dispatchEvent(new Event("change", { bubbles: true }));
}"""


def new_page(browser, width: int, height: int):
    """A page of `width` × `height` that may run Playwright's string predicates: those are
    evaluated as strings, which the app's Content-Security-Policy forbids (as the tests do)."""
    return browser.new_page(viewport={"width": width, "height": height}, bypass_csp=True)


def play(page, url: str, hash_: str, speed: str | None = None) -> None:
    """Opens the page on the run `hash_`, sets the speed when asked, presses Play."""
    page.goto(f"{url}/#{hash_}")
    page.wait_for_function("window.backpropLab?.store?.frame?.header != null", timeout=20_000)
    if speed is not None:
        page.evaluate(SET_SPEED, speed)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.backpropLab.store.frame.header.playing === true")


def measure(page, seconds: float, warmup: float = 1.0) -> dict[str, float]:
    page.wait_for_timeout(warmup * 1000)
    return page.evaluate(COUNT_FRAMES, seconds)


def medians(samples: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over repeated measurements (a shared machine's load comes in
    bursts: the median of interleaved rounds compares builds under the same conditions)."""
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def frame_rate_arguments(description: str) -> argparse.Namespace:
    """The options every frame-rate benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per build, median")
    parser.add_argument("--speed", help='a speed of the slider ("10", "max", ...)')
    parser.add_argument("--baseline", help="a git ref to measure side by side (e.g. main)")
    return parser.parse_args()


def measure_cases(
    args: argparse.Namespace, viewports: list[tuple[int, int]], cases: dict[str, str]
) -> list[tuple[str, str, str, dict[str, float]]]:
    """Each case (name: the link's hash) at each window size, every build measured
    `args.rounds` times, builds interleaved round by round: (window, case, build, medians)."""
    rows = []
    with builds(args.baseline) as servers, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        for width, height in viewports:
            for case, hash_ in cases.items():
                samples: dict[str, list] = {build.label: [] for build in servers}
                for _ in range(args.rounds):
                    for build in servers:
                        page = new_page(browser, width, height)
                        play(page, build.url, hash_, args.speed)
                        samples[build.label].append(measure(page, args.seconds))
                        page.close()
                for label, runs in samples.items():
                    rows.append((f"{width}x{height}", case, label, medians(runs)))
        browser.close()
    return rows


def print_frame_rates(
    title: str, column: str, rows: list, met: Callable[[str, dict[str, float]], bool]
) -> None:
    """The rows of `measure_cases` as a markdown table; `met(case, figures)` says whether the
    case's goal is met."""
    print(title)
    print(
        f"| window | {column} | build | frames drawn/s | ticks/s | drawn/ticks | iterations/s "
        "| drawing ms/tick | goal met |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for window, case, label, r in rows:
        drawn = drawn_share(r)
        print(
            f"| {window} | {case} | {label} | {r['framesPerSecond']:.1f} | "
            f"{r['ticksPerSecond']:.1f} | {drawn:.0%} | {r['iterationsPerSecond']:.0f} | "
            f"{r['drawMsPerTick']:.1f} | {'yes' if met(case, r) else 'no'} |"
        )


def drawn_share(figures: dict[str, float]) -> float:
    """Frames drawn per animation tick."""
    return figures["framesPerSecond"] / max(figures["ticksPerSecond"], 1e-9)
