"""Screenshots of a classroom room for docs/screenshots/: the teacher's presenter view with the
join QR code, a following student's page (1280x720 and 1920x1080), and the teacher's leaderboard
during a challenge with two forked students.

Run from the repository root: python scripts/room_screenshots.py (needs /usr/bin/chromium).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZE = {"width": 1280, "height": 720}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server at {url}")


def student(browser, url: str, name: str, epochs: int):
    tab = browser.new_context(viewport=SIZE).new_page()
    tab.goto(url)
    tab.get_by_test_id("join-name").fill(name)
    tab.get_by_test_id("join-submit").click()
    tab.get_by_test_id("room-fork").click()
    tab.get_by_test_id("room-follow").wait_for()
    tab.get_by_test_id("step-unit").select_option("epoch")
    for _ in range(epochs):
        tab.get_by_test_id("step").click()
        tab.wait_for_timeout(150)
    return tab


def follower(browser, url: str, size: dict) -> None:
    """A student who only watches: the teacher's run, read-only, with the banner to fork."""
    tab = browser.new_context(viewport=size).new_page()
    tab.goto(url)
    tab.get_by_test_id("join-name").fill("Cy")
    tab.get_by_test_id("join-submit").click()
    tab.get_by_test_id("room-fork").wait_for()
    tab.wait_for_timeout(1500)
    tab.screenshot(path=OUT / f"room-follower-{size['width']}x{size['height']}.png")
    tab.context.close()


def network_address() -> str:
    """This machine's address on its network (no packet is sent): the join link students use."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def main() -> None:
    port = free_port()
    base = f"http://{network_address()}:{port}/"
    command = [sys.executable, "-m", "server.cli", "--no-browser", "--port", str(port)]
    command += ["--host", "0.0.0.0"]  # a classroom bind: students reach it by its address
    server = subprocess.Popen(command, cwd=ROOT)
    try:
        wait_for(base)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox"]
            )
            teacher = browser.new_context(viewport=SIZE).new_page()
            teacher.goto(base)
            teacher.get_by_test_id("room-open").click()
            teacher.get_by_test_id("room-qr").wait_for()
            url = teacher.get_by_test_id("room-url").text_content()
            teacher.get_by_test_id("play").click()
            teacher.wait_for_timeout(1500)
            teacher.get_by_test_id("presenter").click()
            pupils = [student(browser, url, name, n) for name, n in (("Ada", 6), ("Bo", 12))]
            teacher.wait_for_timeout(800)
            teacher.screenshot(path=OUT / "room-teacher-presenter-1280x720.png")
            for size in (SIZE, {"width": 1920, "height": 1080}):
                follower(browser, url, size)
            teacher.get_by_test_id("presenter").click()
            teacher.get_by_test_id("room-challenge").click()
            teacher.get_by_test_id("challenge-start").click()
            for tab, epochs in zip(pupils, (20, 35), strict=True):
                for _ in range(epochs):
                    tab.get_by_test_id("step").click()
                    tab.wait_for_timeout(60)
            teacher.wait_for_timeout(2500)
            teacher.screenshot(path=OUT / "room-leaderboard-1280x720.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
