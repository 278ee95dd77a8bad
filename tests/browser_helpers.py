"""What the browser tests share: the page's store as a JS expression, and opening the page."""

from __future__ import annotations

from playwright.sync_api import expect

STORE = "window.backpropLab.store"


def open_page(page, live_server: str, hash_: str = "") -> None:
    """Loads the page and waits until the first frame of the run is on screen."""
    page.goto(f"{live_server}/{hash_}")
    expect(page.get_by_test_id("connection")).to_have_text("connected")
    page.wait_for_function(f"{STORE}.frame !== null && {STORE}.config !== null")
