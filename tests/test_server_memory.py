"""The server process keeps memory it freed for its next frame (server.cli.keep_freed_memory)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Twenty arrays of 655 KB kept at once and then freed, as a frame's surfaces at 2-32x8-1 are:
# with glibc's default policy each round faults its pages in again (about 3,000 faults).
FREED_MEMORY_ROUNDS = """
import resource, sys
import numpy as np
from server.cli import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):  # the heap grows to its working size once
    kept = [np.ones((2560, 32)) for _ in range(20)]
    del kept
before = faults()
for _ in range(10):
    kept = [np.ones((2560, 32)) for _ in range(20)]
    del kept
print((faults() - before) // 10)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_a_server_process_keeps_freed_memory_instead_of_faulting_it_in_every_frame():
    def faults_per_round(mode: str) -> int:
        command = [sys.executable, "-c", FREED_MEMORY_ROUNDS, mode]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return int(done.stdout)

    assert faults_per_round("default") > 1000  # 20 x 160 pages, as measured
    assert faults_per_round("keep") < 50
