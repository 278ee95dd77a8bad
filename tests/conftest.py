"""Shared fixtures: a live backprop-lab server on a free port, and headless Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.uvicorn_helpers import free_port, running_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The real app served by uvicorn in a background thread, with the console script's
    options (tests/uvicorn_helpers.py); yields its base URL."""
    from server.config import Settings

    settings = Settings(port=free_port())
    with running_server(settings):
        yield f"http://127.0.0.1:{settings.port}"


def chromium_path() -> str:
    """Debian's chromium (scripts/test.sh installs it when missing), or $CHROMIUM."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "Chromium not found: run scripts/test.sh (it installs Debian's chromium package) "
        "or set CHROMIUM to a Chromium binary",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    """A fresh 1280×720 page; `page.console_errors` collects console errors and page crashes."""
    # The tests read the page's state with string expressions (wait_for_function), which the
    # page's Content-Security-Policy forbids as eval; test_hygiene_browser.py loads it under CSP.
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda message: _record_console(tab, message))
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def _record_console(tab, message) -> None:
    if message.type == "error":
        tab.console_errors.append(message.text)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[tuple[str, int]]:
    """A real redis-server for the whole test run: (URL, port)."""
    from tests.redis_helpers import running_redis

    port = free_port()
    with running_redis(port) as url:
        yield url, port


@pytest.fixture
def redis_url(redis_server) -> str:
    """The test Redis, emptied before each test."""
    from tests.redis_helpers import flush

    url, port = redis_server
    flush(port)
    return url
