"""A classroom in one browser: a teacher page and two student pages. The students see the
teacher's run advance and its phase animation, a student's control is refused with the message
shown, a fork holds the teacher's exact weights, and the leaderboard shows the student's test
loss as the server computed it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from server.config import Settings
from server.protocol import ROOM_MESSAGE_TYPES
from server.rooms import MAX_NAME_CHARS
from tests.browser_helpers import STORE, open_page
from tests.test_browser import click_on_network
from tests.test_browser_recurrent import edge_point, open_recurrent
from tests.uvicorn_helpers import free_port, running_server

pytestmark = pytest.mark.browser

# The export reply is caught before the page would turn it into a download.
CATCH_EXPORT = """() => new Promise((resolve) => {
  const socket = window.backpropLab.socket;
  const original = socket.handlers.onText;
  socket.handlers.onText = (message) => {
    if (message.type !== "export") return original(message);
    socket.handlers.onText = original;
    resolve(message);
  };
  socket.send({ type: "export" });
})"""


# Every text message a page sends and every error the server answers, taken at the socket
# itself (installed before the page's scripts run), so nothing the page sends goes unseen.
RECORD_SOCKET = """
window.sentLog = [];
window.errorsHeard = [];
const nativeSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === "string") window.sentLog.push(JSON.parse(data));
  return nativeSend.call(this, data);
};
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      const message = JSON.parse(event.data);
      if (message.type === "error") window.errorsHeard.push(message);
    });
  }
};
"""
# What a follower's page may send: the room's messages and the acks of the frames it drew.
FOLLOWER_MAY_SEND = {*ROOM_MESSAGE_TYPES, "ack"}


@pytest.fixture
def classroom(browser, live_server) -> Iterator[list]:
    """Three pages in one browser, each in its own context (its own tab storage)."""
    size = {"width": 1280, "height": 720}
    # bypass_csp: the tests read the page through evaluated expressions, as conftest.page does.
    contexts = [browser.new_context(viewport=size, bypass_csp=True) for _ in range(3)]
    pages = [context.new_page() for context in contexts]
    for tab in pages:
        tab.set_default_timeout(15_000)
        tab.console_errors = []
        tab.on("pageerror", lambda error, tab=tab: tab.console_errors.append(str(error)))
    yield pages
    for context in contexts:
        context.close()


def settled_iteration(tab) -> int:
    """The iteration of the newest frame once every frame received is drawn (the page queues
    a few): what the server last showed."""
    tab.wait_for_function(f"{STORE}.pendingFrames.length === 0")
    return tab.evaluate(f"{STORE}.frame.header.iteration")


def join(tab, url: str, name: str) -> None:
    tab.goto(url)
    expect(tab.get_by_test_id("join-form")).to_be_visible()
    tab.get_by_test_id("join-name").fill(name)
    tab.get_by_test_id("join-submit").click()
    expect(tab.get_by_test_id("room-banner")).to_contain_text("Following the teacher's run")


# A third of the way along the edge from hidden-1 neuron 1 to hidden-2 neuron 0: weight (1, 1, 0).
WEIGHT_1_1_0 = (
    "[0, 1].map((k) => { const a = columns[1].nodes[1], b = columns[2].nodes[0]; "
    "const key = k ? 'y' : 'x'; return a[key] + (b[key] - a[key]) / 3; })"
)
# A name a prankster would choose (24 characters, the limit): shown as text wherever it goes.
ADA = "Ada<img src onerror=x()>"


def errors_received(tab) -> list[str]:
    """The `error` replies the server sends this page, recorded from its next socket on."""
    received: list[str] = []

    def watch(socket) -> None:
        socket.on(
            "framereceived",
            lambda payload: (
                isinstance(payload, str)
                and payload.startswith('{"type":"error"')
                and received.append(payload)
            ),
        )

    tab.on("websocket", watch)
    return received


def same_weights(tab, network: dict) -> None:
    """Waits until the page's network holds exactly these float64 weights and biases."""
    expected = {"weights": network["weights"], "biases": network["biases"]}
    tab.wait_for_function(
        f"""(expected) => {{
            const network = {STORE}.network;
            return network !== null && JSON.stringify([network.weights, network.biases])
                === JSON.stringify([expected.weights, expected.biases]);
        }}""",
        arg=expected,
    )


def test_a_teacher_and_two_students(classroom, live_server):
    teacher, ada, bo = classroom
    bo_errors = errors_received(bo)
    open_page(teacher, live_server)
    teacher.get_by_test_id("room-open").click()
    expect(teacher.get_by_test_id("room-card")).to_be_visible()
    url = teacher.get_by_test_id("room-url").text_content()
    code = teacher.get_by_test_id("room-card").locator(".room-card-code").text_content()
    assert url.endswith("/r/" + code.replace("-", ""))
    teacher.wait_for_function(
        "document.querySelector('[data-testid=room-qr]').naturalWidth > 0"
    )  # the server's QR code loaded
    # On the projector the QR code takes most of the screen's height, to be scanned from a seat.
    qr = teacher.get_by_test_id("room-qr")
    small = qr.bounding_box()["height"]
    teacher.get_by_test_id("presenter").click()
    assert qr.bounding_box()["height"] >= max(0.5 * 720, 2 * small)
    teacher.get_by_test_id("presenter").click()
    join(ada, url, ADA)
    # Bo types the code on the main page, as it was read out (any case, with its dash).
    open_page(bo, live_server)
    bo.get_by_test_id("room-join").click()
    bo.get_by_test_id("join-code").fill(code.lower())
    bo.get_by_test_id("join-name").fill("Bo")
    bo.get_by_test_id("join-submit").click()
    expect(bo.get_by_test_id("room-banner")).to_contain_text("Following the teacher's run")
    expect(teacher.get_by_test_id("room-members")).to_have_text("2")

    # The teacher's run advances on both students' screens.
    teacher.get_by_test_id("play").click()
    for student in (ada, bo):
        student.wait_for_function(
            "Number(document.querySelector('[data-testid=iteration]').textContent) > 30"
        )
    teacher.get_by_test_id("play").click()  # pause
    expect(teacher.get_by_test_id("play")).to_have_text("Play")

    # A phase step on the projector animates on the students' pages too.
    teacher.get_by_test_id("step-unit").select_option("phase")
    teacher.get_by_test_id("step").click()
    expect(teacher.get_by_test_id("phase-label")).to_have_text("forward")
    for student in (ada, bo):
        expect(student.get_by_test_id("phase-label")).to_have_text("forward")

    # A student's control changes nothing and says why: the paused run stays where it is.
    before = settled_iteration(teacher)
    ada.get_by_test_id("play").click()
    expect(ada.get_by_test_id("error")).to_contain_text("fork it to try your own changes")
    teacher.wait_for_timeout(500)  # a play that got through would have trained by now
    assert settled_iteration(teacher) == before

    # The weight the teacher inspects is explained on the students' pages too.
    click_on_network(teacher, WEIGHT_1_1_0)
    for tab in (teacher, bo):
        expect(tab.get_by_test_id("inspector")).to_contain_text(
            "Weight from neuron 2 of hidden 1 to neuron 1 of hidden 2"
        )

    # The fork is the teacher's exact run (every float64 weight and bias).
    ada.get_by_test_id("room-fork").click()
    banner = ada.get_by_test_id("room-banner")
    expect(banner).to_contain_text(f"Your own copy of the teacher's run (room {code}), {ADA}.")
    assert banner.locator("img").count() == 0  # the name is text, not markup
    exported = teacher.evaluate(CATCH_EXPORT)
    same_weights(ada, exported["config"]["network"])

    # A challenge: the student's own training reaches the teacher's leaderboard.
    teacher.get_by_test_id("room-code").click()  # the room's card holds its controls
    teacher.get_by_test_id("room-challenge").click()
    # The form offers what hello.challenge says (the page restates no goal or time range).
    goals = teacher.get_by_test_id("challenge-goal").locator("option").all_text_contents()
    assert goals == [goal["label"] for goal in teacher.evaluate(f"{STORE}.hello.challenge.goals")]
    expect(teacher.get_by_test_id("challenge-seconds")).to_have_value("120")
    teacher.get_by_test_id("challenge-start").click()
    expect(teacher.get_by_test_id("leaderboard")).to_contain_text("Challenge: lowest test loss")
    expect(ada.get_by_test_id("leaderboard")).to_be_visible()
    forked_at = ada.evaluate(f"{STORE}.exact.iteration")
    ada.get_by_test_id("step-unit").select_option("epoch")
    ada.get_by_test_id("step").click()  # 10 iterations: 100 training points, batches of 10
    student_iteration = forked_at + 10
    ada.wait_for_function(f"{STORE}.frame?.header.iteration === {student_iteration}")
    row = teacher.get_by_test_id("leaderboard-row").filter(has_text="Ada")
    expect(row).to_contain_text(str(student_iteration))
    cells = row.locator("td").all_text_contents()
    own_loss = ada.evaluate(f"{STORE}.frame.header.test_loss.toPrecision(4)")
    assert cells[1] == ADA and cells[2] == own_loss
    for tab in classroom:
        assert tab.get_by_test_id("leaderboard").locator("img").count() == 0
    # The lesson the teacher opens shows its text on a follower's page too.
    teacher.get_by_test_id("lesson-list").get_by_role("button").first.click()
    expect(bo.get_by_test_id("lesson-detail")).to_contain_text("The forward pass")

    # The teacher puts Ada's network on the projector: Bo, following, sees her exact run.
    ada.wait_for_function(f"{STORE}.exact?.iteration === {student_iteration}")
    ada_run = ada.evaluate(CATCH_EXPORT)
    own_run = teacher.evaluate(CATCH_EXPORT)
    row.get_by_test_id("leaderboard-show").click()
    shown = teacher.get_by_test_id("room-banner")
    expect(shown).to_have_text(f"On the projector: {ADA}'s network (a copy).")
    assert shown.locator("img").count() == 0
    for tab in (teacher, bo):
        same_weights(tab, ada_run["config"]["network"])
    teacher.get_by_test_id("room-show-own").click()  # and back to the teacher's own run
    expect(shown).to_be_hidden()
    expect(teacher.get_by_test_id("room-show-own")).to_have_count(0)
    for tab in (teacher, bo):
        same_weights(tab, own_run["config"]["network"])
    # Bo pressed nothing: his page sent nothing the server refused (no exact-copy export of
    # the teacher's run, no frame rate taken for a control).
    assert bo_errors == []
    for tab in classroom:
        assert tab.console_errors == []


def test_a_follower_s_cost_table_says_its_own_row_is_not_measured(classroom, live_server):
    teacher, student, _ = classroom
    open_page(teacher, live_server)
    teacher.get_by_test_id("room-open").click()
    join(student, teacher.get_by_test_id("room-url").text_content(), "Ada")
    teacher.get_by_test_id("lesson-backprop-cost").click()
    expect(teacher.get_by_test_id("cost-yours")).to_contain_text("weights")  # measured
    # A follower's page is read-only (the server would refuse its asks) and its network is the
    # teacher's: nothing is left "measuring…", and no refusal is shown.
    expect(student.get_by_test_id("cost-yours")).to_have_text(
        "Your network: not measured here (you follow the teacher's run)."
    )
    expect(student.get_by_test_id("cost-table")).to_contain_text("measured on the teacher's page")
    expect(student.get_by_test_id("cost-table")).not_to_contain_text("measuring")
    expect(student.get_by_test_id("error")).not_to_contain_text("read-only")
    for tab in (teacher, student):
        assert tab.console_errors == []


def test_a_reloaded_teacher_tab_takes_its_room_back(classroom, live_server):
    teacher, student, _ = classroom
    open_page(teacher, live_server)
    teacher.get_by_test_id("room-open").click()
    url = teacher.get_by_test_id("room-url").text_content()
    join(student, url, "Cy")
    teacher.reload()  # the token waits in this tab's sessionStorage
    expect(teacher.get_by_test_id("room-url")).to_have_text(url)  # the same room
    expect(teacher.get_by_test_id("room-members")).to_have_text("1")
    teacher.get_by_test_id("step-unit").select_option("iteration")
    teacher.get_by_test_id("step").click()
    student.wait_for_function(f"{STORE}.frame?.header.iteration >= 1")  # still its teacher
    expect(student.get_by_test_id("room-banner")).to_contain_text("Following")


def test_the_join_form_takes_a_name_as_long_as_the_server_keeps(page, live_server):
    open_page(page, live_server)
    page.get_by_test_id("room-join").click()
    name = page.get_by_test_id("join-name")
    name.press_sequentially("x" * (MAX_NAME_CHARS + 5))
    expect(name).to_have_value("x" * MAX_NAME_CHARS)  # the input stops where rooms.py cuts
    assert page.console_errors == []


def take_log(tab) -> tuple[list[dict], list[dict]]:
    """The messages the page sent and the errors it heard since the last look."""
    return tab.evaluate("[window.sentLog.splice(0), window.errorsHeard.splice(0)]")


def paused_iteration(tab) -> int:
    """The iteration a pause stopped at, once a frame drawn after the pause says so (frames
    sent before it still say playing, and a page shows Play as soon as it is pressed)."""
    paused = f"{STORE}.frame.header.playing === false && {STORE}.pendingFrames.length === 0"
    tab.wait_for_function(paused)
    return tab.evaluate(f"{STORE}.frame.header.iteration")


def play_own_run_and_pause(tab, iterations: int) -> None:
    """Plays a fork's own run on past `iterations` more, pauses it, and waits until the exact
    copy the paused page asks for has come back."""
    tab.wait_for_function(f"{STORE}.run !== null && {STORE}.frame?.header.run === {STORE}.run")
    forked_at = settled_iteration(tab)
    tab.get_by_test_id("play").click()
    tab.wait_for_function(f"{STORE}.frame.header.iteration > {forked_at + iterations}")
    tab.get_by_test_id("play").click()
    paused_at = paused_iteration(tab)
    tab.wait_for_function(f"{STORE}.exact?.iteration === {paused_at}")  # its export answered


def shown_iteration(tab) -> int:
    return int(tab.get_by_test_id("iteration").text_content())


def test_a_follower_s_page_sends_nothing_the_server_refuses(classroom, live_server):
    """The page of a student who only watches sends room messages and acks, whatever the
    teacher does (its frame rate, exact copies and inspector asks are the room's business),
    and shows no error; after a fork it works as any page, and after follow is read-only again."""
    teacher, student, _ = classroom
    student.context.add_init_script(RECORD_SOCKET)
    open_page(teacher, live_server, "#data.dataset=circle&network.layers=2,4,2,1")
    teacher.get_by_test_id("room-open").click()
    join(student, teacher.get_by_test_id("room-url").text_content(), "Ada")
    take_log(student)  # its own run's config, then the join
    error_box = student.get_by_test_id("error")

    # Playing past the page's exact-copy interval (10 s) and its frame-rate reports (1 s).
    teacher.get_by_test_id("play").click()
    student.wait_for_function(f"{STORE}.playing && {STORE}.frame.header.iteration > 30")
    started = shown_iteration(student)
    teacher.wait_for_timeout(10_500)
    assert shown_iteration(student) > started  # the teacher's run advances on the student's page
    teacher.get_by_test_id("play").click()  # pause: a paused frame is where a page asks for a copy
    paused_at = paused_iteration(teacher)
    assert paused_iteration(student) == paused_at

    teacher.get_by_test_id("step-unit").select_option("phase")
    for phase in ("forward", "forward", "forward", "loss"):
        teacher.get_by_test_id("step").click()
        expect(student.get_by_test_id("phase-label")).to_have_text(phase)
    # The teacher inspects a weight (hidden 1 neuron 2 → hidden 2 neuron 1), then steps on.
    point = "[0, 1].map((k) => { const a = columns[1].nodes[1], b = columns[2].nodes[0]; "
    point += "const key = k ? 'y' : 'x'; return a[key] + (b[key] - a[key]) / 3; })"
    click_on_network(teacher, point)
    expected = "Weight from neuron 2 of hidden 1 to neuron 1 of hidden 2"
    expect(student.get_by_test_id("inspector")).to_contain_text(expected)
    teacher.get_by_test_id("step-unit").select_option("iteration")
    teacher.get_by_test_id("step").click()
    teacher.wait_for_function(f"{STORE}.frame.header.iteration > {paused_at}")
    stepped = settled_iteration(teacher)
    student.wait_for_function(f"{STORE}.frame.header.iteration === {stepped}")
    lr = teacher.get_by_test_id("control-training.lr")
    lr.fill("0.1")
    lr.press("Enter")
    student.wait_for_function(f"{STORE}.config.training.lr === 0.1")
    teacher.get_by_test_id("lessons-panel").get_by_test_id("lesson-chain-rule").click()
    expect(student.get_by_test_id("lesson-title")).to_have_text("The chain rule, by hand")
    student.wait_for_function(f"{STORE}.config.network.layers.join() === '2,2,2'")

    # Forking answers in order after everything sent before it: no refusal was on its way.
    student.get_by_test_id("room-fork").click()
    expect(student.get_by_test_id("room-banner")).to_contain_text("Your own copy")
    sent, errors = take_log(student)
    following = sent[: sent.index({"type": "fork"})]  # then the fork's own (its inspector asks)
    assert {message["type"] for message in following} <= FOLLOWER_MAY_SEND
    assert errors == []
    expect(error_box).to_be_hidden()

    # The fork is the student's own run: it plays, and when paused keeps its exact copy.
    play_own_run_and_pause(student, 20)
    sent, errors = take_log(student)
    assert {"play", "pause", "export"} <= {message["type"] for message in sent}
    assert errors == []

    # Following again: read-only, the teacher's run advances, and the page asks for nothing.
    student.get_by_test_id("room-follow").click()
    expect(student.get_by_test_id("room-banner")).to_contain_text("Following")
    lesson_at = paused_iteration(teacher)  # the lesson's run, where the fork took it
    teacher.get_by_test_id("play").click()
    student.wait_for_function(
        f"{STORE}.playing && {STORE}.frame.header.iteration > {lesson_at + 30}"
    )
    teacher.wait_for_timeout(1500)  # long enough for a frame-rate report
    teacher.get_by_test_id("play").click()
    assert paused_iteration(student) == paused_iteration(teacher)
    # The student's own Play is refused, and said so: the one error of the whole lesson.
    student.get_by_test_id("play").click()
    expect(error_box).to_contain_text("fork it to try your own changes")
    expect(student.get_by_test_id("play")).to_have_text("Play")  # the teacher's run is paused
    sent, errors = take_log(student)
    following = sent[sent.index({"type": "follow"}) :]
    assert [message for message in following if message["type"] not in FOLLOWER_MAY_SEND] == [
        {"type": "play"}
    ]
    assert [error["field"] for error in errors] == ["room"]

    # Export JSON is refused to a follower too; the exact copy the fork's page asks for later is
    # kept, not downloaded as the answer to the refused press. Pressed on the fork, it is.
    downloads = []
    student.on("download", lambda download: downloads.append(download))
    student.get_by_test_id("export-network").click()
    student.wait_for_function("window.errorsHeard.length > 0")
    student.get_by_test_id("room-fork").click()
    expect(student.get_by_test_id("room-banner")).to_contain_text("Your own copy")
    play_own_run_and_pause(student, 5)
    assert downloads == []
    with student.expect_download() as download:
        student.get_by_test_id("export-network").click()
    assert download.value.suggested_filename == "backprop-lab-network.json"
    for tab in (teacher, student):
        assert tab.console_errors == []


def test_a_follower_sees_what_the_teacher_inspects_on_a_recurrent_run(classroom, live_server):
    teacher, student, _ = classroom
    open_recurrent(teacher, live_server, "network.cell=lstm&data.length=6&network.hidden=4")
    teacher.get_by_test_id("room-open").click()
    join(student, teacher.get_by_test_id("room-url").text_content(), "Ada")
    student.wait_for_function(f"{STORE}.frame?.header?.recurrent?.cell === 'lstm'")
    teacher.mouse.click(*edge_point(teacher, 3, 0, 2, along=0.3))  # unit 0 at step 2 → unit 2
    expect(teacher.get_by_test_id("inspector")).to_contain_text("W_h[0,2] (i gate, unit 2)")
    inspector = student.get_by_test_id("inspector")
    expect(inspector).to_contain_text("W_h[0,2] (i gate, unit 2)")
    expect(inspector.get_by_test_id("recurrent-terms").locator("tr")).to_have_count(1 + 6 + 1)
    expect(student.get_by_test_id("error")).to_be_hidden()
    for tab in (teacher, student):
        assert tab.console_errors == []


def test_with_several_workers_and_no_redis_the_page_says_rooms_are_off(browser):
    settings = Settings(port=free_port(), workers=2)
    reason = settings.rooms_off_reason
    with running_server(settings):
        context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
        try:
            tab = context.new_page()
            open_page(tab, f"http://127.0.0.1:{settings.port}")
            expect(tab.get_by_test_id("notice")).to_have_text(reason)  # as the start says it
            off = tab.get_by_test_id("rooms-off")
            expect(off).to_have_text("rooms off")
            expect(off).to_have_attribute("title", reason)
            expect(tab.get_by_test_id("room-open")).to_have_count(0)
        finally:
            context.close()
