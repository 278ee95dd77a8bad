"""The page under its own Content-Security-Policy (the other browser tests bypass it to read the
page's state with string expressions): it connects, draws and trains, and breaks no rule."""

from __future__ import annotations

import re
from contextlib import contextmanager

import numpy as np
import pytest
from playwright.sync_api import expect

from server.config import Settings
from tests.browser_helpers import STORE, open_page
from tests.test_server_ws import wait_until
from tests.uvicorn_helpers import free_port, running_server

pytestmark = pytest.mark.browser


def test_the_page_works_under_its_content_security_policy(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        response = page.goto(f"{live_server}/")
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "form-action 'self'" in policy  # the controls form, without scripts, submits to /
        expect(page.get_by_test_id("connection")).to_have_text("connected")
        expect(page.get_by_test_id("train-loss")).not_to_have_text("—")
        page.get_by_test_id("play").click()
        expect(page.get_by_test_id("iteration")).not_to_have_text(re.compile(r"^0$"))
        page.get_by_test_id("play").click()
        page.get_by_test_id("presenter").click()  # the layout's inline grid style is CSSOM
        assert problems == []
    finally:
        context.close()


# ----- nothing lost on a reconnect ----------------------------------------------------------------

ADAM_LINK = "#data.dataset=circle&training.optimizer=adam&training.lr=0.01&network.seed=5"


def new_page(browser) -> tuple:
    """A 1280x720 page (CSP bypassed: the checks read its state) in a context of its own, which
    outlives the server it first opens (the restart tests start a second one): (context, page)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


@contextmanager
def page_on(browser, settings: Settings):
    """A page (CSP bypassed: the checks read its state) on a server of its own: yields
    (page, uvicorn server)."""
    with running_server(settings) as server:
        context, tab = new_page(browser)
        tab.console_errors = []
        tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
        try:
            yield tab, server
        finally:
            context.close()


def test_a_dropped_socket_resumes_the_same_playing_session(page, live_server):
    open_page(page, live_server, ADAM_LINK)
    page.get_by_test_id("play").click()
    page.wait_for_function(f"{STORE}.frame.header.iteration > 40")
    before = page.evaluate(f"[{STORE}.history.iteration[0], {STORE}.frame.header.iteration]")
    page.evaluate("window.backpropLab.socket.ws.close()")  # the network drops the socket
    expect(page.get_by_test_id("notice")).to_have_text(
        "reconnected: your run carried on where it was"
    )
    expect(page.get_by_test_id("connection")).to_have_text("connected")
    page.wait_for_function(f"{STORE}.frame.header.iteration > {before[1] + 20}")
    assert page.evaluate(f"{STORE}.playing") is True
    assert page.evaluate(f"{STORE}.history.iteration[0]") == before[0]  # history kept
    assert page.evaluate(f"{STORE}.config.training.optimizer") == "adam"
    assert page.console_errors == []


def test_after_a_server_restart_the_page_restores_its_run_exactly(browser):
    settings = Settings(port=free_port())
    base = f"http://127.0.0.1:{settings.port}"
    with running_server(settings) as first:
        context, page = new_page(browser)
        open_page(page, base, ADAM_LINK)
        page.get_by_test_id("step-unit").select_option("epoch")
        page.get_by_test_id("step").click()
        page.wait_for_function(f"{STORE}.exact && {STORE}.exact.iteration > 0")
        page.wait_for_function(f"{STORE}.exact.progress !== null")
        (session,) = first.app.state.sessions
        iteration, epoch = session.run.iteration, session.run.epoch
        history = page.evaluate(f"{STORE}.history.iteration.slice()")
        assert history and history[-1] == iteration
        weights = [W.copy() for W in session.run.network.weights]
        adam = [slot.copy() for slot in session.run.trainer._state]
    try:
        expect(page.get_by_test_id("connection")).to_contain_text("disconnected")
        with running_server(settings) as second:  # a new process on the same port
            notice = page.get_by_test_id("notice")
            expect(notice).to_contain_text(f"restored at iteration {iteration}, exactly")
            # The readout showed the old run's iteration all along: wait for the restored one.
            restored_on_page = f"{STORE}.run !== null && {STORE}.stateIteration === {iteration}"
            page.wait_for_function(restored_on_page)
            expect(page.get_by_test_id("iteration")).to_have_text(str(iteration))
            (restored,) = second.app.state.sessions
            assert (restored.run.iteration, restored.run.epoch) == (iteration, epoch)
            # The loss curve the page drew before the restart is still there, all of it.
            assert page.evaluate(f"{STORE}.history.iteration.slice()")[: len(history)] == history
            for W, old in zip(restored.run.network.weights, weights, strict=True):
                np.testing.assert_array_equal(W, old)
            for slot, old in zip(restored.run.trainer._state, adam, strict=True):
                np.testing.assert_array_equal(slot, old)
    finally:
        context.close()


def test_a_playing_run_comes_back_playing_and_the_page_says_what_it_lost(browser):
    settings = Settings(port=free_port())
    base = f"http://127.0.0.1:{settings.port}"
    with running_server(settings):
        context, page = new_page(browser)
        open_page(page, base, ADAM_LINK)
        page.get_by_test_id("play").click()
        page.wait_for_function(f"{STORE}.frame.header.iteration > 20")
        # The exact copy a playing page asks for every 10 s, asked for now.
        page.evaluate("window.backpropLab.socket.send({ type: 'export' })")
        page.wait_for_function(f"{STORE}.exact?.progress && {STORE}.exact.iteration > 20")
        copied = page.evaluate(f"{STORE}.exact.iteration")
        page.wait_for_function(f"{STORE}.frame.header.iteration > {copied}")  # trained on
    try:
        expect(page.get_by_test_id("connection")).to_contain_text("disconnected")
        with running_server(settings) as second:
            expect(page.get_by_test_id("notice")).to_contain_text(
                f"your run was restored at iteration {copied}. Not restored: iterations "
                f"{copied + 1}–"
            )
            expect(page.get_by_test_id("notice")).to_contain_text("after the last exact copy")
            wait_until(lambda: any(session.playing for session in second.app.state.sessions))
            page.wait_for_function(f"{STORE}.frame.header.iteration > {copied + 20}")
            expect(page.get_by_test_id("play")).to_have_text("Pause")  # playing, as it was
    finally:
        context.close()


def test_a_refused_restore_leaves_the_page_showing_the_servers_run(browser):
    settings = Settings(port=free_port())
    base = f"http://127.0.0.1:{settings.port}"
    with running_server(settings):
        context, page = new_page(browser)
        open_page(page, base, "#data.dataset=circle&network.layers=2,8,1")
    try:
        # The restarted server allows smaller networks only: the page's run cannot come back.
        smaller = Settings(port=settings.port, max_neurons=4)
        with running_server(smaller):
            expect(page.get_by_test_id("error")).to_contain_text("could not be restored")
            page.wait_for_function(f"{STORE}.config.network.layers.join() === '2,4,2,1'")
            assert page.evaluate(f"{STORE}.run") is not None
    finally:
        context.close()


def test_an_idle_session_is_closed_with_a_reason_and_resumes_with_one_click(browser):
    with page_on(browser, Settings(port=free_port(), idle_timeout=1.0)) as (page, server):
        open_page(page, f"http://127.0.0.1:{server.config.port}", ADAM_LINK)
        badge = page.get_by_test_id("connection")
        expect(badge).to_contain_text("closed: idle for")
        resume = page.get_by_test_id("resume")
        expect(resume).to_be_visible()
        page.wait_for_timeout(1500)  # it does not reconnect by itself
        assert not server.app.state.sessions
        resume.click()
        expect(page.get_by_test_id("notice")).to_have_text(
            "reconnected: your run carried on where it was"
        )
        expect(resume).to_be_hidden()
        assert page.evaluate(f"{STORE}.config.training.optimizer") == "adam"
        assert page.console_errors == []
