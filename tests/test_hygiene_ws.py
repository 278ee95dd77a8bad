"""Connection hygiene on the websocket, against a real uvicorn run with the console script's
options: the per-address session cap, errors that never echo a long input, and the largest
export coming back whole."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from server.config import Settings
from server.session import Session
from tests.largest_run import largest_run
from tests.test_server_ws import connect, next_text, wait_until
from tests.uvicorn_helpers import free_port, room_address, running_server

ROOM = room_address()
needs_room = pytest.mark.skipif(ROOM is None, reason="no non-loopback IPv4 address to bind")
LONGEST_ERROR = 300


def greeted(url: str, stack: ExitStack):
    """A websocket past hello and data (a page's first two messages)."""
    socket = stack.enter_context(ws_connect(url, max_size=None, open_timeout=10))
    assert json.loads(socket.recv(timeout=10))["type"] == "hello"
    return socket


def text_reply(socket, kinds: tuple[str, ...]) -> dict:
    """The next text message of one of `kinds`, acking frames meanwhile."""
    while True:
        message = socket.recv(timeout=30)
        if isinstance(message, bytes):
            socket.send(json.dumps({"type": "ack"}))
            continue
        parsed = json.loads(message)
        if parsed["type"] in kinds:
            return parsed


# ----- the per-address cap --------------------------------------------------------------------


@needs_room
def test_one_address_holds_at_most_its_share_of_sessions_and_loopback_is_not_capped():
    settings = Settings(host="0.0.0.0", port=free_port("0.0.0.0"), max_sessions_per_address=2)
    room_url, loopback_url = f"ws://{ROOM}:{settings.port}/ws", f"ws://127.0.0.1:{settings.port}/ws"
    with running_server(settings) as server, ExitStack() as stack:
        first, _second = greeted(room_url, stack), greeted(room_url, stack)
        with ws_connect(room_url, open_timeout=10) as third:
            with pytest.raises(ConnectionClosed) as refused:
                while True:
                    third.recv(timeout=10)
            assert refused.value.rcvd.code == 1013
            assert (
                refused.value.rcvd.reason
                == "too many tabs from your address: 2 sessions; close one"
            )
        # The teacher's own tabs (loopback) are not counted.
        for _ in range(3):
            greeted(loopback_url, stack)
        assert server.app.state.by_address == {ROOM: 2}
        first.close()
        with ExitStack() as later:  # a closed tab frees its place
            deadline_ok = greeted(room_url, later)
            assert deadline_ok is not None


# ----- errors cut short -------------------------------------------------------------------------

LONG = "x" * 2000
HUGE_KEY = "k" * 5000
BAD_MESSAGES = [
    {"type": "🙂" * 16000},  # 64 KB of emoji: the reply was 192 KB
    {"type": LONG},
    {"type": "config", "network": {"activation": LONG}},
    {"type": "config", "network": {"output": LONG}},
    {"type": "config", "network": {"loss": LONG}},
    {"type": "config", "network": {"init": LONG}},
    {"type": "config", "network": {"layers": [2, LONG, 1]}},
    {"type": "config", "network": {"layers": [2] + [4] * 3000 + [1]}},
    {"type": "config", "network": {HUGE_KEY: 1}},
    {"type": "config", "training": {"optimizer": LONG}},
    {"type": "config", "training": {"frozen": [LONG]}},
    {"type": "config", "training": {"frozen": LONG}},
    {"type": "config", "data": {"dataset": LONG}},
    {"type": "config", "data": {"features": [LONG]}},
    {"type": "config", "data": {"points": [[LONG, 1, 1]]}},
    {"type": "config", "data": {"points": [[10**300, 1, 1]]}},
    {"type": "config", "data": {"points": [[1, 1, 10**300]]}},
    {"type": "set", "optimizer": LONG},
    {"type": "set", "lr": LONG},
    {"type": "set", "speed": LONG},
    {"type": "set", HUGE_KEY: 1},
    {"type": "step", "unit": LONG},
    {"type": "reset", "seed": LONG},
    {"type": "inspect", "kind": LONG, "layer": 0, "j": 0},
    {"type": "focus", "sample": LONG},
    {"type": "edit", "param": LONG, "layer": 0, "j": 0, "value": 1},
    {"type": "points", "points": [[1, 1, LONG]]},
    {"type": "points", "points": [[1, 1, 10**300]]},
    {"type": "compare", "variants": [{"label": LONG}, {"label": "b"}]},
    {"type": "compare", "variants": [{"label": "a", "optimizer": LONG}, {"label": "b"}]},
    {"type": "compare", "variants": [{"label": "a", HUGE_KEY: 1}, {"label": "b"}]},
    {"type": "change", "path": LONG, "value": 1},
    {"type": "change", "path": "data.dataset", "value": LONG},
    {"type": "change", "path": "network.layers", "value": [2, LONG, 1]},
    {"type": "change", "path": "training.lr", "value": LONG},
    {"type": "change", "path": "data.features", "value": [LONG]},
    {"type": "change", "path": "data.text", "value": LONG},
    {"type": "config", "network": {"kind": LONG}},
    {"type": "config", "network": {"kind": "recurrent", "cell": LONG}},
    {"type": "config", "network": {"kind": "recurrent"}, "data": {"task": LONG}},
    {"type": "config", "network": {"kind": "recurrent"}, "data": {"task": "text", "text": LONG}},
    # Room messages (a room's code, a student's name, a lesson, a member) and the rest.
    {"type": "join", "code": LONG, "name": "Ada"},
    {"type": "join", "code": "K7QM4X", "name": LONG},
    {"type": "join", "code": "🙂" * 30, "name": "Ada"},
    {"type": "room_open", "code": "K7QM4X", "token": LONG},
    {"type": "room_lesson", "lesson": LONG},
    {"type": "show", "member": LONG},
    {"type": "challenge", "goal": LONG},
    {"type": "change", "path": "network.activation", "value": LONG},
    {"type": "restore", "progress": {HUGE_KEY: 1}},
    {"type": "cost", "lesson": LONG},
]
# What a reply may take on the wire: the message, its field and the JSON around them, with
# every non-ASCII character escaped (an emoji is 12 bytes there).
LONGEST_REPLY = 1000


def raw_reply(socket) -> str:
    """The next text message as it was sent, acking frames that come before it."""
    while True:
        message = socket.receive()
        if message.get("text") is not None:
            return message["text"]
        socket.send_json({"type": "ack"})


@pytest.mark.parametrize("message", BAD_MESSAGES, ids=range(len(BAD_MESSAGES)))
def test_no_error_repeats_a_long_input(message):
    with connect() as (socket, _session, _greeting):
        socket.send_text(json.dumps(message))
        raw = raw_reply(socket)
        reply = json.loads(raw)
        assert reply["type"] == "error"
        assert len(reply["message"]) <= LONGEST_ERROR, reply["message"][:200]
        assert len(raw.encode()) <= LONGEST_REPLY, raw[:200]


@pytest.mark.parametrize("field", ["layer", "i", "j"])
def test_a_recurrent_runs_errors_cut_a_huge_index_short(field):
    huge = 10**4000  # JSON allows it and so does the message model: the run refuses it
    edit = {"type": "edit", "param": "W_hh", "i": 0, "j": 0, "value": 1.0, field: huge}
    with connect() as (socket, _session, _greeting):
        socket.send_json({"type": "config", "network": {"kind": "recurrent"}})
        while next_text(socket)["type"] != "data":
            pass
        socket.send_text(json.dumps(edit))
        raw = raw_reply(socket)
        assert json.loads(raw)["type"] == "error"
        assert len(raw.encode()) <= LONGEST_REPLY, raw[:200]


# ----- the largest export comes back ---------------------------------------------------------


def largest_run_with_drawn_points(rng: np.random.Generator) -> dict:
    """The largest network the limits allow, Adam, with the most points drawn at full
    precision, one of each class after another."""
    config = largest_run()
    n, classes = config["data"].pop("n_points"), config["network"]["layers"][-1]
    xy = rng.uniform(-6, 6, size=(n, 2))
    points = [[float(x1), float(x2), index % classes] for index, (x1, x2) in enumerate(xy)]
    config["data"]["points"] = points
    config["training"] = {"optimizer": "adam", "lr": 0.001}
    return config


def test_the_largest_export_with_5000_drawn_points_is_imported_back():
    settings = Settings(port=free_port())
    url = f"ws://127.0.0.1:{settings.port}/ws"
    with running_server(settings), ExitStack() as stack:
        socket = greeted(url, stack)
        socket.send(
            json.dumps(
                {"type": "config", **largest_run_with_drawn_points(np.random.default_rng(5))}
            )
        )
        assert text_reply(socket, ("state", "error"))["type"] == "state"
        socket.send(json.dumps({"type": "step", "unit": "iteration", "count": 20}))
        socket.send(json.dumps({"type": "export"}))
        exported = text_reply(socket, ("export",))
        text = json.dumps({"type": "config", **exported["config"]})
        assert len(text) > 312_640  # the old cap, which refused the 327 KB export
        assert len(text) <= settings.max_config_bytes
        socket.send(text)
        state = text_reply(socket, ("state", "error"))
        assert state["type"] == "state", state
        assert state["network"]["weights"] == exported["config"]["network"]["weights"]
        assert state["config"]["data"]["points"] == exported["config"]["data"]["points"]
        assert len(state["config"]["data"]["points"]) == settings.max_points
        # Its progress (Adam's state of every parameter, the batch order) fits the cap too.
        restore = json.dumps({"type": "restore", "progress": exported["progress"]})
        assert len(restore) <= settings.max_config_bytes
        socket.send(restore)
        restored = text_reply(socket, ("state", "error"))
        assert restored["type"] == "state", restored
        assert restored["iteration"] == exported["iteration"] == 20


def test_a_message_over_the_read_limit_ends_its_session_without_a_traceback():
    """uvicorn closes a socket whose message is over its read limit (1009) while the session
    may still be sending its greeting: that send must end the session quietly, not as an
    "Exception in ASGI application" logged for each such client."""
    settings = Settings(port=free_port())
    oversized = json.dumps({"type": "config", "data": {"points": [[1.0, 1.0, 1]] * 300_000}})
    logged: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = logged.append
    with running_server(settings) as server:
        logging.getLogger("uvicorn.error").addHandler(handler)  # uvicorn set its loggers up
        try:
            for _ in range(10):  # the close races the greeting: it loses often enough here
                url = f"ws://127.0.0.1:{settings.port}/ws"
                with ws_connect(url, max_size=None) as socket, pytest.raises(ConnectionClosed):
                    socket.send(oversized)
                    while True:
                        socket.recv(timeout=10)
            wait_until(lambda: not server.app.state.sessions)
        finally:
            logging.getLogger("uvicorn.error").removeHandler(handler)
    assert [record.getMessage() for record in logged] == []


@pytest.mark.parametrize(
    "closed",
    [
        WebSocketDisconnected('Cannot call "send" once a close message has been sent.'),
        RuntimeError("Unexpected ASGI message 'websocket.send', after sending 'websocket.close'."),
    ],
)
def test_a_send_on_a_socket_closed_meanwhile_ends_the_session_quietly(closed):
    """What starlette and uvicorn raise for a send after the close (the test above is the
    real race, which does not come up every time): the session's ordinary end."""

    class ClosedSocket:
        async def send_text(self, text: str) -> None:
            raise closed

    session = Session(ClosedSocket(), Settings())
    # On an event loop of its own thread: the browser tests' Playwright keeps one running here.
    with ThreadPoolExecutor(1) as pool, pytest.raises(WebSocketDisconnect):
        pool.submit(asyncio.run, session.send_json({"type": "status", "playing": False})).result()


@needs_room
def test_one_address_cannot_start_sessions_faster_than_its_arrival_rate(monkeypatch):
    from server import app as app_module

    monkeypatch.setattr(app_module, "ARRIVAL_BURST", 3)
    monkeypatch.setattr(app_module, "ARRIVALS_PER_SECOND", 0.001)
    settings = Settings(host="0.0.0.0", port=free_port("0.0.0.0"))
    room_url, loopback_url = f"ws://{ROOM}:{settings.port}/ws", f"ws://127.0.0.1:{settings.port}/ws"
    with running_server(settings), ExitStack() as stack:
        for _ in range(3):
            with ws_connect(room_url, open_timeout=10) as socket:
                assert json.loads(socket.recv(timeout=10))["type"] == "hello"
        with ws_connect(room_url, open_timeout=10) as fourth:
            with pytest.raises(ConnectionClosed) as refused:
                while True:
                    fourth.recv(timeout=10)
            assert refused.value.rcvd.code == 1013
            assert "too many new connections from your address" in refused.value.rcvd.reason
        for _ in range(5):  # loopback is not limited
            greeted(loopback_url, stack)
