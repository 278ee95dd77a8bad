"""Hosts, origins, security headers and slow requests, against a real uvicorn where the socket
matters: a bind open to the room answers only its own names, every route says so."""

from __future__ import annotations

import socket
import time

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Match, WebSocketRoute

from server import cli
from server.app import create_app
from server.config import Settings
from server.guard import SECURITY_HEADERS
from server.hosts import HostRule, normal_allowed_host, normal_origin
from server.http_protocol import GuardedH11Protocol
from tests.uvicorn_helpers import free_port, get, raw_request, room_address, running_server

ROOM = room_address()
needs_room = pytest.mark.skipif(ROOM is None, reason="no non-loopback IPv4 address to bind")
ROUTES = [
    "/",
    "/healthz",
    "/static/js/main.js",
    "/static/css/base.css",
    "/r/K7QM4X",
    "/r/K7QM4X/qr.svg",
    "/no-such-page",
]


def handshake(address: str, port: int, host: str, origin: str | None) -> int:
    """A websocket handshake's HTTP status (101 when accepted)."""
    lines = [
        "GET /ws HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    reply = raw_request(address, port, "\r\n".join(lines) + "\r\n\r\n")
    return int(reply.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def room_server():
    """A server bound to every address, as `backprop-lab --host 0.0.0.0` is, with one name
    given by --allow-host."""
    settings = Settings(host="0.0.0.0", port=free_port("0.0.0.0"), allowed_hosts=("lab.school",))
    with running_server(settings) as server:
        yield settings.port, server


# ----- Host ---------------------------------------------------------------------------------


@needs_room
@pytest.mark.parametrize("path", ROUTES)
def test_a_room_bind_answers_its_own_names_on_every_route(room_server, path):
    port, _ = room_server
    for host in (f"{ROOM}:{port}", f"127.0.0.1:{port}", f"localhost:{port}", "lab.school"):
        status, _ = get(ROOM, port, path, host)
        assert status != 400, host
    name = socket.gethostname()
    assert get(ROOM, port, path, f"{name}:{port}")[0] != 400
    assert get(ROOM, port, path, f"{name.split('.')[0]}.local:{port}")[0] != 400


@needs_room
@pytest.mark.parametrize("path", ROUTES)
def test_a_room_bind_refuses_other_hosts_on_every_route(room_server, path):
    port, _ = room_server
    for host in ("evil.example", f"evil.example:{port}", f"{ROOM}.evil.example", "10.9.8.7"):
        status, reply = get(ROOM, port, path, host)
        assert status == 400, host
        assert b"is not this server" in reply
    # No Host at all (HTTP/1.0 allows it): refused too.
    reply = raw_request(ROOM, port, f"GET {path} HTTP/1.0\r\n\r\n")
    assert reply.split(b" ", 2)[1] == b"400"


@needs_room
def test_a_rebinding_page_cannot_open_a_websocket_on_a_room_bind(room_server):
    port, _ = room_server
    # The case: Host evil.example with a matching Origin was answered 101.
    assert handshake(ROOM, port, "evil.example", "http://evil.example") == 403
    assert handshake(ROOM, port, f"{ROOM}:{port}", f"http://{ROOM}:{port}") == 101
    assert handshake(ROOM, port, f"{ROOM}:{port}", "http://evil.example") == 403
    assert handshake(ROOM, port, f"{ROOM}:{port}", None) == 101  # a script, not a browser


def test_the_routes_checked_are_every_http_route_of_the_app():
    """A route added later is Host-checked by the Guard all the same; this keeps ROUTES, which
    the tests above try one by one, covering every one (the websocket's is tried above)."""
    app = create_app(Settings())
    scopes = [{"type": "http", "path": path, "method": "GET", "root_path": ""} for path in ROUTES]
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            continue
        assert any(route.matches(scope)[0] == Match.FULL for scope in scopes), route.path


def test_a_loopback_bind_checks_the_host_of_every_route():
    with TestClient(create_app(Settings()), base_url="http://evil.example:8000") as client:
        for path in ROUTES:
            response = client.get(path)
            assert response.status_code == 400, path
            assert response.text == "Host 'evil.example:8000' is not this server\n"
    with TestClient(create_app(Settings()), base_url="http://localhost:8000") as client:
        assert client.get("/").status_code == 200


def test_a_refused_host_is_echoed_cut_short():
    with TestClient(create_app(Settings()), base_url="http://127.0.0.1:8000") as client:
        response = client.get("/", headers={"host": "e" * 5000})
        assert response.status_code == 400 and len(response.text) < 100


def test_host_names_are_compared_as_names():
    rule = HostRule("0.0.0.0", ("lab.school",))
    assert rule.allows("LAB.school.:8000")  # case and a trailing dot do not matter
    assert rule.allows("localhost:1") and rule.allows("[::1]:8000")
    assert not rule.allows("lab.school.evil.example")
    for address in rule.addresses:
        shown = f"[{address}]" if ":" in address else address
        assert rule.allows(f"{shown}:8000")


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("http://a.example:8000", "http://a.example:8000"),
        ("HTTPS://A.Example:443", "https://a.example"),
        ("http://a.example:80/", "http://a.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://192.168.1.20:8000", "http://192.168.1.20:8000"),
    ],
)
def test_allowed_origins_are_written_as_browsers_write_them(given, normal):
    assert normal_origin(given) == normal
    assert Settings(allowed_origins=(given,)).allowed_origins == (normal,)


@pytest.mark.parametrize(
    "bad",
    ["null", "*", "a.example", "ftp://a.example", "http://", "http://a.example/path",
     "http://a.example?x=1", "http://user@a.example", "http://a.example:99999",
     "http://a b", "http://" + "a" * 3000],
)  # fmt: skip
def test_malformed_origins_are_refused_with_a_short_error(bad, capsys):
    with pytest.raises(ValueError, match="expected scheme://host") as refused:
        Settings(allowed_origins=(bad,))
    assert len(str(refused.value)) < 150
    with pytest.raises(SystemExit):
        cli.parse_args(["--allow-origin", bad])
    assert "argument --allow-origin: expected scheme://host[:port]" in capsys.readouterr().err


def test_the_session_caps_are_options_with_clear_limits(capsys):
    args = cli.parse_args(["--max-connections", "200", "--max-per-address", "120"])
    assert (args.max_connections, args.max_per_address) == (200, 120)
    assert cli.parse_args([]).max_connections == Settings().max_connections
    assert cli.parse_args([]).max_per_address == Settings().max_sessions_per_address
    fewer = cli.parse_args(["--max-connections", "20"])  # the per-address default fits in it
    assert (fewer.max_connections, fewer.max_per_address) == (20, 20)
    for argv, said in (
        (["--max-connections", "0"], "--max-connections: must be in [1 (one per worker)"),
        (["--max-connections", "10", "--max-per-address", "11"], "--max-per-address: must be in"),
        (["--workers", "4", "--max-connections", "3"], "[4 (one per worker), 1000], got 3"),
    ):
        with pytest.raises(SystemExit):
            cli.parse_args(argv)
        assert said in capsys.readouterr().err


def test_allowed_hosts_are_bare_names_or_addresses(capsys):
    assert normal_allowed_host("Lab.School") == "lab.school"
    assert normal_allowed_host("[fd00::2]") == "fd00::2"
    for bad in ("lab.school:8000", "http://lab.school", "a/b", "", "a b"):
        with pytest.raises(ValueError, match="--allow-host"):
            normal_allowed_host(bad)
    assert cli.parse_args(["--allow-host", "lab.school"]).allow_host == ["lab.school"]
    with pytest.raises(SystemExit):
        cli.parse_args(["--allow-host", "lab.school:8000"])
    assert "argument --allow-host" in capsys.readouterr().err


# ----- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "evil.example"])
def test_every_response_carries_the_security_headers(host):
    with TestClient(create_app(Settings()), base_url="http://127.0.0.1:8000") as client:
        for path in ROUTES:
            response = client.get(path, headers={"host": host})
            policy = response.headers["content-security-policy"]
            assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["x-frame-options"] == "DENY"
            assert len(SECURITY_HEADERS) == 4


def test_no_openapi_schema_or_docs_are_served():
    with TestClient(create_app(Settings()), base_url="http://127.0.0.1:8000") as client:
        for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
            assert client.get(path).status_code == 404, path


# ----- slow half-open requests ------------------------------------------------------------------


class QuickProtocol(GuardedH11Protocol):
    """The console script's protocol with deadlines short enough for a test."""

    request_timeout = 0.5
    max_per_address = 3
    open_by_address = GuardedH11Protocol.open_by_address.__class__()


def closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes `connection` within `seconds` (reading whatever it sends)."""
    connection.settimeout(seconds)
    try:
        while connection.recv(1024):
            pass
        return True
    except TimeoutError:
        return False


@pytest.fixture(scope="module")
def quick_server():
    bind = ROOM or "127.0.0.1"
    settings = Settings(host=bind, port=free_port(bind))
    with running_server(settings, http=QuickProtocol) as server:
        yield bind, settings.port, server


def test_console_script_serves_with_the_guarded_protocol_and_a_keep_alive_timeout():
    options = cli.uvicorn_options(Settings())
    assert options["http"] is GuardedH11Protocol
    assert options["timeout_keep_alive"] == cli.KEEP_ALIVE_SECONDS
    assert GuardedH11Protocol.request_timeout == 10.0


def test_a_connection_that_sends_nothing_is_closed(quick_server):
    bind, port, _ = quick_server
    with socket.create_connection((bind, port)) as connection:
        assert closed_within(connection, 5)


def test_headers_sent_a_byte_at_a_time_are_cut_off_at_the_deadline(quick_server):
    bind, port, _ = quick_server
    request = f"GET / HTTP/1.1\r\nHost: {bind}:{port}\r\nX-Slow: " + "a" * 200
    with socket.create_connection((bind, port)) as connection:
        started = time.monotonic()
        for byte in request.encode():
            try:
                connection.sendall(bytes([byte]))
            except OSError:  # closed by the server: what the test wants
                break
            time.sleep(0.05)
        # 200 bytes at 20 a second would take 10 s: the server closed it long before.
        assert closed_within(connection, 5)
        assert time.monotonic() - started < 8


def test_a_whole_request_is_answered_and_keep_alive_still_works(quick_server):
    bind, port, _ = quick_server
    with socket.create_connection((bind, port), timeout=5) as connection:
        for _ in range(2):
            connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: {bind}:{port}\r\n\r\n".encode())
            reply = b""
            while not reply.endswith(b"}"):  # the JSON body ends the reply
                reply += connection.recv(65536)
            assert reply.startswith(b"HTTP/1.1 200")


@needs_room
def test_one_address_holds_a_bounded_number_of_unfinished_requests(quick_server):
    bind, port, _ = quick_server
    held = [socket.create_connection((bind, port)) for _ in range(QuickProtocol.max_per_address)]
    try:
        with socket.create_connection((bind, port)) as extra:
            assert closed_within(extra, 2)
        for connection in held:  # the three under the cap are still open, until their deadline
            connection.settimeout(0.05)
            with pytest.raises(TimeoutError):
                connection.recv(1)
    finally:
        for connection in held:
            connection.close()
    # Once they are gone the address is welcome again.
    deadline = time.monotonic() + 5
    while QuickProtocol.open_by_address.get(bind):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert get(bind, port, "/healthz", f"{bind}:{port}")[0] == 200
