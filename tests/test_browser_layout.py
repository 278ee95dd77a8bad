"""The page as a class sees it, at 1280×720 and 1920×1080, in presenter mode too: the sizes of
the plane and the charts, text neither cut off nor overlapping (bounding boxes of the rendered
text), legends and accessible names, the keyboard. Screenshots go to a temporary folder, or to
the folder BACKPROP_LAB_SCREENSHOTS names (`BACKPROP_LAB_SCREENSHOTS=docs/screenshots` refreshes
the docs' pictures)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import STORE, open_page

pytestmark = pytest.mark.browser

VIEWPORTS = [(1280, 720), (1920, 1080)]

# Every rendered run of text under `root`: its boxes, the element it belongs to, and whether an
# ancestor that clips (overflow other than visible) or the window cuts any of it off.
TEXT_BOXES = """(root) => {
  const out = [];
  const walker = document.createTreeWalker(document.querySelector(root), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const owner = node.parentElement;
    if (owner.closest('[hidden], option, select, .u-axis')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) {
      if (rect.width < 1 || rect.height < 1) continue;
      // Text above or below the fold of a scrolling panel is scrolled to, not cut: only its
      // sides must stay inside the panel (and the window).
      const scroller = owner.closest('.side, .output, .lesson-list, .inspector');
      let cut = rect.left < -0.5 || rect.right > innerWidth + 0.5 ||
        (!scroller && (rect.top < -0.5 || rect.bottom > innerHeight + 0.5));
      for (let box = owner; box && !cut; box = box.parentElement) {
        const style = getComputedStyle(box);
        if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
        const clip = box.getBoundingClientRect();
        const scrolls = style.overflowY === 'auto' || style.overflowY === 'scroll';
        cut = rect.left < clip.left - 0.5 || rect.right > clip.right + 0.5 ||
          (!scrolls && (rect.top < clip.top - 0.5 || rect.bottom > clip.bottom + 0.5));
        if (scrolls) break; // boxes further out clip the scroller, not its scrolled text
      }
      out.push({text: node.textContent.trim().slice(0, 40), left: rect.left, top: rect.top,
                right: rect.right, bottom: rect.bottom, cut});
    }
  }
  return out;
}"""


def text_problems(page, root: str) -> list[str]:
    """Texts under `root` that are cut off, and pairs that overlap (by more than 1 px each way)."""
    boxes = page.evaluate(TEXT_BOXES, root)
    problems = [f"cut off: {box['text']!r}" for box in boxes if box["cut"]]
    for k, a in enumerate(boxes):
        for b in boxes[k + 1 :]:
            overlap_x = min(a["right"], b["right"]) - max(a["left"], b["left"])
            overlap_y = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if overlap_x > 1 and overlap_y > 1:
                problems.append(f"overlap: {a['text']!r} / {b['text']!r}")
    return problems


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where this test's screenshots go (see the module's docstring)."""
    return Path(os.environ.get("BACKPROP_LAB_SCREENSHOTS") or tmp_path)


def open_at(page, live_server, size, hash_):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_page(page, live_server, hash_)


def play_for(page, frames: int) -> None:
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"{STORE}.history.iteration.length > {frames}", timeout=20_000)
    page.get_by_role("button", name="Pause").click()


def settled_box(page, locator, still_ms: int = 500) -> dict:
    """The element's box once it has not moved for `still_ms` (10 s at most)."""
    box = locator.bounding_box()
    for _ in range(10_000 // still_ms):
        page.wait_for_timeout(still_ms)
        now = locator.bounding_box()
        if now == box:
            return box
        box = now
    raise AssertionError(f"still moving after 10 s: {box}")


def size_of(page, test_id: str) -> tuple[float, float]:
    box = page.get_by_test_id(test_id).bounding_box()
    return box["width"], box["height"]


# Smallest sizes (px) of the plane and the two charts per viewport and mode: at 1920×1080 the
# plane was 271 px and the loss chart 271×140 before uPlot and the growing layout (issue 13).
MINIMUM_SIZES = {
    ((1280, 720), False): {"surface": 230, "loss-chart": (320, 120), "grad-chart": (320, 85)},
    ((1280, 720), True): {"surface": 200, "loss-chart": (170, 110), "grad-chart": (170, 110)},
    ((1920, 1080), False): {"surface": 450, "loss-chart": (480, 190), "grad-chart": (480, 130)},
    ((1920, 1080), True): {"surface": 450, "loss-chart": (260, 180), "grad-chart": (260, 180)},
}


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
@pytest.mark.parametrize("size", VIEWPORTS, ids=["1280x720", "1920x1080"])
def test_the_plane_and_charts_grow_and_no_text_is_cut_or_overlapping(
    page, live_server, size, presenter, shots
):
    open_at(page, live_server, size, "#data.dataset=circle" + ("&presenter=1" if presenter else ""))
    play_for(page, 30)
    minimum = MINIMUM_SIZES[(size, presenter)]
    plane_width, plane_height = size_of(page, "surface")
    assert plane_width == pytest.approx(plane_height, abs=1)  # square
    assert plane_width >= minimum["surface"]
    for chart in ("loss-chart", "grad-chart"):
        width, height = size_of(page, chart)
        assert width >= minimum[chart][0] and height >= minimum[chart][1], (chart, width, height)
    # The output panel fits without scrolling and its legend, metrics and charts are all readable.
    overflow = page.locator('[data-panel="output"]').evaluate(
        "(panel) => panel.scrollHeight - panel.clientHeight"
    )
    assert overflow <= 0
    for root in ('[data-panel="output"]', ".topbar", '[data-testid="lessons-panel"]', ".stage"):
        assert text_problems(page, root) == [], root
    name = f"layout-{size[0]}x{size[1]}{'-presenter' if presenter else ''}.png"
    page.screenshot(path=str(shots / name))
    assert page.console_errors == []


def test_the_loss_chart_reads_values_at_the_cursor_and_switches_to_a_log_scale(page, live_server):
    open_at(page, live_server, (1920, 1080), "#data.dataset=circle")
    play_for(page, 30)
    chart = page.get_by_test_id("loss-chart")
    legend = chart.locator(".u-legend")
    # The legend sits below the plot, never on it, and names both curves with their values.
    plot = chart.locator(".u-over").bounding_box()
    assert legend.bounding_box()["y"] >= plot["y"] + plot["height"]
    expect(legend).to_contain_text("train")
    expect(legend).to_contain_text("test")
    # The last frames of the run drawn (a redraw after the cursor moved would show the newest).
    page.wait_for_function(
        f"{STORE}.frame.header.playing === false && {STORE}.pendingFrames.length === 0"
    )
    # The plot settles: its last redraws (at most 10 a second) may still resize the y axis's
    # labels and move the plot's left edge by a few pixels, past where the cursor goes.
    plot = settled_box(page, chart.locator(".u-over"))
    newest = legend.locator(".u-series").nth(1).locator(".u-value").text_content()
    page.mouse.move(plot["x"] + 6, plot["y"] + plot["height"] / 2)
    page.mouse.move(plot["x"] + 3, plot["y"] + plot["height"] / 2)  # the cursor at the start
    expect(legend.locator(".u-series").nth(1).locator(".u-value")).not_to_have_text(newest)
    first_loss = page.evaluate(f"{STORE}.history.train[0]")
    shown = float(legend.locator(".u-series").nth(1).locator(".u-value").text_content())
    assert shown == pytest.approx(first_loss, rel=0.05)
    page.get_by_test_id("log-loss").check()
    expect(chart.locator(".chart-title")).to_have_text("loss (log scale)")
    page.mouse.move(5, 5)
    assert page.console_errors == []


def test_legends_say_what_colours_and_markers_mean(page, live_server):
    open_page(
        page,
        live_server,
        "#data.dataset=three_gauss&network.output=softmax&network.loss=ce&network.layers=2,4,3",
    )
    legend = page.get_by_test_id("plane-legend")
    for text in ("class 0", "class 1", "class 2", "train", "test"):
        expect(legend).to_contain_text(text)
    page.get_by_test_id("show-test").uncheck()
    expect(legend).not_to_contain_text("test")
    expect(page.get_by_test_id("network-legend")).to_have_text("positive weightnegative weight")
    assert page.console_errors == []


def test_file_buttons_the_network_and_the_plane_work_from_the_keyboard(page, live_server):
    # Playwright intercepts file dialogs once a listener exists; one set up only inside
    # expect_file_chooser can come too late for the first dialog.
    page.on("filechooser", lambda chooser: None)
    open_page(page, live_server, "#data.dataset=circle&network.layers=2,3,1")
    # Upload CSV and Import JSON are reached by Tab and open the file chooser with Enter.
    for name in ("Upload CSV", "Import JSON"):
        button = page.get_by_role("button", name=name)
        button.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        expect(button).to_be_focused()
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Enter")
        chooser.value.set_files([])  # closes the dialog, choosing nothing
    # The network: arrows walk the neurons (→ does not step the run), W its weights, Escape closes.
    canvas = page.get_by_test_id("network-canvas")
    canvas.focus()
    page.keyboard.press("ArrowRight")
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_contain_text("Neuron 1 of hidden 1")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    expect(inspector).to_contain_text("Neuron 1 of output")
    page.keyboard.press("w")
    expect(inspector).to_contain_text("Weight from neuron 1 of hidden 1 to neuron 1 of output")
    expect(canvas).to_have_attribute(
        "aria-label",
        "The network: Weight from neuron 1 of hidden 1 to neuron 1 of output selected; arrow keys "
        "move between neurons, W steps through its weights, B picks its bias, Enter edits, "
        "Escape closes",
    )
    assert page.evaluate(f"{STORE}.frame.header.iteration") == 0
    page.keyboard.press("Escape")
    expect(inspector).to_be_hidden()
    # The plane: arrows move a cross, Enter adds a point of the chosen class there.
    points = page.evaluate(f"{STORE}.data.train.length + {STORE}.data.test.length")
    page.get_by_test_id("surface").focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowUp"):
        page.keyboard.press(key)
    expect(page.get_by_test_id("surface")).to_have_attribute(
        "aria-description", "cross at x₁ = 1, x₂ = 0.5"
    )
    page.keyboard.press("Enter")
    page.wait_for_function(f"{STORE}.data.train.length + {STORE}.data.test.length === {points + 1}")
    rows = page.evaluate(f"[...{STORE}.data.train, ...{STORE}.data.test]")
    assert [1, 0.5, 1] in [row[:3] for row in rows]
    # The freeze boxes say which layer they freeze.
    expect(page.get_by_role("checkbox", name="freeze the weights into hidden 1")).to_have_count(1)
    expect(page.get_by_role("checkbox", name="freeze the weights into output")).to_have_count(1)
    assert page.console_errors == []


def test_step_mode_says_in_words_what_each_phase_computes(page, live_server, shots):
    open_at(
        page,
        live_server,
        (1280, 720),
        "#data.dataset=circle&network.layers=2,3,1&training.batch_size=10",
    )
    sentence = page.get_by_test_id("phase-sentence")
    detail = page.get_by_test_id("phase-detail")
    expected = [
        (
            "hidden 1 · sample",
            "Forward into hidden 1: z = a·W + b from the layer before, then a = tanh(z).",
        ),
        (
            "output · sample",
            "Forward into the output: z = a·W + b, then ŷ = sigmoid(z), the prediction.",
        ),
        ("sample", "Loss: bce (binary cross-entropy) compares the prediction ŷ with the target y"),
        ("output · sample", "Backward at the output: δ = ∂L/∂z from the loss"),
        ("hidden 1 · sample", "Backward into hidden 1: δ = (δ of the next layer · Wᵀ) × tanh′(z)"),
        (
            "ΔW on the batch of 10",
            "Update: every weight steps against the mean gradient over the batch of 10",
        ),
    ]
    for count, (short, words) in enumerate(expected, start=1):
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function(f"{STORE}.phaseCount === {count}")
        expect(detail).to_contain_text(short)
        expect(sentence).to_contain_text(words)
        assert text_problems(page, ".topbar") == []
        if count == 4:
            page.screenshot(path=str(shots / "step-mode-backward-1280x720.png"))
    assert page.console_errors == []


def test_gradient_bars_name_every_layer_at_nine_layers(page, live_server, shots):
    open_at(
        page,
        live_server,
        (1280, 720),
        "#data.dataset=circle&network.layers=2,3,3,3,3,3,3,3,3,1&presenter=1",
    )
    page.get_by_test_id("step-unit").select_option("iteration")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"{STORE}.frame.header.iteration === 1")
    chart = page.get_by_test_id("grad-chart")
    names = [f"hidden {k}" for k in range(1, 9)] + ["output"]
    label = chart.get_attribute("aria-label")
    assert all(f"{name} " in label for name in names), label
    chart.screenshot(path=str(shots / "gradient-bars-9-layers-presenter.png"))
    assert page.console_errors == []


def test_a_race_shows_one_card_per_optimizer_beside_the_overlaid_curves(page, live_server, shots):
    open_at(page, live_server, (1920, 1080), "#data.dataset=circle&training.lr=0.05")
    page.get_by_test_id("race").click()
    play_for(page, 20)
    page.wait_for_function(f"[...{STORE}.compare.values()].every((s) => s.loss.length > 5)")
    for name in ("sgd", "momentum", "rmsprop", "adam"):
        card = page.get_by_test_id(f"racer-{name}")
        expect(card).to_contain_text(name)
        expect(card).to_contain_text("loss")
        expect(page.get_by_test_id("loss-chart").locator(".u-legend")).to_contain_text(name)
    assert text_problems(page, '[data-panel="output"]') == []
    page.screenshot(path=str(shots / "race-1920x1080.png"))
    page.get_by_test_id("race").click()
    expect(page.get_by_test_id("race-panel")).to_be_hidden()
    expect(page.get_by_test_id("surface")).to_be_visible()
    assert page.console_errors == []


RACE_CARDS_WITH_ONE_SURFACE = """async () => {
  const { RaceCards } = await import('/static/js/raceCards.js');
  const box = document.createElement('div');
  box.className = 'race-cards';
  box.style.cssText = 'position: fixed; left: 0; top: 0; width: 400px; height: 320px; z-index: 9';
  document.body.append(box);
  const g = 8; // left half 0 (class 0), right half 1 (class 1)
  const data = Uint8Array.from({length: g * g}, (_, p) => (p % g < g / 2 ? 0 : 255));
  const store = {
    compare: new Map([['sgd', {iteration: [1, 2], loss: [0.7, 0.6]}],
                      ['adam', {iteration: [1, 2], loss: [0.7, 0.3]}]]),
    frame: {header: {compare: [{label: 'sgd'}, {label: 'adam'}]},
            arrays: new Map([['compare/1/surface/output',
                              {data, shape: [1, g, g], range: [0, 1]}]])},
    config: {network: {output: 'sigmoid'}}, data: null, view: {showTest: true},
    hello: window.backpropLab.store.hello, // sigmoid's range of values, as the server says it
  };
  new RaceCards(box).draw(store);
  const pixel = (canvas, fx) => {
    const ctx = canvas.getContext('2d');
    return [...ctx.getImageData(Math.round(canvas.width * fx), canvas.height >> 1, 1, 1).data];
  };
  const [sgd, adam] = box.querySelectorAll('.race-surface');
  return {sgdHidden: sgd.hidden, adamSize: adam.getBoundingClientRect().width,
          left: pixel(adam, 0.25), right: pixel(adam, 0.75),
          captions: [...box.querySelectorAll('figcaption')].map((c) => c.textContent)};
}"""


def test_a_racer_card_draws_the_surface_its_frame_carries(page, live_server):
    """The page side of the racers' surfaces (docs/architecture.md): a frame's array
    `compare/<k>/surface/output` is drawn in racer k's card; a racer without one shows its curve
    alone, never an empty box."""
    open_page(page, live_server, "#data.dataset=circle")
    seen = page.evaluate(RACE_CARDS_WITH_ONE_SURFACE)
    assert seen["captions"] == ["sgdloss 0.6", "adamloss 0.3"]
    assert seen["sgdHidden"] is True
    assert seen["adamSize"] > 60
    red, _, blue, _ = seen["left"]
    assert red > blue + 60  # class 0's side: orange
    red, _, blue, _ = seen["right"]
    assert blue > red + 60  # class 1's side: blue
    assert page.console_errors == []


def test_the_gradient_history_is_a_line_per_layer_named_as_the_columns(page, live_server):
    open_page(page, live_server, "#data.dataset=circle&network.layers=2,4,4,1")
    play_for(page, 10)
    page.get_by_test_id("grad-history").check()
    expect(page.get_by_test_id("grad-chart")).to_be_hidden()
    chart = page.get_by_test_id("grad-history-chart")
    expect(chart).to_be_visible()
    legend = chart.locator(".u-legend")
    for name in ("hidden 1", "hidden 2", "output"):
        expect(legend).to_contain_text(name)
    expect(chart.locator(".chart-title")).to_contain_text("log scale")
    assert page.console_errors == []


@pytest.mark.parametrize("size", VIEWPORTS, ids=["1280x720", "1920x1080"])
def test_every_lesson_reads_without_cut_or_overlapping_text(page, live_server, size, shots):
    """Each lesson at its key moment (stepped into the backward pass, or trained for a while),
    in presenter mode at 1920×1080 as a class sees it; a screenshot of each goes to the docs."""
    from engine.lessons import LESSONS

    presenter = size == (1920, 1080)
    open_at(page, live_server, size, "#data.dataset=circle" + ("&presenter=1" if presenter else ""))
    for lesson in LESSONS:
        page.get_by_test_id(f"lesson-{lesson['id']}").click()
        expect(page.get_by_test_id("lesson-title")).to_have_text(lesson["title"])
        page.wait_for_function(f"location.hash.includes('lesson={lesson['id']}')")
        if lesson.get("view", {}).get("mode") == "step":
            expect(page.get_by_test_id("phase-label")).to_have_text("ready")
            phases = page.evaluate(f"{STORE}.phaseCount")
            for count in range(1, 5):
                page.get_by_role("button", name="Step", exact=True).click()
                page.wait_for_function(f"{STORE}.phaseCount === {phases + count}")
        else:
            start = page.evaluate(f"{STORE}.history.iteration.length")
            play_for(page, start + 40)
        roots = ('[data-panel="output"]', ".topbar", '[data-testid="lessons-panel"]', ".stage")
        for root in roots:
            assert text_problems(page, root) == [], (lesson["id"], root)
        if presenter:
            page.screenshot(path=str(shots / f"lesson-{lesson['id']}-1920x1080.png"))
    assert page.console_errors == []


def test_hiding_panels_lets_the_plane_grow(page, live_server, shots):
    sizes = {}
    for hide in ("", "controls", "network", "controls,network"):
        open_at(
            page,
            live_server,
            (1920, 1080),
            "#data.dataset=circle" + (f"&hide={hide}" if hide else ""),
        )
        sizes[hide] = size_of(page, "surface")[0]
        assert text_problems(page, '[data-panel="output"]') == [], hide
    assert sizes["controls"] > sizes[""] + 20
    assert sizes["network"] > 800 and sizes["controls,network"] >= sizes["network"]
    page.screenshot(path=str(shots / "hide-controls-network-1920x1080.png"))
    assert page.console_errors == []
