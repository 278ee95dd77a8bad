"""What the browser tests share: the page's store as a JS expression, and opening the page."""

from __future__ import annotations

from playwright.sync_api import expect

STORE = "window.backpropLab.store"


def open_page(page, live_server: str, hash_: str = "") -> None:
    """Loads the page and waits until the run it asked for is confirmed and its frame is on
    screen (the default run's first frame may be drawn before the link's config is answered)."""
    page.goto(f"{live_server}/{hash_}")
    expect(page.get_by_test_id("connection")).to_have_text("connected")
    page.wait_for_function(
        f"{STORE}.frame !== null && {STORE}.config !== null && window.backpropLab.settled()"
    )
