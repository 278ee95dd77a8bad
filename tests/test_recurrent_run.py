"""A recurrent run built from the run schema (network.kind = recurrent): its config, its facade
(engine/recurrent_run.py) and the changes a person makes to it (engine/changes.py)."""

import copy
import math

import numpy as np
import pytest

from engine import schema
from engine.changes import allowed_choices, apply_change, carried_parameters
from engine.checks import FieldError
from engine.lessons import LESSONS
from engine.lessons_recurrent import RECURRENT_LESSONS
from engine.recurrent_run import RecurrentRun, build_run
from engine.run import Run
from engine.schema import Limits

LIMITS = Limits()


def recurrent_config(**sections: dict) -> dict:
    config = schema.default_config("recurrent")
    for section, given in sections.items():
        config[section].update(given)
    return config


# ----- the schema --------------------------------------------------------------------------


def test_the_recurrent_options_are_schema_fields_of_the_recurrent_kind():
    kind = schema.field("network.kind")
    assert kind.values == ("feed-forward", "recurrent") and kind.default == "feed-forward"
    expected = {
        "network.cell": ("rnn", "lstm"),
        "data.task": ("echo", "adding", "sine", "parity", "text"),
    }
    for path, values in expected.items():
        assert schema.field(path).values == values
        assert schema.field(path).kinds == ("recurrent",)
    assert schema.field("network.hidden").range == (1, Limits().max_neurons, "[]")
    assert schema.field("data.length").range == (2, 60, "[]")
    assert schema.field("training.truncate").live
    for path in ("data.dataset", "network.layers", "training.batch_size", "training.dropout"):
        assert schema.field(path).kinds == ("feed-forward",)
        assert schema.field(path).when == ("network.kind", ("feed-forward",))
    for path in ("training.lr", "training.clip", "network.seed", "data.noise"):
        assert schema.field(path).kinds == ("feed-forward", "recurrent")


def test_default_configs_of_each_kind_hold_only_their_own_fields():
    feed_forward, recurrent = schema.default_config(), schema.default_config("recurrent")
    assert feed_forward["network"]["kind"] == "feed-forward" and "task" not in feed_forward["data"]
    assert recurrent["network"]["kind"] == "recurrent" and "dataset" not in recurrent["data"]
    assert "truncate" in recurrent["training"] and "batch_size" not in recurrent["training"]
    assert build_run(recurrent).config == recurrent  # already in normal form
    assert isinstance(build_run(feed_forward), Run)


def test_a_field_of_the_other_kind_is_refused_by_name():
    with pytest.raises(FieldError) as error:
        build_run(recurrent_config(data={"dataset": "circle"}))
    assert "dataset" in str(error.value)
    config = schema.default_config()
    config["data"]["task"] = "echo"
    with pytest.raises(FieldError, match="task"):
        build_run(config)


# ----- bad input: a clear error naming the field --------------------------------------------


@pytest.mark.parametrize(
    ("section", "given", "field"),
    [
        ("data", {"length": 10**6}, "data.length"),
        ("data", {"task": "text", "text": "ab" * 5_000_000}, "data.text"),
        ("data", {"noise": math.nan}, "data.noise"),
        ("training", {"lr": math.nan}, "training.lr"),
        ("network", {"hidden": 0}, "network.hidden"),
        ("network", {"cell": "gru"}, "network.cell"),
        ("network", {"cell": "lstm", "activation": "relu"}, "network.activation"),
        ("data", {"delay": 10, "length": 10}, "data.delay"),
        ("training", {"truncate": 10**6}, "training.truncate"),
        ("network", {"forget_bias": 1.0}, "network.forget_bias"),  # an rnn has no forget gate
    ],
)
def test_bad_recurrent_input_names_the_field(section, given, field):
    with pytest.raises(FieldError) as error:
        build_run(recurrent_config(**{section: given}))
    assert error.value.field == field
    assert len(str(error.value)) < 200  # a 10 MB string is not echoed back


# ----- the facade ---------------------------------------------------------------------------


def test_training_lowers_the_loss_and_counts_full_batch_epochs():
    run = build_run(recurrent_config())
    start = run.metrics()
    status = run.train(30)
    after = run.metrics()
    assert status.iterations_run == 30 and not status.diverged
    assert after["iteration"] == after["epoch"] == 30
    assert after["train_loss"] < start["train_loss"] / 2
    assert 0 <= after["test_accuracy"] <= 1


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_stepping_through_the_phases_is_one_training_step(cell):
    config = recurrent_config(network={"cell": cell}, training={"clip": 0.5, "truncate": 4})
    stepped, trained = build_run(config), build_run(config)
    T = config["data"]["length"]
    names = [stepped.next_phase() for _ in range(2 * T + 2)]
    kinds = [phase["phase"] for phase in names]
    assert kinds == ["forward"] * T + ["loss"] + ["backward"] * T + ["update"]
    assert [phase["t"] for phase in names if phase["phase"] == "backward"] == list(
        range(T - 1, -1, -1)
    )
    trained.train(1)
    assert np.array_equal(stepped.network.params, trained.network.params)
    assert stepped.iteration == trained.iteration == 1


def test_unrolled_figures_are_the_engines_per_step_values():
    run = build_run(recurrent_config(network={"cell": "lstm", "hidden": 5}, data={"length": 7}))
    figures = run.unrolled()
    assert figures["h"].shape == figures["dh"].shape == figures["c"].shape == (7, 5)
    assert figures["dh_norms"].shape == figures["forget_gates"].shape == (7,)
    assert np.all(figures["dh_norms"] >= 0) and np.all(figures["forget_gates"] > 0)


def test_inspect_lists_the_sum_over_time_with_its_gradient_check():
    run = build_run(recurrent_config(data={"length": 6}))
    result = run.inspect({"kind": "recurrent_weight", "name": "W_hh", "i": 1, "j": 2})
    assert len(result["terms"]) == 6
    assert math.isclose(sum(term["batch"] for term in result["terms"]), result["gradient"])
    assert result["gradcheck"]["relative_error"] < 1e-6
    state = run.inspect({"kind": "hidden_state", "t": 2, "j": 0})
    assert state["kind"] == "hidden_state" and state["t"] == 2
    with pytest.raises(FieldError) as error:
        run.inspect({"kind": "recurrent_weight", "name": "W_xx", "i": 0, "j": 0})
    assert error.value.field == "target.name"


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_edit_sets_one_entry_of_a_named_parameter(cell):
    run = build_run(recurrent_config(network={"cell": cell, "hidden": 3}))
    name = run.network.recurrent_name
    before = run.network.params.copy()
    run.edit(name, None, 2, 1, 0.75)
    assert run.network.weights[name][2, 1] == 0.75
    run.edit("b_y", None, None, 0, -2.0)  # a bias: j alone
    assert run.network.weights["b_y"][0] == -2.0
    changed = np.flatnonzero(run.network.params != before)
    assert len(changed) == 2  # nothing else moved
    result = run.inspect({"kind": "recurrent_weight", "name": name, "i": 2, "j": 1})
    assert result["value"] == 0.75  # the chain rule is explained at the edited value


@pytest.mark.parametrize(
    ("param", "layer", "i", "j", "value", "field"),
    [
        ("W", None, 0, 0, 1.0, "param"),  # a feed-forward name
        ("W_x", None, 0, 0, 1.0, "param"),  # an lstm's, in an rnn
        ("W_hh", 0, 0, 0, 1.0, "layer"),
        ("W_hh", None, 3, 0, 1.0, "i"),
        ("W_hh", None, None, 0, 1.0, "i"),
        ("b_h", None, None, 3, 1.0, "j"),
        ("W_hh", None, 0, 0, 1e9, "value"),
        ("W_hh", None, 0, 0, math.nan, "value"),
    ],
)
def test_a_bad_edit_names_its_field_and_changes_nothing(param, layer, i, j, value, field):
    run = build_run(recurrent_config(network={"cell": "rnn", "hidden": 3}))
    before = run.network.params.copy()
    with pytest.raises(FieldError) as error:
        run.edit(param, layer, i, j, value)
    assert error.value.field == field
    assert np.array_equal(run.network.params, before)


def test_live_options_clone_and_reset():
    run = build_run(recurrent_config())
    run.train(3)
    run.set({"truncate": 2, "clip": 1.0})
    assert run.config["training"]["truncate"] == 2 and run.trainer.options["truncate"] == 2
    with pytest.raises(FieldError) as error:
        run.set({"truncate": -1})
    assert error.value.field == "training.truncate"
    assert run.config["training"]["truncate"] == 2  # all or nothing
    twin = run.clone({"lr": 0.1})
    assert np.array_equal(twin.network.params, run.network.params)
    twin.train(2)
    assert not np.array_equal(twin.network.params, run.network.params)
    before = build_run(recurrent_config()).network.params.copy()
    run.reset()
    assert run.iteration == 0 and np.array_equal(run.network.params, before)


# ----- changes ------------------------------------------------------------------------------


def test_switching_kind_keeps_the_shared_fields_and_comes_back():
    config = schema.default_config()
    config["training"]["lr"] = 0.2
    recurrent = apply_change(config, "network.kind", "recurrent", LIMITS)
    assert isinstance(build_run(recurrent), RecurrentRun)
    assert recurrent["training"]["lr"] == 0.2 and recurrent["data"]["task"] == "echo"
    back = apply_change(recurrent, "network.kind", "feed-forward", LIMITS)
    assert back == {**config, "training": {**config["training"], "lr": 0.2}}


def test_dependent_fields_follow_a_change():
    config = recurrent_config(network={"activation": "relu"}, data={"delay": 8, "length": 12})
    lstm = apply_change(config, "network.cell", "lstm", LIMITS)
    assert lstm["network"]["activation"] == "tanh"
    shorter = apply_change(config, "data.length", 5, LIMITS)
    assert shorter["data"]["delay"] == 4
    allowed = allowed_choices(config, LIMITS)
    assert allowed["network.activation"] == ["tanh", "relu"]
    assert allowed["network.kind"] == ["feed-forward", "recurrent"]
    assert "network.layers" not in allowed and "network.output" not in allowed


def test_weights_carry_over_a_change_of_the_data_with_the_same_shapes():
    config = recurrent_config()
    run = build_run(config)
    run.train(2)
    longer = apply_change(config, "data.length", 20, LIMITS)
    carried = carried_parameters(config, run.network.to_spec(), longer)
    assert carried is not None
    rebuilt = build_run(longer)
    rebuilt.set_parameters(carried)
    assert np.array_equal(rebuilt.network.params, run.network.params)
    other_task = apply_change(config, "data.task", "sine", LIMITS)
    assert carried_parameters(config, run.network.to_spec(), other_task) is None


def test_the_recurrent_lessons_are_in_the_lessons_panel_and_build():
    assert LESSONS[-len(RECURRENT_LESSONS) :] == RECURRENT_LESSONS
    for lesson in RECURRENT_LESSONS:
        run = build_run(copy.deepcopy(lesson["config"]))
        assert run.config == lesson["config"]


def test_a_frame_s_metrics_and_unrolled_view_share_one_forward_pass_and_let_it_go():
    run = build_run(recurrent_config(network={"cell": "lstm", "hidden": 4}, data={"length": 5}))
    calls = []
    forward = run.network.forward_trace
    run.network.forward_trace = lambda X, *rest: calls.append(X.shape) or forward(X, *rest)
    metrics, figures = run.metrics(), run.unrolled()
    train_shape = run.train_sequences[0].shape
    assert calls.count(train_shape) == 1  # the test sequences' pass is the other one
    assert run._held_trace is None  # nothing batch-sized held between frames
    fresh = build_run(recurrent_config(network={"cell": "lstm", "hidden": 4}, data={"length": 5}))
    assert metrics == fresh.metrics()
    assert np.array_equal(figures["h"], fresh.unrolled()["h"])
    run.metrics()  # held again for the next frame ...
    run.train(1)  # ... whose weights then change: a new pass, not the held one
    calls.clear()
    fresh.train(1)
    assert run.metrics() == fresh.metrics()  # the new weights' figures
    assert calls.count(train_shape) == 1 and calls.count(run.test_sequences[0].shape) == 1
