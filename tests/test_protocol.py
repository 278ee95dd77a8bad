"""Parsing of client messages: every valid type, and each kind of malformed or hostile input."""

import json
from pathlib import Path

import pytest

from engine import schema
from server import protocol
from server.protocol import ProtocolError, parse_message

MAX_BYTES, MAX_DEPTH = 64 * 1024, 8
NOT_AN_INTEGER = "training.batch_size: Input should be a valid integer"


def parse(document: object):
    text = document if isinstance(document, str) else json.dumps(document)
    return parse_message(text, MAX_BYTES, MAX_DEPTH)


def refused(document: object) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse(document)
    return str(caught.value)


@pytest.mark.parametrize(
    "document",
    [
        {"type": "config", "network": {"layers": [2, 3, 1]}, "training": {}, "data": {}},
        {"type": "config"},
        {"type": "set", "lr": 0.1, "optimizer": "adam", "speed": 5, "fps": 60, "frozen": [0]},
        {"type": "set", "speed": "max"},
        {"type": "play"},
        {"type": "pause"},
        {"type": "reset"},
        {"type": "reset", "seed": 7},
        {"type": "step", "unit": "phase"},
        {"type": "step", "unit": "epoch", "count": 100},
        {"type": "inspect", "kind": "weight", "layer": 0, "i": 1, "j": 2},
        {"type": "inspect", "kind": "neuron", "layer": 1, "j": 0},
        {"type": "focus", "sample": 3},
        {"type": "edit", "param": "W", "layer": 0, "i": 0, "j": 1, "value": -1.5},
        {"type": "edit", "param": "b", "layer": 0, "j": 1, "value": 2},
        {"type": "points", "points": [[0.5, -1, 1], [2, 3.5, 0]]},
        {"type": "compare", "variants": [{"label": "sgd"}, {"label": "adam", "optimizer": "adam"}]},
        {"type": "compare", "variants": []},
        {"type": "ack"},
    ],
)
def test_every_message_type_parses(document):
    message = parse(document)
    assert message.type == document["type"]


def test_set_keeps_only_the_training_options_sent():
    message = parse({"type": "set", "lr": 0.5, "batch_size": 4, "speed": 10})
    assert message.training() == {"lr": 0.5, "batch_size": 4}
    assert message.speed == 10


def test_variant_training_excludes_its_label():
    message = parse({"type": "compare", "variants": [{"label": "a"}, {"label": "b", "lr": 1}]})
    assert [variant.training() for variant in message.variants] == [{}, {"lr": 1.0}]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('"ack"', "JSON object"),
        ('{"type": "ack"} trailing', "not valid JSON"),
        ('{"type": "set", "lr": NaN}', "NaN is not a number"),
        ('{"type": "set", "lr": Infinity}', "Infinity is not a number"),
        ('{"type": "set", "lr": -Infinity}', "-Infinity is not a number"),
        ('{"type": "set", "lr": 1e999}', "out of range"),
        ("[" * 60_000, "nested too deeply"),
        ('{"type": "focus", "sample": ' + "9" * 5000 + "}", "not valid JSON"),
        ('{"type": "points", "points": ' + "[" * 20 + "]" * 20 + "}", "deeper than 8"),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else None,
)
def test_malformed_json_is_refused(raw, expected):
    assert expected in refused(raw)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, "unknown message type None"),
        ({"type": "explode"}, "unknown message type 'explode'"),
        ({"type": 3}, "unknown message type 3"),
        ({"type": "play", "now": True}, "play.now: Extra inputs are not permitted"),
        ({"type": "set", "lr": "0.1"}, "training.lr: Input should be a valid number"),
        ({"type": "set", "batch_size": 2.0}, NOT_AN_INTEGER),
        ({"type": "set", "batch_size": True}, NOT_AN_INTEGER),
        ({"type": "set", "speed": 0}, "speed"),
        ({"type": "set", "speed": 1001}, "speed"),
        ({"type": "set", "speed": "fast"}, "speed"),
        ({"type": "set", "fps": 61}, "set.fps: Input should be less than or equal to 60"),
        ({"type": "set", "fps": 0}, "set.fps: Input should be greater than or equal to 1"),
        ({"type": "step", "unit": "year"}, "step.unit"),
        ({"type": "step", "unit": "phase", "count": 101}, "step.count"),
        ({"type": "inspect", "kind": "weight", "layer": -1, "j": 0}, "inspect.layer"),
        ({"type": "edit", "param": "Q", "layer": 0, "j": 0, "value": 1}, "edit.param"),
        ({"type": "edit", "param": "W", "layer": 0, "j": 0}, "edit.value: Field required"),
        ({"type": "focus", "sample": -2}, "focus.sample"),
        ({"type": "reset", "seed": -1}, "network.seed: Input should be greater than or equal to 0"),
        ({"type": "points", "points": [[0, 0, "a"]]}, "points[0][2]: Input should be"),
        ({"type": "points", "points": {"x": 1}}, "points: Input should be a valid list"),
        ({"type": "compare", "variants": [{"label": "alone"}]}, "give 2 to 4 variants"),
        ({"type": "compare", "variants": [{"label": str(n)} for n in range(5)]}, "got 5"),
        ({"type": "compare", "variants": [{"label": ""}, {"label": "b"}]}, "variants[0].label"),
        (
            {"type": "compare", "variants": [{"label": "a"}, {"label": "b", "x": 1}]},
            "variants[1].x",
        ),
        ({"type": "config", "network": []}, "network: Input should be a valid dictionary"),
    ],
)
def test_invalid_fields_are_named(document, expected):
    assert expected in refused(document)


def test_oversized_message_is_refused_before_parsing():
    big = json.dumps({"type": "points", "points": [[1.0, 1.0, 1]] * 6000})
    assert len(big) > MAX_BYTES
    assert f"larger than the limit of {MAX_BYTES}" in refused(big)


def test_only_a_config_may_be_bigger_than_the_message_limit():
    network = {"layers": [2, 1], "activation": "x" * MAX_BYTES}
    config = json.dumps({"type": "config", "network": network})
    points = json.dumps({"type": "points", "points": [[1.0, 1.0, 1]] * 6000})
    assert len(points) > MAX_BYTES and len(config) < 2 * MAX_BYTES
    assert parse_message(config, MAX_BYTES, MAX_DEPTH, 2 * MAX_BYTES).type == "config"
    with pytest.raises(ProtocolError, match=f"larger than the limit of {MAX_BYTES}"):
        parse_message(points, MAX_BYTES, MAX_DEPTH, 2 * MAX_BYTES)
    with pytest.raises(ProtocolError, match=f"limit of {MAX_BYTES} for a config"):
        parse_message(config, MAX_BYTES // 2, MAX_DEPTH, MAX_BYTES)


def test_binary_message_is_refused():
    with pytest.raises(ProtocolError, match="binary messages are not accepted"):
        parse_message(b'{"type": "ack"}', MAX_BYTES, MAX_DEPTH)


def test_hello_schema_is_the_engines_one_table_of_options():
    from engine.features import FEATURES
    from engine.optimizers import OPTIMIZERS

    entries = {entry["path"]: entry for entry in schema.describe()}
    assert {"data.dataset", "network.layers", "training.lr", "training.frozen"} <= set(entries)
    optimizer = entries["training.optimizer"]
    assert [choice["value"] for choice in optimizer["choices"]] == list(OPTIMIZERS)
    assert optimizer["default"] == "sgd" and optimizer["live"] is True
    features = entries["data.features"]["choices"]
    assert {"value": "x1", "label": FEATURES["x1"].label} in features
    assert entries["training.momentum"]["when"] == {
        "path": "training.optimizer",
        "values": ["momentum"],
    }
    assert entries["network.weights"]["url"] is False
    json.dumps(list(entries.values()))  # JSON-able as sent


def test_hello_challenge_options_are_what_a_challenge_message_accepts():
    from server.room_messages import challenge_options

    options = challenge_options()
    low, high = options["seconds"]["low"], options["seconds"]["high"]
    for goal in options["goals"]:
        for seconds in (low, options["seconds"]["default"], high):
            message = {"type": "challenge", "goal": goal["value"], "seconds": seconds}
            assert parse_message(json.dumps(message), MAX_BYTES, MAX_DEPTH).goal == goal["value"]
    for refused in ({"goal": "most_epochs"}, {"goal": None, "seconds": high + 1}):
        with pytest.raises(ProtocolError):
            parse_message(json.dumps({"type": "challenge", **refused}), MAX_BYTES, MAX_DEPTH)


def test_hello_lessons_are_the_engines_and_each_is_a_valid_run():
    from engine.config import validate_config
    from engine.schema import Limits

    lessons = protocol.lessons()
    assert lessons and len({lesson["id"] for lesson in lessons}) == len(lessons)
    for lesson in lessons:
        validate_config(lesson["config"], Limits())  # raises, naming the field, if not
        assert lesson["title"] and lesson["config"]


def test_the_protocol_doc_has_a_row_for_every_client_message():
    """docs/protocol.md documents every message the server parses, room messages included: a
    table row whose first cell names its type."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
    first_cells = [line.split("|")[1] for line in doc.splitlines() if line.startswith("| `")]
    for kind in protocol.MESSAGE_TYPES:
        assert any(f"`{kind}`" in cell for cell in first_cells), kind
    assert set(protocol.ROOM_MESSAGE_TYPES) <= set(protocol.MESSAGE_TYPES)
