"""End-to-end checks of the page in headless Chromium: what a person sees and does."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import numpy as np
import pytest
from playwright.sync_api import expect

from engine.run import Run, default_config
from engine.schema import describe
from engine.schema import fields as schema_fields
from server import frames
from tests.browser_helpers import STORE, open_page

pytestmark = pytest.mark.browser


def set_speed(page, index: int) -> None:
    page.get_by_test_id("speed").evaluate(
        "(slider, index) => { slider.value = index; slider.dispatchEvent(new Event('change')); }",
        index,
    )


def newest(page, expression: str):
    return page.evaluate(f"{STORE}.frame.header.{expression}")


def test_page_loads_without_console_errors(page, live_server):
    open_page(page, live_server)
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Reset")).to_be_visible()
    expect(page.get_by_test_id("train-loss")).to_have_text(re.compile(r"^\d+\.\d{3}$"))
    assert page.evaluate(f"{STORE}.hello.protocol") == 1
    assert page.console_errors == []


def test_play_lowers_the_loss_on_circle_and_pause_stops_the_stream(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&training.lr=0.1")
    set_speed(page, 6)  # 100 iterations per frame
    first_loss = newest(page, "train_loss")
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.wait_for_function(f"{STORE}.frame.header.train_loss < 0.8 * {first_loss}", timeout=20_000)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    page.wait_for_function(f"{STORE}.frame.header.playing === false")
    paused_at = newest(page, "iteration")
    # One more iteration by hand lands exactly one past the pause: nothing trained in between.
    page.get_by_test_id("step-unit").select_option("iteration")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.frame.header.iteration !== {paused_at}")
    assert newest(page, "iteration") == paused_at + 1
    assert page.console_errors == []


def test_step_by_phase_shows_forward_loss_backward_update_in_order(page, live_server):
    open_page(page, live_server, "#data.dataset=gauss&network.layers=2,3,1")
    label = page.get_by_test_id("phase-label")
    seen = []
    for count in range(1, 3 + 1 + 2 + 1 + 1):  # 2 forward, loss, 2 backward, update, next forward
        page.keyboard.press("ArrowRight") if count % 2 else page.get_by_test_id("step").click()
        page.wait_for_function(f"{STORE}.phaseCount === {count}")
        seen.append(label.text_content())
    assert seen == ["forward", "forward", "loss", "backward", "backward", "update", "forward"]
    # Space plays and pauses when no control has the focus.
    page.locator("body").click(position={"x": 5, "y": 700})
    page.keyboard.press(" ")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.keyboard.press(" ")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    # The update phase moved the weights: its values are what the network now draws.
    assert page.evaluate("window.backpropLab.weights.W.length") == 2
    assert page.console_errors == []


def test_changing_the_learning_rate_while_playing_takes_effect(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&training.lr=0.001&training.batch_size=100")
    set_speed(page, 0)  # one iteration per frame, so each frame's update ratio is one step's
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.frame.header.iteration >= 5")
    assert page.evaluate(f"{STORE}.config.training.lr") == 0.001
    slow = newest(page, "layers.at(-1).update_ratio")
    lr = page.get_by_test_id("control-training.lr")
    lr.fill("1")
    lr.press("Enter")
    lr.blur()
    # A learning rate 1000 times larger makes each step's ‖ΔW‖/‖W‖ far larger while playing.
    page.wait_for_function(f"{STORE}.frame.header.layers.at(-1).update_ratio > 50 * {slow}")
    assert page.evaluate(f"{STORE}.playing") is True
    assert "training.lr=1" in page.evaluate("location.hash")
    assert page.console_errors == []


def test_url_hash_restores_its_configuration(page, live_server):
    link = "#data.dataset=xor&network.layers=2,3,1&network.activation=relu&training.lr=0.1"
    link += "&network.seed=7&data.features=x1,x2"
    link += "&hide=charts&presenter=1"
    open_page(page, live_server, link)
    config = page.evaluate(f"{STORE}.config")
    assert config["data"]["dataset"] == "xor"
    assert config["network"]["layers"] == [2, 3, 1]
    assert config["network"]["activation"] == "relu"
    assert config["network"]["seed"] == 7
    assert config["training"]["lr"] == 0.1
    expect(page.get_by_test_id("control-data.dataset")).to_have_value("xor")
    expect(page.get_by_test_id("control-network.activation")).to_have_value("relu")
    expect(page.locator('[data-panel="charts"]')).to_be_hidden()
    expect(page.locator("body")).to_have_class("presenter")
    expect(page.get_by_test_id("presenter")).to_have_attribute("aria-pressed", "true")
    # The same link in a new tab builds the very same weights (the seed is in the link).
    weights = page.evaluate(f"{STORE}.network.weights")
    page.goto("about:blank")
    open_page(page, live_server, link)
    assert page.evaluate(f"{STORE}.network.weights") == weights
    assert page.console_errors == []


def unlike_default(entry: dict):
    """A value of a schema entry (hello.schema's JSON) other than its default, hard to carry:
    an integer at the top of its range, a number with every digit a double has."""
    kind, default, limits = entry["kind"], entry["default"], entry.get("range")
    if kind == "boolean":
        return not default
    if kind == "choice":
        return next(c["value"] for c in reversed(entry["choices"]) if c["value"] != default)
    if kind == "choices":
        return [choice["value"] for choice in reversed(entry["choices"])]
    if kind == "text":
        return "a,b&c=d é#%+"  # every character a link must escape, and the list separator
    if kind == "integers":
        return [int(limits["high"])] * max(entry["length"][0], 1)
    if kind == "integer":
        return int(limits["high"])
    return limits["low"] + (limits["high"] - limits["low"]) / 3


def test_url_table_round_trips_every_property(page, live_server):
    open_page(page, live_server)
    schema = page.evaluate(f"{STORE}.hello.schema")
    assert [entry["path"] for entry in schema] == [entry["path"] for entry in describe()]
    linked = [entry for entry in describe() if entry["url"]]  # the server's, not a JS copy
    # Every field a link carries, of both kinds of network, at a value other than its default.
    config: dict = {}
    for entry in linked:
        section, key = entry["path"].split(".")
        config.setdefault(section, {})[key] = unlike_default(entry)
        assert config[section][key] != entry["default"], entry["path"]
    result = page.evaluate(
        """async ({config, schema}) => {
            const url = await import('/static/js/url.js');
            const view = {hide: ['charts', 'controls'], presenter: true, biasNodes: true,
                          showTest: false, discretize: true, logLoss: true, lesson: 'vanishing'};
            const written = url.serialise(config, view, schema);
            const parsed = url.parse('#' + written, {}, schema);
            const bad = url.parse('#training.lr=abc&nonsense=1', config, schema);
            const keys = written.split('&').map((pair) => pair.split('=')[0]);
            return {parsed, view, errors: bad.errors, lr: bad.config.training.lr, keys};
        }""",
        {"config": config, "schema": schema},
    )
    # Every field links carry is written under its own path and read back to the same value.
    assert [key for key in result["keys"] if "." in key] == [e["path"] for e in linked]
    assert {e.path for e in schema_fields() if e.in_url} == {e["path"] for e in linked}
    parsed = result["parsed"]["config"]
    for section, values in config.items():
        for key, value in values.items():
            assert parsed[section][key] == value, f"{section}.{key}"
    assert result["parsed"]["view"] == result["view"]
    assert result["errors"] == ['training.lr: not a number: "abc"', 'unknown setting "nonsense"']
    assert result["lr"] == config["training"]["lr"]


def test_server_error_is_shown_as_text_never_as_html(page, live_server):
    hostile = "<img src=x onerror=window.pwned=1>"
    open_page(page, live_server)
    page.goto(f"{live_server}/#data.dataset={quote(hostile)}")
    # The refusal names its field, so it is shown beside that control, which shows the run the
    # server still has.
    control = page.get_by_test_id("control-data.dataset")
    error = page.get_by_role("alert").filter(has_text=hostile)
    expect(error).to_be_visible()
    expect(error).to_contain_text("data.dataset: must be one of circle")
    assert error.get_attribute("id") == "error-data.dataset"
    expect(control).to_have_value("circle")
    expect(control).to_have_accessible_description(re.compile("must be one of"))
    assert error.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None


def click_on_network(page, expression: str) -> None:
    """Clicks the canvas point that `expression` (over `columns` of the layout) evaluates to."""
    box = page.get_by_test_id("network-canvas").bounding_box()
    layout = "window.backpropLab.scene.layout"
    x, y = page.evaluate(f"(() => {{ const columns = {layout}.columns; return {expression}; }})()")
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_inspector_shows_the_gradient_check_and_edits_a_weight(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&network.layers=2,4,2,1")
    # A third of the way along the edge from hidden-1 neuron 1 to hidden-2 neuron 0 (the middle
    # is where it crosses another edge): weight (1, 1, 0).
    point = "[0, 1].map((k) => { const a = columns[1].nodes[1], b = columns[2].nodes[0]; "
    point += "const key = k ? 'y' : 'x'; return a[key] + (b[key] - a[key]) / 3; })"
    click_on_network(page, point)
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_contain_text("Weight from neuron 2 of hidden 1 to neuron 1 of hidden 2")
    expect(inspector).to_contain_text("central difference")
    relative_error = float(page.get_by_test_id("gradcheck-error").text_content())
    assert relative_error < 1e-4
    expect(inspector).to_contain_text("∂L/∂w = a_i · δ_j =")
    editor = page.get_by_test_id("inspect-edit")
    editor.fill("1.25")
    editor.press("Enter")
    page.wait_for_function(f"{STORE}.network.weights[1][1][0] === 1.25")
    expect(page.get_by_test_id("inspect-edit")).to_have_value("1.25")
    page.locator("body").click(position={"x": 5, "y": 700})
    page.keyboard.press("Escape")
    expect(inspector).to_be_hidden()
    assert page.console_errors == []


def test_a_dropped_connection_reconnects_and_restores_the_run(page, live_server):
    open_page(page, live_server, "#data.dataset=moons&training.lr=0.3&network.seed=5")
    weights = page.evaluate(f"{STORE}.network.weights")
    page.evaluate("window.backpropLab.socket.ws.close()")
    expect(page.get_by_test_id("connection")).to_contain_text("disconnected")
    expect(page.get_by_test_id("connection")).to_have_text("connected")
    # The new session got our config again: same data set, options and seed-built weights.
    page.wait_for_function(f"{STORE}.network.weights[0][0][0] === {weights[0][0][0]}")
    assert page.evaluate(f"{STORE}.network.weights") == weights
    assert page.evaluate(f"{STORE}.config.data.dataset") == "moons"
    assert page.evaluate(f"{STORE}.config.training.lr") == 0.3


def test_points_by_click_and_a_bad_csv_gets_a_clear_message(page, live_server):
    open_page(page, live_server, "#data.dataset=gauss&data.n_points=40")
    before = page.evaluate(f"{STORE}.data.train.length + {STORE}.data.test.length")
    plane = page.get_by_test_id("surface")
    box = plane.bounding_box()
    plane.click(position={"x": box["width"] * 0.75, "y": box["height"] * 0.25})
    page.wait_for_function(f"{STORE}.data.train.length + {STORE}.data.test.length === {before + 1}")
    page.get_by_test_id("upload-points").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x1,x2,y\n1,2,1\n3,oops,0\n"}]
    )
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("bad.csv: line 3: every value must be a number")
    page.get_by_test_id("upload-points").set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": b"1,1,1\n-1,-1,0\n2,2,1\n"}]
    )
    page.wait_for_function(f"{STORE}.data.train.length + {STORE}.data.test.length === 3")
    assert page.console_errors == []


def export_file(page, path) -> dict:
    with page.expect_download() as download:
        page.get_by_test_id("export-network").click()
    download.value.save_as(path)
    return json.loads(path.read_text())


def test_a_click_can_add_a_point_of_the_third_class(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&network.layers=2,4,1")
    page.get_by_test_id("control-data.dataset").select_option("three_gauss")
    page.wait_for_function(f"{STORE}.data.n_classes === 3 && {STORE}.frame.header.iteration === 0")
    expect(page.get_by_test_id("point-class").locator("option")).to_have_count(3)
    rows = f"[...{STORE}.data.train, ...{STORE}.data.test]"
    before = page.evaluate(f"{rows}.filter((row) => row[2] === 2).length")
    page.get_by_test_id("point-class").select_option("2")
    plane = page.get_by_test_id("surface")
    box = plane.bounding_box()
    plane.click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.1})
    page.wait_for_function(f"{rows}.filter((row) => row[2] === 2).length === {before + 1}")
    assert page.console_errors == []


def test_exported_network_json_is_exact_and_imports_back_bit_for_bit(page, live_server, tmp_path):
    link = "#data.dataset=xor&network.layers=2,3,1&network.seed=3&training.lr=1"
    open_page(page, live_server, link)
    page.get_by_test_id("step-unit").select_option("epoch")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.frame.header.iteration > 0")
    first = export_file(page, tmp_path / "first.json")
    # Trained weights at full float64 precision, not the frames' float32 copies.
    flat = np.concatenate([np.ravel(W) for W in first["network"]["weights"]])
    assert np.any(flat.astype(np.float32).astype(np.float64) != flat)
    trained = newest(page, "iteration")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.frame.header.iteration > {trained}")
    page.get_by_test_id("import-network").set_input_files(str(tmp_path / "first.json"))
    expect(page.get_by_test_id("notice")).to_have_text("network imported")
    weight = first["network"]["weights"][0][0][0]
    page.wait_for_function(f"{STORE}.network.weights[0][0][0] === {weight!r}")
    second = export_file(page, tmp_path / "second.json")
    assert second["network"]["weights"] == first["network"]["weights"]
    assert second["network"]["biases"] == first["network"]["biases"]
    assert second == first
    # A structural change after the import builds fresh weights from the (new) seed.
    page.get_by_test_id("control-network.seed").fill("4")
    page.get_by_test_id("control-network.seed").press("Enter")
    page.wait_for_function(f"{STORE}.config.network.seed === 4")
    assert page.evaluate(f"{STORE}.network.weights") != first["network"]["weights"]
    with page.expect_download() as download:
        page.get_by_test_id("download-csv").click()
    assert download.value.suggested_filename == "loss-history.csv"


def bars_on_canvas(page) -> int:
    """Coloured bars in the gradient chart's pixels: runs of columns holding a block of
    saturated (not grey, not white) pixels."""
    return page.evaluate(
        """() => {
            const canvas = document.querySelector('[data-testid="grad-chart"]');
            const { width, height } = canvas;
            const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
            const coloured = (x) => {
                let count = 0;
                for (let y = 0; y < height; y++) {
                    const i = 4 * (y * width + x);
                    const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
                    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) count += 1;
                }
                return count;
            };
            let bars = 0, inside = false;
            for (let x = 0; x < width; x++) {
                const isBar = coloured(x) >= 4;
                if (isBar && !inside) bars += 1;
                inside = isBar;
            }
            return bars;
        }"""
    )


def test_gradient_chart_shows_one_bar_per_layer_from_the_frames_norms(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&network.layers=2,4,4,1")
    assert page.evaluate("window.backpropLab.scene.gradNorms") == [None, None, None]
    assert bars_on_canvas(page) == 0  # what a person sees: no bar before any gradient
    page.get_by_test_id("step-unit").select_option("iteration")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.frame.header.iteration === 1")
    page.wait_for_function("window.backpropLab.scene.gradNorms[0] !== null")
    # One frame in the window: its norms, drawn as they are.
    norms = page.evaluate("window.backpropLab.scene.gradNorms")
    assert norms == page.evaluate(f"{STORE}.frame.header.layers.map((l) => l.grad_norm)")
    assert bars_on_canvas(page) == 3  # one coloured bar per weight layer, drawn
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.frame.header.iteration === 2")
    page.wait_for_function("window.backpropLab.scene.gradFrames === 2")
    window = page.evaluate(f"{STORE}.gradWindow")
    expected = [float(np.sqrt(a * b)) for a, b in zip(*window, strict=True)]
    assert page.evaluate("window.backpropLab.scene.gradNorms") == pytest.approx(expected, rel=1e-12)
    labels = page.evaluate(
        """async () => {
            const charts = await import('/static/js/charts.js');
            return [[0, -1, 1, -2, 3].map(charts.decadeText),
                    [0.5234, 31.2, 3.14e-5, 12345].map(charts.powerText)];
        }"""
    )
    assert labels == [["1", "0.1", "10", "10⁻²", "10³"], ["0.52", "31", "3.1·10⁻⁵", "1.2·10⁴"]]
    page.get_by_test_id("grad-history").check()
    assert page.evaluate(f"{STORE}.view.gradHistory") is True
    assert page.console_errors == []


def test_space_plays_after_a_button_was_clicked_and_not_in_a_field(page, live_server):
    open_page(page, live_server, "#data.dataset=circle")
    page.get_by_test_id("reset").click()  # the focus is now on a button
    page.keyboard.press(" ")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.wait_for_function(f"{STORE}.frame.header.playing === true")
    page.get_by_role("button", name="Pause").focus()
    page.keyboard.press(" ")  # one action: paused, not paused and played again by the keyup
    page.wait_for_function(f"{STORE}.frame.header.playing === false")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    lr = page.get_by_test_id("control-training.lr")
    lr.focus()
    page.keyboard.press(" ")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    assert page.evaluate(f"{STORE}.playing") is False


def test_a_refused_change_leaves_the_page_showing_the_running_network(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&network.layers=2,4,2,1")
    # Six features but a first layer of two: the server refuses, the page keeps the old run.
    page.goto(
        f"{live_server}/#data.dataset=circle&data.features=x1,x2,x1sq,x2sq,sinx1,sinx2&network.layers=2,3,1"
    )
    expect(page.get_by_test_id("error")).to_contain_text("network.layers")
    page.wait_for_function(f"{STORE}.config.network.layers.join() === '2,4,2,1'")
    expect(page.get_by_test_id("feature-x1sq")).not_to_be_checked()
    assert "network.layers=2,4,2,1" in page.evaluate("location.hash")
    lr = page.get_by_test_id("control-training.lr")
    lr.fill("-5")
    lr.press("Enter")
    # Refused: the control is marked (an outline, and invalid for a screen reader), the message
    # is beside it, and it shows the value the run keeps.
    message = page.locator(".control", has=lr).get_by_role("alert")
    expect(message).to_have_text(re.compile(r"^training\.lr: must be a finite number"))
    expect(lr).to_have_accessible_description(re.compile(r"training\.lr: must be a finite number"))
    expect(lr).to_have_attribute("aria-invalid", "true")
    error_colour = message.evaluate("(box) => getComputedStyle(box).color")
    expect(lr).to_have_css("outline-color", error_colour)
    expect(lr).to_have_value("0.03")
    # A change the server takes clears the mark and the message.
    lr.fill("0.1")
    lr.press("Enter")
    page.wait_for_function(f"{STORE}.config.training.lr === 0.1")
    expect(message).to_be_hidden()
    expect(lr).not_to_have_attribute("aria-invalid", "true")
    expect(lr).not_to_have_css("outline-color", error_colour)
    # A refused list: no feature at all. The group is marked, its boxes show the run's features.
    page.get_by_test_id("feature-x2").uncheck()
    page.wait_for_function(f"{STORE}.config.data.features.join() === 'x1'")
    page.get_by_test_id("feature-x1").click()  # not uncheck(): the refusal may check it first
    features = page.get_by_test_id("control-data.features")
    expect(features.get_by_role("alert")).to_contain_text("data.features")
    expect(features).to_have_css("outline-color", error_colour)
    expect(page.get_by_test_id("feature-x1")).to_be_checked()
    expect(page.get_by_test_id("feature-x1")).to_have_attribute("aria-invalid", "true")
    assert page.console_errors == []


def test_regression_data_gets_mse_and_the_loss_select_offers_only_valid_losses(page, live_server):
    open_page(page, live_server, "#data.dataset=circle")
    loss_select = page.get_by_test_id("control-network.loss")
    enabled = "(select) => [...select.options].filter((o) => !o.disabled).map((o) => o.value)"

    def accepted(output: str, kind: str) -> None:
        """The server's `state` (store.network) and `data` show the run it accepted."""
        run = f"{STORE}.network.output === '{output}' && {STORE}.data.kind === '{kind}'"
        page.wait_for_function(run)

    page.get_by_test_id("control-data.dataset").select_option("plane")
    accepted("linear", "regression")
    assert page.evaluate(f"{STORE}.config.network.loss") == "mse"
    assert loss_select.evaluate(enabled) == ["mse"]
    # A sigmoid output on regression data keeps mse (bce would be refused by the server).
    page.get_by_test_id("control-network.output").select_option("sigmoid")
    page.wait_for_function(f"{STORE}.network.output === 'sigmoid'")
    assert page.evaluate(f"{STORE}.config.network.loss") == "mse"
    expect(loss_select).to_have_value("mse")
    assert loss_select.evaluate(enabled) == ["mse"]
    page.get_by_test_id("control-data.dataset").select_option("multi_gauss")
    accepted("linear", "regression")
    assert page.evaluate(f"{STORE}.config.network.loss") == "mse"
    # Back to classification: a sigmoid output may pair with bce or mse again.
    page.get_by_test_id("control-data.dataset").select_option("circle")
    accepted("sigmoid", "classification")
    assert page.evaluate(f"{STORE}.config.network.loss") == "bce"
    assert sorted(loss_select.evaluate(enabled)) == ["bce", "mse"]
    expect(page.get_by_test_id("error")).to_be_hidden()
    assert page.console_errors == []


def test_structural_controls_rebuild_the_network(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&network.layers=2,4,2,1")

    def layers_become(expected: str) -> None:
        page.wait_for_function(f"{STORE}.network.weights.length === {expected.count(',')}")
        page.wait_for_function(f"{STORE}.config.network.layers.join() === '{expected}'")

    page.get_by_test_id("add-layer").click()
    expect(page.get_by_test_id("notice")).to_have_text("network rebuilt")
    layers_become("2,4,2,2,1")
    page.get_by_role("button", name="more neurons in hidden layer 1").click()
    layers_become("2,5,2,2,1")
    page.get_by_test_id("remove-layer").click()
    layers_become("2,5,2,1")
    page.get_by_test_id("feature-x1sq").check()
    layers_become("3,5,2,1")
    page.get_by_test_id("control-data.dataset").select_option("three_gauss")
    layers_become("3,5,2,3")
    assert page.evaluate(f"{STORE}.config.network.output") == "softmax"
    assert page.evaluate(f"{STORE}.config.network.loss") == "ce"
    page.get_by_test_id("freeze-0").check()
    page.wait_for_function("location.hash.includes('training.frozen=0')")
    assert page.console_errors == []


def test_the_output_layers_buttons_switch_a_two_class_set_to_two_softmax_outputs(page, live_server):
    open_page(page, live_server, "#data.dataset=gauss&network.layers=2,4,1&training.lr=0.1")
    fewer = page.get_by_role("button", name="fewer outputs")
    more = page.get_by_role("button", name="more outputs: 2")
    expect(fewer).to_be_disabled()
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.frame.header.iteration > 20")
    more.click()  # while playing: the run goes on with the hidden weights it has
    page.wait_for_function(f"{STORE}.config.network.layers.join() === '2,4,2'")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(page.get_by_test_id("control-network.output")).to_have_value("softmax")
    expect(page.get_by_test_id("control-network.loss")).to_have_value("ce")
    expect(page.get_by_role("button", name="more outputs")).to_be_disabled()
    # Two softmax outputs learn the two classes: the frames' accuracy climbs, the plane shows
    # one surface per class.
    page.wait_for_function(f"{STORE}.frame.header.train_accuracy >= 0.95", timeout=20_000)
    assert page.evaluate(f"{STORE}.frame.arrays.get('surface/output').shape[0]") == 2
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="fewer outputs: 1").click()
    page.wait_for_function(f"{STORE}.config.network.layers.join() === '2,4,1'")
    expect(page.get_by_test_id("control-network.output")).to_have_value("sigmoid")
    expect(page.get_by_test_id("control-network.loss")).to_have_value("bce")
    # A regression set takes one width only: no buttons on its output.
    page.get_by_test_id("control-data.dataset").select_option("plane")
    page.wait_for_function(f"{STORE}.data.kind === 'regression'")
    expect(page.get_by_role("button", name="more outputs")).to_have_count(0)
    expect(page.get_by_test_id("error")).to_be_hidden()
    assert page.console_errors == []


def test_optimizer_race_overlays_four_loss_curves(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&training.lr=0.05")
    set_speed(page, 4)
    page.get_by_test_id("race").click()
    expect(page.get_by_test_id("race")).to_have_text("Stop race")
    page.get_by_role("button", name="Play").click()
    every_curve_drawn = f"[...{STORE}.compare.values()].every((s) => s.loss.length > 5)"
    page.wait_for_function(f"{STORE}.compare.size === 4 && {every_curve_drawn}")
    labels = page.evaluate(f"[...{STORE}.compare.keys()]")
    assert labels == ["sgd", "momentum", "rmsprop", "adam"]
    page.get_by_role("button", name="Pause").click()
    with page.expect_download() as download:
        page.get_by_test_id("download-png").click()
    assert download.value.suggested_filename == "backprop-lab.png"
    assert page.console_errors == []


GAUSS_40 = "#data.dataset=gauss&data.n_points=40&training.batch_size=5&network.layers=2,3,1"


def gauss_40_run() -> Run:
    """The run GAUSS_40 describes, as the server builds it: its batches are the page's."""
    config = default_config()
    config["data"].update(dataset="gauss", n_points=40)
    config["training"]["batch_size"] = 5
    config["network"]["layers"] = [2, 3, 1]
    return Run(config)


def test_step_mode_follows_the_chosen_sample_even_outside_the_batch(page, live_server):
    engine = gauss_40_run()
    batch = engine.next_batch()
    outside = next(s for s in range(engine.n_train) if s not in batch)
    open_page(page, live_server, GAUSS_40)
    focus = page.get_by_test_id("focus-sample")
    focus.fill(str(outside))
    focus.press("Enter")
    page.wait_for_function(f"{STORE}.focus === {outside}")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.phaseCount === 1")
    detail = page.get_by_test_id("phase-detail")
    expect(detail).to_have_text(f"hidden 1 · sample {outside} · not in this batch")
    expect(page.get_by_test_id("phase-sentence")).to_contain_text(
        f"sample {outside}, not in this batch: its own pass with the batch's weights"
    )
    # The numbers drawn are the chosen sample's own, with the batch's weights.
    shown = page.evaluate(f"Array.from({STORE}.trace.forward.get(0).A)")
    own = engine.network.forward_trace(engine._X_train[outside][None, :]).A[0][0]
    assert np.allclose(shown, own, rtol=1e-12)
    # The inspector explains the same batch and sample, and says which is which.
    click_on_network(page, "[columns[1].nodes[0].x, columns[1].nodes[0].y]")
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_contain_text("mean δ on the batch of 5 (iteration 1)")
    expect(inspector).to_contain_text("mean δ over the whole training set (20 samples)")
    whose = f"Forward and backward for sample {outside} (not in this batch)"
    expect(inspector).to_contain_text(whose)
    for _ in range(6):  # the rest of the iteration: the next one has another batch
        page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.phaseCount === 7")
    engine.train(1)
    inside = int(engine.next_batch()[2])
    focus.fill(str(inside))
    focus.press("Enter")
    page.wait_for_function(f"{STORE}.focus === {inside}")
    page.get_by_role("button", name="Step", exact=True).click()
    expect(detail).to_have_text(f"hidden 1 · sample {inside}")
    expect(page.get_by_test_id("phase-sentence")).not_to_contain_text("not in this batch")
    expect(inspector).to_contain_text("on the batch of 5 (iteration 2)")
    expect(inspector).not_to_contain_text("not in this batch")
    assert page.console_errors == []


def test_a_bad_follow_sample_is_refused_and_the_box_keeps_the_followed_one(page, live_server):
    open_page(page, live_server, "#data.dataset=gauss&data.n_points=40&training.batch_size=20")
    focus = page.get_by_test_id("focus-sample")
    focus.fill("3")
    focus.press("Enter")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.phaseCount === 1")
    assert page.evaluate(f"{STORE}.trace.last.focus_sample") == 3
    expect(page.get_by_test_id("phase-detail")).to_contain_text("hidden 1 · sample 3")
    focus.fill("999")
    focus.press("Enter")
    expect(page.get_by_test_id("error")).to_contain_text("sample: must be an integer in [0, 19]")
    # Refused: the server still follows sample 3, and the box says so.
    expect(focus).to_have_value("3")
    assert page.evaluate(f"{STORE}.focus") == 3


def test_new_points_reset_the_followed_sample_and_the_stepped_phases(page, live_server):
    open_page(page, live_server, "#data.dataset=gauss&data.n_points=40&training.batch_size=20")
    focus = page.get_by_test_id("focus-sample")
    focus.fill("15")
    focus.press("Enter")
    page.wait_for_function(f"{STORE}.focus === 15")  # the server's frames confirm it
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.trace.last !== null")
    # Four points leave fewer training samples than 15: the server follows sample 0 again, and the
    # half-stepped iteration (its phases index the old data) is gone.
    page.get_by_test_id("upload-points").set_input_files(
        files=[
            {
                "name": "four.csv",
                "mimeType": "text/csv",
                "buffer": b"1,1,1\n-1,-1,0\n2,2,1\n-2,-2,0\n",
            }
        ]
    )
    page.wait_for_function(f"{STORE}.data.train.length + {STORE}.data.test.length === 4")
    expect(focus).to_have_value("0")
    page.wait_for_function(f"{STORE}.focus === 0")
    assert page.evaluate(f"{STORE}.trace.last") is None
    expect(page.get_by_test_id("error")).to_be_hidden()
    assert page.console_errors == []


def test_the_page_decodes_the_servers_binary_envelope(page, live_server):
    """server/frames.py encodes, static/js/socket.js decodes: both ends of one byte layout."""
    W = np.array([[0.5, -1.25, 3.0], [1e-3, 2.0, -7.5]])
    surface = np.linspace(-1.0, 1.0, 2 * 3 * 3).reshape(2, 3, 3)
    message = frames.encode_entries(
        {"type": "frame", "iteration": 7, "note": "é"},  # odd header length: padding needed
        [frames.plain_entry("W/0", W), frames.u8_entry("surface/output", surface)],
    )
    open_page(page, live_server)
    decoded = page.evaluate(
        """async (bytes) => {
            const { decodeEnvelope } = await import('/static/js/socket.js');
            const { header, arrays } = decodeEnvelope(new Uint8Array(bytes).buffer);
            const out = {};
            for (const [name, a] of arrays) out[name] = {...a, data: Array.from(a.data)};
            return { header, arrays: out };
        }""",
        list(message),
    )
    assert decoded["header"]["iteration"] == 7
    assert decoded["header"]["note"] == "é"
    weights = decoded["arrays"]["W/0"]
    assert weights["shape"] == [2, 3]
    assert weights["data"] == pytest.approx(W.astype(np.float32).ravel().tolist())
    grid = decoded["arrays"]["surface/output"]
    lo, hi = grid["range"]
    values = [lo + q / 255 * (hi - lo) for q in grid["data"]]
    assert grid["shape"] == [2, 3, 3]
    assert values == pytest.approx(surface.ravel().tolist(), abs=(hi - lo) / 255)


def test_the_decoder_reads_f32_u8_and_8_byte_aligned_f64_arrays(page, live_server):
    """A buffer built by hand in the page, laid out as docs/protocol.md says: the f64 array
    needs 4 zero bytes before it to start on an 8-byte boundary."""
    open_page(page, live_server)
    decoded = page.evaluate(
        """async () => {
            const { decodeEnvelope } = await import('/static/js/socket.js');
            const f32 = [0.5, -1.25, 3.0], u8 = [0, 7, 255, 128, 1], f64 = [0.1, 1 / 3, -2.5e-300];
            const arrays = [
                {name: 'a', dtype: 'f32', shape: [3]},
                {name: 'mask', dtype: 'u8', shape: [5]},
                {name: 'exact', dtype: 'f64', shape: [3, 1]},
            ];
            let text = JSON.stringify({type: 'phase', loss: 0.1 + 0.2, arrays});
            // Padded to a multiple of 8 (so of 4 too): the u8 array then ends 4 bytes short of an
            // 8-byte boundary, and the f64 array must skip them.
            text += ' '.repeat((8 - ((4 + text.length) % 8)) % 8);
            const start = 4 + text.length;  // f32 at start, u8 at start + 12 (8 bytes padded)
            const f64At = Math.ceil((start + 12 + 8) / 8) * 8;
            const buffer = new ArrayBuffer(f64At + 8 * f64.length);
            const view = new DataView(buffer);
            view.setUint32(0, text.length, true);
            new Uint8Array(buffer, 4, text.length).set(new TextEncoder().encode(text));
            f32.forEach((v, k) => view.setFloat32(start + 4 * k, v, true));
            u8.forEach((v, k) => view.setUint8(start + 12 + k, v));
            f64.forEach((v, k) => view.setFloat64(f64At + 8 * k, v, true));
            const { header, arrays: out } = decodeEnvelope(buffer);
            const plain = (name) => ({...out.get(name), data: Array.from(out.get(name).data)});
            return {loss: header.loss, padding: f64At - (start + 20), f64Expected: f64,
                    a: plain('a'), mask: plain('mask'), exact: plain('exact')};
        }"""
    )
    assert decoded["padding"] == 4  # the decoder had to round up to the 8-byte boundary
    assert decoded["loss"] == 0.1 + 0.2  # header numbers arrive with every digit
    assert decoded["a"]["dtype"] == "f32"
    assert decoded["a"]["data"] == [0.5, -1.25, 3.0]
    assert decoded["mask"]["data"] == [0, 7, 255, 128, 1]
    assert decoded["exact"]["dtype"] == "f64"
    assert decoded["exact"]["shape"] == [3, 1]
    assert decoded["exact"]["data"] == decoded["f64Expected"] == [0.1, 1 / 3, -2.5e-300]


def test_double_click_on_a_bias_goes_straight_to_editing_it(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&network.layers=2,4,2,1")
    # The bias mark sits at the lower-left corner of the output neuron: bias (2, 0).
    corner = "[columns[3].nodes[0].x - window.backpropLab.scene.layout.size / 2, "
    corner += "columns[3].nodes[0].y + window.backpropLab.scene.layout.size / 2]"
    box = page.get_by_test_id("network-canvas").bounding_box()
    layout = "window.backpropLab.scene.layout"
    x, y = page.evaluate(f"(() => {{ const columns = {layout}.columns; return {corner}; }})()")
    page.mouse.dblclick(box["x"] + x, box["y"] + y)
    expect(page.get_by_test_id("inspector")).to_contain_text("Bias of neuron 1 of output")
    editor = page.get_by_test_id("inspect-edit")
    expect(editor).to_be_focused()
    page.keyboard.type("-0.5")
    page.keyboard.press("Enter")
    page.wait_for_function(f"{STORE}.network.biases[2][0] === -0.5")
    assert page.console_errors == []


def test_hide_flags_give_the_hidden_panels_room_to_the_rest(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&hide=controls,output")
    expect(page.get_by_test_id("controls")).to_be_hidden()
    expect(page.get_by_test_id("surface")).to_be_hidden()
    network_panel = page.locator('[data-panel="network"]').bounding_box()
    assert network_panel["x"] < 20
    assert network_panel["width"] > 1200


def test_presenter_mode_fits_the_output_panel_at_1280_by_720(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&presenter=1")
    expect(page.locator("body")).to_have_class("presenter")
    fit = page.evaluate(
        """() => {
            const panel = document.querySelector('[data-panel="output"]');
            const box = panel.getBoundingClientRect();
            const chart = document.querySelector('[data-testid="grad-chart"]');
            const grads = chart.getBoundingClientRect();
            return {overflow: panel.scrollHeight - panel.clientHeight, gradBottom: grads.bottom,
                    panelBottom: box.bottom, height: grads.height};
        }"""
    )
    assert fit["overflow"] <= 0  # nothing below the fold: no scrolling needed
    assert 0 < fit["gradBottom"] <= fit["panelBottom"]
    assert fit["height"] > 80
    assert page.console_errors == []


def test_every_loss_point_reaches_the_chart_even_when_frames_are_skipped(page, live_server):
    """The server sends each loss point once, in the frame after its tick; a frame the page
    replaces before drawing it must still hand its points to the chart."""
    open_page(page, live_server, "#data.dataset=circle")
    set_speed(page, 3)  # 10 iterations per tick: one loss point every 10 iterations
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.history.iteration.length > 80", timeout=20_000)
    page.get_by_role("button", name="Pause").click()
    iterations = page.evaluate(f"{STORE}.history.iteration")
    # A frame built mid-tick adds its own point, so points may be closer; never further apart.
    steps = np.diff(iterations)
    assert steps.min() > 0 and steps.max() <= 10, iterations
