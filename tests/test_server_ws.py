"""The training websocket through the app itself: every message type, every bad input, the
origin check, the connection cap, frame credits and the ack timeout."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import ExitStack, contextmanager
from itertools import pairwise

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from engine import schema
from engine.lessons import get_lesson
from engine.run import Limits, Run, default_config
from server import frames
from server.app import create_app
from server.config import Settings
from tests.largest_run import largest_run
from tests.published_worked_example import TOTAL_ERROR

BASE = "http://127.0.0.1:8000"  # the page's own origin; a loopback bind wants a loopback Host
WS_URL = "ws://127.0.0.1:8000/ws"
DIVERGING = {
    "network": {
        "layers": [2, 8, 1],
        "output": "linear",
        "loss": "mse",
        "init": "normal",
        "init_scale": 5,
    },
    "training": {"lr": 10, "batch_size": 50},
    "data": {"dataset": "plane"},
}


@contextmanager
def connect(settings: Settings | None = None, **headers: str):
    """An app, a client, one websocket past its greeting: yields (socket, session, greeting)."""
    app = create_app(settings or Settings())
    with (
        TestClient(app) as client,
        client.websocket_connect(WS_URL, headers=headers) as socket,
    ):
        hello = socket.receive_json()
        data = socket.receive_json()
        first = frames.decode(socket.receive_bytes())
        (session,) = app.state.sessions
        yield socket, session, {"hello": hello, "data": data, "frame": first}


def next_text(socket) -> dict:
    """The next JSON text message, acking any frames that arrive before it."""
    while True:
        message = socket.receive()
        if message.get("text") is not None:
            return json.loads(message["text"])
        socket.send_json({"type": "ack"})


def next_frame(socket) -> tuple[dict, dict]:
    """The next binary message, decoded; text messages before it are skipped."""
    while True:
        message = socket.receive()
        if message["type"] == "websocket.close":  # fail at once: receiving again would hang
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        if message.get("bytes") is not None:
            return frames.decode(message["bytes"])


def fill_window(socket) -> dict:
    """After play: the frames that fill the credit window with the greeting's, the last one's
    header (no frame is acked, so the next comes only after an ack)."""
    for _ in range(Settings().frame_window - 1):
        header, _ = next_frame(socket)
    return header


def wait_until(condition, seconds: float = 10.0) -> None:
    """Poll `condition`: timing tests wait for what they need, not for a guessed sleep."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def snapshot(session) -> tuple:
    run = session.run
    weights = [W.copy() for W in run.network.weights] + [b.copy() for b in run.network.biases]
    state = (
        json.dumps(run.config, sort_keys=True),
        run.iteration,
        run.focus,
        session.playing,
        session.speed,
        session.fps,
        len(session.race.variants),
    )
    return state, weights


def assert_unchanged(before, session) -> None:
    state, weights = snapshot(session)
    assert state == before[0]
    for old, new in zip(before[1], weights, strict=True):
        np.testing.assert_array_equal(old, new)


# ----- greeting -----------------------------------------------------------------------------


def test_greeting_hello_data_then_first_frame():
    with connect() as (_, session, greeting):
        hello, data, (header, arrays) = greeting["hello"], greeting["data"], greeting["frame"]
        assert hello["protocol"] == 1
        assert hello["limits"] == session.settings.limits()
        # A server with default settings limits its runs exactly as the engine does.
        assert session.limits == Limits()
        assert hello["defaults"] == default_config()
        assert hello["schema"] == schema.describe(session.limits)
        assert hello["state"]["run"] == 1 and header["run"] == 1
        assert hello["lessons"] and all("id" in lesson for lesson in hello["lessons"])
        assert hello["state"]["config"] == session.run.config
        assert hello["state"]["playing"] is False
        assert data["kind"] == "classification" and len(data["train"]) == 100
        assert len(data["test"]) == 100 and data["train"][0] == session.run.data.train_rows()[0]
        assert header["type"] == "frame" and header["iteration"] == 0
        np.testing.assert_allclose(arrays["W/0"], session.run.network.weights[0], rtol=1e-6)
        assert arrays["surface/output"].shape == (1, 48, 48)
        assert arrays["surface/hidden/0"].shape == (4, 16, 16)
        assert arrays["surface/inputs"].shape == (2, 16, 16)


def test_default_frame_stays_within_six_kilobytes():
    # Each loss point of `history` adds ~30 bytes; a client that keeps up gets one or two.
    with connect() as (socket, _session, _greeting):
        socket.send_json({"type": "play"})
        measured = []
        while len(measured) < 8:
            while (message := socket.receive()).get("bytes") is None:
                pass
            socket.send_json({"type": "ack"})
            header, _ = frames.decode(message["bytes"])
            if header["iteration"] > 0 and len(header["history"]) <= 4:
                measured.append(len(message["bytes"]))
        assert max(measured) <= 6 * 1024, measured


# ----- every message type -------------------------------------------------------------------


def test_config_builds_a_new_paused_run_and_resends_state_and_data():
    with connect() as (socket, session, _):
        config = {
            "network": {"layers": [2, 5, 3], "output": "softmax"},
            "data": {"dataset": "three_gauss", "n_points": 60},
        }
        socket.send_json({"type": "config", **config})
        state = next_text(socket)
        assert state["type"] == "state" and state["config"]["network"]["layers"] == [2, 5, 3]
        assert state["network"]["layers"] == [2, 5, 3] and state["iteration"] == 0
        data = next_text(socket)
        assert data["type"] == "data" and data["n_classes"] == 3 and len(data["train"]) == 30
        header, arrays = next_frame(socket)
        assert arrays["W/1"].shape == (5, 3) and arrays["surface/output"].shape == (3, 48, 48)
        assert header["seq"] == 1 and session.playing is False


def test_set_changes_options_speed_and_fps_but_keeps_weights():
    with connect() as (socket, session, _):
        weights = [W.copy() for W in session.run.network.weights]
        socket.send_json({"type": "set", "lr": 0.5, "optimizer": "adam", "speed": 7, "fps": 12})
        header, _ = next_frame(socket)
        assert header["seq"] == 1 and header["speed"] == 7 and header["fps"] == 12
        assert session.run.config["training"]["lr"] == 0.5
        assert session.run.config["training"]["optimizer"] == "adam"
        for old, new in zip(weights, session.run.network.weights, strict=True):
            np.testing.assert_array_equal(old, new)


def test_play_streams_frames_and_pause_stops_them():
    with connect() as (socket, session, _):
        socket.send_json({"type": "ack"})
        socket.send_json({"type": "set", "speed": 5, "fps": 60})
        socket.send_json({"type": "play"})
        assert next_text(socket) == {"type": "status", "playing": True}
        iterations = []
        for _ in range(4):
            header, _ = next_frame(socket)
            iterations.append(header["iteration"])
            socket.send_json({"type": "ack"})
        assert iterations == sorted(iterations) and iterations[-1] >= 10
        assert iterations[-1] % 5 == 0  # whole ticks of `speed` iterations
        socket.send_json({"type": "pause"})
        assert next_text(socket) == {"type": "status", "playing": False}
        stopped = session.run.iteration
        time.sleep(0.1)
        assert session.run.iteration == stopped


def frame_after_unsent_ticks(socket, session, ticks: int) -> dict:
    """Plays at 60 fps until `ticks` ticks (of one iteration each) have run without a free
    credit, then acks one frame: the next frame's header."""
    socket.send_json({"type": "set", "fps": 60, "speed": 1})
    socket.send_json({"type": "play"})
    last = fill_window(socket)
    wait_until(lambda: session.run.iteration >= last["iteration"] + ticks)
    socket.send_json({"type": "ack"})
    return next_frame(socket)[0]


def test_history_carries_the_loss_of_ticks_whose_frames_were_never_sent():
    with connect() as (socket, session, _):
        header = frame_after_unsent_ticks(socket, session, 6)
        iterations = [point[0] for point in header["history"]]
        assert len(iterations) >= 5 and iterations == sorted(iterations)
        assert iterations[-1] == header["iteration"]
        assert all(len(point) == 3 for point in header["history"])


def test_history_is_capped_for_a_client_that_lags():
    with connect(Settings(history_cap=4)) as (socket, session, _):
        header = frame_after_unsent_ticks(socket, session, 8)
        assert len(header["history"]) == 4  # the newest four ticks, this frame's last
        assert header["history"][-1][0] == header["iteration"]


def test_reset_with_seed_draws_new_weights():
    with connect() as (socket, session, _):
        before = session.run.network.weights[0].copy()
        socket.send_json({"type": "reset", "seed": 9})
        state = next_text(socket)
        assert state["type"] == "state" and state["config"]["network"]["seed"] == 9
        assert not np.array_equal(before, session.run.network.weights[0])
        assert np.asarray(state["network"]["weights"][0]).shape == (2, 4)


def test_step_phase_sends_each_phase_in_order():
    with connect() as (socket, _, _greeting):
        socket.send_json({"type": "step", "unit": "phase", "count": 5})
        names = []
        for _ in range(5):
            header, arrays = next_frame(socket)
            assert header["type"] == "phase"
            names.append((header["phase"], header.get("layer")))
            if header["phase"] == "forward":
                assert arrays["Z"].shape == arrays["A"].shape and "focus/Z" in arrays
        assert names == [
            ("forward", 0),
            ("forward", 1),
            ("forward", 2),
            ("loss", None),
            ("backward", 2),
        ]


def next_phase(socket) -> tuple[dict, dict]:
    """The next `phase` message, decoded; frames before it are acked and skipped."""
    while (received := next_frame(socket))[0]["type"] != "phase":
        socket.send_json({"type": "ack"})
    return received


def phase_arrays(fields: dict, prefix: str = ""):
    """(name, array) of an engine phase, named as docs/protocol.md names them."""
    for key, value in fields.items():
        if isinstance(value, np.ndarray):
            yield f"{prefix}{key}", value
        elif isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            yield from ((f"{prefix}{key}/{index}", item) for index, item in enumerate(value))
        elif isinstance(value, dict):
            yield from phase_arrays(value, f"{prefix}{key}/")


def test_step_mode_shows_every_digit_the_engine_computed():
    config = get_lesson("chain-rule")["config"]
    engine_run = Run(config, limits=Limits())
    with connect() as (socket, _session, _greeting):
        socket.send_json({"type": "config", **config})
        socket.send_json({"type": "step", "unit": "phase", "count": 6})  # one whole iteration
        for _ in range(6):
            header, arrays = next_phase(socket)
            expected = engine_run.next_phase()
            assert header["phase"] == expected["phase"]
            names = dict(phase_arrays(expected))
            assert sorted(arrays) == sorted(names)
            for name, array in names.items():
                assert arrays[name].dtype == np.float64, name
                assert arrays[name].tobytes() == array.astype(np.float64).tobytes(), name
            if header["phase"] == "loss":
                assert header["loss"] == expected["loss"]  # the float64 itself, not 7 digits
                assert header["focus"]["loss"] == expected["focus"]["loss"]
                assert header["loss"] == pytest.approx(TOTAL_ERROR, abs=1e-9)
        assert header["phase"] == "update"


def test_step_iteration_and_epoch_advance_the_counters():
    with connect() as (socket, session, _):
        socket.send_json({"type": "ack"})
        socket.send_json({"type": "step", "unit": "iteration", "count": 3})
        header, arrays = next_frame(socket)
        assert header["iteration"] == 3 and header["seq"] == 1
        assert np.abs(arrays["dW/0"]).sum() > 0  # the gradient of the last step is shown
        socket.send_json({"type": "ack"})
        socket.send_json({"type": "step", "unit": "epoch"})
        header, _ = next_frame(socket)
        assert header["iteration"] == 13 and header["epoch"] == 1  # 100 samples, batches of 10
        assert session.playing is False


def test_inspect_replies_with_the_engines_explanation():
    with connect() as (socket, session, _):
        socket.send_json({"type": "inspect", "kind": "weight", "layer": 0, "i": 1, "j": 2})
        reply = next_text(socket)
        expected = session.run.inspect({"kind": "weight", "layer": 0, "i": 1, "j": 2})
        assert reply["type"] == "inspect"
        assert reply["value"] == pytest.approx(expected["value"])


def test_focus_moves_the_phase_view_to_that_sample():
    with connect() as (socket, session, _):
        # A batch of the whole training set holds every sample: the phases follow the chosen one.
        socket.send_json({"type": "change", "path": "training.batch_size", "value": 100})
        assert next_text(socket)["type"] == "state"
        socket.send_json({"type": "focus", "sample": 42})
        wait_until(lambda: session.run.focus == 42)
        socket.send_json({"type": "step", "unit": "phase"})
        header, _ = next_phase(socket)
        assert header["focus_sample"] == 42 and header["focus_in_batch"] is True


def test_a_focus_outside_the_batch_is_followed_and_said_and_inspected_on_the_batch():
    with connect() as (socket, session, _):
        # The same configuration draws the same batches (a run is deterministic).
        engine = Run(session.run.config)
        batch = engine.next_batch()
        outside = next(sample for sample in range(100) if sample not in batch)
        socket.send_json({"type": "focus", "sample": outside})
        next_frame(socket)
        socket.send_json({"type": "step", "unit": "phase"})
        header, arrays = next_frame(socket)
        assert header["focus_in_batch"] is False and header["focus_sample"] == outside
        own = engine.network.forward_trace(engine._X_train[outside][None, :])
        assert np.array_equal(arrays["focus/A"], own.A[0][0])
        socket.send_json({"type": "inspect", "kind": "bias", "layer": 0, "j": 1})
        reply = next_text(socket)
        assert reply["focus_sample"] == outside and reply["focus_in_batch"] is False
        assert reply["data"] == "batch" and reply["batch"]["n"] == 10
        assert reply["batch_iteration"] == 1 and reply["training_set"]["n"] == 100
        X, Y = engine._X_train[batch], engine.data.train_targets[batch]
        assert reply["gradient"] == engine.network.gradients(X, Y)[0]["b"][1]


def test_edit_sets_one_weight_and_resends_state():
    with connect() as (socket, session, _):
        before = session.run.network.params.copy()
        socket.send_json({"type": "edit", "param": "W", "layer": 1, "i": 3, "j": 0, "value": 2.5})
        state = next_text(socket)
        assert state["network"]["weights"][1][3][0] == 2.5
        assert session.run.network.weights[1][3, 0] == 2.5
        socket.send_json({"type": "edit", "param": "b", "layer": 2, "j": 0, "value": -1})
        assert next_text(socket)["network"]["biases"][2][0] == -1
        # Those two parameters and nothing else: every other weight and bias is as it was.
        changed = np.flatnonzero(session.run.network.params != before)
        expected = [
            np.flatnonzero(session.run.network.params == 2.5),
            np.flatnonzero(session.run.network.params == -1),
        ]
        assert sorted(changed.tolist()) == sorted(np.concatenate(expected).tolist())
        assert len(changed) == 2


def test_export_gives_the_runs_config_with_its_weights_to_the_last_bit():
    with connect() as (socket, session, _):
        socket.send_json({"type": "ack"})
        socket.send_json({"type": "step", "unit": "iteration", "count": 7})
        next_frame(socket)
        socket.send_json({"type": "export"})
        reply = next_text(socket)
        assert reply["type"] == "export" and reply["iteration"] == 7
        network = session.run.network
        for layer, (W, b) in enumerate(zip(network.weights, network.biases, strict=True)):
            assert np.array_equal(np.array(reply["config"]["network"]["weights"][layer]), W)
            assert np.array_equal(np.array(reply["config"]["network"]["biases"][layer]), b)
        assert {key: reply["config"][key] for key in ("training", "data")} == {
            key: session.run.config[key] for key in ("training", "data")
        }
        # The file rebuilds the very same network: a config of it exports the same numbers.
        socket.send_json({"type": "config", **reply["config"]})
        next_text(socket)
        socket.send_json({"type": "export"})
        again = next_text(socket)
        while again["type"] != "export":
            again = next_text(socket)
        assert again["config"]["network"] == reply["config"]["network"]


# The biggest network the limits allow, on a few points (the weights make the message big).
LARGEST = largest_run(n_points=60)


def test_an_export_of_the_largest_network_comes_back_as_a_config():
    with connect() as (socket, _session, _):
        socket.send_json({"type": "config", **LARGEST})
        assert next_text(socket)["type"] == "state"
        socket.send_json({"type": "export"})
        while (exported := next_text(socket))["type"] != "export":
            pass
        text = json.dumps({"type": "config", **exported["config"]})
        # Over an ordinary message's cap: what a reconnect's restore and an import send.
        assert len(text) > Settings().max_message_bytes
        socket.send_text(text)
        state = next_text(socket)
        assert state["type"] == "state", state
        assert state["network"]["weights"] == exported["config"]["network"]["weights"]


def test_the_config_cap_holds_the_largest_network_at_its_longest_numbers():
    settings = Settings()
    with connect(settings) as (socket, _session, _greeting):
        layers = LARGEST["network"]["layers"]
        longest = -1.2345678901234567e-100  # 24 characters, as Python and JavaScript write it
        network = {
            **LARGEST["network"],
            "weights": [[[longest] * out] * fan_in for fan_in, out in pairwise(layers)],
            "biases": [[longest] * out for out in layers[1:]],
        }
        text = json.dumps({"type": "config", "network": network, "data": LARGEST["data"]})
        assert len(text) <= settings.max_config_bytes
        socket.send_text(text)
        assert next_text(socket)["type"] == "state"


def test_points_replace_the_data():
    with connect() as (socket, _, _greeting):
        points = [[1.0, 1.0, 1], [-1.0, -1.0, 0], [2.0, -2.0, 1], [-3.0, 3.0, 0]]
        socket.send_json({"type": "points", "points": points})
        assert next_text(socket)["type"] == "state"
        data = next_text(socket)
        assert data["type"] == "data" and len(data["train"]) + len(data["test"]) == 4


def test_compare_races_clones_and_reports_their_losses_in_each_frame():
    with connect() as (socket, session, _):
        socket.send_json({"type": "ack"})
        variants = [{"label": "sgd"}, {"label": "adam", "optimizer": "adam", "lr": 0.01}]
        socket.send_json({"type": "compare", "variants": variants})
        socket.send_json({"type": "set", "speed": 3, "fps": 60})
        socket.send_json({"type": "play"})
        for _ in range(3):
            header, arrays = next_frame(socket)
            socket.send_json({"type": "ack"})
        assert [racer["label"] for racer in header["compare"]] == ["sgd", "adam"]
        # Each racer's decision surface rides along for its card: the same grid as the run's.
        for index in range(len(header["compare"])):
            surface = arrays[f"compare/{index}/surface/output"]
            assert surface.shape == arrays["surface/output"].shape == (1, 48, 48)
        np.testing.assert_allclose(  # sgd races with the run's own options: the same picture
            arrays["compare/0/surface/output"], arrays["surface/output"], atol=1e-5
        )
        assert all(racer["iteration"] == header["iteration"] for racer in header["compare"])
        sgd = header["compare"][0]
        assert sgd["train_loss"] == pytest.approx(header["train_loss"], rel=1e-6)  # same options
        assert header["compare"][1]["train_loss"] != pytest.approx(sgd["train_loss"])
        # Each racer trains with its own variant's options, in the order they were given.
        racers = [
            (variant.label, variant.run.config["training"]) for variant in session.race.variants
        ]
        assert [label for label, _ in racers] == ["sgd", "adam"]
        assert racers[0][1] == session.run.config["training"]
        assert racers[1][1] == {**session.run.config["training"], "optimizer": "adam", "lr": 0.01}
        socket.send_json({"type": "compare", "variants": []})
        socket.send_json({"type": "pause"})
        next_text(socket)
        assert session.race.variants == []


def test_diverging_run_pauses_itself_and_says_why():
    with connect() as (socket, session, _):
        socket.send_json({"type": "config", **DIVERGING})
        assert next_text(socket)["type"] == "state"
        assert next_text(socket)["type"] == "data"
        socket.send_json({"type": "set", "speed": 50, "fps": 60})
        socket.send_json({"type": "play"})
        assert next_text(socket)["playing"] is True
        status = next_text(socket)
        assert status == {"type": "status", "playing": False, "message": status["message"]}
        assert "diverged" in status["message"] and session.playing is False


# ----- bad input: an error, the connection stays, nothing changes ----------------------------

BAD_MESSAGES = {
    "not json": "{nope",
    "not an object": "[1, 2, 3]",
    "unknown type": {"type": "launch"},
    "unknown key": {"type": "pause", "force": True},
    "wrong type": {"type": "set", "lr": "fast"},
    "NaN literal": '{"type": "set", "lr": NaN}',
    "Infinity literal": '{"type": "edit", "param": "W", "layer": 0, "i": 0, "j": 0, '
    '"value": Infinity}',
    "negative lr": {"type": "set", "lr": -0.1},
    "absurd lr": {"type": "set", "lr": 1e9},
    "zero batch": {"type": "set", "batch_size": 0},
    "absurd batch": {"type": "set", "batch_size": 10**6},
    "half-good set": {"type": "set", "lr": 0.5, "speed": 5, "momentum": 2},
    "unknown optimizer": {"type": "set", "optimizer": "sgdx"},
    "too many layers": {"type": "config", "network": {"layers": [2] + [4] * 9 + [1]}},
    "too many neurons": {"type": "config", "network": {"layers": [2, 33, 1]}},
    "wrong weight shapes": {
        "type": "config",
        "network": {"layers": [2, 2, 1], "weights": [[[1, 2, 3]], [[1], [2]]]},
    },
    "wrong weight in edit": {"type": "edit", "param": "W", "layer": 0, "i": 5, "j": 0, "value": 1},
    "layer out of range": {"type": "inspect", "kind": "neuron", "layer": 7, "j": 0},
    "deep nesting": '{"type": "points", "points": ' + "[" * 5000 + "]" * 5000 + "}",
    "oversized": json.dumps({"type": "points", "points": [[1.5, 1.5, 1]] * 6000}),
    "too many points": {"type": "points", "points": [[1, 1, 1]] * 5001},
    "point off the plane": {"type": "points", "points": [[100, 1, 1], [1, 1, 0]]},
    "focus beyond data": {"type": "focus", "sample": 100},
    "huge integer": {"type": "reset", "seed": 10**30},
    "huge layer index": {"type": "edit", "param": "b", "layer": 10**30, "j": 0, "value": 1},
    "one racer": {"type": "compare", "variants": [{"label": "alone"}]},
    "bad racer": {"type": "compare", "variants": [{"label": "a"}, {"label": "b", "lr": -1}]},
}


@pytest.mark.parametrize("name", BAD_MESSAGES)
def test_bad_input_gets_an_error_and_changes_nothing(name):
    with connect() as (socket, session, _):
        before = snapshot(session)
        bad = BAD_MESSAGES[name]
        socket.send_text(bad if isinstance(bad, str) else json.dumps(bad))
        reply = next_text(socket)
        assert reply["type"] == "error" and reply["message"], reply
        assert_unchanged(before, session)
        socket.send_json({"type": "inspect", "kind": "bias", "layer": 0, "j": 0})
        assert next_text(socket)["type"] == "inspect"  # the connection is still open


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("negative lr", "training.lr: must be a finite number in (0, 10]"),
        ("too many layers", "at most 8 hidden layers"),
        ("too many neurons", "network.layers[1]: must be an integer in [1, 32]"),
        ("NaN literal", "NaN"),
        ("oversized", "larger than the limit of 65536"),
        ("deep nesting", "nested"),
        ("unknown type", "unknown message type 'launch'"),
    ],
)
def test_error_messages_say_what_was_wrong(name, expected):
    with connect() as (socket, _, _greeting):
        bad = BAD_MESSAGES[name]
        socket.send_text(bad if isinstance(bad, str) else json.dumps(bad))
        assert expected in next_text(socket)["message"]


def test_a_step_longer_than_a_few_seconds_is_refused():
    with connect() as (socket, session, _):
        config = {"training": {"batch_size": 1}, "data": {"n_points": 5000, "train_ratio": 1}}
        socket.send_json({"type": "config", **config})
        next_text(socket), next_text(socket)
        before = snapshot(session)
        socket.send_json({"type": "step", "unit": "epoch", "count": 5})
        message = next_text(socket)["message"]
        assert message.startswith("step.count: 5 epochs are 25000 iterations, more than 20000")
        assert_unchanged(before, session)


def test_binary_message_from_client_is_refused():
    with connect() as (socket, session, _):
        before = snapshot(session)
        socket.send_bytes(b"\x00\x01binary")
        assert "binary messages are not accepted" in next_text(socket)["message"]
        assert_unchanged(before, session)


def test_rate_limit_drops_the_flood_with_one_error():
    settings = Settings(rate_limit_per_second=1, rate_limit_burst=3)
    with connect(settings) as (socket, session, _):
        for seed in range(10):
            socket.send_json({"type": "focus", "sample": seed})
        reply = next_text(socket)
        assert reply["type"] == "error" and reply["message"].startswith("rate limit")
        assert session.run.focus == 2  # the first three (the burst) were applied


def test_expensive_messages_cost_more_of_the_rate_limit():
    with connect(Settings(rate_limit_per_second=1, rate_limit_burst=25)) as (socket, session, _):
        socket.send_json({"type": "config", "network": {"layers": [2, 3, 1]}})
        assert next_text(socket)["type"] == "state"
        socket.send_json({"type": "config", "network": {"layers": [2, 5, 1]}})
        while (reply := next_text(socket))["type"] == "data":
            pass
        assert reply["type"] == "error" and reply["message"].startswith("rate limit")
        assert session.run.config["network"]["layers"] == [2, 3, 1]
        socket.send_json({"type": "focus", "sample": 1})  # a cheap one still fits
        next_frame(socket)
        assert session.run.focus == 1


def test_a_phase_step_costs_a_token_per_phase():
    # Each phase is a pass over the whole batch sent as f64: a count of 100 for one token let
    # a client keep the server busy and send megabytes for next to nothing.
    with connect(Settings(rate_limit_per_second=1, rate_limit_burst=30)) as (socket, _, _):
        for _ in range(2):  # 20 tokens each: the second does not fit
            socket.send_json({"type": "step", "unit": "phase", "count": 20})
        socket.send_json({"type": "no such type"})  # a cheap one still fits, and ends the test
        phases, errors = 0, []
        while not errors or "no such type" not in errors[-1]:
            message = socket.receive()
            if message.get("text") is not None:
                errors.append(json.loads(message["text"])["message"])
            elif frames.decode(message["bytes"])[0]["type"] == "phase":
                phases += 1
        assert phases == 20
        assert errors[0].startswith("rate limit") and len(errors) == 2


def test_a_phase_step_of_the_largest_run_is_charged_by_its_size():
    # Batches of 2,500 samples through 32 units: a forward phase is ~1.3 MB of f64, 40 tokens
    # once sent. A step of 40 phases pays 40 up front, as many as 40 phases of a small run;
    # here the budget goes into debt after a few of them and the step stops there.
    largest = {
        "network": {"layers": [2] + [32] * 8 + [1]},
        "training": {"batch_size": 2500},
        "data": {"dataset": "circle", "n_points": 5000},
    }
    with connect(Settings(rate_limit_per_second=1, rate_limit_burst=200)) as (socket, _, _):
        socket.send_json({"type": "config", **largest})
        while next_text(socket)["type"] != "data":
            pass
        socket.send_json({"type": "step", "unit": "phase", "count": 40})
        phases, reply = 0, None
        while reply is None and phases < 40:
            message = socket.receive()
            if message.get("text") is not None:
                reply = json.loads(message["text"])
            else:
                phases += frames.decode(message["bytes"])[0]["type"] == "phase"
        assert 1 <= phases <= 5
        assert reply["message"].startswith("rate limit")


def test_acks_are_not_rate_limited_so_a_flooding_client_keeps_its_frames():
    # Were acks charged, the flood would drop them, the window would stay full and the
    # watchdog would close the client for holding frames it had acked.
    settings = Settings(rate_limit_per_second=5, rate_limit_burst=10, ack_timeout=1.0)
    with connect(settings) as (socket, _session, _greeting):
        socket.send_json({"type": "ack"})
        socket.send_json({"type": "set", "fps": 60})
        socket.send_json({"type": "play"})
        iterations = []
        for _ in range(30):
            header, _ = next_frame(socket)
            iterations.append(header["iteration"])
            for sample in range(10):
                socket.send_json({"type": "focus", "sample": sample})
            socket.send_json({"type": "ack"})
        assert iterations[-1] > iterations[0], iterations


def test_an_ack_with_nothing_in_flight_is_charged_and_still_checked():
    with connect(Settings(rate_limit_per_second=1, rate_limit_burst=3)) as (socket, session, _):
        socket.send_text('{"type": "ack", "credits": 9}')
        assert "ack.credits: Extra inputs are not permitted" in next_text(socket)["message"]
        socket.send_json({"type": "ack"})  # frees the greeting's frame: free
        for _ in range(3):  # nothing in flight now: each costs a token
            socket.send_json({"type": "ack"})
        socket.send_json({"type": "focus", "sample": 1})
        assert next_text(socket)["message"].startswith("rate limit")
        assert session.run.focus == 0


# ----- flow control -------------------------------------------------------------------------


def test_a_client_that_never_acks_gets_exactly_its_window():
    with connect() as (socket, session, _):
        socket.send_json({"type": "set", "speed": 1, "fps": 60})
        socket.send_json({"type": "play"})
        last = fill_window(socket)
        # Training goes on without the client.
        wait_until(lambda: session.run.iteration >= last["iteration"] + 5)
        assert session.in_flight == Settings().frame_window
        socket.send_json({"type": "focus", "sample": 1})
        socket.send_json({"type": "launch"})
        # Messages arrive in order: a frame beyond the window sent before the error shows here.
        while True:
            message = socket.receive()
            assert message.get("bytes") is None, "a frame beyond the window"
            if json.loads(message["text"])["type"] == "error":
                break
        socket.send_json({"type": "ack"})
        header, _ = next_frame(socket)  # the credit brings the newest state, not a stale one
        assert header["iteration"] >= last["iteration"] + 5


def test_a_silent_client_is_closed_after_the_ack_timeout():
    with connect(Settings(ack_timeout=0.3)) as (socket, _, _greeting):
        started = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                socket.receive_bytes()
        assert closed.value.code == 1008 and "no ack" in closed.value.reason
        assert time.monotonic() - started < 3


def test_acks_beyond_the_frames_in_flight_grant_nothing():
    with connect() as (socket, session, _):
        for _ in range(5):
            socket.send_json({"type": "ack"})
        socket.send_json({"type": "focus", "sample": 3})
        next_frame(socket)
        assert session.in_flight == 1


# ----- handshake ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (BASE, True),  # the page's own origin
        ("https://127.0.0.1:8000", True),
        ("http://classroom.example:8000", True),  # given with --allow-origin
        ("http://evil.example", False),
        ("http://127.0.0.1:8000.evil.example", False),
        ("http://127.0.0.1:9000", False),
        ("null", False),
    ],
)
def test_origin_check(origin, allowed):
    settings = Settings(allowed_origins=("http://classroom.example:8000",))
    app = create_app(settings)
    with TestClient(app) as client:
        if allowed:
            with client.websocket_connect(WS_URL, headers={"origin": origin}) as socket:
                assert socket.receive_json()["type"] == "hello"
        else:
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect(WS_URL, headers={"origin": origin}),
            ):
                pass
            assert refused.value.code == 1008


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0"])
def test_dns_rebinding_is_refused_on_every_bind(bind):
    # evil.example re-pointed at this machine: its Origin matches its Host, but the Host is not
    # one of ours, on a loopback bind and on one open to the room alike.
    app = create_app(Settings(host=bind))
    with TestClient(app) as client:
        url, headers = "ws://evil.example:8000/ws", {"origin": "http://evil.example:8000"}
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(url, headers=headers),
        ):
            pass
        assert refused.value.code == 1008


def test_missing_origin_is_allowed_for_non_browser_clients():
    with connect() as (_, _session, greeting):
        assert greeting["hello"]["type"] == "hello"


def test_connections_beyond_the_cap_are_refused_with_a_reason():
    app = create_app(Settings(max_connections=1))
    with TestClient(app) as client, client.websocket_connect(WS_URL) as first:
        assert first.receive_json()["type"] == "hello"
        with (
            client.websocket_connect(WS_URL) as second,
            pytest.raises(WebSocketDisconnect) as refused,
        ):
            second.receive_json()
        assert refused.value.code == 1013 and "server full" in refused.value.reason


# ----- pacing and concurrency ---------------------------------------------------------------


def test_speed_max_trains_as_many_iterations_as_fit_in_each_tick():
    with connect() as (socket, _session, _greeting):
        socket.send_json({"type": "set", "speed": "max", "fps": 10})
        socket.send_json({"type": "play"})
        iterations = []
        for _ in range(5):
            header, _ = next_frame(socket)
            iterations.append(header["iteration"])
            socket.send_json({"type": "ack"})
        assert header["speed"] == "max"
        # A 100 ms tick, less its frame, holds some 300 iterations of 0.3 ms; ask for 10 a tick
        # on average, which a busy machine still gives.
        assert iterations[-1] - iterations[1] >= 30


def test_twenty_sessions_playing_at_once_each_keep_getting_frames():
    # A class of twenty on one server process: no session starves the others of frames.
    app = create_app(Settings())
    started = time.monotonic()
    with TestClient(app) as client, ExitStack() as stack:
        sockets = [stack.enter_context(client.websocket_connect(WS_URL)) for _ in range(20)]
        for socket in sockets:
            socket.send_json({"type": "set", "fps": 60})
            socket.send_json({"type": "play"})
        first, last = {}, {}
        for _ in range(6):
            for index, socket in enumerate(sockets):
                header, _ = next_frame(socket)
                socket.send_json({"type": "ack"})
                first.setdefault(index, header["iteration"])
                last[index] = header["iteration"]
        assert len(app.state.sessions) == 20
        assert all(last[index] > first[index] for index in last), (first, last)
    assert time.monotonic() - started < 10


def test_big_networks_are_inspected_off_the_event_loop():
    with connect() as (socket, session, _):
        network = {"layers": [2, 32, 32, 32, 1]}
        socket.send_json({"type": "config", "network": network, "data": {"n_points": 400}})
        next_text(socket), next_text(socket)
        original, where = session.run.inspect, []

        def inspect_and_note_the_thread(target):
            try:
                asyncio.get_running_loop()
                where.append("event loop")
            except RuntimeError:  # worker threads run no event loop
                where.append("worker thread")
            return original(target)

        session.run.inspect = inspect_and_note_the_thread
        socket.send_json({"type": "inspect", "kind": "neuron", "layer": 1, "j": 31})
        reply = next_text(socket)
        assert reply["type"] == "inspect" and where == ["worker thread"]


def test_reset_restarts_the_race_from_the_new_weights():
    with connect() as (socket, session, _):
        variants = [{"label": "sgd"}, {"label": "fast", "lr": 0.3}]
        socket.send_json({"type": "compare", "variants": variants})
        socket.send_json({"type": "step", "unit": "iteration", "count": 5})
        socket.send_json({"type": "reset", "seed": 3})
        assert next_text(socket)["type"] == "state"
        assert [variant.label for variant in session.race.variants] == ["sgd", "fast"]
        rates = {
            variant.label: variant.run.config["training"]["lr"] for variant in session.race.variants
        }
        assert rates == {"sgd": 0.03, "fast": 0.3}  # each racer keeps its own options
        for variant in session.race.variants:
            assert variant.run.iteration == 0
            np.testing.assert_array_equal(
                variant.run.network.weights[0], session.run.network.weights[0]
            )


# ----- one field changed, structured errors, run identity ------------------------------------


def test_a_live_change_keeps_the_run_and_a_structural_one_starts_a_new_one():
    with connect() as (socket, session, _greeting):
        weights = session.run.network.weights[0].copy()
        socket.send_json({"type": "change", "path": "training.lr", "value": 0.3})
        state = next_text(socket)
        assert state["type"] == "state" and state["run"] == 1
        assert session.run.config["training"]["lr"] == 0.3
        np.testing.assert_array_equal(session.run.network.weights[0], weights)
        socket.send_json({"type": "play"})
        assert next_text(socket)["type"] == "status"
        socket.send_json({"type": "change", "path": "data.dataset", "value": "three_gauss"})
        state = next_text(socket)
        while state["type"] != "state":
            state = next_text(socket)
        # The engine made the head fit the three classes; the page applied no rule of its own.
        assert state["run"] == 2 and state["playing"] is True
        network = state["config"]["network"]
        assert network["layers"][-1] == 3 and network["output"] == "softmax"
        assert network["loss"] == "ce" and "bce" not in state["allowed"]["network.loss"]
        assert next_text(socket)["type"] == "data"


def test_a_refused_change_names_the_field_and_changes_nothing():
    with connect() as (socket, session, _greeting):
        before = snapshot(session)
        for path, value, field in [
            ("training.lr", -1, "training.lr"),
            ("training.lr", "fast", "training.lr"),
            ("network.layers", [2, Limits().max_neurons + 1, 1], "network.layers[1]"),
            ("data.features", [], "data.features"),
            ("network.loss", "ce", "network.loss"),
            ("training.batch_size", Limits().max_points + 1, "training.batch_size"),
        ]:
            socket.send_json({"type": "change", "path": path, "value": value})
            reply = next_text(socket)
            assert reply["type"] == "error" and reply["field"] == field, reply
            assert reply["message"].startswith(f"{field}: "), reply
        socket.send_json({"type": "change", "path": "network.weights", "value": 1})
        reply = next_text(socket)
        assert reply["type"] == "error" and reply["field"] == "change.path", reply
        assert_unchanged(before, session)
        assert session.run_id == 1


def test_every_state_frame_and_phase_says_which_run_it_shows():
    with connect() as (socket, _session, greeting):
        assert greeting["frame"][0]["run"] == 1
        socket.send_json({"type": "reset"})
        assert next_text(socket)["run"] == 2
        assert next_frame(socket)[0]["run"] == 2
        socket.send_json({"type": "step", "unit": "phase"})
        header, _ = next_frame(socket)
        while header["type"] != "phase":
            header, _ = next_frame(socket)
        assert header["run"] == 2
        socket.send_json({"type": "edit", "param": "W", "layer": 0, "i": 0, "j": 0, "value": 1.0})
        assert next_text(socket)["run"] == 2  # an edit keeps the run


def test_a_structural_change_keeps_the_weights_that_still_fit():
    with connect() as (socket, session, _greeting):
        socket.send_json({"type": "step", "unit": "iteration", "count": 20})
        next_frame(socket)
        trained = [W.copy() for W in session.run.network.weights]
        socket.send_json({"type": "change", "path": "network.loss", "value": "mse"})
        state = next_text(socket)
        assert state["type"] == "state" and state["run"] == 2
        for old, new in zip(trained, session.run.network.weights, strict=True):
            np.testing.assert_array_equal(old, new)  # a new loss: every weight kept
        socket.send_json({"type": "change", "path": "network.layers", "value": [2, 5, 2, 1]})
        assert next_text(socket)["config"]["network"]["layers"] == [2, 5, 2, 1]
        first, second = session.run.network.weights[:2]
        np.testing.assert_array_equal(first[:, :4], trained[0])  # the four old neurons' inputs
        np.testing.assert_array_equal(second[:4], trained[1])  # and outputs are kept
        # The configuration keeps no weights: a reset draws from the seed again.
        assert "weights" not in session.run.config["network"]
        socket.send_json({"type": "change", "path": "network.seed", "value": 9})
        next_text(socket)
        assert not np.array_equal(session.run.network.weights[0][:, :4], trained[0])


def test_two_softmax_outputs_on_a_two_class_set_keep_the_hidden_weights_and_predictions():
    with connect() as (socket, session, greeting):
        allowed = greeting["hello"]["state"]["allowed"]
        assert allowed["network.layers[-1]"] == [1, 2] and "softmax" in allowed["network.output"]
        socket.send_json({"type": "step", "unit": "iteration", "count": 20})
        next_frame(socket)
        before = session.run.network.copy()
        X = session.run._X_train
        socket.send_json({"type": "change", "path": "network.layers", "value": [2, 4, 2, 2]})
        state = next_text(socket)
        network = state["config"]["network"]
        assert (network["layers"][-1], network["output"], network["loss"]) == (2, "softmax", "ce")
        hidden = session.run.network.weights[:2]
        for old, new in zip(before.weights[:2], hidden, strict=True):
            np.testing.assert_array_equal(old, new)
        predicted = session.run.network.forward(X)[:, 1]
        np.testing.assert_allclose(predicted, before.forward(X)[:, 0], rtol=1e-13)
        assert session.run.data.train_targets.shape == (100, 2)
        socket.send_json({"type": "step", "unit": "iteration", "count": 5})
        wait_until(lambda: session.run.iteration == 5)
        assert session.run.metrics()["train_loss"] < 1.0


def test_a_lessons_cost_table_arrives_row_by_row_as_the_networks_grow():
    with connect() as (socket, _session, _greeting):
        socket.send_json({"type": "cost", "lesson": "backprop-cost"})
        rows = [next_text(socket)]
        while rows[-1]["index"] + 1 < rows[-1]["of"]:
            rows.append(next_text(socket))
        sizes = [reply["row"]["parameters"] for reply in rows]
        assert sizes == sorted(sizes) and len(sizes) >= 3
        for reply in rows:
            row = reply["row"]
            assert row["numeric_forward_passes"] == 2 * row["parameters"]
            assert row["relative_error"] < 1e-6  # the same gradient, two costs
        socket.send_json({"type": "cost", "lesson": "forward-pass"})
        reply = next_text(socket)
        assert reply["type"] == "error" and reply["field"] == "cost.lesson"


def test_the_cost_tables_row_for_the_persons_own_network_follows_its_changes():
    with connect() as (socket, _session, _greeting):
        for layers in ([2, 4, 2, 1], [2, 4, 3, 1], [2, 4, 3, 3, 1]):
            if layers != [2, 4, 2, 1]:
                socket.send_json({"type": "change", "path": "network.layers", "value": layers})
                assert next_text(socket)["type"] == "state"
            socket.send_json({"type": "cost", "lesson": "backprop-cost", "current": True})
            reply = next_text(socket)
            assert reply["type"] == "cost" and reply["current"] is True, reply
            row = reply["row"]
            parameters = sum((a + 1) * b for a, b in pairwise(layers))
            assert row["layers"] == layers and row["parameters"] == parameters
            assert row["numeric_forward_passes"] == 2 * parameters
            assert row["numeric_timed_parameters"] == parameters  # small: timed whole
            assert row["relative_error"] < 1e-6
        socket.send_json({"type": "change", "path": "network.kind", "value": "recurrent"})
        while next_text(socket)["type"] != "state":
            pass
        socket.send_json({"type": "cost", "lesson": "backprop-cost", "current": True})
        reply = next_text(socket)
        while reply["type"] != "error":
            reply = next_text(socket)
        assert reply["field"] == "cost.current"


def test_the_run_trains_on_while_its_own_cost_row_is_measured(monkeypatch):
    """The own-network cost row is measured on a copy, outside the engine lock: a playing run
    keeps training and sending frames until the row is ready (here held until it has)."""
    from server import handlers

    measured = threading.Event()
    measure = handlers.network_cost_row

    def held_until_measured(network, **options):
        assert measured.wait(10), "the run did not train while its cost row was measured"
        return measure(network, **options)

    monkeypatch.setattr(handlers, "network_cost_row", held_until_measured)
    with connect() as (socket, session, _greeting):
        socket.send_json({"type": "play"})
        socket.send_json({"type": "cost", "lesson": "backprop-cost", "current": True})
        wait_until(lambda: session.run.iteration > 0)
        started = session.run.iteration
        wait_until(lambda: session.run.iteration > started + 50)
        measured.set()
        reply = next_text(socket)
        while reply["type"] != "cost":
            reply = next_text(socket)
        assert reply["current"] is True and reply["row"]["layers"] == [2, 4, 2, 1]


def test_a_costly_new_run_is_not_planned_with_the_last_runs_cost():
    """Played fast on a small network, then rebuilt as an lstm over 60 steps at speed 1000:
    the new run's first frame comes after the iterations that fit in a tick (its cost measured
    anew), not after the hundreds the small network's cost would plan."""
    with connect() as (socket, session, _greeting):
        socket.send_json({"type": "set", "speed": 1000})
        socket.send_json({"type": "play"})
        wait_until(lambda: session.run.iteration > 2000)  # the small network's cost measured
        lstm = default_config("recurrent")
        lstm["network"].update(cell="lstm", hidden=32)
        lstm["data"].update(length=60, n_sequences=64)
        socket.send_json({"type": "config", **lstm})
        socket.send_json({"type": "play"})
        while True:  # the frames of the small network, then the lstm's paused first frame
            header, _arrays = next_frame(socket)
            socket.send_json({"type": "ack"})
            if header["run"] == session.run_id and header["iteration"] > 0:
                break
        # ~10 ms an iteration here: a 33 ms tick fits a few (43 came with the old run's cost)
        assert header["iteration"] <= 10, header["iteration"]
