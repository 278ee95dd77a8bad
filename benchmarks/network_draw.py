"""Time of one network picture in the page, without the server's pacing in the way.

For each network size and window: the neuron pictures rebuilt from the newest frame (as the loop
does for every frame) and the network drawn with weights that change every repetition, flushed
to pixels each time (a 1-pixel read-back), by the page's own clock in headless Chromium.
Run: python benchmarks/network_draw.py [--repeats 60] [--baseline main]
"""

from __future__ import annotations

import argparse
import statistics

from browser_bench import CHROMIUM_ARGS, builds, chromium_path, new_page
from page_fps import RUN, SIZES, VIEWPORTS
from playwright.sync_api import sync_playwright

# Each repetition scales every weight a little, so no cache can hand back the last picture.
TIME_DRAWING = """async (repeats) => {
  const network = await import("/static/js/network.js");
  const thumbnails = await import("/static/js/thumbnails.js");
  const { store, scene } = window.backpropLab;
  const config = store.config.network;
  const arrays = store.frame.arrays;
  const canvas = document.querySelector('[data-testid="network-canvas"]');
  const ctx = canvas.getContext("2d");
  // The baseline's name for the same function, so --baseline works across the rename.
  const surfacePictures = thumbnails.surfacePictures ?? thumbnails.surfaceCanvases;
  // Pictures are coloured by the activation's range of values (hello.schema); a baseline from
  // before that took the activation's name.
  const controls = await import("/static/js/controls.js");
  const colouring = (path, name) =>
    controls.choiceOutputs ? controls.choiceOutputs(store.hello.schema, path, name) : name;
  const pictures = () => {
    const inputs = arrays.get("surface/inputs");
    const columns = [surfacePictures("inputs", inputs, colouring("", "linear"))];
    const hiddenColouring = colouring("network.activation", config.activation);
    for (let l = 0; l < config.layers.length - 2; l++) {
      const hidden = arrays.get(`surface/hidden/${l}`);
      columns.push(surfacePictures(`hidden/${l}`, hidden, hiddenColouring));
    }
    const output = colouring("network.output", config.output);
    columns.push(surfacePictures("output", arrays.get("surface/output"), output));
    return columns;
  };
  const pictureMs = [], drawMs = [];
  const round = (window.drawRounds = (window.drawRounds ?? 0) + 1); // calls so far
  for (let k = 0; k < repeats; k++) {
    for (const W of store.weights.W ?? []) {
      for (let i = 0; i < W.data.length; i++) W.data[i] *= (k + round) % 2 ? 1.01 : 0.99;
    }
    let started = performance.now();
    const columns = pictures();
    pictureMs.push(performance.now() - started);
    started = performance.now();
    // `canvases`: the baseline's name for the pictures.
    network.draw(ctx, { ...scene, canvases: columns, pictures: columns, now: performance.now(),
      weights: store.weights, selection: store.selection, trace: store.trace,
      featureNames: ["x1", "x2"] });
    ctx.getImageData(0, 0, 1, 1);
    drawMs.push(performance.now() - started);
    await new Promise((done) => setTimeout(done, 0));
  }
  return { pictureMs, drawMs };
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--baseline", help="a git ref to measure side by side (e.g. main)")
    args = parser.parse_args()
    print(f"median of {args.repeats} repetitions, builds taking turns; headless Chromium")
    print("| window | network | build | neuron pictures ms | network drawing ms | total ms |")
    print("|---|---|---|---|---|---|")
    with builds(args.baseline) as servers, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        for width, height in VIEWPORTS:
            for size, layers in SIZES.items():
                pages = {}
                for build in servers:
                    page = new_page(browser, width, height)
                    page.goto(f"{build.url}/#{RUN}&network.layers={layers}")
                    page.wait_for_function("window.backpropLab?.store?.frame?.arrays != null")
                    pages[build.label] = page
                times = {label: {"pictureMs": [], "drawMs": []} for label in pages}
                for _ in range(args.repeats):  # the builds take turns, one repetition each
                    for label, page in pages.items():
                        result = page.evaluate(TIME_DRAWING, 1)
                        for key in times[label]:
                            times[label][key] += result[key]
                for label, page in pages.items():
                    page.close()
                    pictures = statistics.median(times[label]["pictureMs"])
                    drawing = statistics.median(times[label]["drawMs"])
                    print(
                        f"| {width}x{height} | {size} | {label} | {pictures:.2f} | "
                        f"{drawing:.2f} | {pictures + drawing:.2f} |",
                        flush=True,
                    )
        browser.close()


if __name__ == "__main__":
    main()
