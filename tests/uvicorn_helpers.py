"""A real uvicorn server for the hygiene tests: bound where a classroom server is, with the
protocol and timeouts the console script uses, on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from server.app import create_app
from server.cli import uvicorn_options
from server.config import Settings
from server.hosts import is_loopback_host, machine_addresses


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def room_address() -> str | None:
    """An IPv4 address of this machine that is not loopback: a client connecting to it comes
    from it too, as a student's laptop comes from its own address."""
    for address in sorted(machine_addresses()):
        if ":" not in address and not is_loopback_host(address):
            return address
    return None


@contextmanager
def running_server(settings: Settings, **overrides: Any) -> Iterator[Any]:
    """Serves create_app(settings) with the console script's uvicorn options (and `overrides`)
    in a thread; yields the uvicorn.Server (its app is `server.config.app`)."""
    options = {**uvicorn_options(settings), **overrides}
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, **options)
    server = uvicorn.Server(config)
    server.app = app
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"test server did not start on port {settings.port}")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def raw_request(address: str, port: int, text: str, timeout: float = 5.0) -> bytes:
    """Sends `text` as it is (headers included) and returns every byte of the reply."""
    with socket.create_connection((address, port), timeout=timeout) as connection:
        connection.sendall(text.encode("latin-1"))
        chunks = []
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and text.startswith("GET /ws"):
                return b"".join(chunks)  # a handshake's answer: the socket stays open


def get(address: str, port: int, path: str, host: str, extra: str = "") -> tuple[int, bytes]:
    """One GET with the given Host header: (status, raw reply)."""
    reply = raw_request(
        address, port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\r\n"
    )
    return int(reply.split(b" ", 2)[1]), reply
