"""The `backprop-lab` console script: serve the app with uvicorn and open the page."""

from __future__ import annotations

import argparse
import os
import threading
import webbrowser
from collections.abc import Sequence
from typing import Any

import uvicorn

from server.config import SETTINGS_VARIABLE, Settings

# Many small sessions share the cores: BLAS thread pools per matrix product only fight each
# other (measured 5x slower on a busy 2-core machine). Set before NumPy loads, in main().
SINGLE_THREADED_BLAS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# One process runs every session on one core (the GIL): a class of 30 at 30 frames/s needs more
# than one on a 2-core machine (benchmarks/ws_load.py), so use both by default, and no more:
# two processes already fill two cores, and each one more costs ~65 MiB.
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
MAX_WORKERS = 64


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="backprop-lab", description="Serve the backpropagation visualiser."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open the page in a web browser"
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also accept websockets from this origin, e.g. http://teacher.local:8000 (repeatable)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="server processes sharing the port and the connection cap; each session lives in "
        f"one (default {DEFAULT_WORKERS}: one per core, at most 2)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port: must be in [1, 65535], got {args.port}")
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers: must be in [1, {MAX_WORKERS}], got {args.workers}")
    return args


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


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    for name in SINGLE_THREADED_BLAS:
        os.environ.setdefault(name, "1")
    settings = Settings(
        host=args.host,
        port=args.port,
        allowed_origins=tuple(args.allow_origin),
        workers=args.workers,
    )
    url = page_url(args.host, args.port)
    print(f"backprop-lab: serving on {url}", flush=True)
    notice = exposure_notice(settings)
    if notice:
        print(notice, flush=True)
    if not args.no_browser:
        # Opened a moment later so the server is listening when the browser asks.
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(
            application(settings),
            host=args.host,
            port=args.port,
            workers=settings.workers,
            factory=settings.workers > 1,
            ws_per_message_deflate=False,  # compression costs far more CPU than it saves
            ws_max_size=16 * settings.max_message_bytes,  # bigger: a clear error, not a close
            log_level="warning",
        )
    finally:  # the workers have read it; a caller of main() (a test) keeps a clean environment
        os.environ.pop(SETTINGS_VARIABLE, None)


def application(settings: Settings) -> Any:
    """The app for one process; several workers each build their own from an import string
    (uvicorn's requirement), reading the settings from the environment they inherit."""
    if settings.workers > 1:
        os.environ[SETTINGS_VARIABLE] = settings.to_json()
        return "server.app:app_from_environment"
    from server.app import create_app  # imports NumPy: only after the BLAS variables are set

    return create_app(settings)


if __name__ == "__main__":
    main()
