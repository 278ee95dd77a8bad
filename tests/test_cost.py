"""The cost table of lesson "why backpropagation is fast": counts, agreement, and growth."""

import itertools

import pytest

from engine.cost import backprop_cost_table, multiply_adds, network_cost_row

GROWING = [[2, 2, 1], [2, 4, 4, 1], [2, 8, 8, 8, 1]]


@pytest.fixture(scope="module")
def table() -> list[dict]:
    return backprop_cost_table(GROWING, n=20)


def test_a_numerical_gradient_needs_two_forward_passes_per_parameter(table):
    for row, layers in zip(table, GROWING, strict=True):
        parameters = sum((a + 1) * b for a, b in itertools.pairwise(layers))
        assert row["layers"] == layers and row["parameters"] == parameters
        assert row["numeric_forward_passes"] == 2 * parameters
        assert row["backprop_forward_passes"] == 1 and row["backprop_backward_passes"] == 1
        assert row["numeric_seconds"] > 0 and row["backprop_seconds"] > 0


def test_both_ways_give_the_same_gradient(table):
    assert all(row["relative_error"] < 1e-6 for row in table)


def test_the_numerical_way_costs_more_the_bigger_the_network(table):
    # Counted, not timed: the timing figures live in scripts/lesson_fractions.py's output.
    ratios = [row["multiply_add_ratio"] for row in table]
    assert all(a < b for a, b in itertools.pairwise(ratios))
    for row in table:  # a backward pass costs one to two forward passes: ratio 2P/3 to P
        assert 2 * row["parameters"] / 3 <= row["multiply_add_ratio"] <= row["parameters"]


def test_multiply_adds_of_a_forward_and_a_backward_pass():
    assert multiply_adds([2, 3, 1], n=5) == {"forward": 5 * (6 + 3), "backward": 5 * (6 + 3 + 3)}


def test_a_large_network_is_timed_within_the_budget_and_says_it_is_an_estimate():
    layers = [2, 32, 32, 32, 32, 1]  # 3,297 parameters: about a second of central differences
    row = network_cost_row(layers, n=100, repeat_seconds=0.0, budget_seconds=0.05)
    assert row["numeric_estimated"] is True
    assert 0 < row["numeric_timed_parameters"] < row["parameters"] == 3297
    assert row["numeric_forward_passes"] == 2 * 3297  # what the whole gradient needs, counted
    assert row["relative_error"] < 1e-6  # the timed derivatives agree with backprop's
    # Scaled up from the parameters timed (which ran for the budget): per parameter, times all.
    per_parameter = row["numeric_seconds"] / row["parameters"]
    assert per_parameter * row["numeric_timed_parameters"] >= 0.05 * (1 - 1e-9)


def test_a_network_within_the_budget_is_timed_whole():
    row = network_cost_row([2, 4, 1], n=20, repeat_seconds=0.0, budget_seconds=1.0)
    assert row["numeric_estimated"] is False and row["numeric_timed_parameters"] == 17


def test_a_network_without_biases_counts_only_its_weights():
    row = network_cost_row({"layers": [2, 4, 1], "bias": False}, repeat_seconds=0.0)
    assert row["parameters"] == 2 * 4 + 4 * 1
    assert row["numeric_forward_passes"] == 2 * row["parameters"]
    assert row["numeric_timed_parameters"] == row["parameters"]
    assert not row["numeric_estimated"]
