"""uvicorn's h11 protocol with the two limits it lacks against slow, half-open requests.

uvicorn (0.54) times out only an idle keep-alive connection, and any byte received cancels even
that: a client that opens a connection and sends its headers one byte every few seconds holds
it for good, and a few hundred such clients hold every file descriptor. Here each request must
arrive whole (headers and body) within `request_timeout` seconds of its start, and one address
may hold at most `max_per_address` connections that have not become websockets (loopback, the
teacher's own tabs, is not counted).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from server.hosts import is_loopback_host


class GuardedH11Protocol(H11Protocol):
    """An h11 protocol whose requests have a deadline; see the module's docstring."""

    request_timeout: ClassVar[float] = 10.0
    max_per_address: ClassVar[int] = 256
    # Per process, like everything of one uvicorn server: one event loop, no lock needed.
    open_by_address: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timer: asyncio.TimerHandle | None = None
        self.counted: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else None
        if address and not is_loopback_host(address):
            if self.open_by_address[address] >= self.max_per_address:
                transport.abort()  # connection_lost follows: nothing was counted for it
                return
            self.open_by_address[address] += 1
            self.counted = address
        self.start_request_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_request_timer()
        self.uncount()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self.start_request_timer()  # the next request on this connection has its own deadline

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # From here the websocket protocol owns the transport, and the session cap counts it.
        self.stop_request_timer()
        self.uncount()
        super().handle_websocket_upgrade(event)

    def start_request_timer(self) -> None:
        self.stop_request_timer()
        self.request_timer = self.loop.call_later(self.request_timeout, self.request_expired)

    def stop_request_timer(self) -> None:
        if self.request_timer is not None:
            self.request_timer.cancel()
            self.request_timer = None

    def request_expired(self) -> None:
        """Close a connection still receiving its request; one whose request arrived whole and
        is being answered is left alone."""
        self.request_timer = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self.transport.close()

    def uncount(self) -> None:
        if self.counted is not None:
            self.open_by_address[self.counted] -= 1
            if self.open_by_address[self.counted] <= 0:
                del self.open_by_address[self.counted]
            self.counted = None
