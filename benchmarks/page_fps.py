"""Frame rate of the page while playing the default network: frames drawn and acked per second.

Run: python benchmarks/page_fps.py [seconds]. Starts the server and headless Chromium itself.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn
from playwright.sync_api import sync_playwright

from server.app import create_app
from server.config import Settings
from tests.conftest import CHROMIUM_ARGS, chromium_path, free_port

COUNT_FRAMES = """async (seconds) => {
  const store = window.backpropLab.store;
  const start = store.frame.header.iteration;
  let frames = 0, ticks = 0, last = store.frame;
  const until = performance.now() + seconds * 1000;
  await new Promise((done) => {
    const tick = () => {
      ticks += 1;
      if (store.frame !== last) { frames += 1; last = store.frame; }
      if (performance.now() < until) requestAnimationFrame(tick); else done();
    };
    requestAnimationFrame(tick);
  });
  return {frames, ticks, iterations: store.frame.header.iteration - start, drawMs: store.drawMs};
}"""


def main(seconds: float = 5.0) -> None:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(Settings(port=port)), port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("window.backpropLab.store.frame !== null")
        page.get_by_role("button", name="Play").click()
        page.wait_for_function("window.backpropLab.store.frame.header.playing === true")
        result = page.evaluate(COUNT_FRAMES, seconds)
        browser.close()
    server.should_exit = True
    print(
        f"{seconds:g} s playing the default network: "
        f"{result['frames'] / seconds:.1f} frames drawn/s, "
        f"{result['ticks'] / seconds:.1f} animation ticks/s, "
        f"{result['iterations'] / seconds:.0f} iterations/s, "
        f"{result['drawMs']:.2f} ms of drawing per animation frame (running mean)"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
