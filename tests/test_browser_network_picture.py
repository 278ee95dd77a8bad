"""The network picture keeps its meaning however it is drawn: pixels read back from the page's
own drawing code in headless Chromium, for a small network (wide lines) and a large one
(thousands of edges, drawn as hairlines)."""

from __future__ import annotations

import itertools

import pytest

pytestmark = pytest.mark.browser

# Draws a scene with network.js onto a fresh canvas and reads back the pixels asked for; also
# counts the stroke and fill calls the drawing made.
DRAW = """async ({layers, W, b, selection, phase, points, width, height}) => {
  const network = await import("/static/js/network.js");
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const calls = { stroke: 0, fill: 0 };
  for (const name of ["stroke", "fill"]) {
    const original = ctx[name].bind(ctx);
    ctx[name] = (...args) => { calls[name] += 1; return original(...args); };
  }
  const layout = network.layout(layers, width, height, false);
  const weights = {
    W: W.map((rows) => ({
      data: Float64Array.from(rows.flat()),
      shape: [rows.length, rows[0].length],
    })),
    b: b.map((values) => ({ data: Float64Array.from(values), shape: [values.length] })),
  };
  const now = performance.now();
  const trace = { forward: new Map(), loss: null, backward: new Map(), update: null, last: null };
  if (phase) trace.last = { phase, layer: 0, receivedAt: now - 5000 };
  network.draw(ctx, { layout, width, height, weights, pictures: [], trace, selection, now,
    update: null, featureNames: [] });
  const at = ({ layer, i, j, t, dy = 0 }) => {
    const from = layout.columns[layer].nodes[i];
    const to = layout.columns[layer + 1].nodes[j];
    return [from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t + dy];
  };
  const pixel = ([x, y]) => Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data);
  // Darkness over a white page summed down a short run of pixels across a horizontal edge: the
  // ink a person sees (a near-white line counts for nearly nothing, however opaque).
  const ink = ([x, y]) => {
    const column = ctx.getImageData(Math.round(x), Math.round(y) - 12, 1, 25).data;
    let sum = 0;
    for (let k = 0; k < column.length; k += 4) {
      const alpha = column[k + 3] / 255;
      const grey = (column[k] + column[k + 1] + column[k + 2]) / 3;
      sum += (alpha * (255 - grey)) / 255;
    }
    return sum;
  };
  return {
    calls,
    pixels: points.map((point) => pixel(at(point))),
    inks: points.map((point) => ink(at(point))),
  };
}"""

SMALL = [2, 2, 1]
LARGE = [2, 32, 32, 1]  # 64 + 1024 + 32 edges: drawn as hairlines


def parameters(layers: list[int], value=lambda layer, i, j: 0.0) -> tuple[list, list]:
    W = [
        [[value(layer, i, j) for j in range(fan_out)] for i in range(fan_in)]
        for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(layers))
    ]
    b = [[0.0] * fan_out for fan_out in layers[1:]]
    return W, b


def draw(page, live_server, layers, W, b, points, selection=None, phase=None):
    if not page.url.startswith(live_server):
        page.goto(live_server)
    return page.evaluate(
        DRAW,
        {
            "layers": layers,
            "W": W,
            "b": b,
            "selection": selection,
            "phase": phase,
            "points": points,
            "width": 900,
            "height": 600,
        },
    )


def blue_over_orange(rgba) -> float:
    red, _, blue, alpha = rgba
    return (blue - red) * alpha / 255


@pytest.mark.parametrize("layers", [SMALL, LARGE], ids=["wide lines", "hairlines"])
def test_edge_colour_follows_the_sign_and_width_the_magnitude(page, live_server, layers):
    # Horizontal edges (input i → hidden i sit on one row only in the small net; in the large
    # one, hidden k → hidden k): +w blue, -w orange, |w| thicker with more ink.
    layer = 0 if layers == SMALL else 1
    values = {0: 2.0, 1: -2.0, 2: 0.3, 3: -0.3}

    def value(at, i, j):
        return values.get(i, 0.0) if at == layer and i == j else 0.0

    W, b = parameters(layers, value)
    rows = [0, 1] if layers == SMALL else [0, 1, 2, 3]
    points = [{"layer": layer, "i": i, "j": i, "t": 0.5} for i in rows]
    result = draw(page, live_server, layers, W, b, points)
    pixels, inks = result["pixels"], result["inks"]
    assert blue_over_orange(pixels[0]) > 60, pixels[0]  # +2.0: blue
    assert blue_over_orange(pixels[1]) < -60, pixels[1]  # -2.0: orange
    if layers == LARGE:
        assert blue_over_orange(pixels[2]) > 10 and blue_over_orange(pixels[3]) < -10
    assert inks[0] > 1.5 and inks[1] > 1.5, inks  # 0.6 + 2.2·2 = 5 px at 0.9 opacity
    if layers == LARGE:
        assert inks[0] > 2 * inks[2] and inks[1] > 2 * inks[3], inks  # 5 px against 1.26 px


def test_a_large_network_is_drawn_in_a_bounded_number_of_calls(page, live_server):
    layers = [2, *[32] * 8, 1]  # 8,256 edges
    W, b = parameters(layers, lambda at, i, j: ((i * 7 + j * 3 + at) % 11 - 5) / 5)
    result = draw(page, live_server, layers, W, b, [])
    calls = result["calls"]["stroke"] + result["calls"]["fill"]
    assert calls < 700, result["calls"]


@pytest.mark.parametrize("layers", [SMALL, LARGE], ids=["wide lines", "hairlines"])
def test_the_selected_weight_is_highlighted(page, live_server, layers):
    W, b = parameters(layers, lambda at, i, j: 0.05)  # faint everywhere
    # Near the source, where the fanned-out edges are apart; several points catch the dashes.
    points = [{"layer": 0, "i": 0, "j": 1, "t": t} for t in (0.2, 0.22, 0.24, 0.26, 0.28, 0.3)]
    selection = {"kind": "weight", "layer": 0, "i": 0, "j": 1}
    plain = draw(page, live_server, layers, W, b, points)["pixels"]
    chosen = draw(page, live_server, layers, W, b, points, selection=selection)["pixels"]

    def darkest(pixels):
        return min(sum(p[:3]) / 3 if p[3] > 200 else 255 for p in pixels)

    assert darkest(plain) > 200, plain
    assert darkest(chosen) < 80, chosen


@pytest.mark.parametrize("layers", [SMALL, LARGE], ids=["wide lines", "hairlines"])
def test_phase_mode_colours_the_active_layer_forward_blue_backward_orange(
    page, live_server, layers
):
    W, b = parameters(layers)  # zero weights: only the phase's halo is drawn on layer 0
    points = [{"layer": 0, "i": 0, "j": 0, "t": 0.5, "dy": 2}]
    forward = draw(page, live_server, layers, W, b, points, phase="forward")["pixels"][0]
    backward = draw(page, live_server, layers, W, b, points, phase="backward")["pixels"][0]
    # #0072b2 and #d55e00 at the halo's 0.35 opacity, over a transparent canvas.
    assert forward[3] == pytest.approx(0.35 * 255, abs=3)
    assert forward[:3] == pytest.approx([0x00, 0x72, 0xB2], abs=4)
    assert backward[:3] == pytest.approx([0xD5, 0x5E, 0x00], abs=4)
