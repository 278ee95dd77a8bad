"""The `backprop-lab` console script's options: parsing and checking them, and the Settings
they make (docs/settings.md names the option beside each setting it sets). Importing this loads
no NumPy (server/cli.py sets the BLAS variables first); parsing does, through Settings()."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

from server.config import Settings
from server.hosts import normal_allowed_host, normal_origin

# One process runs every session on one core (the GIL): a class of 30 private runs at 30 frames/s
# needs more than one on a 2-core machine (benchmarks/ws_load.py), so with --redis (rooms shared
# by every process) use both by default, and no more: two processes already fill two cores, and
# each one more costs ~65 MiB. Without --redis the default is one process, so rooms work.
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
MAX_WORKERS = 64
# Each session holds a run (tracemalloc: 0.5 MB for 2-32x8-1 on 5,000 points) and its
# histories, so a thousand stay well within a laptop's memory.
MAX_CONNECTIONS = 1000
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

# The Settings field each option sets (docs/settings.md names the option beside the setting).
SETTING_OF = {
    "host": "host",
    "port": "port",
    "allow_origin": "allowed_origins",
    "allow_host": "allowed_hosts",
    "workers": "workers",
    "redis": "redis_url",
    "max_connections": "max_connections",
    "max_per_address": "max_sessions_per_address",
}


def main_settings(args: argparse.Namespace) -> Settings:
    """The settings the options ask for (a repeated option's list as a tuple)."""
    given = {SETTING_OF[dest]: getattr(args, dest) for dest in SETTING_OF}
    return Settings(**{name: tuple(v) if isinstance(v, list) else v for name, v in given.items()})


def option_parser() -> argparse.ArgumentParser:
    """The console script's options; the defaults are Settings' (docs/settings.md lists both)."""
    parser = argparse.ArgumentParser(
        prog="backprop-lab", description="Serve the backpropagation visualiser."
    )
    defaults = Settings()
    parser.add_argument(
        "--host", default=defaults.host, help=f"address to bind (default {defaults.host})"
    )
    parser.add_argument(
        "--port", type=int, default=defaults.port, help=f"port to bind (default {defaults.port})"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open the page in a web browser"
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        type=argument(normal_origin),
        help="also accept websockets from this origin, e.g. http://teacher.local:8000 (repeatable)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        type=argument(normal_allowed_host),
        help="on a bind open to the room, also answer requests for this host name (the machine's "
        "own names and addresses are always answered; repeatable)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes sharing the port and the connection cap; each session lives in "
        f"one (default {defaults.workers}, so classroom rooms work; with --redis "
        f"{DEFAULT_WORKERS}: one per core, at most 2)",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help="share classroom rooms through this Redis server (redis://host:6379/0), so they "
        "work across --workers and across hosts behind one load balancer",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=defaults.max_connections,
        metavar="N",
        help="websocket sessions the server holds at once, over all workers: a room's teacher "
        f"and students each hold one (default {defaults.max_connections})",
    )
    parser.add_argument(
        "--max-per-address",
        type=int,
        default=None,
        metavar="N",
        help="sessions one client address may hold (loopback is not capped); a class behind one "
        f"NAT shows the server one address for every laptop (default "
        f"{defaults.max_sessions_per_address}, or --max-connections when fewer)",
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = option_parser()
    defaults = Settings()
    args = parser.parse_args(argv)
    if args.workers is None:
        # Without a broker, rooms live in one process: the default keeps them working.
        args.workers = DEFAULT_WORKERS if args.redis else defaults.workers
    if args.redis is not None and not args.redis.startswith(REDIS_SCHEMES):
        parser.error(f"--redis: must start with redis://, rediss:// or unix://, got {args.redis!r}")
    if not 1 <= args.port <= 65535:
        parser.error(f"--port: must be in [1, 65535], got {args.port}")
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers: must be in [1, {MAX_WORKERS}], got {args.workers}")
    if not args.workers <= args.max_connections <= MAX_CONNECTIONS:
        message = f"must be in [{args.workers} (one per worker), {MAX_CONNECTIONS}]"
        parser.error(f"--max-connections: {message}, got {args.max_connections}")
    if args.max_per_address is None:  # the default, within a smaller --max-connections
        args.max_per_address = min(defaults.max_sessions_per_address, args.max_connections)
    if not 1 <= args.max_per_address <= args.max_connections:
        message = f"must be in [1, {args.max_connections}] (--max-connections)"
        parser.error(f"--max-per-address: {message}, got {args.max_per_address}")
    return args


def argument(normalise: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse `type` whose ValueError text becomes the error line (argparse would print
    only "invalid value")."""

    def parse(text: str) -> str:
        try:
            return normalise(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error).split(": ", 1)[-1]) from None

    parse.__name__ = normalise.__name__
    return parse
