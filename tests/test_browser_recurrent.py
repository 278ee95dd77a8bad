"""A recurrent run in the page, as a person sees it: the network-kind control, the network drawn
unrolled in time, the backward sweep through time in the backward colour, the charts under it,
the inspector's sum over time, and the folded view. Screenshots of the unrolled view mid
backward sweep go to the folder BACKPROP_LAB_SCREENSHOTS names (docs/screenshots refreshes the
committed ones), else to pytest's temporary folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import STORE, open_page

BACKWARD = (0xD5, 0x5E, 0x00)  # palette.js BACKWARD_COLOUR


def screenshots(tmp_path: Path) -> Path:
    folder = os.environ.get("BACKPROP_LAB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_recurrent(page, live_server: str, hash_: str) -> None:
    open_page(page, live_server, f"#network.kind=recurrent&{hash_}")
    page.wait_for_function(f"{STORE}.frame?.header?.recurrent !== undefined")


def step_phases(page, count: int) -> None:
    page.get_by_test_id("step-unit").select_option("phase")
    for _ in range(count):
        before = page.evaluate(f"{STORE}.phaseCount")
        page.get_by_test_id("step").click()
        page.wait_for_function(f"{STORE}.phaseCount > {before}")


def backward_pixels(page) -> int:
    """Pixels of the network canvas in the backward colour (within a small tolerance)."""
    return page.evaluate(
        """([r, g, b]) => {
            const canvas = document.querySelector('[data-testid="network-canvas"]');
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let k = 0; k < data.length; k += 4) {
                if (Math.abs(data[k] - r) < 20 && Math.abs(data[k + 1] - g) < 20
                    && Math.abs(data[k + 2] - b) < 20) count++;
            }
            return count;
        }""",
        list(BACKWARD),
    )


def test_the_network_kind_control_switches_to_a_recurrent_run(page, live_server):
    open_page(page, live_server)
    expect(page.get_by_test_id("control-data.task")).to_be_hidden()
    page.get_by_test_id("control-network.kind").select_option("recurrent")
    page.wait_for_function(f"{STORE}.frame?.header?.recurrent !== undefined")
    expect(page.get_by_test_id("control-network.cell")).to_be_visible()
    expect(page.get_by_test_id("control-data.task")).to_be_visible()
    expect(page.get_by_test_id("control-data.dataset")).to_be_hidden()
    expect(page.get_by_test_id("control-network.layers")).to_have_count(0)
    expect(page.get_by_test_id("fold-toggle")).to_be_visible()
    assert "network.kind=recurrent" in page.url
    assert page.console_errors == []


@pytest.mark.parametrize(
    ("name", "hash_"),
    [
        ("rnn-echo", "network.hidden=16&data.length=30&data.delay=5"),
        ("lstm-text", "network.cell=lstm&network.hidden=16&data.task=text&data.length=24"),
    ],
)
def test_the_unrolled_view_mid_backward_sweep(page, live_server, tmp_path, name, hash_):
    open_recurrent(page, live_server, hash_)
    steps = page.evaluate(f"{STORE}.frame.header.recurrent.steps")
    before = backward_pixels(page)
    # Forward through every step, the loss, then half of the backward sweep.
    step_phases(page, steps + 1 + steps // 2)
    last = page.evaluate(f"{STORE}.recurrentTrace.last")
    assert last["phase"] == "backward" and last["t"] == steps - steps // 2
    expect(page.get_by_test_id("phase-label")).to_have_text("backward")
    page.wait_for_timeout(100)
    assert backward_pixels(page) > before + 200  # δ_t outlined on the swept h_t
    page.screenshot(path=str(screenshots(tmp_path) / f"recurrent-{name}-backward-1280x720.png"))
    assert page.console_errors == []


def edge_point(page, t: int, i: int, j: int, along: float) -> tuple[float, float]:
    """A point of the page on the drawn W_hh edge from unit i at step t−1 into unit j at step t,
    `along` of the way (0: its start)."""
    layout = page.evaluate("window.backpropLab.scene.unrolled")
    canvas = page.get_by_test_id("network-canvas").bounding_box()
    centre = lambda step: 34 + (step + 0.5) * layout["columnWidth"]  # noqa: E731 (unrolled.js)
    x0 = centre(t - 1) + layout["cellWidth"] / 2
    x1 = centre(t) - layout["cellWidth"] / 2
    y0 = layout["hTop"] + (i + 0.5) * layout["cellHeight"]
    y1 = layout["hTop"] + (j + 0.5) * layout["cellHeight"]
    return canvas["x"] + x0 + along * (x1 - x0), canvas["y"] + y0 + along * (y1 - y0)


def test_clicking_a_recurrent_weight_lists_its_sum_over_time(page, live_server):
    open_recurrent(page, live_server, "data.length=8&network.hidden=4")
    page.mouse.click(*edge_point(page, 4, 1, 3, along=0.3))  # from unit 1 at step 3 into unit 3
    terms = page.get_by_test_id("recurrent-terms")
    expect(terms).to_be_visible()
    expect(terms.locator("tr")).to_have_count(1 + 8 + 1)  # header, a term per step, the sum
    expect(page.get_by_test_id("recurrent-gradcheck")).to_contain_text("relative error")
    expect(page.get_by_test_id("inspector")).to_contain_text("W_hh[1,3]")
    page.mouse.click(*edge_point(page, 2, 3, 0, along=0.7))  # another edge, another gap
    expect(page.get_by_test_id("inspector")).to_contain_text("W_hh[3,0]")
    assert page.evaluate(f"{STORE}.recurrentSelection") == {"kind": "edge", "t": 2, "i": 3, "j": 0}
    assert page.console_errors == []


def test_an_lstm_click_picks_the_weight_of_the_chosen_gate(page, live_server):
    open_recurrent(page, live_server, "network.cell=lstm&data.length=6&network.hidden=4")
    gate = page.get_by_label("LSTM gate", exact=True)
    expect(gate).to_be_visible()
    assert [o.text_content() for o in gate.locator("option").all()] == ["i", "f", "g", "o"]
    gate.select_option("f")
    page.mouse.click(*edge_point(page, 3, 0, 2, along=0.3))
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_contain_text("W_h[0,6]")  # column f·H + unit = 1·4 + 2
    expect(inspector).to_contain_text("f gate, unit 2")
    gate.select_option("o")  # the same edge, another gate: inspected again
    expect(inspector).to_contain_text("W_h[0,14]")
    page.get_by_test_id("control-network.cell").select_option("rnn")
    page.wait_for_function(f"{STORE}.frame?.header?.recurrent?.cell === 'rnn'")
    expect(gate).to_be_hidden()  # an rnn has no gates
    assert page.console_errors == []


def test_the_unrolled_view_is_operable_from_the_keyboard(page, live_server):
    open_recurrent(page, live_server, "network.cell=lstm&data.length=6&network.hidden=4")
    canvas = page.get_by_test_id("network-canvas")
    canvas.focus()
    expect(canvas).to_be_focused()
    expect(canvas).to_have_attribute("role", "application")
    for key in ["ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown"]:
        page.keyboard.press(key)
    expect(canvas).to_have_attribute("aria-label", re.compile("hidden unit 2 at step 2 selected"))
    iteration = page.evaluate(f"{STORE}.frame.header.iteration")
    page.keyboard.press("Enter")
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_contain_text("δ of hidden unit 2 at step 2")
    assert page.evaluate(f"{STORE}.frame.header.iteration") == iteration  # → did not step
    page.keyboard.press("w")
    page.keyboard.press("w")  # the second edge into the cell: from unit 1
    page.keyboard.press("g")  # gate f
    expect(canvas).to_have_attribute("aria-label", re.compile(r"W_h\[1,6\] selected.*gate f"))
    page.keyboard.press("Enter")
    expect(inspector).to_contain_text("W_h[1,6]")
    expect(page.get_by_label("LSTM gate", exact=True)).to_have_value("1")
    page.keyboard.press("Escape")
    expect(inspector).to_be_hidden()
    assert page.evaluate(f"{STORE}.recurrentSelection") is None
    assert page.console_errors == []


def test_the_folded_view_is_one_click_away(page, live_server):
    open_recurrent(page, live_server, "data.length=12")
    page.get_by_test_id("fold-toggle").click()
    expect(page.get_by_test_id("fold-toggle")).to_have_text("unrolled view")
    assert page.evaluate(f"{STORE}.view.folded") is True
    page.get_by_test_id("fold-toggle").click()
    assert page.evaluate(f"{STORE}.view.folded") is False
    assert page.console_errors == []


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_a_recurrent_run_gives_the_plane_s_room_to_the_unrolled_view(
    page, live_server, tmp_path, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, live_server)
    page.wait_for_function(f"{STORE}.frame?.header != null")
    feedforward_width = page.get_by_test_id("network-canvas").bounding_box()["width"]
    expect(page.get_by_test_id("surface")).to_be_visible()
    page.get_by_test_id("control-network.kind").select_option("recurrent")
    page.wait_for_function(f"{STORE}.frame?.header?.recurrent !== undefined")
    # The plane, its legend and tools, and the per-layer gradient chart belong to layers and
    # points: hidden. The network takes their width; the loss chart stays, taller.
    for hidden in ("surface", "plane-legend", "show-test", "clear-points", "grad-chart"):
        expect(page.get_by_test_id(hidden)).to_be_hidden()
    expect(page.get_by_test_id("loss-chart")).to_be_visible()
    expect(page.get_by_test_id("train-loss")).to_be_visible()
    recurrent_width = page.get_by_test_id("network-canvas").bounding_box()["width"]
    assert recurrent_width > feedforward_width + 0.05 * width
    chart = page.get_by_test_id("loss-chart").bounding_box()
    assert chart["height"] > 0.25 * height
    assert chart["y"] + chart["height"] <= height  # all of it on screen
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots(tmp_path) / f"recurrent-layout-{width}x{height}.png"))
    page.get_by_test_id("control-network.kind").select_option("feed-forward")
    page.wait_for_function(f"{STORE}.frame?.header?.recurrent === undefined")
    expect(page.get_by_test_id("surface")).to_be_visible()
    expect(page.get_by_test_id("grad-chart")).to_be_visible()
    assert page.console_errors == []


# ----- the recurrent lessons' view hints (engine/lessons_recurrent.py) -----------------------


def load_lesson(page, lesson_id: str) -> None:
    page.get_by_test_id(f"lesson-{lesson_id}").click()
    page.wait_for_function(
        f"{STORE}.frame?.header?.recurrent !== undefined && {STORE}.view.lesson === '{lesson_id}'"
    )


def chart_edge_in_backward_colour(page, chart: str) -> float:
    """Share of the pixels along the top edge of a chart under the unrolled view that are in
    the backward colour (the outline of a chart a lesson is about)."""
    return page.evaluate(
        """([chart, [r, g, b]]) => {
            const box = window.backpropLab.scene.unrolled.charts[chart];
            const canvas = document.querySelector('[data-testid="network-canvas"]');
            const scale = canvas.width / canvas.clientWidth;
            const y = Math.round((box.y - 2) * scale);
            const x0 = Math.round(box.x * scale), x1 = Math.round((box.x + box.w) * scale);
            const row = canvas.getContext('2d').getImageData(x0, y, x1 - x0, 1).data;
            let hits = 0;
            for (let k = 0; k < row.length; k += 4) {
                if (Math.abs(row[k] - r) < 30 && Math.abs(row[k + 1] - g) < 30
                    && Math.abs(row[k + 2] - b) < 30) hits++;
            }
            return hits / (row.length / 4);
        }""",
        [chart, list(BACKWARD)],
    )


def test_the_bptt_lesson_opens_unrolled_in_step_mode(page, live_server):
    open_recurrent(page, live_server, "data.length=12")
    page.get_by_test_id("fold-toggle").click()  # folded before the lesson
    assert page.evaluate(f"{STORE}.view.folded") is True
    load_lesson(page, "bptt")
    expect(page.get_by_test_id("fold-toggle")).to_have_text("folded view")  # i.e. unrolled now
    assert page.evaluate(f"{STORE}.view.folded") is False
    expect(page.get_by_test_id("step-unit")).to_have_value("phase")
    expect(page.get_by_test_id("compare-cell")).to_be_hidden()
    assert page.evaluate(f"{STORE}.config.data.length") == 6
    assert page.evaluate("window.backpropLab.scene.unrolled.steps") == 6
    assert page.console_errors == []


def test_the_vanishing_lesson_points_at_its_chart_and_offers_the_other_cell(page, live_server):
    open_page(page, live_server)
    load_lesson(page, "vanishing-through-time")
    page.wait_for_function("window.backpropLab.scene.unrolled?.charts !== undefined")
    assert chart_edge_in_backward_colour(page, "gradient_through_time") > 0.9
    assert chart_edge_in_backward_colour(page, "sequence") < 0.1
    compare = page.get_by_test_id("compare-cell")
    expect(compare).to_have_text("try the LSTM")
    compare.click()
    page.wait_for_function(f"{STORE}.frame?.header?.recurrent?.cell === 'lstm'")
    network = page.evaluate(f"{STORE}.config.network")
    assert network["cell"] == "lstm" and network["forget_bias"] == 2.0  # the lesson's option
    assert page.evaluate(f"{STORE}.config.data.delay") == 15  # the same task
    expect(page.get_by_test_id("control-network.cell")).to_have_value("lstm")
    expect(compare).to_have_text("try the RNN")
    compare.click()
    page.wait_for_function(f"{STORE}.frame?.header?.recurrent?.cell === 'rnn'")
    assert page.evaluate(f"{STORE}.config.network.init_scale") == 0.5  # the lesson's own again
    # Five seconds on, the outline is gone (the view is redrawn without it).
    page.wait_for_timeout(4300)
    assert chart_edge_in_backward_colour(page, "gradient_through_time") < 0.1
    assert page.console_errors == []


def test_the_clipping_lesson_races_its_two_labelled_runs(page, live_server):
    open_page(page, live_server)
    load_lesson(page, "exploding-through-time")
    expect(page.get_by_test_id("race")).to_have_text("Stop race")
    expect(page.get_by_test_id("compare-cell")).to_be_hidden()
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.compare.size === 2", timeout=15_000)
    assert sorted(page.evaluate(f"[...{STORE}.compare.keys()]")) == ["clip 1", "no clipping"]
    expect(page.get_by_test_id("loss-chart")).to_contain_text("no clipping")
    page.get_by_role("button", name="Pause").click()
    assert page.console_errors == []


def test_a_recurrent_weight_is_edited_in_the_inspector(page, live_server):
    open_recurrent(page, live_server, "network.cell=lstm&data.length=6&network.hidden=4")
    page.get_by_label("LSTM gate", exact=True).select_option("g")
    page.mouse.dblclick(*edge_point(page, 2, 3, 1, along=0.25))  # W_h[3, 2·4 + 1]
    editor = page.get_by_test_id("inspect-edit")
    expect(page.get_by_test_id("inspector")).to_contain_text("W_h[3,9]")
    expect(editor).to_be_focused()  # a double-click goes straight to typing
    editor.fill("1.5")
    editor.press("Enter")
    page.wait_for_function(f"{STORE}.network.weights.W_h[3][9] === 1.5")
    expect(editor).to_have_value("1.5")  # the explanation again, at the new value
    # A value out of range: refused by the server, named, and nothing changes.
    editor.fill("500")
    editor.press("Enter")
    expect(page.get_by_test_id("error")).to_contain_text("value")
    expect(page.get_by_test_id("error")).to_contain_text("500")
    assert page.evaluate(f"{STORE}.network.weights.W_h[3][9]") == 1.5
    assert page.console_errors == []


def sequence_chart_is_the_frames(page) -> bool:
    """Whether the sequence chart on the page is, pixel for pixel, the one drawn from the
    newest frame alone (no stepped iteration's predictions)."""
    return page.evaluate(
        """async () => {
            const unrolled = await import('/static/js/unrolled.js');
            const { store, scene } = window.backpropLab;
            const live = document.querySelector('[data-testid="network-canvas"]');
            const canvas = document.createElement('canvas');
            canvas.width = live.width;
            canvas.height = live.height;
            const ctx = canvas.getContext('2d');
            ctx.setTransform(live.getContext('2d').getTransform());
            unrolled.draw(ctx, {
                width: live.clientWidth, height: live.clientHeight,
                recurrent: store.frame.header.recurrent, arrays: store.frame.arrays, trace: null,
                selection: null, gate: store.recurrentGate, highlight: null,
            });
            const box = scene.unrolled.charts.sequence;
            const scale = live.width / live.clientWidth;
            const area = [box.x, box.y, box.w, box.h].map((v) => Math.round(v * scale));
            const drawn = live.getContext('2d').getImageData(...area).data;
            const fromFrame = ctx.getImageData(...area).data;
            return drawn.every((value, k) => value === fromFrame[k]);
        }"""
    )


@pytest.mark.parametrize("change", ["follow another sequence", "play then pause"])
def test_the_sequence_chart_forgets_a_stepped_iteration(page, live_server, change):
    open_recurrent(page, live_server, "data.length=8")
    step_phases(page, 8 + 1)  # forward through every step, then the loss
    assert page.evaluate(f"{STORE}.recurrentTrace.focusYhat !== null")  # the step's predictions
    if change == "follow another sequence":
        page.get_by_test_id("focus-sample").fill("3")
        page.get_by_test_id("focus-sample").dispatch_event("change")
        page.wait_for_function(f"{STORE}.frame.header.focus_sample === 3")
    else:
        page.get_by_role("button", name="Play").click()
        page.wait_for_function(f"{STORE}.frame.header.playing === true")
        page.get_by_role("button", name="Pause").click()
        page.wait_for_function(f"{STORE}.playing === false")
    page.wait_for_timeout(200)
    assert sequence_chart_is_the_frames(page)
    assert page.console_errors == []


def test_a_refused_inspect_leaves_the_next_double_click_typing(page, live_server):
    open_recurrent(page, live_server, "data.length=6&network.hidden=4")
    # An inspect the server refuses (step 99 of 6) gets an error, never an inspect reply.
    page.evaluate(
        """async () => {
            const { RecurrentSelection } = await import('/static/js/recurrentSelection.js');
            const { store, socket } = window.backpropLab;
            store.recurrentSelection = { kind: "hidden", t: 99, j: 0 };
            // inspect() needs only these two of its parts.
            new RecurrentSelection({ store, send: (message) => socket.send(message) }).inspect();
        }"""
    )
    expect(page.get_by_test_id("error")).to_contain_text("target.t")
    page.mouse.dblclick(*edge_point(page, 2, 3, 1, along=0.25))
    expect(page.get_by_test_id("inspector")).to_contain_text("W_hh[3,1]")
    expect(page.get_by_test_id("inspect-edit")).to_be_focused()
    assert page.evaluate(f"{STORE}.recurrentAsked") == 0
