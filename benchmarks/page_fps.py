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

from browser_bench import drawn_share, frame_rate_arguments, measure_cases, print_frame_rates

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
    args = frame_rate_arguments(__doc__.split("\n")[0])
    cases = {size: f"{RUN}&network.layers={layers}" for size, layers in SIZES.items()}
    rows = measure_cases(args, VIEWPORTS, cases)
    title = (
        f"spiral, ReLU/He/Adam, speed {args.speed or 'the default'}; median of {args.rounds} "
        f"interleaved measurements of {args.seconds:g} s, headless Chromium"
    )
    print_frame_rates(title, "network", rows, goal_met)


def goal_met(size: str, figures: dict[str, float]) -> bool:
    return drawn_share(figures) >= 0.9 and figures["ticksPerSecond"] >= GOAL_TICKS[size]


if __name__ == "__main__":
    main()
