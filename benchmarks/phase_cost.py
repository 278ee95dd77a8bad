"""What a phase step costs: CPU time to compute and encode one phase against the bytes it makes,
over network sizes and batch sizes, with a least-squares line through them.

server/pacing.py charges a phase by its size (PHASE_BYTES_PER_TOKEN) from this measurement.
Run: OPENBLAS_NUM_THREADS=1 python benchmarks/phase_cost.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.run import Limits, Run
from server import frames
from tests.largest_run import largest_run

SHAPES = [(1, 4), (2, 8), (4, 16), (8, 32), (2, 32), (8, 8)]  # hidden layers x neurons
BATCHES = [10, 100, 1000, 2500]
LIMITS = Limits()  # the server's by default


def measure(hidden: int, width: int, batch: int) -> tuple[float, float]:
    """Mean CPU seconds and bytes of one phase over three whole iterations, after a warm-up."""
    config = largest_run(LIMITS)  # every feature, the most points, three classes
    layers = config["network"]["layers"]
    config["network"]["layers"] = [layers[0], *[width] * hidden, layers[-1]]
    config["training"]["batch_size"] = batch
    run = Run(config, limits=LIMITS)
    phases_per_iteration = 2 * (hidden + 1) + 2
    for _ in range(phases_per_iteration):
        frames.phase_message({**run.next_phase(), "run": 1})
    seconds, size, count = 0.0, 0, 3 * phases_per_iteration
    for _ in range(count):
        started = time.thread_time()
        message = frames.phase_message({**run.next_phase(), "run": 1})
        seconds += time.thread_time() - started
        size += len(message)
    return seconds / count, size / count


def main() -> None:
    rows = []
    for hidden, width in SHAPES:
        for batch in BATCHES:
            seconds, size = measure(hidden, width, batch)
            rows.append((seconds, size))
            shape = f"{hidden}x{width:<3} batch {batch:>5}"
            print(f"{shape}: {seconds * 1e3:6.3f} ms  {size / 1e3:7.1f} KB")
    table = np.array(rows)
    design = np.c_[np.ones(len(table)), table[:, 1] / 1024]
    (fixed, per_kib), *_ = np.linalg.lstsq(design, table[:, 0], rcond=None)
    print(f"fit: {fixed * 1e3:.3f} ms + {per_kib * 1e6:.2f} us per KiB")
    print(f"bytes costing as much as the fixed part: {fixed / per_kib:.0f} KiB")


if __name__ == "__main__":
    main()
