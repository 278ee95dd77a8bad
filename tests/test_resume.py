"""A dropped socket loses nothing: the session is parked and resumed by its token with the very
same run; idle sessions and clients that stopped reading are closed. Against a real uvicorn
where the socket's end matters."""

from __future__ import annotations

import asyncio
import json
import socket as sockets
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from server.app import create_app
from server.config import Settings
from server.parking import Parking
from server.session import CLOSE_IDLE, CLOSE_POLICY, Session
from tests.largest_run import largest_run
from tests.test_server_ws import WS_URL, next_frame, wait_until
from tests.uvicorn_helpers import free_port, running_server

ADAM_RUN = {
    "network": {"layers": [2, 6, 6, 1]},
    "training": {"optimizer": "adam", "lr": 0.01},
    "data": {"dataset": "circle"},
}


def receive(socket, timeout: float = 20.0):
    message = socket.recv(timeout=timeout)
    return message if isinstance(message, bytes) else json.loads(message)


def text_of(socket, kind: str) -> dict:
    """The next text message of `kind`, acking frames on the way."""
    while True:
        message = receive(socket)
        if isinstance(message, bytes):
            socket.send(json.dumps({"type": "ack"}))
        elif message["type"] == kind:
            return message


def frames_of(socket, count: int) -> list[dict]:
    """The headers of the next `count` frames, each acked."""
    from server import frames

    headers = []
    while len(headers) < count:
        message = receive(socket)
        if isinstance(message, bytes):
            header, _ = frames.decode(message)
            if header.get("type") == "frame":
                headers.append(header)
                socket.send(json.dumps({"type": "ack"}))
    return headers


def drop(socket) -> None:
    """The network goes away under the page: no close frame, the TCP connection just ends."""
    socket.socket.shutdown(sockets.SHUT_RDWR)
    socket.socket.close()


def test_a_dropped_playing_session_resumes_exactly_with_its_token():
    settings = Settings(port=free_port())
    url = f"ws://127.0.0.1:{settings.port}/ws"
    with running_server(settings) as server, ExitStack() as stack:
        first = stack.enter_context(ws_connect(url, max_size=None))
        hello = receive(first)
        token = hello["session"]
        assert hello["resumed"] is False and len(token) >= 32
        first.send(json.dumps({"type": "config", **ADAM_RUN}))
        text_of(first, "state")
        first.send(json.dumps({"type": "set", "speed": 5, "fps": 30}))
        first.send(json.dumps({"type": "compare", "variants": [{"label": "a"}, {"label": "b"}]}))
        first.send(json.dumps({"type": "play"}))
        seen = frames_of(first, 6)
        drop(first)
        parking = server.app.state.parking
        wait_until(lambda: len(parking) == 1)
        (parked,) = [kept.session for kept in parking.parked.values()]
        run = parked.run
        weights = [W.copy() for W in run.network.weights]
        optimizer = [slot.copy() for slot in run.trainer._state]
        iteration, epoch = run.iteration, run.epoch

        second = stack.enter_context(ws_connect(f"{url}?resume={token}", max_size=None))
        again = receive(second)
        assert again["resumed"] is True and again["session"] == token
        state = again["state"]
        assert (state["iteration"], state["epoch"], state["playing"]) == (iteration, epoch, True)
        for exact, sent in zip(weights, state["network"]["weights"], strict=True):
            np.testing.assert_array_equal(exact, np.array(sent))  # float64, bit for bit
        assert server.app.state.sessions == {parked} and len(parking) == 0
        # The very run carries on: its optimizer state (Adam's m, v, t) is the one of the drop.
        (resumed,) = server.app.state.sessions
        assert resumed.run is run and len(run.trainer._state) == len(optimizer) == 3
        later = frames_of(second, 3)
        assert later[-1]["iteration"] > iteration  # still playing
        assert [racer["label"] for racer in later[-1]["compare"]] == ["a", "b"]
        # The loss history has no gap: the first frame after the resume starts where the
        # page's last frame before the drop ended (points of frames lost in flight come again).
        assert later[0]["history"][0][0] <= seen[-1]["iteration"] + 5 * 2


def test_a_wrong_or_expired_token_starts_a_fresh_session():
    settings = Settings(port=free_port(), resume_grace=0.2)
    url = f"ws://127.0.0.1:{settings.port}/ws"
    with running_server(settings) as server, ExitStack() as stack:
        first = stack.enter_context(ws_connect(url, max_size=None))
        token = receive(first)["session"]
        drop(first)
        wait_until(lambda: not server.app.state.sessions)
        time.sleep(0.3)  # past the grace period
        for resume in (token, "not-a-token"):
            with ws_connect(f"{url}?resume={resume}", max_size=None) as again:
                hello = receive(again)
                assert hello["resumed"] is False and hello["session"] != token


def test_parking_caps_per_address_and_in_all_oldest_first():
    class Fake:
        def __init__(self, token: str) -> None:
            self.token = token

    parking = Parking(grace=60, per_address=2, total=3)
    for token in "abc":
        parking.park(Fake(token), "10.0.0.1")
    assert list(parking.parked) == ["b", "c"]
    parking.park(Fake("d"), None)
    parking.park(Fake("e"), None)
    assert list(parking.parked) == ["c", "d", "e"]
    assert parking.take("c").token == "c" and parking.take("c") is None


def test_an_idle_session_is_closed_with_a_reason_and_a_playing_one_is_not():
    app = create_app(Settings(idle_timeout=0.4))
    with TestClient(app) as client:
        with client.websocket_connect(WS_URL) as idle:
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    message = idle.receive()
                    if message["type"] == "websocket.close":
                        raise WebSocketDisconnect(message["code"], message.get("reason"))
                    if message.get("bytes"):
                        idle.send_json({"type": "ack"})  # acks are not activity
            assert closed.value.code == CLOSE_IDLE
            assert closed.value.reason == f"idle for {0.4 / 60:g} min"
        with client.websocket_connect(WS_URL) as playing:
            playing.send_json({"type": "set", "fps": 30})
            playing.send_json({"type": "play"})
            started = time.monotonic()
            while time.monotonic() - started < 1.2:  # three idle timeouts
                next_frame(playing)
                playing.send_json({"type": "ack"})


def test_a_client_that_stops_reading_phases_is_closed():
    settings = Settings(port=free_port(), send_timeout=1.0, rate_limit_burst=10_000)
    url = f"ws://127.0.0.1:{settings.port}/ws"
    largest = largest_run(n_points=500)  # its phases are big: a few fill the socket's buffers
    # max_queue=1: the client library stops reading from the socket once one message waits.
    with running_server(settings) as server, ws_connect(url, max_size=None, max_queue=1) as reader:
        assert receive(reader)["type"] == "hello"  # the session exists from here on
        reader.send(json.dumps({"type": "config", **largest}))
        for _ in range(20):
            reader.send(json.dumps({"type": "step", "unit": "phase", "count": 100}))
        wait_until(lambda: not server.app.state.sessions, seconds=30)
        (kept,) = server.app.state.parking.parked.values()
        assert kept.session.close_code == CLOSE_POLICY
        with pytest.raises(ConnectionClosed):
            while True:
                reader.recv(timeout=10)


class StalledSocket:
    """A client that stopped reading, its buffers full: a send never completes. (A real one
    takes megabytes to fill, and then the close's own 5 s.)"""

    closed: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def test_a_text_the_client_does_not_take_closes_it_as_a_phase_does():
    """Every send has the deadline, text included (an export, a state, an inspect), as the
    test above shows for phases on a real socket."""

    async def scenario(session: Session) -> None:
        async with asyncio.timeout(5):  # without a deadline the send would wait for good
            with pytest.raises(WebSocketDisconnect):
                await session.send_json({"type": "export"})

    stalled = StalledSocket()
    session = Session(stalled, Settings(send_timeout=0.2))
    with ThreadPoolExecutor(1) as pool:  # a loop of its own: Playwright's runs on this thread
        pool.submit(asyncio.run, scenario(session)).result()
    assert stalled.closed == (CLOSE_POLICY, "not reading: a message waited 0.2 s")


def test_after_a_server_restart_an_export_and_its_progress_carry_the_run_on_exactly():
    from engine.progress import restore
    from engine.run import Run

    url_of = lambda settings: f"ws://127.0.0.1:{settings.port}/ws"  # noqa: E731
    first = Settings(port=free_port())
    with running_server(first), ws_connect(url_of(first), max_size=None) as page:
        receive(page)
        page.send(json.dumps({"type": "config", **ADAM_RUN}))
        text_of(page, "state")
        page.send(json.dumps({"type": "step", "unit": "iteration", "count": 100}))
        page.send(json.dumps({"type": "export"}))
        copy_ = text_of(page, "export")  # what the page keeps
    assert copy_["iteration"] == 100

    second = Settings(port=free_port())  # a new server process knows nothing of the run
    with running_server(second), ws_connect(url_of(second), max_size=None) as page:
        assert receive(page)["resumed"] is False
        page.send(json.dumps({"type": "config", **copy_["config"]}))
        page.send(json.dumps({"type": "restore", "progress": copy_["progress"]}))
        text_of(page, "state")
        restored = text_of(page, "state")
        assert (restored["iteration"], restored["epoch"]) == (100, copy_["epoch"])
        page.send(json.dumps({"type": "step", "unit": "iteration", "count": 30}))
        page.send(json.dumps({"type": "export"}))
        after = text_of(page, "export")

    # The same 30 iterations on the original run's copy in this process: bit for bit.
    local = Run(copy_["config"])
    restore(local, copy_["progress"])
    local.train(30)
    for W, sent in zip(local.network.weights, after["config"]["network"]["weights"], strict=True):
        np.testing.assert_array_equal(W, np.array(sent))
    assert after["progress"]["state"][0] == local.trainer._state[0].tolist()


def test_a_restore_that_does_not_fit_is_refused_with_its_field():
    with TestClient(create_app(Settings())) as client, client.websocket_connect(WS_URL) as page:
        page.receive_json(), page.receive_json()
        page.send_json({"type": "restore", "progress": {"iteration": 3}})
        while (reply := page.receive())["type"] != "websocket.send" or "text" not in reply:
            pass
        error = json.loads(reply["text"])
        while error["type"] != "error":
            error = json.loads(page.receive()["text"])
        assert error["field"] == "progress" and "exactly" in error["message"]
