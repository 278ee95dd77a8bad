"""What the console script sets up in a server process before any session: single-threaded BLAS
(NumPy reads the variables once, as it loads) and malloc keeping freed memory for the next frame."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.uvicorn_helpers import free_port

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


def test_the_console_script_imports_no_numpy_before_it_sets_the_blas_variables():
    # NumPy's OpenBLAS starts its thread pool as it loads: a module of server.cli that imported
    # the engine made every server run a pool of one thread per core, spinning beside the page.
    check = "import sys, server.cli; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_a_server_started_by_the_console_script_runs_no_blas_thread_pool(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    port = free_port()
    command = [sys.executable, "-m", "server.cli", f"--port={port}", "--no-browser"]
    command.append("--allow-origin=http://a.example")  # its check loads the engine, so NumPy
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):  # until it answers: NumPy and the app are loaded by then
            assert server.poll() is None, f"the server exited with {server.returncode}"
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            time.sleep(0.05)
        assert len(os.listdir(f"/proc/{server.pid}/task")) == 1  # the event loop's thread only
    finally:
        server.terminate()
        server.wait(timeout=15)
