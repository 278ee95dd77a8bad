"""Input features: each column against its formula, order, and bad names."""

import math

import numpy as np
import pytest

from engine.features import FEATURES, expand


def test_every_feature_matches_its_formula() -> None:
    points = np.array([[1.5, -2.0], [0.0, 3.0]])
    expected = {
        "x1": [1.5, 0.0],
        "x2": [-2.0, 3.0],
        "x1sq": [2.25, 0.0],
        "x2sq": [4.0, 9.0],
        "x1x2": [-3.0, 0.0],
        "sinx1": [math.sin(1.5), 0.0],
        "sinx2": [math.sin(-2.0), math.sin(3.0)],
    }
    assert set(expected) == set(FEATURES)
    for name, column in expected.items():
        assert expand(points, [name])[:, 0].tolist() == column, name


def test_columns_follow_the_requested_order() -> None:
    points = np.array([[2.0, 3.0]])
    assert expand(points, ["x2", "x1", "x1x2"]).tolist() == [[3.0, 2.0, 6.0]]
    assert expand(points, ["x1", "x2"]).shape == (1, 2)


def test_every_feature_has_a_label() -> None:
    assert all(feature.label for feature in FEATURES.values())


def test_unknown_feature_is_named() -> None:
    with pytest.raises(ValueError, match=r"features: unknown \['x3'\]"):
        expand(np.zeros((1, 2)), ["x1", "x3"])


def test_points_must_be_pairs() -> None:
    with pytest.raises(ValueError, match=r"points: must be shaped \(n, 2\)"):
        expand(np.zeros((4, 3)), ["x1"])
