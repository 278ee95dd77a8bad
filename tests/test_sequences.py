"""The sequence tasks: each one's targets are what its docstring says, same seed same arrays,
noise touches what the network sees and never the targets, and bad arguments name the field."""

import numpy as np
import pytest

from engine.sequences import (
    DEFAULT_TEXT,
    SEQUENCE_TASKS,
    alphabet,
    generate_sequences,
)

N, LENGTH = 16, 24


@pytest.mark.parametrize("task", list(SEQUENCE_TASKS))
def test_shapes_seeds_and_mask(task: str) -> None:
    X, Y, mask = generate_sequences(task, N, LENGTH, 0, seed=5)
    D, K = SEQUENCE_TASKS[task].sizes()
    assert X.shape == (LENGTH, N, D) and Y.shape == (LENGTH, N, K) and mask.shape == (LENGTH, N)
    assert X.dtype == Y.dtype == mask.dtype == np.float64
    assert set(np.unique(mask)) <= {0.0, 1.0} and mask[-1].all()
    again = generate_sequences(task, N, LENGTH, 0, seed=5)
    other = generate_sequences(task, N, LENGTH, 0, seed=6)
    assert all(np.array_equal(a, b) for a, b in zip((X, Y, mask), again, strict=True))
    assert not np.array_equal(X, other[0])


@pytest.mark.parametrize("task", list(SEQUENCE_TASKS))
def test_noise_changes_what_is_seen_not_the_targets(task: str) -> None:
    clean = generate_sequences(task, N, LENGTH, 0, seed=2)
    noisy = generate_sequences(task, N, LENGTH, 30, seed=2)
    assert not np.array_equal(clean[0], noisy[0])
    assert np.array_equal(clean[1], noisy[1]) and np.array_equal(clean[2], noisy[2])


@pytest.mark.parametrize("delay", [1, 5, 23])
def test_echo_targets_the_input_delay_steps_ago(delay: int) -> None:
    X, Y, mask = generate_sequences("echo", N, LENGTH, 0, 1, delay=delay)
    assert set(np.unique(X)) == {-1.0, 1.0}
    assert np.array_equal(Y[delay:], X[:-delay])
    assert not mask[:delay].any() and mask[delay:].all()


def test_adding_sums_the_two_marked_numbers_at_the_last_step() -> None:
    X, Y, mask = generate_sequences("adding", N, LENGTH, 0, 3)
    markers = X[:, :, 1]
    assert np.array_equal(markers.sum(axis=0), np.full(N, 2.0))
    half = LENGTH // 2
    assert np.array_equal(markers[:half].sum(axis=0), np.ones(N))
    assert np.allclose(Y[-1, :, 0], (X[:, :, 0] * markers).sum(axis=0), rtol=1e-15)
    assert not mask[:-1].any() and not Y[:-1].any()


def test_sine_targets_the_next_value() -> None:
    X, Y, _ = generate_sequences("sine", N, LENGTH, 0, 4)
    assert np.array_equal(Y[:-1], X[1:])
    assert np.abs(X).max() <= 1.0


def test_parity_is_the_running_xor() -> None:
    X, Y, _ = generate_sequences("parity", N, LENGTH, 0, 4)
    bits = X[:, :, 0].astype(int)
    running = np.zeros(N, dtype=int)
    for t in range(LENGTH):
        running ^= bits[t]
        assert np.array_equal(Y[t, :, 0], running)


def test_text_reads_the_next_character_cyclically() -> None:
    letters = alphabet(DEFAULT_TEXT)
    X, Y, _ = generate_sequences("text", 3, 40, 0, 4)
    assert X.shape[2] == len(letters) == 16
    doubled = DEFAULT_TEXT * 3
    for s in range(3):
        seen = "".join(letters[k] for k in X[:, s].argmax(axis=1))
        wanted = "".join(letters[k] for k in Y[:, s].argmax(axis=1))
        assert seen in doubled and seen[1:] == wanted[:-1]
        assert (seen + wanted[-1]) in doubled
    X, _, _ = generate_sequences("text", 2, 5, 0, 4, text="abab")
    assert X.shape == (5, 2, 2) and SEQUENCE_TASKS["text"].sizes(text="abab") == (2, 2)


HUGE = "x" * 10_000_000
BAD = [
    (("gru", N, LENGTH, 0, 0), {}, r"task: expected one of echo, adding, sine, parity, text"),
    (("echo", N, 10**6, 0, 0), {}, r"length: must be an integer in \[2, 1,000\], got 1000000"),
    (("echo", N, 1, 0, 0), {}, r"length: must be an integer in \[2, 1,000\], got 1"),
    (("echo", 0, LENGTH, 0, 0), {}, r"n: must be an integer in \[1, 10,000\], got 0"),
    (("echo", N, LENGTH, float("nan"), 0), {}, r"noise: must be a finite number in \[0, 50\]"),
    (("echo", N, LENGTH, 51, 0), {}, r"noise: must be a finite number in \[0, 50\], got 51"),
    (("echo", N, LENGTH, 0, -1), {}, r"seed: must be an integer"),
    (("echo", N, LENGTH, 0, 0), {"delay": 31}, r"delay: must be an integer in \[1, 30\]"),
    (("echo", N, 10, 0, 0), {"delay": 10}, r"delay: must be shorter than the sequence"),
    (("echo", N, LENGTH, 0, 0), {"text": "ab"}, r"text: not an option of echo"),
    (("text", N, LENGTH, 0, 0), {"text": HUGE}, r"text: at most 64 characters, got 10,000,000"),
    (("text", N, LENGTH, 0, 0), {"text": "aaaa"}, r"text: needs at least 2 different"),
    (("text", N, LENGTH, 0, 0), {"text": 42}, r"text: must be a string, got 42"),
]


@pytest.mark.parametrize("args,options,message", BAD)
def test_bad_arguments_name_the_field_and_stay_short(args, options, message) -> None:
    with pytest.raises(ValueError, match=message) as error:
        generate_sequences(*args, **options)
    assert len(str(error.value)) < 200
