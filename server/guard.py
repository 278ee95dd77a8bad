"""The ASGI layer in front of every route: a request whose `Host` is not this server is refused
before any route runs, and every HTTP response carries the page's security headers."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.datasets import shown
from server.hosts import HostRule

# The page loads only its own scripts, styles, images and socket (no inline code, no CDN), and
# its controls form (which works without scripts) submits only to itself; no other site may
# frame it (clickjacking), and links out tell nobody where the class was.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    (b"referrer-policy", b"no-referrer"),
)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class Guard:
    """Refuses a request for another Host (HTTP 400; a websocket handshake gets 403) and adds
    SECURITY_HEADERS to every HTTP response."""

    def __init__(self, app: ASGIApp, rule: HostRule) -> None:
        self.app, self.rule = app, rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = header(scope, b"host")
        if not self.rule.allows(host):
            await self.refuse(scope, send, host)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def refuse(self, scope: Scope, send: Send, host: str | None) -> None:
        if scope["type"] == "websocket":
            # Closing before accepting: the server answers the handshake with HTTP 403.
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        body = f"Host {shown(host)} is not this server\n".encode()
        start: dict[str, Any] = {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})
