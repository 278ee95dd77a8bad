"""The lessons panel in headless Chromium: picking a lesson loads its run, its text and its link."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.lessons import LESSONS

pytestmark = pytest.mark.browser

STORE = "window.backpropLab.store"


def open_page(page, live_server: str, hash_: str = "") -> None:
    """Loads the page and waits until the first frame of the run is on screen."""
    page.goto(f"{live_server}/{hash_}")
    expect(page.get_by_test_id("connection")).to_have_text("connected")
    page.wait_for_function(f"{STORE}.frame !== null && {STORE}.config !== null")


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
    # Phase headers carry float32 figures (server/frames.py): 7 significant digits arrive.
    assert page.evaluate(f"{STORE}.trace.last.loss") == pytest.approx(0.298371109, rel=1e-7)
    assert page.console_errors == []


def test_a_link_with_a_lesson_opens_it(page, live_server):
    open_page(page, live_server, "#lesson=noisy-data")
    expect(page.get_by_test_id("lesson-title")).to_have_text("Noisy data")
    expect(page.get_by_test_id("lesson-noisy-data")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(f"{STORE}.config.data.dataset === 'gauss'")
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
