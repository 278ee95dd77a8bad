"""How often each lesson's claims hold: every claim of tests/lesson_claims.py over 20 network
seeds × 5 data seeds at the page's pace, as a table; then the "why backpropagation is fast"
cost table with its measured times.

Run: python scripts/lesson_fractions.py [--network-seeds 20] [--data-seeds 5] [WORD ...]
(WORDs pick the claims whose name contains one of them). Minutes on a quiet machine.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.cost import backprop_cost_table
from engine.lessons import get_lesson
from tests.lesson_claims import CLAIMS, FIGURES, PASS_FRACTION


def claim_table(names: list[str], network_seeds: int, data_seeds: int) -> None:
    pairs = [(n, d) for n in range(network_seeds) for d in range(data_seeds)]
    print(f"{'claim':<100} {'held':>6}  seconds")
    for name in names:
        start = time.perf_counter()
        check = CLAIMS.get(name) or FIGURES[name]
        outcomes = [check(n, d) for n, d in pairs]
        fraction = sum(outcome.held for outcome in outcomes) / len(outcomes)
        mark = "" if fraction >= PASS_FRACTION or name in FIGURES else "  << below the bar"
        mark += "  (a figure, not a claim)" if name in FIGURES else ""
        elapsed = time.perf_counter() - start
        print(f"{name:<100} {fraction:>6.2f}  {elapsed:6.1f}{mark}", flush=True)
        for (n, d), outcome in zip(pairs, outcomes, strict=True):
            if not outcome.held:
                print(f"      seeds ({n}, {d}): {outcome.figure}")


def cost_table() -> None:
    rows = backprop_cost_table(get_lesson("backprop-cost")["view"]["cost_table"])
    print(
        f"\n{'layers':<22} {'params':>6} {'passes':>7} {'numeric s':>10} {'backprop s':>10}"
        f" {'time ×':>8} {'adds ×':>8}"
    )
    for row in rows:
        print(
            f"{row['layers']!s:<22} {row['parameters']:>6} {row['numeric_forward_passes']:>7}"
            f" {row['numeric_seconds']:>10.4f} {row['backprop_seconds']:>10.6f}"
            f" {row['seconds_ratio']:>8.0f} {row['multiply_add_ratio']:>8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="*")
    parser.add_argument("--network-seeds", type=int, default=20)
    parser.add_argument("--data-seeds", type=int, default=5)
    args = parser.parse_args()
    every = [*CLAIMS, *FIGURES]
    names = [name for name in every if not args.words or any(w in name for w in args.words)]
    claim_table(names, args.network_seeds, args.data_seeds)
    if not args.words or any("cost" in word for word in args.words):
        cost_table()


if __name__ == "__main__":
    main()
