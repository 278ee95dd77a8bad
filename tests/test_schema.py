"""The run schema: one entry per option, every other description of a run derived from it."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest

from engine import schema
from engine.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from engine.cells import CELLS
from engine.changes import OUTPUT_WIDTHS, allowed_choices, apply_change
from engine.checks import FieldError
from engine.config import validate_config
from engine.datasets import DATASETS
from engine.inits import INITS
from engine.optimizers import OPTIMIZERS
from engine.options_doc import HEADER, markdown_table
from engine.schema import Limits, default_config

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_options_doc_is_the_schemas_table():
    # Regenerate with: python -m engine.options_doc > docs/options.md
    assert (ROOT / "docs" / "options.md").read_text() == HEADER + markdown_table()


def test_each_default_passes_its_own_check_and_the_defaults_are_a_valid_run():
    for entry in schema.fields():
        if entry.kind in schema.CHECKED_KINDS:
            assert entry.check(entry.default) == entry.default, entry.path
    assert validate_config(default_config(), Limits()) == default_config()


def test_choices_are_the_engines_registries_not_a_copy():
    assert schema.field("data.dataset").values == tuple(DATASETS)
    assert schema.field("training.optimizer").values == tuple(OPTIMIZERS)
    assert schema.field("network.init").values == INITS
    assert schema.field("network.activation").values == HIDDEN_ACTIVATIONS
    # Which optimizer shows which hyperparameter is read off the optimizers themselves.
    assert schema.field("training.eps").when == ("training.optimizer", ("rmsprop", "adam"))


def test_limits_bound_the_ranges_that_depend_on_them():
    small = Limits(max_hidden_layers=2, max_neurons=5, max_points=300)
    layers = schema.field("network.layers", small)
    assert layers.range.high == 5 and layers.length == (2, 4)
    assert schema.field("data.n_points", small).range.high == 300


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("training.lr", 0, r"^training\.lr: must be a finite number in \(0, 10\], got 0$"),
        ("training.lr", True, r"got True"),
        ("data.n_points", 2.5, r"^data\.n_points: must be an integer in \[1, 5000\]"),
        ("network.init", "glorot", r"^network\.init: must be one of xavier, he"),
        ("network.bias", 1, r"^network\.bias: must be true or false, got 1$"),
        ("data.features", ["x1", "x1"], r"^data\.features: each at most once"),
        ("network.layers", [2], r"^network\.layers: must be a list of 2 to 10 sizes"),
        ("network.activation", "x" * 5000, r"got 'xxxxx.{0,40}$"),  # never the whole input
    ],
)
def test_one_error_format_for_every_kind(kind, value, message):
    with pytest.raises(FieldError, match=message) as error:
        schema.field(kind).check(value)
    assert error.value.field == kind


def test_a_change_brings_the_fields_that_depend_on_it():
    config = validate_config({}, Limits())
    three = apply_change(config, "data.dataset", "three_gauss", Limits())
    assert three["network"]["layers"][-1] == 3
    assert (three["network"]["output"], three["network"]["loss"]) == ("softmax", "ce")
    wider = apply_change(config, "data.features", ["x1", "x2", "x1x2"], Limits())
    assert wider["network"]["layers"][0] == 3
    frozen = apply_change(config, "training.frozen", [2], Limits())
    shorter = apply_change(frozen, "network.layers", [2, 3, 1], Limits())
    assert shorter["training"]["frozen"] == []
    linear = apply_change(config, "network.output", "linear", Limits())
    assert linear["network"]["loss"] == "mse"
    # Three points leave two to train on: the batch follows (the person changed the points).
    few = apply_change(config, "data.n_points", 3, Limits())
    assert few["training"]["batch_size"] == 2


def test_a_two_class_set_takes_one_sigmoid_or_two_softmax_outputs_either_way_round():
    config = validate_config({}, Limits())  # circle: one sigmoid output, bce
    softmax = apply_change(config, "network.output", "softmax", Limits())
    assert softmax["network"]["layers"][-1] == 2 and softmax["network"]["loss"] == "ce"
    back = apply_change(softmax, "network.output", "sigmoid", Limits())
    assert back["network"] == config["network"]
    # The output layer's +/−: the width brings its head, and back.
    wider = apply_change(config, "network.layers", [2, 4, 2, 2], Limits())
    assert (wider["network"]["output"], wider["network"]["loss"]) == ("softmax", "ce")
    narrower = apply_change(wider, "network.layers", [2, 4, 2, 1], Limits())
    assert (narrower["network"]["output"], narrower["network"]["loss"]) == ("sigmoid", "bce")
    hidden = apply_change(wider, "network.layers", [2, 5, 2, 2], Limits())
    assert hidden["network"]["output"] == "softmax"  # a hidden layer's width leaves the head
    with pytest.raises(FieldError, match=r"^network\.layers\[3\]: the two-class set circle"):
        apply_change(config, "network.layers", [2, 4, 2, 3], Limits())


def test_a_change_that_cannot_be_made_names_the_field():
    config = validate_config({}, Limits())
    with pytest.raises(FieldError, match=r"^network\.loss: ce needs output softmax"):
        apply_change(config, "network.loss", "ce", Limits())
    with pytest.raises(FieldError, match=r"^path: unknown field"):
        apply_change(config, "network.colour", "red", Limits())
    with pytest.raises(FieldError, match=r"^network\.weights: is not changed on its own"):
        apply_change(config, "network.weights", [], Limits())


def test_allowed_choices_are_what_a_change_would_be_accepted_with():
    config = validate_config({}, Limits())
    allowed = allowed_choices(config, Limits())
    assert allowed.pop(OUTPUT_WIDTHS) == [1, 2]  # a two-class set: a sigmoid, or two softmax
    for width in range(1, 5):
        layers = [*config["network"]["layers"][:-1], width]
        try:
            apply_change(config, "network.layers", layers, Limits())
            accepted = True
        except ValueError:
            accepted = False
        assert accepted == (width in (1, 2)), width
    for path, values in allowed.items():
        for value in schema.field(path).values:
            try:
                apply_change(config, path, value, Limits())
                accepted = True
            except ValueError:
                accepted = False
            assert accepted == (value in values), (path, value)
    regression = apply_change(config, "data.dataset", "plane", Limits())
    assert allowed_choices(regression, Limits())["network.loss"] == ["mse"]
    assert allowed_choices(regression, Limits())[OUTPUT_WIDTHS] == [1]


def test_activation_choices_say_the_range_of_their_values_when_bounded():
    entries = {entry["path"]: entry for entry in schema.describe()}
    for path in ("network.activation", "network.output"):
        for choice in entries[path]["choices"]:
            bounds = ACTIVATIONS[choice["value"]].outputs
            assert choice.get("outputs") == (list(bounds) if bounds else None), choice
            if bounds:  # every value of the function lies within them
                z = np.linspace(-50, 50, 201)[None, :]
                a = ACTIVATIONS[choice["value"]].value(z)
                assert bounds[0] <= a.min() and a.max() <= bounds[1]


def test_the_page_restates_no_choice_default_or_range():
    """The page's scripts and templates carry no registry name, default or limit of the schema:
    they read them from hello.schema or the server renders them."""
    sources = [*ROOT.glob("static/js/*.js"), *ROOT.glob("templates/*.html")]
    text = {path.name: path.read_text() for path in sources}
    names = [*DATASETS, *OPTIMIZERS, *ACTIVATIONS, *CELLS, "xavier", "x1sq", "sinx2", "three_gauss"]
    for name, source in text.items():
        for registry_name in names:
            assert not re.search(rf"[\"']{registry_name}[\"']", source), (name, registry_name)
        assert not re.search(r"max_neurons|max_hidden_layers|max_points", source), name


def test_allowed_choices_try_changes_on_drawn_points_and_weights_without_touching_them():
    # The trials share the points and weights with the run's config (copying them cost ~25 ms a
    # trial with 5,000 points): they must read them, and leave them as they were.
    points = [[0.5, -1.0, 1.0], [2.0, 3.0, 0.0], [-4.0, 1.5, 1.0]]
    weights = [[[0.1, 0.2], [0.5, -0.6]], [[0.3], [0.4]]]
    given = {"data": {"dataset": "circle", "points": points}}
    given["network"] = {"layers": [2, 2, 1], "weights": weights, "biases": [[0.0, 0.0], [0.0]]}
    config = validate_config(given, Limits())
    before = copy.deepcopy(config)
    allowed = allowed_choices(config, Limits())
    assert config == before and config["data"]["points"] == points
    assert allowed == allowed_choices(copy.deepcopy(config), Limits())
    regression_points = [[0.5, -1.0, 0.25], [2.0, 3.0, -0.5]]  # targets read off the points
    regression = validate_config(
        {"data": {"dataset": "plane", "points": regression_points}}, Limits()
    )
    assert allowed_choices(regression, Limits())["network.loss"] == ["mse"]
