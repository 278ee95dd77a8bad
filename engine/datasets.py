"""Toy data sets on the plane [-6, 6]², the train/test split and validation of user points.

Every generator has the shape `(n, noise, rng) -> (points (n, 2), targets)`, as in TensorFlow
Playground; `noise` is 0-50 (per cent of the data's own scale) and the seed lives in `rng`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

EXTENT = 6.0
MAX_NOISE = 50.0

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DatasetKind:
    """One registry entry: how to generate the set and what its targets look like."""

    label: str
    kind: str  # "classification" | "regression"
    n_classes: int | None  # None for regression
    generate: Generator

    @property
    def n_outputs(self) -> int:
        """Width of the target array: 1 for binary and regression, one column per class else."""
        if self.kind == "classification" and self.n_classes is not None and self.n_classes > 2:
            return self.n_classes
        return 1

    @property
    def output_widths(self) -> tuple[int, ...]:
        """The output layer widths a network may learn the set with: a two-class set one sigmoid
        output (its 0/1 targets) or two softmax outputs (one-hot rows); any other set its own."""
        if self.kind == "classification" and self.n_classes == 2:
            return (1, 2)
        return (self.n_outputs,)


@dataclass(frozen=True)
class Dataset:
    """A split data set. Targets are (n, 1) 0/1, (n, c) one-hot, or (n, 1) real in [-1, 1]."""

    train_points: np.ndarray
    train_targets: np.ndarray
    test_points: np.ndarray
    test_targets: np.ndarray
    kind: str
    n_classes: int | None

    @property
    def n_outputs(self) -> int:
        """Width of the targets: the network's number of outputs."""
        return self.train_targets.shape[1]

    @property
    def one_hot(self) -> bool:
        """True when targets are one-hot rows of a multi-class set."""
        return self.kind == "classification" and self.n_outputs > 1

    def with_outputs(self, outputs: int) -> Dataset:
        """The same set with targets `outputs` wide: a two-class set's (n, 1) 0/1 targets as
        one-hot rows (n, 2) [1 − t, t] for two softmax outputs; itself when the width fits."""
        if outputs == self.n_outputs:
            return self
        if self.kind != "classification" or self.n_classes != 2 or outputs != 2:
            raise ValueError(f"outputs: targets {self.n_outputs} wide cannot be {outputs} wide")
        return replace(
            self,
            train_targets=_two_columns(self.train_targets),
            test_targets=_two_columns(self.test_targets),
        )

    def train_rows(self) -> list[list[float]]:
        """The training set as JSON-able `[[x1, x2, target], ...]` (class index for one-hot)."""
        return to_rows(self.train_points, self.train_targets, self.one_hot)

    def test_rows(self) -> list[list[float]]:
        """The test set as JSON-able `[[x1, x2, target], ...]` (class index for one-hot)."""
        return to_rows(self.test_points, self.test_targets, self.one_hot)


# ----------------------------------------------------------------------------- helpers


def _fraction(noise: float) -> float:
    """Noise in per cent (0-50) as a fraction (0-0.5)."""
    return noise / 100.0


def _two_columns(targets: np.ndarray) -> np.ndarray:
    """0/1 targets (n, 1) as one-hot rows (n, 2): class 0 in column 0, class 1 in column 1."""
    rows = np.column_stack([1.0 - targets[:, 0], targets[:, 0]])
    rows.flags.writeable = False  # shared by runs and their clones, as every target array is
    return rows


def _binary(labels: np.ndarray) -> np.ndarray:
    """Booleans (n,) as 0/1 targets (n, 1)."""
    return labels.astype(np.float64).reshape(-1, 1)


def _polar(r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.column_stack([r * np.sin(angle), r * np.cos(angle)])


def _halves(n: int) -> tuple[int, int]:
    """Split n into a positive and a negative class count (the extra point goes first)."""
    return (n + 1) // 2, n // 2


# ------------------------------------------------------------------ classification sets


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 inside radius 2.5, class 0 on the ring 3.5-5.

    As in Playground, noise moves where the label is read (up to ±2.5 per axis at 50 %), so
    labels near the boundary flip while every point stays where it was drawn.
    """
    radius = 5.0
    n_in, n_out = _halves(n)
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n_out)]
    )
    points = _polar(r, rng.uniform(0, 2 * math.pi, n))
    read_at = points + rng.uniform(-radius, radius, (n, 2)) * _fraction(noise)
    return points, _binary(np.linalg.norm(read_at, axis=1) < radius * 0.5)


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 where x1·x2 > 0 (quadrants I and III), with a 0.3 gap along both axes.

    Noise moves where the label is read (up to ±2.5 per axis at 50 %), as in Playground.
    """
    padding = 0.3
    points = rng.uniform(-5, 5, (n, 2))
    points += np.where(points > 0, padding, -padding)
    read_at = points + rng.uniform(-5, 5, (n, 2)) * _fraction(noise)
    return points, _binary(read_at[:, 0] * read_at[:, 1] > 0)


def _scatter(centres: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """centres (n, 2) plus Gaussian noise of `std`, redrawn for points that leave the plane.

    Redrawing (not clipping) keeps points from piling up along the edges.
    """
    points = centres + rng.normal(0, std, centres.shape)
    outside = np.any(np.abs(points) > EXTENT, axis=1)
    while outside.any():
        points[outside] = centres[outside] + rng.normal(0, std, (int(outside.sum()), 2))
        outside = np.any(np.abs(points) > EXTENT, axis=1)
    return points


def gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two round clusters at (2, 2) (class 1) and (-2, -2) (class 0); noise widens them."""
    # Playground's range, 0.5 at no noise up to 4 at 50 %, used as the std.
    std = 0.5 + 3.5 * _fraction(noise) / 0.5
    n_pos, n_neg = _halves(n)
    centres = np.concatenate([np.full((n_pos, 2), 2.0), np.full((n_neg, 2), -2.0)])
    labels = np.arange(n) < n_pos
    return _scatter(centres, std, rng), _binary(labels)


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved arms of 1.75 turns out to radius 5; noise up to ±0.5 per axis."""
    n_pos, n_neg = _halves(n)
    step = np.concatenate([np.arange(n_pos) / max(n_pos, 1), np.arange(n_neg) / max(n_neg, 1)])
    turn = np.concatenate([np.zeros(n_pos), np.full(n_neg, math.pi)])
    r = step * 5.0
    t = 1.75 * step * 2 * math.pi + turn
    shift = rng.uniform(-1, 1, (n, 2)) * _fraction(noise)
    labels = np.arange(n) < n_pos
    return _polar(r, t) + shift, _binary(labels)


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's two half-moons, scaled by 3.5 and centred; noise is Gaussian."""
    scale = 3.5
    n_upper, _ = _halves(n)
    t = rng.uniform(0, math.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)])
    is_upper = np.arange(n) < n_upper
    clean = (np.where(is_upper[:, None], upper, lower) - [0.5, 0.25]) * scale
    # Noise 50 % gives a std of half the unit moons' size, about the gap between them.
    return _scatter(clean, scale * _fraction(noise), rng), _binary(is_upper)


def three_gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three clusters at radius 3.5, 120° apart (classes 0, 1, 2); one-hot targets (n, 3)."""
    std = 0.5 + 2.0 * _fraction(noise) / 0.5
    classes = np.arange(n) % 3
    angle = math.pi / 2 + classes * (2 * math.pi / 3)
    centres = np.column_stack([3.5 * np.cos(angle), 3.5 * np.sin(angle)])
    return _scatter(centres, std, rng), np.eye(3)[classes]


# ---------------------------------------------------------------------- regression sets


def _read_with_noise(
    n: int, noise: float, rng: np.random.Generator, surface: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    # As in Playground, regression noise moves where the target is read, not the point itself.
    points = rng.uniform(-EXTENT, EXTENT, (n, 2))
    shift = rng.uniform(-EXTENT, EXTENT, (n, 2)) * _fraction(noise)
    return points, surface(points + shift).reshape(-1, 1)


def _plane_surface(points: np.ndarray) -> np.ndarray:
    return np.clip((points[:, 0] + points[:, 1]) / (2 * EXTENT), -1.0, 1.0)


# (x1, x2, sign) of Playground's six bumps; each falls linearly from ±1 to 0 at distance 2.
_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]
)


def _bumps_surface(points: np.ndarray) -> np.ndarray:
    distance = np.linalg.norm(points[:, None, :] - _BUMPS[None, :, :2], axis=2)
    heights = _BUMPS[:, 2] * np.clip(1 - distance / 2, 0, 1)
    strongest = np.argmax(np.abs(heights), axis=1)
    return heights[np.arange(len(points)), strongest]


def plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Target (x1 + x2) / 12, a tilted plane from -1 to 1."""
    return _read_with_noise(n, noise, rng, _plane_surface)


def multi_gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Six ±1 cone-shaped bumps on a 3 × 2 grid; the target is the strongest bump at the point."""
    return _read_with_noise(n, noise, rng, _bumps_surface)


DATASETS: dict[str, DatasetKind] = {
    "circle": DatasetKind("Circle", "classification", 2, circle),
    "xor": DatasetKind("Exclusive or", "classification", 2, xor),
    "gauss": DatasetKind("Two Gaussians", "classification", 2, gauss),
    "spiral": DatasetKind("Spiral", "classification", 2, spiral),
    "moons": DatasetKind("Two moons", "classification", 2, moons),
    "three_gauss": DatasetKind("Three Gaussians (3 classes)", "classification", 3, three_gauss),
    "plane": DatasetKind("Plane (regression)", "regression", None, plane),
    "multi_gauss": DatasetKind("Multi Gaussian (regression)", "regression", None, multi_gauss),
}


# ------------------------------------------------------------------- split and building


def train_count(n: int, train_ratio: float) -> int:
    """Training samples out of n: round(n · ratio), at least 1 (the test set may be empty)."""
    return min(n, max(1, round(n * train_ratio)))


def split(
    points: np.ndarray, targets: np.ndarray, train_ratio: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle with rng, then cut: (train_points, train_targets, test_points, test_targets)."""
    order = rng.permutation(len(points))
    n_train = train_count(len(points), train_ratio)
    train, test = order[:n_train], order[n_train:]
    return points[train], targets[train], points[test], targets[test]


def generate(name: str, n: int, noise: float, train_ratio: float, seed: int) -> Dataset:
    """Generate the named set from seed and split it; the same arguments give the same arrays."""
    entry = DATASETS[name]
    rng = np.random.default_rng(seed)
    points, targets = entry.generate(n, noise, rng)
    return _build(entry, points, targets, train_ratio, rng)


def from_rows(name: str, rows: np.ndarray, train_ratio: float, seed: int) -> Dataset:
    """A Dataset from validated user rows (see `validate_rows`), split like a generated one."""
    entry = DATASETS[name]
    targets = rows[:, 2:]
    if entry.n_outputs > 1:
        targets = np.eye(entry.n_outputs)[rows[:, 2].astype(int)]
    return _build(entry, rows[:, :2].copy(), targets, train_ratio, np.random.default_rng(seed))


def _build(
    entry: DatasetKind,
    points: np.ndarray,
    targets: np.ndarray,
    train_ratio: float,
    rng: np.random.Generator,
) -> Dataset:
    parts = split(points, targets.astype(np.float64), train_ratio, rng)
    for array in parts:
        # Runs and their clones share these arrays; nobody may change them in place.
        array.flags.writeable = False
    return Dataset(*parts, kind=entry.kind, n_classes=entry.n_classes)


def to_rows(points: np.ndarray, targets: np.ndarray, one_hot: bool) -> list[list[float]]:
    """Points (n, 2) and targets (n, k) as `[[x1, x2, target...], ...]`.

    One-hot targets become one class index, so a row is always `[x1, x2, class]` for classes.
    """
    columns = np.argmax(targets, axis=1)[:, None] if one_hot else targets
    return np.column_stack([points, columns]).tolist()


# ------------------------------------------------------------------------- user points


def validate_rows(rows: object, name: str, max_points: int, field: str = "points") -> np.ndarray:
    """Check user rows for data set `name`; return them as an array (n, 2 + k).

    A row is `[x1, x2, target]`: 0/1 for binary sets, a class index for multi-class sets. For
    regression it is `[x1, x2, y_1, ..., y_k]` (k outputs, the same k in every row), each y in
    [-1, 1]. Coordinates must be finite and within [-6, 6]. ValueError messages start with `field`.
    """
    if not isinstance(rows, list | tuple) or not rows:
        raise ValueError(f"{field}: must be a non-empty list of [x1, x2, target]")
    if len(rows) > max_points:
        raise ValueError(f"{field}: at most {max_points} points, got {len(rows)}")
    entry = DATASETS[name]
    width = _row_width(rows[0], entry, f"{field}[0]")
    for index, row in enumerate(rows):
        _check_row(row, width, entry, f"{field}[{index}]")
    return np.array(rows, dtype=np.float64)


def shown(value: object, limit: int = 40) -> str:
    """repr(value) cut to `limit` characters, so an error never echoes a huge input back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_finite_number(value: object) -> bool:
    """True for a finite int or float; False for bool, which Python counts as an int."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        # An int too large for a float (10**400) is not a usable number either.
        return abs(value) < 2**1023
    return math.isfinite(value)


def _row_width(first: object, entry: DatasetKind, where: str) -> int:
    """Entries per row: 3, or 2 + k for a regression set with k outputs (read off the first)."""
    if entry.kind == "regression" and isinstance(first, list | tuple) and len(first) >= 3:
        return len(first)
    return 3


def _check_row(row: object, width: int, entry: DatasetKind, where: str) -> None:
    if not isinstance(row, list | tuple) or len(row) != width:
        shape = "[x1, x2, target]" if width == 3 else f"[x1, x2, y_1, ..., y_{width - 2}]"
        raise ValueError(f"{where}: must be {shape}")
    for value in row:
        if not is_finite_number(value):
            raise ValueError(f"{where}: every entry must be a finite number, got {shown(value)}")
    if abs(row[0]) > EXTENT or abs(row[1]) > EXTENT:
        raise ValueError(
            f"{where}: x1 and x2 must lie in [-6, 6], got {shown(row[0])}, {shown(row[1])}"
        )
    for target in row[2:]:
        _check_target(target, entry, where)


def _check_target(target: float, entry: DatasetKind, where: str) -> None:
    if entry.kind == "regression":
        if abs(target) > 1:
            raise ValueError(
                f"{where}: a regression target must lie in [-1, 1], got {shown(target)}"
            )
        return
    classes = range(entry.n_classes or 2)
    if target not in classes:
        allowed = ", ".join(str(c) for c in classes)
        raise ValueError(
            f"{where}: the target must be a class index ({allowed}), got {shown(target)}"
        )
