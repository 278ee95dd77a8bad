"""TensorFlow Playground and backprop-lab side by side, in one run, on Playground's default run:
circle, 2-4-2-1 tanh, learning rate 0.03, batch 10, 500 points, 50 % for training, no noise.

Playground is measured by ../shared/anchors/measure_tf_playground.py (its unmodified build,
served and driven in headless Chromium; one epoch of 25 weight updates per animation frame).
backprop-lab is measured by the same rules in the same browser and window size: weight updates
(iterations) per second, frames drawn per second (animation frames that showed a new frame)
and animation frames per second, at the given speeds. Playground redraws on every animation
frame, so its frames drawn/s are its animation frames/s.

Run: python benchmarks/vs_playground.py [--seconds 4] [--rounds 3] [--speeds max 100]
[--anchors /work/shared/anchors]. Goal (issue 12): at least 10x Playground's updates/s while
drawing at least as many frames a second.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from browser_bench import (
    CHROMIUM_ARGS,
    builds,
    chromium_path,
    measure,
    medians,
    new_page,
    play,
)
from playwright.sync_api import sync_playwright

# ../shared/anchors beside the checkout (or beside the folder of git worktrees holding it).
ROOT = Path(__file__).resolve().parents[1]
ANCHORS = next(
    (
        path
        for path in (ROOT.parent / "shared" / "anchors", ROOT.parents[1] / "shared" / "anchors")
        if path.is_dir()
    ),
    ROOT.parent / "shared" / "anchors",
)
PLAYGROUND_RUN = (
    "activation=tanh&batchSize=10&dataset=circle&learningRate=0.03&networkShape=4,2"
    "&percTrainData=50&noise=0"
)
OUR_RUN = (
    "data.dataset=circle&data.n_points=500&data.train_ratio=0.5&data.noise=0"
    "&network.layers=2,4,2,1&network.activation=tanh&training.optimizer=sgd"
    "&training.lr=0.03&training.batch_size=10"
)
VIEWPORT = (1440, 900)  # the anchor script's
PLAYGROUND_LINE = re.compile(
    r"tf-playground: ([\d.]+) epochs/s \(= ([\d.]+) weight updates/s.*\), ([\d.]+) fps"
)


def measure_playground(anchors: Path, seconds: float) -> dict[str, float]:
    """Playground's figures from the anchor script's one-line report."""
    script = anchors / "measure_tf_playground.py"
    command = [sys.executable, str(script), PLAYGROUND_RUN, f"--duration={seconds}"]
    command.append(f"--chromium={chromium_path()}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = PLAYGROUND_LINE.search(output)
    if not match:
        raise RuntimeError(f"unexpected output from {script.name}: {output!r}")
    fps = float(match.group(3))
    return {"updates": float(match.group(2)), "frames": fps, "ticks": fps}


def measure_ours(browser, url: str, seconds: float, speed: str) -> dict[str, float]:
    page = new_page(browser, *VIEWPORT)
    play(page, url, OUR_RUN, speed)
    figures = measure(page, seconds)
    page.close()
    return {
        "updates": figures["iterationsPerSecond"],
        "frames": figures["framesPerSecond"],
        "ticks": figures["ticksPerSecond"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each, median")
    parser.add_argument("--speeds", nargs="+", default=["max", "100"])
    parser.add_argument("--anchors", type=Path, default=ANCHORS)
    parser.add_argument("--baseline", help="a git ref of backprop-lab to measure too (e.g. main)")
    args = parser.parse_args()
    samples: dict[str, list] = {"playground": []}
    with builds(args.baseline) as servers, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        for _ in range(args.rounds):  # interleaved, round by round
            samples["playground"].append(measure_playground(args.anchors, args.seconds))
            for build in servers:
                for speed in args.speeds:
                    figures = measure_ours(browser, build.url, args.seconds, speed)
                    samples.setdefault(f"backprop-lab ({build.label}), speed {speed}", [])
                    samples[f"backprop-lab ({build.label}), speed {speed}"].append(figures)
        browser.close()
    playground = medians(samples.pop("playground"))
    results = {label: medians(runs) for label, runs in samples.items()}
    print("circle, 2-4-2-1 tanh, lr 0.03, batch 10, 500 points, 50 % train; headless Chromium,")
    print(
        f"1440x900; median of {args.rounds} measurements of {args.seconds:g} s each, the pages "
        "taking turns in this run"
    )
    print("| page | weight updates/s | frames drawn/s | animation frames/s | vs Playground |")
    print("|---|---|---|---|---|")
    rows = [("TensorFlow Playground", playground)]
    rows += list(results.items())
    for label, r in rows:
        ratio = r["updates"] / playground["updates"]
        print(
            f"| {label} | {r['updates']:.0f} | {r['frames']:.1f} | {r['ticks']:.1f} | "
            f"{ratio:.1f}x |"
        )
    for label, r in results.items():
        met = r["updates"] >= 10 * playground["updates"] and r["frames"] >= playground["frames"]
        print(f"{label}: >= 10x Playground's updates at >= its frames/s: {met}")


if __name__ == "__main__":
    main()
