"""A run's progress beyond its configuration and weights: its counters, its optimizer's state,
the order of the batches and both random streams. With the config and the float64 weights of
an export, it rebuilds a run that goes on bit for bit as the original would have (a page
carries its run over a server restart with it).

Random generator states hold 128-bit integers, which a JavaScript number cannot: they travel
as decimal strings.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .checks import MAX_EXACT_INTEGER, FieldError
from .datasets import is_finite_number, shown
from .run import Run

KEYS = ("iteration", "epoch", "optimizer", "state", "order", "cursor", "batches_rng", "dropout_rng")


def progress(run: Run) -> dict[str, Any]:
    """Everything `restore` needs, JSON-able (float64 numbers round-trip through repr)."""
    return {
        "iteration": run.iteration,
        "epoch": run.epoch,
        "optimizer": run.config["training"]["optimizer"],
        "state": [slot.tolist() for slot in run.trainer._state],
        "order": run._order.tolist(),
        "cursor": run._cursor,
        "batches_rng": _rng_state(run._shuffle_rng),
        "dropout_rng": _rng_state(run.trainer.rng),
    }


def restore(run: Run, given: Any) -> None:
    """Put `given` (a `progress`) into `run`, all or nothing; FieldError names the first
    field that does not fit this run (another optimizer, another network size, ...)."""
    if not isinstance(given, dict) or set(given) != set(KEYS):
        raise FieldError("progress", f"must be an object with exactly {', '.join(KEYS)}")
    iteration = _count("progress.iteration", given["iteration"])
    epoch = _count("progress.epoch", given["epoch"])
    optimizer = run.config["training"]["optimizer"]
    if given["optimizer"] != optimizer:
        got = shown(given["optimizer"])
        raise FieldError("progress.optimizer", f"the run uses {optimizer}, got {got}")
    state = _state(given["state"], run.trainer._state)
    order, cursor = _order(given["order"], given["cursor"], run.n_train)
    batches = _rng("progress.batches_rng", given["batches_rng"], run._shuffle_rng)
    dropout = _rng("progress.dropout_rng", given["dropout_rng"], run.trainer.rng)
    run.iteration, run.epoch = iteration, epoch
    run.trainer._state = state
    run._order, run._cursor = order, cursor
    run._shuffle_rng, run.trainer.rng = batches, dropout
    run._phases, run._stepped = None, False


def _count(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EXACT_INTEGER:
        raise FieldError(field, f"must be a whole number >= 0, got {shown(value)}")
    return value


def _state(given: Any, current: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    if not isinstance(given, list) or len(given) != len(current):
        raise FieldError("progress.state", f"must be a list of {len(current)} arrays")
    slots = []
    for index, (values, like) in enumerate(zip(given, current, strict=True)):
        field = f"progress.state[{index}]"
        if not isinstance(values, list) or len(values) != like.size:
            raise FieldError(field, f"must be a list of {like.size} numbers")
        if not all(is_finite_number(value) for value in values):
            raise FieldError(field, "every entry must be a finite number")
        slots.append(np.array(values, dtype=np.float64))
    return tuple(slots)


def _order(order: Any, cursor: Any, n_train: int) -> tuple[np.ndarray, int]:
    """The shuffled pass in progress: empty (none yet) or a permutation of the training set."""
    if not isinstance(order, list) or len(order) not in (0, n_train):
        raise FieldError("progress.order", f"must be [] or a permutation of {n_train} indices")
    if order and sorted(order) != list(range(n_train)):
        raise FieldError("progress.order", f"must be a permutation of 0..{n_train - 1}")
    cursor = _count("progress.cursor", cursor)
    if (order and cursor > n_train) or (not order and cursor != 0):
        raise FieldError("progress.cursor", f"must be in [0, {len(order)}], got {cursor}")
    return np.array(order, dtype=np.intp), cursor


def _rng_state(rng: np.random.Generator) -> dict[str, Any]:
    state = rng.bit_generator.state
    inner = state["state"]
    return {
        "bit_generator": state["bit_generator"],
        "state": str(inner["state"]),
        "inc": str(inner["inc"]),
        "has_uint32": state["has_uint32"],
        "uinteger": str(state["uinteger"]),
    }


def _rng(field: str, given: Any, like: np.random.Generator) -> np.random.Generator:
    """A generator of the same kind as `like`, in the state `given` (as _rng_state writes it)."""
    kind = like.bit_generator.state["bit_generator"]
    expected = {"bit_generator", "state", "inc", "has_uint32", "uinteger"}
    if not isinstance(given, dict) or set(given) != expected or given["bit_generator"] != kind:
        raise FieldError(field, f"must be a {kind} state as an export writes it")
    try:
        numbers = [int(given[key]) for key in ("state", "inc", "uinteger")]
    except (TypeError, ValueError):
        raise FieldError(field, "state, inc and uinteger must be whole numbers") from None
    if not all(0 <= number < 2**128 for number in numbers) or given["has_uint32"] not in (0, 1):
        raise FieldError(field, "out of range")
    generator = copy.deepcopy(like)
    generator.bit_generator.state = {
        "bit_generator": kind,
        "state": {"state": numbers[0], "inc": numbers[1]},
        "has_uint32": given["has_uint32"],
        "uinteger": numbers[2],
    }
    return generator
