"""The lessons panel in headless Chromium: picking a lesson loads its run, its text and its link."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from engine.lessons import LESSONS
from tests.browser_helpers import STORE, open_page
from tests.published_worked_example import TOTAL_ERROR

pytestmark = pytest.mark.browser


def step_phase(page, count: int) -> None:
    """Clicks Step (unit: phase) once and waits for that phase to arrive."""
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.phaseCount === {count}")


def test_the_panel_lists_every_lesson_and_loads_the_worked_example(page, live_server):
    open_page(page, live_server)
    panel = page.get_by_test_id("lessons-panel")
    expect(panel.locator(".lesson-item")).to_have_count(len(LESSONS))
    expect(page.get_by_test_id("lesson-detail")).to_be_hidden()

    panel.get_by_test_id("lesson-chain-rule").click()
    expect(page.get_by_test_id("lesson-title")).to_have_text("The chain rule, by hand")
    expect(page.get_by_test_id("lesson-try")).to_contain_text("∂E/∂w5")
    expect(panel.get_by_test_id("lesson-chain-rule")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        f"{STORE}.config.training.lr === 0.5 && {STORE}.config.network.layers.join() === '2,2,2'"
    )
    page.wait_for_function("location.hash.includes('lesson=chain-rule')")

    # Forward, forward, loss: the page shows the published total error.
    page.get_by_test_id("step-unit").select_option("phase")
    for count in (1, 2, 3):
        step_phase(page, count)
    expect(page.get_by_test_id("phase-label")).to_have_text("loss")
    # Phase headers carry the engine's float64 figures: the published value to its 9 digits.
    assert page.evaluate(f"{STORE}.trace.last.loss") == pytest.approx(TOTAL_ERROR, abs=1e-9)
    assert page.console_errors == []


def test_a_link_with_a_lesson_opens_it(page, live_server):
    open_page(page, live_server, "#lesson=noisy-data")
    expect(page.get_by_test_id("lesson-title")).to_have_text("Noisy data")
    expect(page.get_by_test_id("lesson-noisy-data")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(f"{STORE}.config.data.dataset === 'gauss'")
    assert page.console_errors == []


def test_a_link_with_a_lessons_former_id_still_opens_it(page, live_server):
    open_page(page, live_server, "#lesson=local-minima")  # lesson 11's id until it was renamed
    expect(page.get_by_test_id("lesson-title")).to_have_text("Flat regions")
    page.wait_for_function("location.hash.includes('lesson=flat-regions')")
    assert page.console_errors == []


def test_the_optimizer_lesson_races_four_labelled_runs(page, live_server):
    open_page(page, live_server)
    page.get_by_test_id("lesson-optimizers").click()
    page.wait_for_function(f"{STORE}.config.data.dataset === 'circle'")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.compare.size === 4", timeout=15_000)
    labels = page.evaluate(f"[...{STORE}.compare.keys()]")
    assert sorted(labels) == ["Adam", "Momentum", "RMSprop", "SGD"]
    page.get_by_role("button", name="Pause").click()
    assert page.console_errors == []


def test_lesson_view_hints_step_mode_and_log_loss(page, live_server):
    open_page(page, live_server, "#data.dataset=circle")
    set_log = page.get_by_test_id("log-loss")
    page.get_by_test_id("step-unit").select_option("epoch")
    page.get_by_role("button", name="Play").click()
    page.get_by_test_id("lesson-forward-pass").click()  # mode: step
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    expect(page.get_by_test_id("step-unit")).to_have_value("phase")
    expect(page.get_by_test_id("phase-label")).to_have_text("ready")
    page.wait_for_function(f"{STORE}.config.network.layers.join() === '2,2,1'")
    page.wait_for_function(f"{STORE}.frame.header.playing === false")
    # Space after the click plays (the lesson button is not pressed again), → steps a phase.
    page.keyboard.press(" ")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.keyboard.press(" ")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    page.wait_for_function(f"{STORE}.frame.header.playing === false")
    count = page.evaluate(f"{STORE}.phaseCount")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"{STORE}.phaseCount === {count + 1}")
    expect(page.get_by_test_id("phase-label")).to_have_text("forward")
    expect(set_log).not_to_be_checked()
    page.get_by_test_id("lesson-learning-rate").click()  # log_loss, compare, charts: loss
    expect(set_log).to_be_checked()
    expect(page.get_by_test_id("race")).to_have_text("Stop race")
    page.wait_for_function("location.hash.includes('logLoss=1')")
    page.get_by_test_id("lesson-bias").click()  # bias_nodes; no log_loss: the toggle goes off
    expect(page.get_by_test_id("bias-nodes")).to_be_checked()
    expect(set_log).not_to_be_checked()
    expect(page.get_by_test_id("race")).to_have_text("Race optimizers")
    assert page.console_errors == []


@pytest.mark.parametrize("lesson", ["vanishing-gradients", "forward-pass"])
def test_a_lesson_link_loads_the_lessons_config_and_view(page, live_server, lesson):
    expected = next(item for item in LESSONS if item["id"] == lesson)
    open_page(page, live_server, f"#lesson={lesson}")
    layers = ",".join(map(str, expected["config"]["network"]["layers"]))
    page.wait_for_function(f"{STORE}.config.network.layers.join() === '{layers}'")
    expect(page.get_by_test_id("lesson-title")).to_have_text(expected["title"])
    if expected["view"].get("mode") == "step":
        expect(page.get_by_test_id("step-unit")).to_have_value("phase")
    assert f"lesson={lesson}" in page.evaluate("location.hash")
    assert page.console_errors == []


def test_a_lesson_link_followed_on_an_open_page_loads_the_lesson(page, live_server):
    open_page(page, live_server, "#data.dataset=circle")
    page.evaluate("location.hash = '#lesson=bias'")
    expect(page.get_by_test_id("lesson-title")).to_have_text("Why biases matter")
    page.wait_for_function(f"{STORE}.config.network.bias === false")
    expect(page.get_by_test_id("bias-nodes")).to_be_checked()
    assert page.console_errors == []


def test_vanishing_gradient_bars_are_a_mean_over_recent_frames(page, live_server):
    """Lesson 7 played: the first layer's bar stays well below the last's, frame after frame."""
    open_page(page, live_server, "#lesson=vanishing-gradients")
    page.wait_for_function(f"{STORE}.config.network.layers.length === 8")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.gradWindow.length >= 30", timeout=20_000)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function(f"{STORE}.frame.header.playing === false")
    scene = "window.backpropLab.scene"
    page.wait_for_function(f"{scene}.gradFrames === {STORE}.gradWindow.length")
    drawn = page.evaluate(f"{scene}.gradNorms")
    assert len(drawn) == 7 and all(value > 0 for value in drawn)
    assert drawn[0] * 10 <= drawn[-1]
    # The bars are the geometric mean of the frames' own norms over the window.
    window = page.evaluate(f"{STORE}.gradWindow")
    assert len(window) == 30
    first = 10 ** (sum(np.log10(norms[0]) for norms in window) / len(window))
    assert drawn[0] == pytest.approx(first, rel=1e-9)
    # A reset starts a new window.
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(f"{STORE}.gradWindow.length === 0")
    assert page.console_errors == []


@pytest.mark.parametrize("attempt", range(4))
def test_picking_a_lesson_while_playing_starts_a_clean_loss_history(page, live_server, attempt):
    """Frames of the old run still in flight when the lesson's config goes out must not end up
    in the new run's loss chart (the circle run's loss is about 0.69, the lesson's 0.298)."""
    open_page(page, live_server)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.history.iteration.length > 3")
    page.get_by_test_id("lessons-panel").get_by_test_id("lesson-chain-rule").click()
    page.wait_for_function(f"{STORE}.config.network.layers.join() === '2,2,2'")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.history.train.length > 5")
    first = page.evaluate(f"{STORE}.history.train[0]")
    assert first == pytest.approx(TOTAL_ERROR, abs=1e-6)  # frames carry 7 digits


def test_the_cost_lesson_fills_its_table_as_the_server_measures_each_network(page, live_server):
    open_page(page, live_server, "#lesson=backprop-cost")
    table = page.get_by_test_id("cost-table")
    expect(table).to_be_visible()
    lines = table.locator("li:not(.cost-yours)")
    expect(lines.last).to_contain_text("slower", timeout=20_000)
    pattern = re.compile(
        r"^([\d-]+): (\d+) weights\. Numerical: (\d+) forward passes, ([\d.]+) ms\. "
        r"Backprop: 1 forward \+ 1 backward, ([\d.]+) ms\. (\d+)× slower\.$"
    )
    for text in lines.all_inner_texts():
        match = pattern.match(text)
        assert match, text
        weights, passes = int(match[2]), int(match[3])
        assert passes == 2 * weights  # two forward passes per weight, against one and one
        assert float(match[4]) > float(match[5]) and int(match[6]) >= 1, text
    assert page.console_errors == []


def test_the_cost_tables_own_row_follows_the_network_as_it_grows(page, live_server):
    open_page(page, live_server, "#lesson=backprop-cost")
    yours = page.get_by_test_id("cost-yours")
    own_row = re.compile(
        r"^Your network ([\d-]+): (\d+) weights\. Numerical: (\d+) forward passes, ~?([\d.]+) "
        r"ms(?: \(timed on \d+ of them\))?\. Backprop: 1 forward \+ 1 backward, ([\d.]+) ms\. "
        r"(\d+)× slower\.$"
    )

    def shows(layers: str, weights: int) -> None:
        expect(yours).to_contain_text(f"Your network {layers}: {weights} weights", timeout=20_000)
        match = own_row.match(yours.inner_text())
        assert match, yours.inner_text()
        assert int(match[3]) == 2 * weights and float(match[4]) > 0 and float(match[5]) > 0

    shows("2-4-1", 17)  # the lesson's network, measured without being asked
    page.get_by_role("button", name="more neurons in hidden layer 1").click()
    shows("2-5-1", 21)
    page.get_by_test_id("add-layer").click()
    shows("2-5-2-1", 30)
    # The lesson's fixed rows stay as they were measured.
    first = page.get_by_test_id("cost-table").locator("li").first
    expect(first).to_contain_text("2-2-1: 9 weights")
    assert page.console_errors == []
