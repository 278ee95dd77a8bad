"""The `backprop-lab` console script: serve the app with uvicorn and open the page."""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import platform
import signal
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

from server.cli_options import main_settings, parse_args
from server.config import SETTINGS_VARIABLE, Settings
from server.http_protocol import GuardedH11Protocol

# Many small sessions share the cores: BLAS thread pools per matrix product only fight each
# other (measured 5x slower on a busy 2-core machine). Set before NumPy loads, in main(): so
# nothing this module imports may import NumPy (tests/test_server_process.py checks).
SINGLE_THREADED_BLAS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# How long stopped workers get to close their sessions (code 1001) before they are killed.
STOP_GRACE_SECONDS = 10.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# glibc's malloc hands a freed block of more than 128 KiB back to the kernel (and then adapts
# that bound), so the next frame's surfaces (2,560 rows x 32 neurons x 8 layers, 655 KB an
# array) fault every page in again: in a virtual machine that cost 10-50 ms a frame at
# 2-32x8-1 against 1.3 ms for the arithmetic. Kept freed memory up to these bounds instead.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # malloc.h
KEEP_FREED_BYTES = 64 * 1024 * 1024
MMAP_ABOVE_BYTES = 32 * 1024 * 1024  # glibc's own upper bound for the adaptive threshold
# An idle keep-alive connection is closed after this long (uvicorn's default, said out loud).
KEEP_ALIVE_SECONDS = 5


def page_url(host: str, port: int) -> str:
    """The address to open: a wildcard bind is reached through the loopback address."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    if host == "::":
        shown = "[::1]"
    return f"http://{shown}:{port}/"


def exposure_notice(settings: Settings) -> str | None:
    """One line for a non-loopback bind: who else can now drive this server."""
    if settings.is_loopback:
        return None
    return (
        f"backprop-lab: listening on {settings.host}:{settings.port}, so anyone on your network "
        "who can reach this machine can open the page and train on it."
    )


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse (see KEEP_FREED_BYTES); whether it
    did (other C libraries have their own policies and are left alone)."""
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    trim = libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES)
    return bool(trim and libc.mallopt(M_MMAP_THRESHOLD, MMAP_ABOVE_BYTES))


def main(argv: Sequence[str] | None = None) -> None:
    for name in SINGLE_THREADED_BLAS:  # before anything loads NumPy (--allow-origin's check does)
        os.environ.setdefault(name, "1")
    args = parse_args(argv)
    keep_freed_memory()  # this process serves when there is one worker
    settings = main_settings(args)
    problem = redis_problem(settings.redis_url)
    if problem:
        print(f"backprop-lab: {problem}", file=sys.stderr, flush=True)
        raise SystemExit(1)
    url = page_url(args.host, args.port)
    print(f"backprop-lab: serving on {url}", flush=True)
    if settings.rooms_off_reason:
        print(f"backprop-lab: {settings.rooms_off_reason}", flush=True)
    notice = exposure_notice(settings)
    if notice:
        print(notice, flush=True)
    if not args.no_browser:
        # Opened a moment later so the server is listening when the browser asks.
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        code = serve(settings)
    finally:  # the workers have read it; a caller of main() (a test) keeps a clean environment
        os.environ.pop(SETTINGS_VARIABLE, None)
    if code:
        raise SystemExit(code)


def redis_problem(url: str | None) -> str | None:
    """Why the Redis of --redis cannot be used, or None: said in one line before serving."""
    if not url:
        return None
    import redis  # only a server started with --redis needs it

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, ValueError) as error:
        return f"--redis {url}: cannot reach Redis: {error}"
    return None


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every server process is run with, whichever way it is started."""
    return {
        "ws_per_message_deflate": False,  # compression costs far more CPU than it saves
        "ws_max_size": max_frame_bytes(settings),
        "http": GuardedH11Protocol,  # a deadline for every request: see server/http_protocol.py
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "log_level": "warning",
    }


def max_frame_bytes(settings: Settings) -> int:
    """The largest websocket message uvicorn reads at all: above the config cap, so a config a
    little too big gets a clear error rather than a close (1009)."""
    return max(16 * settings.max_message_bytes, 2 * settings.max_config_bytes)


def reuse_port_balances() -> bool:
    """Whether the kernel spreads new connections over the sockets of a SO_REUSEPORT group:
    Linux hashes them; BSD and macOS hand them all to one socket, so uvicorn's workers it is."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def serve(settings: Settings) -> int:
    """Serve until stopped; the exit status (non-zero when a worker died on its own)."""
    if settings.workers > 1 and reuse_port_balances():
        return supervise(settings)
    # uvicorn's own workers share one socket, and Linux wakes the same one almost every time
    # (measured 99% CPU against 8%): only the fallback where SO_REUSEPORT cannot balance.
    uvicorn.run(
        application(settings),
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        factory=settings.workers > 1,
        **uvicorn_options(settings),
    )
    return 0


def application(settings: Settings) -> Any:
    """The app for one process; several workers each build their own from an import string
    (uvicorn's requirement), reading the settings from the environment they inherit."""
    if settings.workers > 1:
        os.environ[SETTINGS_VARIABLE] = settings.to_json()
        return "server.app:app_from_environment"
    from server.app import create_app  # imports NumPy: only after the BLAS variables are set

    return create_app(settings)


def new_socket(host: str) -> socket.socket:
    """IPv6 for an address with a colon, as uvicorn decides."""
    return socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)


def listening_socket(host: str, port: int) -> socket.socket:
    """One worker's own socket in the port's SO_REUSEPORT group: the kernel hashes each new
    connection to one socket of the group, so every worker takes its share."""
    sock = new_socket(host)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)  # uvicorn's default backlog
    return sock


def port_taken(host: str, port: int) -> OSError | None:
    """Probe without SO_REUSEPORT: a server already there (even another backprop-lab, whose
    group ours would silently join and split the class with) makes this bind fail."""
    with new_socket(host) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT
        try:
            probe.bind((host, port))
        except OSError as error:
            return error
    return None


def die_with_parent(parent: int) -> None:
    """A killed supervisor (SIGKILL cannot be forwarded) must not leave workers on the port."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl took effect
        raise SystemExit(1)


def serve_worker(settings: Settings, parent: int) -> None:
    """One worker process of `--workers N` (spawned: `settings` arrive pickled)."""
    # Ctrl+C in a terminal signals the whole process group; the supervisor forwards one
    # SIGTERM instead, since a second signal would make uvicorn skip closing the sessions.
    os.setpgid(0, 0)
    die_with_parent(parent)
    keep_freed_memory()
    try:
        sock = listening_socket(settings.host, settings.port)
    except OSError as error:
        print(f"backprop-lab: cannot listen on port {settings.port}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    from server.app import create_app  # imports NumPy: after the inherited BLAS variables

    options = uvicorn_options(settings)
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def supervise(settings: Settings) -> int:
    """Run the workers until a signal stops them (0) or one of them dies on its own (1: the
    others are stopped too; a half-sized server that says nothing would be worse)."""
    taken = port_taken(settings.host, settings.port)
    if taken:
        print(f"backprop-lab: cannot listen on port {settings.port}: {taken}", file=sys.stderr)
        return 1
    workers: list[BaseProcess] = []
    signalled: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        signalled.append(signum)
        stop(workers)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        start_workers(settings, workers, signalled)
        # A signal during start_workers may have found no worker or too few to stop: then
        # stop them here, and never wait (wait([]) would block for good).
        if workers and not signalled:
            multiprocessing.connection.wait([worker.sentinel for worker in workers])
        stop(workers)
        reap(workers)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if signalled else 1


def start_workers(settings: Settings, workers: list[BaseProcess], signalled: list[int]) -> None:
    # spawn, not fork: a fresh interpreter per worker, no copied locks or threads (the browser
    # timer); Settings is a plain dataclass, so it pickles.
    context = multiprocessing.get_context("spawn")
    for number in range(settings.workers):
        if signalled:  # stopped while starting: start no more
            return
        worker = context.Process(
            target=serve_worker, args=(settings, os.getpid()), name=f"backprop-lab-{number}"
        )
        worker.start()
        workers.append(worker)


def stop(workers: list[BaseProcess]) -> None:
    """SIGTERM to every live worker: uvicorn closes its sessions (1001) and exits."""
    for worker in workers:
        if worker.exitcode is None:
            worker.terminate()


def reap(workers: list[BaseProcess]) -> None:
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.exitcode is None:
            worker.kill()
            worker.join()


if __name__ == "__main__":
    main()
