"""Rooms without sockets: codes, tokens, names, the leaderboard's ranking, exact run snapshots."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from engine.run import Limits, Run, default_config
from server import rooms
from server.run_snapshot import dump_run, load_run


def test_codes_are_short_readable_and_drawn_from_enough_codes():
    codes = {rooms.new_code() for _ in range(2000)}
    # 31**6 codes: 2,000 draws repeat one with odds of ~0.2 %, two with ~3e-6, three ~5e-9;
    # a space of a million codes would repeat about two, ten thousand codes about 180.
    assert len(codes) >= 1998
    for code in codes:
        assert re.fullmatch(f"[{rooms.CODE_ALPHABET}]{{6}}", code)
        assert not set(code) & set("0O1IL")
    assert len(rooms.CODE_ALPHABET) ** rooms.CODE_LENGTH > 8e8


def test_a_code_is_read_as_typed_and_a_wrong_one_is_named():
    assert rooms.normalise_code(" k7q-m4x ") == "K7QM4X"
    assert rooms.normalise_code("K7Q M4X") == "K7QM4X"
    assert rooms.spoken("K7QM4X") == "K7Q-M4X"
    for bad in ("K7QM4", "K7QM4XX", "K7QM40", "K7QMOX", "K7QM1X", 123):
        with pytest.raises(ValueError, match=r"^code: "):
            rooms.normalise_code(bad)


def test_tokens_are_secret_and_stored_only_as_digests():
    token = rooms.new_token()
    assert len(token) >= 43  # 32 bytes in URL-safe base64: 256 bits, at least 128 asked
    assert token != rooms.new_token()
    digest = rooms.token_digest(token)
    assert token not in digest
    assert rooms.token_matches(token, digest)
    assert not rooms.token_matches(token[:-1] + ("A" if token[-1] != "A" else "B"), digest)
    assert not rooms.token_matches(None, digest)
    assert not rooms.token_matches("x" * 1000, digest)


def test_names_are_limited_cleaned_and_kept_as_text():
    assert rooms.clean_name("  Ada \t Lovelace ") == "Ada Lovelace"
    assert rooms.clean_name("<b>Bo</b>") == "<b>Bo</b>"  # text: the page never renders it as HTML
    assert rooms.clean_name("Eve\u202egnp.exe") == "Evegnp.exe"  # no bidi override
    assert rooms.clean_name("x" * rooms.MAX_NAME_CHARS) == "x" * rooms.MAX_NAME_CHARS
    with pytest.raises(ValueError, match=r"^name: at most 24 characters, got 25"):
        rooms.clean_name("x" * 25)
    for bad in ("", "   ", "\u0000\u200b"):
        with pytest.raises(ValueError, match=r"^name: "):
            rooms.clean_name(bad)
    with pytest.raises(ValueError, match=r"^name: must be a string"):
        rooms.clean_name(5)


DATA = default_config()["data"]


def entry(member, loss, accuracy, neurons, iteration=100, name=None):
    return rooms.Entry(member, name or member, loss, accuracy, neurons, iteration)


def test_a_challenge_checks_its_goal_time_and_threshold():
    challenge = rooms.Challenge.start("lowest_test_loss", 120, DATA, now=1000.0, accuracy=None)
    digest = rooms.data_digest(DATA)
    assert challenge.accepts(digest, 1060.0)
    assert not challenge.accepts(digest, 1121.0)  # too late
    assert not challenge.accepts(rooms.data_digest({**DATA, "noise": 10}), 1060.0)
    assert rooms.data_digest(dict(reversed(DATA.items()))) == digest  # key order does not count
    assert challenge.to_message(1100.0)["seconds_left"] == 20.0
    with pytest.raises(ValueError, match=r"^goal: must be one of"):
        rooms.Challenge.start("most_fun", 120, DATA, 0.0, None)
    with pytest.raises(ValueError, match=r"^seconds: must be in \[10, 3600\], got 5"):
        rooms.Challenge.start("lowest_test_loss", 5, DATA, 0.0, None)
    with pytest.raises(ValueError, match=r"^accuracy: fewest_neurons needs one"):
        rooms.Challenge.start("fewest_neurons", 60, DATA, 0.0, None)
    with pytest.raises(ValueError, match=r"^accuracy: only the fewest_neurons goal"):
        rooms.Challenge.start("lowest_test_loss", 60, DATA, 0.0, 0.9)


def test_lowest_loss_board_keeps_each_students_best_and_ranks_them():
    board = rooms.Leaderboard(rooms.Challenge.start("lowest_test_loss", 60, DATA, 0.0, None))
    assert board.report(entry("a", 0.30, 0.9, 6))
    assert board.report(entry("b", 0.20, 0.9, 6))
    assert not board.report(entry("a", 0.40, 0.9, 6, iteration=200))  # worse: best kept
    assert board.report(entry("a", 0.10, 0.9, 6, iteration=300))
    board.report(entry("c", None, None, 6))  # diverged: listed, not ranked
    rows = board.rows()
    assert [(r["member"], r["rank"]) for r in rows] == [("a", 1), ("b", 2), ("c", None)]
    assert rows[0]["test_loss"] == 0.10 and rows[0]["iteration"] == 300


def test_fewest_neurons_board_ranks_only_networks_over_the_threshold():
    challenge = rooms.Challenge.start("fewest_neurons", 60, DATA, 0.0, accuracy=0.95)
    board = rooms.Leaderboard(challenge)
    board.report(entry("big", 0.05, 0.99, 12))
    board.report(entry("small", 0.09, 0.96, 3))
    board.report(entry("tiny", 0.30, 0.80, 2))  # below 95 %: waits
    assert [(r["member"], r["rank"]) for r in board.rows()] == [
        ("small", 1),
        ("big", 2),
        ("tiny", None),
    ]
    assert board.report(entry("tiny", 0.10, 0.97, 2, iteration=500))
    assert board.rows()[0]["member"] == "tiny"


def test_entries_take_the_servers_metrics():
    run = Run(default_config())
    run.train(20)
    metrics = run.metrics()
    made = rooms.entry_from_metrics("m", "Ada", metrics, rooms.hidden_neurons([2, 4, 2, 1]))
    assert made.neurons == 6
    assert made.test_loss == metrics["test_loss"] and made.iteration == 20
    overflowed = {**metrics, "test_loss": math.inf}
    assert rooms.entry_from_metrics("m", "A", overflowed, 6).test_loss is None


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
def test_a_snapshot_continues_bit_for_bit_like_the_run_it_was_taken_from(optimizer):
    config = default_config()
    config["training"].update(optimizer=optimizer, dropout=0.2, batch_size=7)
    teacher = Run(config)
    teacher.train(37)  # mid-epoch, with optimizer state and dropout's random stream in use
    fork = load_run(dump_run(teacher), Limits())
    assert fork.iteration == teacher.iteration and fork.epoch == teacher.epoch
    teacher.train(50)
    fork.train(50)
    for mine, theirs in zip(fork.network.weights, teacher.network.weights, strict=True):
        assert np.array_equal(mine, theirs)  # exactly, not approximately
    assert fork.metrics()["train_loss"] == teacher.metrics()["train_loss"]


def test_a_snapshot_is_independent_and_checked_against_the_limits():
    teacher = Run(default_config())
    teacher.train(5)
    data = dump_run(teacher)
    fork = load_run(data, Limits())
    fork.network.weights[0][0, 0] = 42.0
    assert teacher.network.weights[0][0, 0] != 42.0
    with pytest.raises(ValueError, match="network"):
        load_run(data, Limits(max_neurons=2))  # a server with smaller limits refuses it
