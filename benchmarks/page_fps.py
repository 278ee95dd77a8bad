"""Frame rate of the page while playing, at three network sizes and two window sizes.

For each: frames drawn/s (animation ticks that showed a new frame), animation ticks/s, training
iterations/s and the drawing work per tick, by the page's own clock in headless Chromium. The
run is the issue-12 one: spiral, ReLU, He init, Adam, at the page's default speed.

Run: python benchmarks/page_fps.py [--seconds 3] [--rounds 3] [--speed max] [--baseline main]
`--baseline REF` serves git REF of this repository too and measures both in the same run,
interleaved round by round (medians reported), so the before/after table shares the
machine's conditions.
Goals (issue 12): frames/s within 10 % of ticks/s everywhere; >= 55 ticks/s at the two small
sizes, >= 30 at 2-32x8-1.
"""

from __future__ import annotations

import argparse

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

RUN = (
    "data.dataset=spiral&network.activation=relu&network.init=he"
    "&training.optimizer=adam&training.lr=0.01"
)
SIZES = {
    "2-4-2-1": "2,4,2,1",
    "2-8x6-1": ",".join(["2"] + ["8"] * 6 + ["1"]),
    "2-32x8-1": ",".join(["2"] + ["32"] * 8 + ["1"]),
}
VIEWPORTS = [(1280, 720), (1920, 1080)]
GOAL_TICKS = {"2-4-2-1": 55, "2-8x6-1": 55, "2-32x8-1": 30}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per build, median")
    parser.add_argument("--speed", help='a speed of the slider ("10", "max", ...)')
    parser.add_argument("--baseline", help="a git ref to measure side by side (e.g. main)")
    args = parser.parse_args()
    rows = []
    with builds(args.baseline) as servers, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        for width, height in VIEWPORTS:
            for size, layers in SIZES.items():
                samples: dict[str, list] = {build.label: [] for build in servers}
                for _ in range(args.rounds):  # builds interleaved, round by round
                    for build in servers:
                        page = new_page(browser, width, height)
                        play(page, build.url, f"{RUN}&network.layers={layers}", args.speed)
                        samples[build.label].append(measure(page, args.seconds))
                        page.close()
                for label, runs in samples.items():
                    rows.append((f"{width}x{height}", size, label, medians(runs)))
        browser.close()
    print_table(rows, args)


def print_table(rows: list, args: argparse.Namespace) -> None:
    speed = args.speed or "the default"
    print(
        f"spiral, ReLU/He/Adam, speed {speed}; median of {args.rounds} interleaved "
        f"measurements of {args.seconds:g} s, headless Chromium"
    )
    print(
        "| window | network | build | frames drawn/s | ticks/s | drawn/ticks | iterations/s "
        "| drawing ms/tick | goal met |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for window, size, label, r in rows:
        drawn = r["framesPerSecond"] / max(r["ticksPerSecond"], 1e-9)
        met = drawn >= 0.9 and r["ticksPerSecond"] >= GOAL_TICKS[size]
        print(
            f"| {window} | {size} | {label} | {r['framesPerSecond']:.1f} | "
            f"{r['ticksPerSecond']:.1f} | {drawn:.0%} | {r['iterationsPerSecond']:.0f} | "
            f"{r['drawMsPerTick']:.1f} | {'yes' if met else 'no'} |"
        )


if __name__ == "__main__":
    main()
