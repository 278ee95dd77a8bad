"""Data sets: determinism, shapes, ranges, noise, the split and user-point validation."""

import numpy as np
import pytest

from engine.datasets import DATASETS, from_rows, generate, train_count, validate_rows


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("noise", [0, 25, 50])
def test_shapes_ranges_and_target_values(name: str, noise: float) -> None:
    entry = DATASETS[name]
    points, targets = entry.generate(101, noise, np.random.default_rng(3))
    assert points.shape == (101, 2) and points.dtype == np.float64
    assert targets.shape == (101, entry.n_outputs)
    assert np.all(np.abs(points) <= 6)
    if entry.kind == "regression":
        assert np.all(np.abs(targets) <= 1) and np.ptp(targets) > 1
    elif entry.n_outputs == 1:
        assert set(np.unique(targets)) == {0.0, 1.0}
    else:
        assert np.all(targets.sum(axis=1) == 1) and set(np.unique(targets)) == {0.0, 1.0}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    first = generate(name, 60, 20, 0.5, seed=7)
    again = generate(name, 60, 20, 0.5, seed=7)
    other = generate(name, 60, 20, 0.5, seed=8)
    assert np.array_equal(first.train_points, again.train_points)
    assert np.array_equal(first.test_targets, again.test_targets)
    assert not np.array_equal(first.train_points, other.train_points)


@pytest.mark.parametrize("name", ["gauss", "spiral", "moons", "three_gauss"])
def test_noise_moves_points_and_none_pile_up_on_the_edges(name: str) -> None:
    generate_points = DATASETS[name].generate
    clean, _ = generate_points(400, 0, np.random.default_rng(1))
    noisy, _ = generate_points(400, 50, np.random.default_rng(1))
    assert not np.allclose(clean, noisy)
    assert np.all(np.abs(noisy) < 6)  # redrawn, not clipped onto the border


@pytest.mark.parametrize(("name", "rule"), [
    ("circle", lambda P: np.linalg.norm(P, axis=1) < 2.5),
    ("xor", lambda P: P[:, 0] * P[:, 1] > 0),
])  # fmt: skip
def test_noise_flips_labels_of_circle_and_xor_and_keeps_the_points(name: str, rule) -> None:
    generate_points = DATASETS[name].generate
    flipped = []
    for noise in (0, 10, 50):
        points, targets = generate_points(1000, noise, np.random.default_rng(5))
        assert np.array_equal(points, generate_points(1000, 0, np.random.default_rng(5))[0])
        flipped.append(np.mean(rule(points) != (targets[:, 0] == 1)))
    assert flipped[0] == 0 < flipped[1] < flipped[2] < 0.5


def test_noise_free_circle_and_xor_are_separable_by_their_rule() -> None:
    points, targets = DATASETS["circle"].generate(200, 0, np.random.default_rng(0))
    radius = np.linalg.norm(points, axis=1)
    assert np.all((radius < 2.5) == (targets[:, 0] == 1))
    points, targets = DATASETS["xor"].generate(200, 0, np.random.default_rng(0))
    assert np.all((points[:, 0] * points[:, 1] > 0) == (targets[:, 0] == 1))


def test_regression_noise_moves_targets_not_points() -> None:
    clean_points, clean_targets = DATASETS["plane"].generate(300, 0, np.random.default_rng(2))
    assert np.allclose(clean_targets[:, 0], (clean_points[:, 0] + clean_points[:, 1]) / 12)
    noisy_points, noisy_targets = DATASETS["plane"].generate(300, 50, np.random.default_rng(2))
    assert np.array_equal(clean_points, noisy_points)
    assert not np.allclose(clean_targets, noisy_targets)


def test_classes_are_balanced() -> None:
    _, targets = DATASETS["spiral"].generate(101, 0, np.random.default_rng(0))
    assert targets.sum() == 51
    _, targets = DATASETS["three_gauss"].generate(99, 0, np.random.default_rng(0))
    assert targets.sum(axis=0).tolist() == [33, 33, 33]


def test_split_sizes_and_partition() -> None:
    data = generate("gauss", 200, 10, 0.3, seed=1)
    assert len(data.train_points) == 60 and len(data.test_points) == 140
    everything = np.concatenate([data.train_points, data.test_points])
    points, _ = DATASETS["gauss"].generate(200, 10, np.random.default_rng(1))
    assert np.array_equal(np.sort(everything, axis=0), np.sort(points, axis=0))
    assert data.kind == "classification" and data.n_classes == 2


def test_train_count_keeps_at_least_one_training_sample() -> None:
    assert train_count(1, 0.05) == 1
    assert train_count(10, 0.5) == 5
    assert train_count(3, 0.95) == 3


def test_rows_round_trip_through_user_points() -> None:
    data = generate("three_gauss", 30, 0, 0.5, seed=4)
    rows = data.train_rows() + data.test_rows()
    assert all(row[2] in (0, 1, 2) for row in rows)
    rebuilt = from_rows("three_gauss", validate_rows(rows, "three_gauss", 100), 0.5, seed=4)
    assert rebuilt.train_targets.shape == (15, 3)
    assert sorted(rebuilt.train_rows() + rebuilt.test_rows()) == sorted(rows)


@pytest.mark.parametrize(
    ("name", "rows", "message"),
    [
        ("circle", [], "points: must be a non-empty list"),
        ("circle", "nope", "points: must be a non-empty list"),
        ("circle", [[0, 0]], r"points\[0\]: must be \[x1, x2, target\]"),
        ("circle", [[0, 0, 1], [float("nan"), 0, 1]], r"points\[1\]: every entry must be a finite"),
        ("circle", [[0, float("inf"), 1]], "finite number"),
        ("circle", [[0, True, 1]], "finite number"),
        ("circle", [[0, "1", 1]], "finite number"),
        ("circle", [[6.5, 0, 1]], r"must lie in \[-6, 6\]"),
        ("circle", [[0, 0, 2]], r"class index \(0, 1\)"),
        ("circle", [[0, 0, 0.5]], "class index"),
        ("three_gauss", [[0, 0, 3]], r"class index \(0, 1, 2\)"),
        ("plane", [[0, 0, 1.5]], r"regression target must lie in \[-1, 1\]"),
    ],
)
def test_bad_user_points_are_named(name: str, rows: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_rows(rows, name, max_points=10)


def test_too_many_user_points() -> None:
    with pytest.raises(ValueError, match="points: at most 2 points, got 3"):
        validate_rows([[0, 0, 1]] * 3, "circle", max_points=2)


def test_regression_user_points_keep_real_targets() -> None:
    rows = validate_rows([[1, 2, 0.25], [-1, -2, -0.5]], "plane", max_points=10)
    data = from_rows("plane", rows, 0.5, seed=0)
    assert sorted(data.train_rows() + data.test_rows()) == [[-1, -2, -0.5], [1, 2, 0.25]]


def test_regression_rows_may_carry_several_outputs() -> None:
    rows = validate_rows([[0.05, 0.1, 0.01, 0.99]], "plane", max_points=10)
    data = from_rows("plane", rows, 1.0, seed=0)
    assert data.n_outputs == 2 and data.train_targets.tolist() == [[0.01, 0.99]]
    assert data.train_rows() == [[0.05, 0.1, 0.01, 0.99]] and len(data.test_points) == 0


def test_regression_rows_must_share_one_width() -> None:
    with pytest.raises(ValueError, match=r"points\[1\]: must be \[x1, x2, y_1, ..., y_2\]"):
        validate_rows([[0, 0, 0.1, 0.2], [0, 0, 0.1]], "plane", max_points=10)


def test_huge_integers_are_not_numbers() -> None:
    with pytest.raises(ValueError, match=r"points\[0\]: every entry must be a finite number"):
        validate_rows([[10**400, 0, 1]], "circle", max_points=10)


def test_data_arrays_are_read_only() -> None:
    data = generate("circle", 20, 0, 0.5, seed=0)
    with pytest.raises(ValueError, match="read-only"):
        data.train_points[0, 0] = 1.0
