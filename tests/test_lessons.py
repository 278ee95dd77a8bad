"""Every lesson preset is valid, and every claim its text makes holds on most seeds.

The claims themselves live in tests/lesson_claims.py; scripts/lesson_fractions.py runs them over
20 network seeds × 5 data seeds. Here each runs over SEED_PAIRS and must hold on ≥ 80 % of them.
"""

import copy
import json
import re

import pytest

from engine.lessons import DIVERGING_LR, GOOD_LR, LARGE_LR, LESSONS, SMALL_LR, get_lesson
from engine.lessons_recurrent import RECURRENT_LESSONS
from engine.network import Network
from engine.recurrent_run import build_run
from engine.run import Run
from tests.lesson_claims import CLAIMS, PASS_FRACTION
from tests.published_worked_example import GRADIENT_W5

# Ten network seeds, each with one of five data seeds: every data seed twice.
SEED_PAIRS = [(network_seed, network_seed % 5) for network_seed in range(10)]

LESSON_KEYS = {"id", "title", "summary", "text", "watch", "try", "config", "view"}


# ------------------------------------------------------------------------ the presets


def test_lessons_are_complete_json_with_unique_slugs():
    assert len(LESSONS) == 15 + len(RECURRENT_LESSONS)
    ids = [lesson["id"] for lesson in LESSONS]
    assert len(set(ids)) == len(ids)
    for lesson in LESSONS:
        assert set(lesson) >= LESSON_KEYS, lesson["id"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", lesson["id"])
        # The panel's button is data-testid="lesson-<id>", next to lesson-title, lesson-text ...
        assert lesson["id"] not in {"title", "text", "watch", "try", "list", "detail"}
        for key in ("title", "summary", "text", "watch", "try"):
            assert isinstance(lesson[key], str) and lesson[key].strip(), (lesson["id"], key)
        assert set(lesson["config"]) == {"network", "training", "data"}
    assert json.loads(json.dumps(LESSONS)) == LESSONS


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson["id"])
def test_every_preset_builds_a_run_and_every_compare_variant_is_valid(lesson):
    run = build_run(copy.deepcopy(lesson["config"]))
    assert run.config == lesson["config"]  # complete, and already in Run's normal form
    for variant in lesson["view"].get("compare", []):
        options = {key: value for key, value in variant.items() if key != "label"}
        assert isinstance(variant["label"], str) and variant["label"]
        run.clone(training=options)
    assert 2 <= len(lesson["view"].get("compare", [None, None])) <= 4


def test_get_lesson_returns_a_copy_and_names_an_unknown_id():
    lesson = get_lesson("chain-rule")
    lesson["config"]["training"]["lr"] = 99
    assert get_lesson("chain-rule")["config"]["training"]["lr"] == 0.5
    with pytest.raises(ValueError, match="lesson: unknown id 'nope'"):
        get_lesson("nope")


# ------------------------------------------------------------------------ the claims


def test_every_lesson_makes_at_least_one_checked_claim():
    lessons_with_claims = {name.split(":")[0] for name in CLAIMS}
    # The recurrent lessons' claims are tests/test_lessons_recurrent.py's.
    recurrent = {lesson["id"] for lesson in RECURRENT_LESSONS}
    assert lessons_with_claims == {lesson["id"] for lesson in LESSONS} - recurrent


@pytest.mark.parametrize("name", list(CLAIMS))
def test_claim_holds_on_most_seed_pairs(name):
    outcomes = [CLAIMS[name](network_seed, data_seed) for network_seed, data_seed in SEED_PAIRS]
    fraction = sum(outcome.held for outcome in outcomes) / len(outcomes)
    failed = [
        f"{pair}: {outcome.figure}"
        for pair, outcome in zip(SEED_PAIRS, outcomes, strict=True)
        if not outcome.held
    ]
    assert fraction >= PASS_FRACTION, (
        f"held on {fraction:.0%} of {len(SEED_PAIRS)} (network, data) seed pairs; "
        f"failed on {'; '.join(failed)}"
    )


def test_chain_rule_inspector_gives_the_articles_terms_for_w5_and_w1():
    run = Run(get_lesson("chain-rule")["config"])
    w5 = run.inspect({"kind": "weight", "layer": 1, "i": 0, "j": 0})
    assert w5["focus"]["a_i"] == pytest.approx(0.593269992, abs=1e-9)  # out_h1
    assert w5["focus"]["delta_j"] == pytest.approx(0.138498562, abs=1e-9)  # δ_o1
    assert w5["gradient"] == pytest.approx(GRADIENT_W5, abs=1e-9)
    w1 = run.inspect({"kind": "weight", "layer": 0, "i": 0, "j": 0})
    assert w1["gradient"] == pytest.approx(0.000438568, abs=1e-9)
    assert w1["gradcheck"]["relative_error"] < 1e-6


def test_the_texts_quote_the_figures_the_claims_check():
    rates = get_lesson("learning-rate")
    assert all(f"lr {rate}" in rates["watch"] for rate in ("0.00001", "0.1", "0.9"))
    assert [variant["lr"] for variant in rates["view"]["compare"]] == [SMALL_LR, GOOD_LR, LARGE_LR]
    assert f"learning rate to {DIVERGING_LR:g}" in rates["try"]
    assert "five seconds" in get_lesson("loss-functions")["try"]
    assert "init scale to 1" in get_lesson("exploding-gradients")["try"]
    assert "Hamey (1998)" in get_lesson("flat-regions")["text"]
    assert "three seconds" in get_lesson("dropout")["try"]
    for layers in get_lesson("backprop-cost")["view"]["cost_table"]:
        Network.from_spec({"layers": layers})
