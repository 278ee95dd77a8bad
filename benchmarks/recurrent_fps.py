"""Frame rate of the page while a recurrent run plays: rnn and lstm, H = 16, T = 30 (echo,
delay 5), at two window sizes.

For each: frames drawn/s (animation ticks that showed a new frame), animation ticks/s,
training iterations/s and the drawing work per tick, by the page's own clock in headless
Chromium (the counter of browser_bench.py, as page_fps.py measures the feed-forward page).

Run: python benchmarks/recurrent_fps.py [--seconds 3] [--rounds 3] [--speed max] [--baseline main]
`--baseline REF` serves git REF too and measures both in the same run, interleaved round by
round (medians reported), so a before/after table shares the machine's conditions.
Goal (issue 10): frames drawn/s within 10 % of animation ticks/s for both cells at both sizes.
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

# Clipped: without it a tanh rnn on this task explodes within a few hundred iterations and
# pauses, and a paused run sends no frames to count.
RUN = (
    "network.kind=recurrent&network.hidden=16&data.task=echo&data.length=30&data.delay=5"
    "&training.clip=1"
)
CELLS = ["rnn", "lstm"]
VIEWPORTS = [(1280, 720), (1920, 1080)]


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
            for cell in CELLS:
                samples: dict[str, list] = {build.label: [] for build in servers}
                for _ in range(args.rounds):  # builds interleaved, round by round
                    for build in servers:
                        page = new_page(browser, width, height)
                        play(page, build.url, f"{RUN}&network.cell={cell}", args.speed)
                        samples[build.label].append(measure(page, args.seconds))
                        page.close()
                for label, runs in samples.items():
                    rows.append((f"{width}x{height}", cell, label, medians(runs)))
        browser.close()
    print_table(rows, args)


def print_table(rows: list, args: argparse.Namespace) -> None:
    speed = args.speed or "the default"
    print(
        f"echo (delay 5), H=16, T=30, speed {speed}; median of {args.rounds} interleaved "
        f"measurements of {args.seconds:g} s, headless Chromium"
    )
    print(
        "| window | cell | build | frames drawn/s | ticks/s | drawn/ticks | iterations/s "
        "| drawing ms/tick | goal met |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for window, cell, label, r in rows:
        drawn = r["framesPerSecond"] / max(r["ticksPerSecond"], 1e-9)
        print(
            f"| {window} | {cell} | {label} | {r['framesPerSecond']:.1f} | "
            f"{r['ticksPerSecond']:.1f} | {drawn:.0%} | {r['iterationsPerSecond']:.0f} | "
            f"{r['drawMsPerTick']:.1f} | {'yes' if drawn >= 0.9 else 'no'} |"
        )


if __name__ == "__main__":
    main()
