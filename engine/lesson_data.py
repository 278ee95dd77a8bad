"""The pieces the lesson presets (engine/lessons.py) are built from: a configuration helper, the
hand-made data, the worked example's network and lesson 4's learning rates."""

import copy

import numpy as np

from engine.run import default_config


def lesson_config(
    network: dict | None = None, training: dict | None = None, data: dict | None = None
) -> dict:
    """A full run configuration: the default configuration with the given keys replaced."""
    config = default_config()
    config["network"].update(copy.deepcopy(network or {}))
    config["training"].update(copy.deepcopy(training or {}))
    config["data"].update(copy.deepcopy(data or {}))
    return config


def rounded_points(points: np.ndarray, labels: np.ndarray) -> list[list[float]]:
    """User points [[x1, x2, label], ...] as plain floats rounded to 2 decimals (tidy in a URL)."""
    rows = np.column_stack([np.round(points, 2), labels])
    return [[float(value) for value in row] for row in rows]


def stripes_off_origin(seed: int = 6) -> list[list[float]]:
    """Two vertical stripes right of the origin: class 0 at x1 in [1, 2.5], class 1 in [3.5, 5].

    The boundary x1 = 3 does not pass through the origin, so no line through it separates them.
    """
    rng = np.random.default_rng(seed)
    x1 = np.concatenate([rng.uniform(1.0, 2.5, 30), rng.uniform(3.5, 5.0, 30)])
    x2 = rng.uniform(-5.0, 5.0, 60)
    labels = np.repeat([0.0, 1.0], 30)
    return rounded_points(np.column_stack([x1, x2]), labels)


# The 2-2-2 worked example from Matt Mazur's "A Step by Step Backpropagation Example" (2015):
# one sample, sigmoid everywhere, halved squared error, learning rate 0.5.
WORKED_EXAMPLE_NETWORK = {
    "layers": [2, 2, 2],
    "activation": "sigmoid",
    "output": "sigmoid",
    "loss": "mse",
    "weights": [[[0.15, 0.25], [0.20, 0.30]], [[0.40, 0.50], [0.45, 0.55]]],
    "biases": [[0.35, 0.35], [0.60, 0.60]],
}
# Its one sample [x1, x2, target 1, target 2], and its learning rate.
WORKED_EXAMPLE_POINTS = [[0.05, 0.10, 0.01, 0.99]]
WORKED_EXAMPLE_LR = 0.5

# Lesson 4's rates: too small, good, too large (the loss jumps up), and far too large (the main
# run diverges with it and pauses with a message).
SMALL_LR, GOOD_LR, LARGE_LR = 0.00001, 0.1, 0.9
DIVERGING_LR = 10.0


def rate_text(lr: float) -> str:
    """A learning rate as a class reads it: 0.00001, not 1e-05."""
    return f"{lr:.5f}".rstrip("0").rstrip(".")


# Hand-made point sets: lesson id -> generator of the same kind of set from a seed, so the
# lesson's claims can be checked on other draws (tests/lesson_claims.py).
USER_POINTS = {"bias": stripes_off_origin}
