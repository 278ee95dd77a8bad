"""The page's side of the pacing: frames drawn in order and each acked once, the frame rate it
tells the server, and a speed slider whose last stop is "max"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import STORE, open_page

pytestmark = pytest.mark.browser

# Counts frames received and acks sent, and records the iteration shown at each animation frame.
WATCH = """() => {
  const { socket, store } = window.backpropLab;
  const watch = (window.watch = { received: 0, acks: 0, shown: [], rates: [] });
  const onBinary = socket.handlers.onBinary;
  socket.handlers.onBinary = (decoded) => {
    if (decoded.header.type === "frame") watch.received += 1;
    return onBinary(decoded);
  };
  const send = socket.send.bind(socket);
  socket.send = (message) => {
    if (message.type === "ack") watch.acks += 1;
    if (message.fps !== undefined) watch.rates.push(message.fps);
    return send(message);
  };
  const tick = () => {
    watch.shown.push(store.frame.header.iteration);
    if (!watch.stopped) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def test_frames_are_drawn_in_order_and_each_is_acked_once(page, live_server):
    open_page(page, live_server, "#network.layers=2,8,8,1")
    page.evaluate(WATCH)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.watch.received >= 20", timeout=30_000)  # a busy machine
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function(f"{STORE}.frame.header.playing === false")
    # Every frame received is drawn, or released undrawn, and acked: none is held (frames may
    # still be on their way after the pause, so wait for the counts to meet).
    page.wait_for_function(
        f"window.watch.acks === window.watch.received && {STORE}.pendingFrames.length === 0"
    )
    watch = page.evaluate("window.watch.stopped = true, window.watch")
    assert watch["shown"] == sorted(watch["shown"])  # never an older frame after a newer one
    assert len(set(watch["shown"])) > 10  # and many of them were drawn


def test_the_page_tells_the_server_the_frame_rate_it_draws_at(page, live_server):
    open_page(page, live_server)
    page.evaluate(WATCH)
    # A page that draws slowly (here: held up 50 ms on every animation frame) asks for fewer.
    page.evaluate(
        """() => {
      const hold = () => {
        const until = performance.now() + 50;
        while (performance.now() < until);
        requestAnimationFrame(hold);
      };
      requestAnimationFrame(hold);
    }"""
    )
    page.get_by_role("button", name="Play").click()
    # 20 frames a second at most, by the page's own clock; the mean settles within seconds.
    page.wait_for_function("window.watch.rates.at(-1) <= 22", timeout=30_000)
    assert page.evaluate("window.watch.rates.at(-1)") >= 1
    # The server paces to it: its frames say the rate it was told last.
    page.wait_for_function(
        f"{STORE}.frame.header.fps === window.watch.rates.at(-1)", timeout=30_000
    )


def test_the_speed_slider_ends_at_max(page, live_server):
    open_page(page, live_server)
    slider = page.get_by_test_id("speed")
    slider.focus()
    page.keyboard.press("End")
    expect(page.get_by_test_id("speed-readout")).to_have_text("max")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.frame.header.speed === 'max'")
