"""A built wheel, installed non-editable into a fresh virtualenv, serves the page, every static
file and the websocket (slow but included: about 15 s)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[int, bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read(), response.headers.get("content-type", "")


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"backprop-lab exited: {process.communicate()}")
        try:
            fetch(url)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"backprop-lab did not serve {url} within {seconds} s")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel path, virtualenv dir, a working directory outside the repository)."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(base), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = base.glob("backprop_lab-*.whl")
    venv.create(base / "venv", with_pip=False)
    python = base / "venv" / "bin" / "python"
    # The dependencies come from the environment running this test (no download), through a
    # .pth of plain paths: the .pth files in them, such as an editable install of this
    # checkout, are not run. The project itself must come from the wheel (checked below).
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = [path for path in sys.path if path.endswith(("site-packages", "dist-packages"))]
    Path(purelib, "_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = base / "cwd"
    elsewhere.mkdir()
    return wheel, base / "venv", elsewhere


def test_the_project_is_imported_from_the_wheel_not_the_checkout(installed):
    _, env, elsewhere = installed
    found = subprocess.run(
        [
            str(env / "bin" / "python"),
            "-c",
            "import engine, server.app as a; print(engine.__file__); print(a.asset_dir('static'))",
        ],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(),
    ).stdout.split()
    assert all(str(env) in path for path in found), found


def clean_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return env


def test_console_script_serves_page_static_files_and_websocket(installed):
    wheel, env, elsewhere = installed
    port = free_port()
    process = subprocess.Popen(
        [str(env / "bin" / "backprop-lab"), "--no-browser", "--port", str(port)],
        cwd=elsewhere,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/healthz", process)
        assert json.loads(fetch(f"{base}/healthz")[1])["status"] == "ok"
        status, page, kind = fetch(f"{base}/")
        assert status == 200 and kind.startswith("text/html") and b"<html" in page.lower()

        with zipfile.ZipFile(wheel) as archive:
            shipped = {
                name.removeprefix("server/static/"): archive.read(name)
                for name in archive.namelist()
                if name.startswith("server/static/") and not name.endswith("/")
            }
        in_repository = {
            path.relative_to(ROOT / "static").as_posix()
            for path in (ROOT / "static").rglob("*")
            if path.is_file()
        }
        assert set(shipped) == in_repository
        for name, content in shipped.items():
            status, body, _ = fetch(f"{base}/static/{name}")
            assert status == 200 and body == content, name

        websocket_url = f"ws://127.0.0.1:{port}/ws"
        with connect(websocket_url, origin=base) as socket_:
            assert json.loads(socket_.recv(timeout=10))["type"] == "hello"
            # Per-message compression is off even though this client offers it.
            assert "Sec-WebSocket-Extensions" not in socket_.response.headers
        with pytest.raises(InvalidStatus) as refused:
            connect(websocket_url, origin="http://evil.example", open_timeout=10)
        assert refused.value.response.status_code == 403
    finally:
        process.terminate()
        output, errors = process.communicate(timeout=10)
    assert f"serving on http://127.0.0.1:{port}/" in output, (output, errors)
