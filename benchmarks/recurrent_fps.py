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

import sys
from pathlib import Path

from browser_bench import drawn_share, frame_rate_arguments, measure_cases, print_frame_rates

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.cells import CELLS

# Clipped: without it a tanh rnn on this task explodes within a few hundred iterations and
# pauses, and a paused run sends no frames to count.
RUN = (
    "network.kind=recurrent&network.hidden=16&data.task=echo&data.length=30&data.delay=5"
    "&training.clip=1"
)
VIEWPORTS = [(1280, 720), (1920, 1080)]


def main() -> None:
    args = frame_rate_arguments(__doc__.split("\n")[0])
    cases = {cell: f"{RUN}&network.cell={cell}" for cell in CELLS}
    rows = measure_cases(args, VIEWPORTS, cases)
    title = (
        f"echo (delay 5), H=16, T=30, speed {args.speed or 'the default'}; median of "
        f"{args.rounds} interleaved measurements of {args.seconds:g} s, headless Chromium"
    )
    print_frame_rates(title, "cell", rows, lambda _cell, figures: drawn_share(figures) >= 0.9)


if __name__ == "__main__":
    main()
