"""Sequence tasks for recurrent networks, in the registry SEQUENCE_TASKS.

Every generator has the shape `(n, length, noise, rng, **options) -> (X, Y, mask)`, time first:
X (T, n, D), Y (T, n, K), mask (T, n) of 0/1 marking the steps that carry a target. `noise` is
0-50 per cent, as for the plane data sets; the seed lives in `rng`. `generate_sequences` checks
every argument first and names the field that was wrong.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import MAX_EXACT_INTEGER, FieldError
from .datasets import MAX_NOISE, is_finite_number, shown

Array = np.ndarray
Sequences = tuple[Array, Array, Array]

MAX_LENGTH = 1000  # steps per sequence (the page offers 2-60)
MAX_SEQUENCES = 10_000
MAX_DELAY = 30
MAX_TEXT = 64
DEFAULT_TEXT = "backpropagation through time"
DEFAULT_DELAY = 3
# Fresh sequences to test on are drawn from the data seed plus this (never trained on).
TEST_SEED_OFFSET = 1000


def echo(
    n: int, length: int, noise: float, rng: np.random.Generator, delay: int = DEFAULT_DELAY
) -> Sequences:
    """A random ±1 stream; the target is the input `delay` steps ago (no target before that).
    Noise adds Gaussian noise of std noise/100 to what the network sees, not to the targets."""
    stream = rng.choice([-1.0, 1.0], size=(length, n))
    Y = np.zeros((length, n, 1))
    Y[delay:, :, 0] = stream[:-delay]
    mask = np.zeros((length, n))
    mask[delay:] = 1.0
    return _shown_with_noise(stream, noise, rng)[:, :, None], Y, mask


def adding(n: int, length: int, noise: float, rng: np.random.Generator) -> Sequences:
    """Hochreiter & Schmidhuber's adding problem: channel 0 holds numbers in [0, 1], channel 1
    marks two of them, one in each half; the target, at the last step only, is their sum."""
    values = rng.uniform(0.0, 1.0, size=(length, n))
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((length, n))
    columns = np.arange(n)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    Y = np.zeros((length, n, 1))
    Y[-1, :, 0] = values[first, columns] + values[second, columns]
    mask = np.zeros((length, n))
    mask[-1] = 1.0
    X = np.stack([_shown_with_noise(values, noise, rng), markers], axis=2)
    return X, Y, mask


def sine(n: int, length: int, noise: float, rng: np.random.Generator) -> Sequences:
    """Continue a sine wave one step ahead: x_t = sin(ωt + φ), target x_{t+1}; each sequence has
    its own phase φ and frequency ω in [0.15, 0.6] radians per step. Regression."""
    omega = rng.uniform(0.15, 0.6, size=n)
    phase = rng.uniform(0.0, 2 * math.pi, size=n)
    wave = np.sin(np.arange(length + 1)[:, None] * omega + phase)
    X = _shown_with_noise(wave[:-1], noise, rng)[:, :, None]
    return X, wave[1:, :, None].copy(), np.ones((length, n))


def parity(n: int, length: int, noise: float, rng: np.random.Generator) -> Sequences:
    """A random bit stream; the target at every step is the XOR of all bits so far (0/1).
    Noise flips each bit the network sees with probability noise/100; targets stay true."""
    bits = rng.integers(0, 2, size=(length, n))
    Y = (np.cumsum(bits, axis=0) % 2).astype(np.float64)[:, :, None]
    flips = rng.random((length, n)) < noise / 100.0
    return (bits ^ flips).astype(np.float64)[:, :, None], Y, np.ones((length, n))


def text(
    n: int, length: int, noise: float, rng: np.random.Generator, text: str = DEFAULT_TEXT
) -> Sequences:
    """Next-character prediction on `text`, read cyclically from a random start: x_t is one
    character one-hot over the text's alphabet (sorted), the target the character after it.
    Noise replaces each character seen by a random one of the alphabet with probability
    noise/100."""
    letters = alphabet(text)
    codes = np.array([letters.index(c) for c in text])
    starts = rng.integers(0, len(text), size=n)
    positions = (starts[None, :] + np.arange(length + 1)[:, None]) % len(text)
    read = codes[positions]  # (length + 1, n)
    seen = read[:-1].copy()
    replaced = rng.random(seen.shape) < noise / 100.0
    seen[replaced] = rng.integers(0, len(letters), size=int(replaced.sum()))
    eye = np.eye(len(letters))
    return eye[seen], eye[read[1:]], np.ones((length, n))


def alphabet(text: str) -> list[str]:
    """The characters of `text`, each once, sorted: the one-hot columns of the text task."""
    return sorted(set(text))


def _shown_with_noise(values: Array, noise: float, rng: np.random.Generator) -> Array:
    if noise == 0:
        return values
    return values + rng.normal(0.0, noise / 100.0, size=values.shape)


@dataclass(frozen=True)
class SequenceTask:
    """One registry entry: how to generate it, the readout and loss that fit its targets, and
    its own options with their defaults."""

    label: str
    kind: str  # "regression" | "classification"
    output: str
    loss: str
    generate: Callable[..., Sequences]
    options: dict[str, Any]

    def sizes(self, **options: Any) -> tuple[int, int]:
        """(inputs D, outputs K) of the sequences this task makes with these options."""
        if self.generate is text:
            size = len(alphabet(options.get("text", DEFAULT_TEXT)))
            return size, size
        return (2 if self.generate is adding else 1), 1


SEQUENCE_TASKS: dict[str, SequenceTask] = {
    "echo": SequenceTask(
        "Echo (delayed copy)", "regression", "linear", "mse", echo, {"delay": DEFAULT_DELAY}
    ),
    "adding": SequenceTask("Adding problem", "regression", "linear", "mse", adding, {}),
    "sine": SequenceTask("Sine wave, one step ahead", "regression", "linear", "mse", sine, {}),
    "parity": SequenceTask("Running parity (XOR)", "classification", "sigmoid", "bce", parity, {}),
    "text": SequenceTask(
        "Next character", "classification", "softmax", "ce", text, {"text": DEFAULT_TEXT}
    ),
}


def generate_sequences(
    task: str, n: int, length: int, noise: float, seed: int, **options: Any
) -> Sequences:
    """The named task's sequences from `seed`, every argument checked first; a FieldError (a
    ValueError) names the field (data.task, data.length, data.noise, data.delay, data.text, ...)."""
    entry = _task(task)
    _integer("n", n, 1, MAX_SEQUENCES)
    _integer("length", length, 2, MAX_LENGTH)
    if not is_finite_number(noise) or not 0 <= noise <= MAX_NOISE:
        raise FieldError(
            "data.noise", f"must be a finite number in [0, {MAX_NOISE:g}], got {shown(noise)}"
        )
    _integer("seed", seed, 0, MAX_EXACT_INTEGER)
    options = _options(task, entry, options, length)
    return entry.generate(n, length, float(noise), np.random.default_rng(seed), **options)


def _task(task: Any) -> SequenceTask:
    if not isinstance(task, str) or task not in SEQUENCE_TASKS:
        raise FieldError(
            "data.task", f"expected one of {', '.join(SEQUENCE_TASKS)}, got {shown(task)}"
        )
    return SEQUENCE_TASKS[task]


def _integer(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FieldError(
            f"data.{field}", f"must be an integer in [{low:,}, {high:,}], got {shown(value)}"
        )
    return value


def _options(task: str, entry: SequenceTask, given: dict[str, Any], length: int) -> dict:
    for key in given:
        if key not in entry.options:
            allowed = ", ".join(entry.options) or "none"
            name = key if isinstance(key, str) and len(key) <= 40 else shown(key)
            raise FieldError(f"data.{name}", f"not an option of {task} (its options: {allowed})")
    options = {**entry.options, **given}
    if "delay" in options:
        _integer("delay", options["delay"], 1, MAX_DELAY)
        if options["delay"] >= length:
            raise FieldError(
                "data.delay",
                f"must be shorter than the sequence (length {length}), got {options['delay']}",
            )
    if "text" in options:
        check_text(options["text"])
    return options


def check_text(value: Any) -> str:
    """A string of at most MAX_TEXT characters, at least 2 of them different; ValueError names
    data.text."""
    if not isinstance(value, str):
        raise FieldError("data.text", f"must be a string, got {shown(value)}")
    if len(value) > MAX_TEXT:
        raise FieldError(
            "data.text", f"at most {MAX_TEXT} characters, got {len(value):,}: {shown(value)}"
        )
    if len(set(value)) < 2:
        raise FieldError("data.text", f"needs at least 2 different characters, got {shown(value)}")
    return value
