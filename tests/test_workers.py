"""`--workers N`: settings travel to each worker process, the connection cap is shared out, and a
server started with 2 workers serves the page's health check and a websocket, spreads the
connections over both workers, and stops every worker when it is stopped or one dies."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from server import cli
from server.app import app_from_environment, full_reason
from server.config import SETTINGS_VARIABLE, Settings
from tests.conftest import free_port
from tests.process_helpers import process_tree

ROOT = Path(__file__).resolve().parent.parent


def test_workers_option_defaults_to_one_and_with_redis_to_the_cores_at_most_two(capsys):
    assert cli.parse_args([]).workers == 1  # rooms live in one process without a broker
    redis = ["--redis", "redis://127.0.0.1:6379/0"]
    assert cli.parse_args(redis).workers == min(2, os.cpu_count() or 1)
    assert cli.parse_args([*redis, "--workers", "3"]).workers == 3
    assert cli.parse_args(["--workers", "1"]).workers == 1
    with pytest.raises(SystemExit):
        cli.parse_args(["--workers", "0"])
    assert "--workers: must be in [1, 64], got 0" in capsys.readouterr().err


def test_the_connection_cap_is_shared_out_between_workers():
    assert Settings().connections_per_worker == 64
    assert Settings(workers=2).connections_per_worker == 32
    assert Settings(workers=3).connections_per_worker == 21  # never more than 64 in all
    assert full_reason(Settings()) == "server full: 64 connections, try again later"
    assert "32 connections on this worker process" in full_reason(Settings(workers=2))
    with pytest.raises(ValueError, match=r"settings\.workers"):
        Settings(workers=0)
    with pytest.raises(ValueError, match=r"settings\.workers"):
        Settings(workers=9, max_connections=8)


def test_settings_reach_a_worker_through_the_environment(monkeypatch):
    settings = Settings(host="0.0.0.0", port=9001, allowed_origins=("http://a:1",), workers=2)
    assert Settings.from_json(settings.to_json()) == settings
    monkeypatch.setenv(SETTINGS_VARIABLE, settings.to_json())
    assert app_from_environment().state.settings == settings
    monkeypatch.delenv(SETTINGS_VARIABLE)
    assert app_from_environment().state.settings == Settings()


def test_main_runs_its_own_workers_where_the_kernel_balances_them(monkeypatch, capsys):
    supervised = []
    monkeypatch.setattr(cli, "reuse_port_balances", lambda: True)
    monkeypatch.setattr(cli, "supervise", lambda settings: supervised.append(settings) or 1)
    with pytest.raises(SystemExit) as exited:  # a worker that died makes the exit non-zero
        cli.main(["--no-browser", "--workers", "2", "--port", "8124"])
    assert exited.value.code == 1
    assert supervised[0].workers == 2 and supervised[0].port == 8124
    assert capsys.readouterr().out.count("serving on") == 1  # printed once, by the parent


def test_without_so_reuseport_main_hands_uvicorn_an_import_string(monkeypatch, capsys):
    served = {}

    def run(app, **options):
        served.update(options, app=app, environment=os.environ.get(SETTINGS_VARIABLE))

    monkeypatch.setattr(cli.uvicorn, "run", run)
    monkeypatch.setattr(cli, "reuse_port_balances", lambda: False)
    monkeypatch.delenv(SETTINGS_VARIABLE, raising=False)
    for name in cli.SINGLE_THREADED_BLAS:
        monkeypatch.delenv(name, raising=False)
    cli.main(["--no-browser", "--workers", "2", "--port", "8124"])
    assert served["app"] == "server.app:app_from_environment" and served["factory"] is True
    assert served["workers"] == 2 and served["ws_per_message_deflate"] is False
    assert Settings.from_json(served["environment"]).port == 8124
    assert SETTINGS_VARIABLE not in os.environ  # set for the workers only
    cli.main(["--no-browser", "--workers", "1"])
    assert served["factory"] is False and not isinstance(served["app"], str)
    capsys.readouterr()


def test_a_port_in_use_is_refused_before_any_worker_starts(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(port=taken.getsockname()[1], workers=2)
        assert cli.supervise(settings) == 1
    assert "cannot listen on port" in capsys.readouterr().err


class FakeWorker:
    """Stands in for a spawned worker: records what the supervisor does to it."""

    def __init__(self, on_start) -> None:
        self.on_start, self.exitcode, self.sentinel = on_start, None, object()

    def start(self) -> None:
        self.on_start()

    def terminate(self) -> None:
        self.exitcode = -signal.SIGTERM

    def join(self, timeout: float | None = None) -> None:
        pass

    kill = terminate


def supervise_with(monkeypatch, settings: Settings, *, on_context, on_start) -> list:
    """Run `supervise` on fake workers; returns the workers it started. Waiting on a live
    worker would block for good here (nobody stops it): the fake wait fails instead."""
    started: list[FakeWorker] = []

    class Context:
        def Process(self, **options):  # noqa: N802 (multiprocessing's name)
            worker = FakeWorker(on_start)
            started.append(worker)
            return worker

    def get_context(method: str) -> Context:
        on_context()
        return Context()

    def wait(sentinels: list) -> list:
        assert sentinels, "wait([]) blocks forever"
        live = [w for w in started if w.sentinel in sentinels and w.exitcode is None]
        assert not live, "waits on a worker nobody will stop"
        return sentinels

    monkeypatch.setattr(cli, "port_taken", lambda host, port: None)
    monkeypatch.setattr(cli.multiprocessing, "get_context", get_context)
    monkeypatch.setattr(cli.multiprocessing.connection, "wait", wait)
    assert cli.supervise(settings) == 0
    return started


def signal_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before os.kill returns


def test_a_signal_while_the_first_worker_starts_stops_it(monkeypatch):
    calls = iter([signal_self])
    started = supervise_with(
        monkeypatch,
        Settings(workers=2),
        on_context=lambda: None,
        on_start=lambda: next(calls, lambda: None)(),
    )
    assert len(started) == 1  # the second is never started
    assert started[0].exitcode is not None  # and the first is stopped, not waited on


def test_a_signal_before_any_worker_starts_exits_at_once(monkeypatch):
    started = supervise_with(
        monkeypatch, Settings(workers=2), on_context=signal_self, on_start=lambda: None
    )
    assert started == []


def _wait_for_health(url: str, process: subprocess.Popen) -> dict:
    for _ in range(200):
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.05)
    pytest.fail("server did not start")


def start_two_workers() -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [sys.executable, "-m", "server.cli", "--no-browser", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, env=dict(os.environ)
    )
    return process, port


def assert_all_gone(pids: list[int]) -> None:
    """Each process has exited (a zombie left to an init that does not reap counts as gone)."""
    for _ in range(100):
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not zombie(pid)]
        if not alive:
            return
        time.sleep(0.05)
    pytest.fail(f"processes left behind: {alive}")


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def workers_by_sessions(port: int, attempts: int = 200) -> dict[int, int]:
    """Ask /healthz over new connections until both workers have answered: pid -> sessions."""
    answers: dict[int, int] = {}
    for _ in range(attempts):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            health = json.loads(response.read())
        answers[health["worker"]] = health["sessions"]
        if len(answers) == 2:
            break
    return answers


def test_two_workers_serve_health_and_a_websocket_and_share_the_connections():
    process, port = start_two_workers()
    try:
        health = _wait_for_health(f"http://127.0.0.1:{port}/healthz", process)
        assert health["status"] == "ok"
        with connect(f"ws://127.0.0.1:{port}/ws") as socket_:
            hello = json.loads(socket_.recv())
            assert hello["type"] == "hello" and hello["protocol"] == 1
            assert json.loads(socket_.recv())["type"] == "data"
            assert isinstance(socket_.recv(), bytes)  # the first frame
        assert_refused_with_403(f"ws://127.0.0.1:{port}/ws", port, "http://evil.example")
        # evil.example re-pointed at 127.0.0.1 (DNS rebinding): its Origin matches its Host.
        rebound = f"evil.example:{port}"
        assert_refused_with_403(f"ws://{rebound}/ws", port, f"http://{rebound}")
        with ExitStack() as stack:
            for _ in range(20):
                socket_ = stack.enter_context(connect(f"ws://127.0.0.1:{port}/ws"))
                assert json.loads(socket_.recv())["type"] == "hello"  # its session is counted
            sessions = workers_by_sessions(port)
        assert len(sessions) == 2 and sum(sessions.values()) == 20
        assert min(sessions.values()) > 0, sessions  # the kernel hashed some to each worker
        # One worker dying takes the server down, non-zero, rather than half of it serving on.
        tree = process_tree(process.pid)
        os.kill(next(iter(sessions)), signal.SIGKILL)
        assert process.wait(timeout=15) == 1
        assert_all_gone(tree)
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stopping_the_supervisor_stops_every_worker(signum):
    process, port = start_two_workers()
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/healthz", process)
        tree = process_tree(process.pid)
        assert len(tree) >= 3  # the supervisor and two workers (and the resource tracker)
        with connect(f"ws://127.0.0.1:{port}/ws") as socket_:
            socket_.recv()
            process.send_signal(signum)  # Ctrl+C or a service manager's stop
            assert process.wait(timeout=15) == 0
        assert_all_gone(tree)
    finally:
        process.kill()
        process.wait(timeout=10)


def assert_refused_with_403(url: str, port: int, origin: str) -> None:
    """A real server answers a refused handshake with HTTP 403, before any websocket exists.
    The connection goes to 127.0.0.1 whatever name `url` gives (that name is the Host)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        pytest.raises(InvalidStatus) as refused,
    ):
        connect(url, sock=raw, origin=origin, open_timeout=10)
    assert refused.value.response.status_code == 403


def test_an_unreachable_redis_stops_the_start_with_one_line(capsys):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--no-browser", "--redis", f"redis://127.0.0.1:{port}/0"])
    assert stopped.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith(f"backprop-lab: --redis redis://127.0.0.1:{port}/0: cannot reach Redis")
    with pytest.raises(SystemExit):
        cli.parse_args(["--redis", "localhost:6379"])
    assert "--redis: must start with redis://" in capsys.readouterr().err


def test_rooms_are_off_with_workers_and_no_redis_and_the_start_says_why(monkeypatch, capsys):
    monkeypatch.setattr(cli, "serve", lambda settings: 0)
    cli.main(["--no-browser", "--workers", "2"])
    out = capsys.readouterr().out
    assert "backprop-lab: rooms are off: 2 worker processes share no rooms" in out
    assert Settings(workers=2, redis_url="redis://h:6379/0").rooms_off_reason is None
    assert Settings().rooms_off_reason is None
