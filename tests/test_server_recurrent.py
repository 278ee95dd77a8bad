"""A recurrent run through the websocket: its state, data and frames (the focus sequence unrolled,
the gradient through time in the header), the phase stream through time, the inspector's sum
over time, changes of kind, bad input, and the frame-size budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import schema
from engine.recurrent_run import build_run
from server import frames
from server.recurrent_frames import recurrent_frame
from tests.test_server_ws import connect, next_frame, next_phase, next_text

FRAME_BUDGET = 8 * 1024


def recurrent(**sections: dict) -> dict:
    config = schema.default_config("recurrent")
    for section, given in sections.items():
        config[section].update(given)
    return config


def start(socket, config: dict) -> tuple[dict, dict]:
    """Send a config; return its state and data messages."""
    socket.send_json({"type": "config", **config})
    state = next_text(socket)
    assert state["type"] == "state", state
    data = next_text(socket)
    return state, data


def next_run_frame(socket, run: int) -> tuple[dict, dict]:
    while True:
        header, arrays = next_frame(socket)
        socket.send_json({"type": "ack"})
        if header["type"] == "frame" and header["run"] == run:
            return header, arrays


def snapshot(session) -> tuple[str, int, np.ndarray]:
    run = session.run
    return json.dumps(run.config, sort_keys=True), run.iteration, run.network.params.copy()


def assert_unchanged(session, before: tuple[str, int, np.ndarray]) -> None:
    """The run is as the snapshot `before` had it: configuration, iteration and parameters."""
    after = snapshot(session)
    assert after[:2] == before[:2] and np.array_equal(after[2], before[2])


def assert_refused(socket, session, message: dict, field: str) -> None:
    """`message` gets an error naming `field`, and the run stays as it was."""
    before = snapshot(session)
    socket.send_json(message)
    reply = next_text(socket)
    assert reply["type"] == "error" and reply["field"] == field, reply
    assert_unchanged(session, before)


def test_a_recurrent_config_gives_its_state_data_and_unrolled_frames():
    with connect() as (socket, session, _):
        config = recurrent(network={"cell": "lstm", "hidden": 6}, data={"length": 12})
        state, data = start(socket, config)
        assert state["config"] == session.run.config and state["config"]["network"]["kind"]
        assert state["network"]["cell"] == "lstm" and set(state["network"]["weights"]) == {
            "W_x",
            "W_h",
            "b",
            "W_hy",
            "b_y",
        }
        assert data["sequences"]["task"] == "echo" and data["sequences"]["length"] == 12
        assert data["train"] == [] and data["sequences"]["train"] == 32
        header, arrays = next_run_frame(socket, state["run"])
        figures = header["recurrent"]
        assert figures["cell"] == "lstm" and figures["steps"] == 12 and figures["hidden"] == 6
        assert len(figures["dh_norms"]) == 12 and len(figures["forget_gates"]) == 12
        expected = session.run.unrolled()
        np.testing.assert_allclose(figures["dh_norms"], expected["dh_norms"], rtol=1e-6)
        np.testing.assert_allclose(arrays["x"], expected["x"], rtol=1e-6)
        assert arrays["h"].shape == arrays["dh"].shape == arrays["c"].shape == (12, 6)
        step = (expected["h"].max() - expected["h"].min()) / 255
        np.testing.assert_allclose(arrays["h"], expected["h"], atol=step / 2 + 1e-9)
        assert arrays["W/W_h"].shape == (6, 24)
        assert header["train_loss"] == pytest.approx(session.run.metrics()["train_loss"], 1e-6)


def test_playing_a_recurrent_run_trains_it_and_streams_frames():
    with connect() as (socket, _session, _):
        state, _data = start(socket, recurrent(training={"lr": 0.05}))
        first, _ = next_run_frame(socket, state["run"])
        socket.send_json({"type": "play"})
        header = first
        while header["iteration"] < 20:
            header, _ = next_run_frame(socket, state["run"])
        socket.send_json({"type": "pause"})
        assert header["train_loss"] < first["train_loss"]
        assert header["recurrent"]["grad_norms"]["W_hh"] > 0


def test_the_phase_stream_runs_through_time():
    with connect() as (socket, session, _):
        start(socket, recurrent(data={"length": 5}))
        socket.send_json({"type": "step", "unit": "phase", "count": 12})
        phases = [next_phase(socket) for _ in range(12)]
        names = [(header["phase"], header.get("t")) for header, _ in phases]
        forward = [("forward", t) for t in range(5)]
        backward = [("backward", t) for t in range(4, -1, -1)]
        assert names == [*forward, ("loss", None), *backward, ("update", None)]
        header, arrays = phases[6]  # backward at the last step
        assert header["kind"] == "recurrent" and "focus/dh" in arrays and "partial" in arrays
        _update, arrays = phases[-1]
        assert arrays["dh_norms"].shape == (5,) and "grads/W_hh" in arrays
        assert session.run.iteration == 1


LOSS_PHASE_BUDGET = 8 * 1024


def raw_phases(socket, count: int) -> list[bytes]:
    """The next `count` phase messages as sent (frames before them acked and skipped)."""
    found = []
    while len(found) < count:
        message = socket.receive()
        if message.get("bytes") is None:
            continue
        if frames.decode(message["bytes"])[0]["type"] == "phase":
            found.append(message["bytes"])
        else:
            socket.send_json({"type": "ack"})
    return found


def lstm_on_text(sequences: int) -> dict:
    return recurrent(
        network={"cell": "lstm", "hidden": 16},
        data={"task": "text", "length": 30, "n_sequences": sequences},
    )


def test_the_loss_phase_sends_the_followed_sequence_exactly_and_stays_small():
    config = lstm_on_text(32)
    engine_run = build_run(config)
    expected = [engine_run.next_phase() for _ in range(31)]
    with connect() as (socket, session, _):
        start(socket, config)
        socket.send_json({"type": "step", "unit": "phase", "count": 31})  # forward, then loss
        sent = raw_phases(socket, 31)[-1]
    header, arrays = frames.decode(sent)
    loss = expected[-1]
    assert header["phase"] == "loss" and header["loss"] == loss["loss"]
    assert len(sent) <= LOSS_PHASE_BUDGET, len(sent)  # it was 254 KB with the batch's Yhat, Y
    assert sorted(arrays) == ["focus/step_losses", "focus/yhat", "step_losses"]
    for name, array in [
        ("step_losses", loss["step_losses"]),
        ("focus/step_losses", loss["focus"]["step_losses"]),
        ("focus/yhat", loss["focus"]["yhat"]),
    ]:
        assert arrays[name].dtype == np.float64 and arrays[name].tobytes() == array.tobytes()
    assert header["focus"]["loss"] == loss["focus"]["loss"]
    assert arrays["focus/yhat"].shape == (30, len(session.run.alphabet))


def test_no_phase_grows_with_the_number_of_sequences():
    shapes, sizes = {}, {}
    for sequences in (8, 256):
        with connect() as (socket, _session, _):
            start(socket, lstm_on_text(sequences))
            socket.send_json({"type": "step", "unit": "phase", "count": 62})  # one iteration
            sent = raw_phases(socket, 62)
        decoded = [frames.decode(message)[1] for message in sent]
        shapes[sequences] = [{name: a.shape for name, a in arrays.items()} for arrays in decoded]
        sizes[sequences] = max(len(message) for message in sent)
    assert shapes[8] == shapes[256]  # the same arrays: the followed sequence's, the weights'
    assert sizes[256] <= 64 * 1024  # the update phase: gradient, change and weights, f64


def test_inspect_a_recurrent_weight_lists_the_sum_over_time_with_its_check():
    with connect() as (socket, _, _greeting):
        start(socket, recurrent(data={"length": 7}))
        socket.send_json(
            {"type": "inspect", "kind": "recurrent_weight", "name": "W_hh", "i": 0, "j": 1}
        )
        reply = next_text(socket)
        assert reply["type"] == "inspect" and reply["kind"] == "recurrent_weight"
        assert [term["t"] for term in reply["terms"]] == list(range(7))
        assert sum(term["batch"] for term in reply["terms"]) == pytest.approx(reply["gradient"])
        assert reply["gradcheck"]["relative_error"] < 1e-6
        socket.send_json({"type": "inspect", "kind": "hidden_state", "t": 3, "j": 0})
        assert next_text(socket)["kind"] == "hidden_state"


def test_changing_the_network_kind_switches_the_run_and_back():
    with connect() as (socket, session, _):
        socket.send_json({"type": "change", "path": "network.kind", "value": "recurrent"})
        state = next_text(socket)
        assert state["config"]["network"]["kind"] == "recurrent"
        assert type(session.run).__name__ == "RecurrentRun"
        assert next_text(socket)["sequences"]["task"] == "echo"
        socket.send_json({"type": "change", "path": "training.truncate", "value": 3})
        assert next_text(socket)["config"]["training"]["truncate"] == 3
        socket.send_json({"type": "change", "path": "network.cell", "value": "lstm"})
        assert next_text(socket)["network"]["cell"] == "lstm"
        socket.send_json({"type": "change", "path": "network.kind", "value": "feed-forward"})
        assert next_text(socket)["config"]["network"]["layers"] == [2, 4, 2, 1]


def test_a_step_by_epoch_is_one_full_batch_iteration():
    with connect() as (socket, session, _):
        start(socket, recurrent())
        socket.send_json({"type": "step", "unit": "epoch", "count": 3})
        next_run_frame(socket, session.run_id)
        assert session.run.iteration == 3


def test_an_export_rebuilds_the_recurrent_network_exactly():
    with connect() as (socket, session, _):
        start(socket, recurrent(network={"cell": "lstm"}))
        socket.send_json({"type": "step", "unit": "iteration", "count": 4})
        next_run_frame(socket, session.run_id)
        socket.send_json({"type": "export"})
        exported = next_text(socket)
        params = session.run.network.params.copy()
        start(socket, exported["config"])
        np.testing.assert_array_equal(session.run.network.params, params)


BAD = {
    "10^6 steps": ({"data": {"length": 10**6}}, "data.length"),
    "a text over 64 characters": ({"data": {"task": "text", "text": "ab" * 20_000}}, "data.text"),
    "H = 0": ({"network": {"hidden": 0}}, "network.hidden"),
    "unknown cell": ({"network": {"cell": "gru"}}, "network.cell"),
    "a delay as long as the sequence": ({"data": {"length": 5, "delay": 5}}, "data.delay"),
    "a feed-forward field": ({"data": {"dataset": "circle"}}, "data.dataset"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_recurrent_input_names_the_field_and_leaves_the_session_as_it_was(name):
    given, field = BAD[name]
    with connect() as (socket, session, _):
        start(socket, recurrent())
        before = snapshot(session)
        sections = recurrent(**given)
        socket.send_json({"type": "config", **sections})
        reply = next_text(socket)
        assert reply["type"] == "error" and field in reply["message"], reply
        assert reply["field"] == field
        assert len(reply["message"]) < 300
        assert_unchanged(session, before)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("data.length", 10**6, "data.length"),
        ("network.hidden", 0, "network.hidden"),
        ("network.cell", "gru", "network.cell"),
        ("data.text", "x" * 30_000, "data.text"),
        ("training.truncate", -1, "training.truncate"),
    ],
)
def test_a_bad_change_names_the_field_and_changes_nothing(path, value, field):
    with connect() as (socket, session, _):
        start(socket, recurrent())
        assert_refused(socket, session, {"type": "change", "path": path, "value": value}, field)


def test_edit_sets_a_recurrent_weight_and_resends_state():
    with connect() as (socket, session, _):
        start(socket, recurrent(network={"cell": "lstm", "hidden": 4}))
        socket.send_json({"type": "edit", "param": "W_h", "i": 1, "j": 9, "value": 1.25})
        state = next_text(socket)
        assert state["type"] == "state" and state["network"]["weights"]["W_h"][1][9] == 1.25
        assert session.run.network.weights["W_h"][1, 9] == 1.25
        socket.send_json({"type": "edit", "param": "b_y", "j": 0, "value": -0.5})
        assert next_text(socket)["network"]["weights"]["b_y"] == [-0.5]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"param": "W", "layer": 0, "i": 0, "j": 0, "value": 1}, "param"),
        ({"param": "W_hh", "i": 0, "j": 0, "value": 1}, "param"),  # an rnn's, in an lstm
        ({"param": "W_h", "layer": 1, "i": 0, "j": 0, "value": 1}, "layer"),
        ({"param": "W_h", "i": 4, "j": 0, "value": 1}, "i"),
        ({"param": "W_h", "i": 0, "j": 16, "value": 1}, "j"),
        ({"param": "W_h", "i": 0, "j": 0, "value": 101}, "value"),
    ],
)
def test_a_bad_recurrent_edit_names_its_field_and_changes_nothing(message, field):
    with connect() as (socket, session, _):
        start(socket, recurrent(network={"cell": "lstm", "hidden": 4}))
        assert_refused(socket, session, {"type": "edit", **message}, field)


def test_a_feed_forward_edit_needs_its_layer_and_takes_no_recurrent_name():
    with connect() as (socket, session, _):
        before = session.run.network.params.copy()
        socket.send_json({"type": "edit", "param": "W", "i": 0, "j": 0, "value": 1})
        assert next_text(socket)["field"] == "layer"
        socket.send_json({"type": "edit", "param": "W_hh", "layer": 0, "i": 0, "j": 0, "value": 1})
        assert next_text(socket)["field"] == "param"
        assert np.array_equal(session.run.network.params, before)


def test_nan_and_a_10_mb_text_are_refused_before_they_reach_the_run():
    with connect() as (socket, session, _):
        start(socket, recurrent())
        before = snapshot(session)
        socket.send_text('{"type": "change", "path": "data.noise", "value": NaN}')
        assert "NaN" in next_text(socket)["message"]
        huge = json.dumps({"type": "change", "path": "data.text", "value": "x" * 10_000_000})
        socket.send_text(huge)
        assert next_text(socket)["type"] == "error"
        assert_unchanged(session, before)


@pytest.mark.parametrize(
    ("cell", "task"), [("rnn", "echo"), ("lstm", "echo"), ("lstm", "text"), ("lstm", "adding")]
)
def test_a_recurrent_frame_of_16_units_and_30_steps_stays_under_8_kib(cell, task):
    with connect() as (socket, session, _):
        config = recurrent(
            network={"cell": cell, "hidden": 16},
            data={"task": task, "length": 30, "text": "the quick brown fox jumps"},
            training={"optimizer": "adam", "lr": 0.01},
        )
        start(socket, config)
        socket.send_json({"type": "step", "unit": "iteration", "count": 3})
        next_run_frame(socket, session.run_id)
        header = {"run": session.run_id, "iteration": 3, **session.metrics(), "history": []}
        size = len(recurrent_frame(session.run, header))
        print(f"recurrent frame {cell} {task} H=16 T=30: {size} bytes")
        assert size < FRAME_BUDGET
