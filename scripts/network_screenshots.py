"""Screenshots of the network view, this tree beside another git ref, for docs/screenshots/.

Each build opens the same run (fixed seeds), trains it the same 20 epochs by `step` messages,
and its network canvas is saved as docs/screenshots/network-<size>-<label>.png.
Run: python scripts/network_screenshots.py [--baseline main] [--label after]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from browser_bench import CHROMIUM_ARGS, builds, chromium_path, new_page  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

RUN = (
    "data.dataset=spiral&network.activation=relu&network.init=he&training.optimizer=adam"
    "&training.lr=0.01&network.seed=1&data.seed=1"
)
SIZES = {"2-4-2-1": "2,4,2,1", "2-32x8-1": ",".join(["2"] + ["32"] * 8 + ["1"])}
EPOCHS = 20


def shoot(browser, url: str, layers: str, path: Path, width: int, height: int) -> None:
    page = new_page(browser, width, height)
    page.goto(f"{url}/#{RUN}&network.layers={layers}")
    page.wait_for_function("window.backpropLab?.store?.frame?.header != null")
    start = page.evaluate("window.backpropLab.store.frame.header.epoch")
    step = f"{{type: 'step', unit: 'epoch', count: {EPOCHS}}}"
    page.evaluate(f"window.backpropLab.socket.send({step})")
    page.wait_for_function(
        f"window.backpropLab.store.frame.header.epoch >= {start + EPOCHS}", timeout=60_000
    )
    page.wait_for_timeout(1500)  # past the update animation
    page.get_by_test_id("network-canvas").screenshot(path=str(path))
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", help="a git ref to shoot too, saved as '<size>-before'")
    parser.add_argument("--label", default="after", help="suffix of this tree's pictures")
    parser.add_argument("--viewport", default="1280x720")
    args = parser.parse_args()
    width, height = (int(n) for n in args.viewport.split("x"))
    out = ROOT / "docs" / "screenshots"
    with builds(args.baseline) as servers, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        for build in servers:
            label = args.label if build.label == "this tree" else "before"
            for size, layers in SIZES.items():
                path = out / f"network-{size}-{width}x{height}-{label}.png"
                shoot(browser, build.url, layers, path, width, height)
                print(path.relative_to(ROOT))
        browser.close()


if __name__ == "__main__":
    main()
