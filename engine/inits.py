"""Initial weights: the registry of initialisation schemes, keyed by the strings configs use."""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray

INITS = ("xavier", "he", "normal", "uniform", "zeros")
# Far past where every unit saturates; larger scales only overflow the random draw.
MAX_INIT_SCALE = 100.0


def initial_weights(
    init: str, scale: float, shape: tuple[int, int], rng: np.random.Generator
) -> Array:
    """Initial W for one layer. xavier and he multiply their usual scale by `scale`."""
    fan_in, fan_out = shape
    if init == "xavier":  # Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))
        limit = scale * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)
    if init == "he":  # Kaiming normal for ReLU: N(0, 2 / fan_in)
        return rng.normal(0.0, scale * math.sqrt(2.0 / fan_in), size=shape)
    if init == "normal":
        return rng.normal(0.0, scale, size=shape)
    if init == "uniform":
        return rng.uniform(-scale, scale, size=shape)
    return np.zeros(shape)
