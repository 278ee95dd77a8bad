"""The page under its own Content-Security-Policy (the other browser tests bypass it to read the
page's state with string expressions): it connects, draws and trains, and breaks no rule."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_page_works_under_its_content_security_policy(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        response = page.goto(f"{live_server}/")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        expect(page.get_by_test_id("connection")).to_have_text("connected")
        expect(page.get_by_test_id("train-loss")).not_to_have_text("—")
        page.get_by_test_id("play").click()
        expect(page.get_by_test_id("iteration")).not_to_have_text(re.compile(r"^0$"))
        page.get_by_test_id("play").click()
        page.get_by_test_id("presenter").click()  # the layout's inline grid style is CSSOM
        assert problems == []
    finally:
        context.close()
