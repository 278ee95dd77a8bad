"""One check per kind of value, one error format: `FieldError("training.lr", "must be ...")`
reads `training.lr: must be a finite number in (0, 10], got -1.0`. The schema (engine/schema.py)
says which check each field gets; the network, the trainer and the run call them through it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from .datasets import shown

# The largest integer a page carries exactly: its JSON numbers are doubles (JavaScript's
# Number.MAX_SAFE_INTEGER). A seed or a count above it would not survive a link or a message.
MAX_EXACT_INTEGER = 2**53 - 1


class FieldError(ValueError):
    """A value refused by the engine; `field` is its dotted path (`training.lr`, `layer`)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class Range(NamedTuple):
    """Allowed values of a number: `bounds` writes which ends are included ("[]", "(]", "[)"),
    as in the error messages."""

    low: float
    high: float
    bounds: str = "[]"

    def contains(self, value: float) -> bool:
        above = value > self.low if self.bounds[0] == "(" else value >= self.low
        below = value < self.high if self.bounds[1] == ")" else value <= self.high
        return above and below

    def __str__(self) -> str:
        return f"{self.bounds[0]}{_number(self.low)}, {_number(self.high)}{self.bounds[1]}"


def _number(value: float) -> str:
    """A bound as a person reads it: 9007199254740991 is 2^53 − 1, not 9.0072e+15."""
    if value == MAX_EXACT_INTEGER:
        return "2^53 − 1"
    return f"{value:g}" if isinstance(value, float) else str(value)


def is_integer(value: Any) -> bool:
    """An int and not a bool (Python counts True as 1); NumPy integers count too."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_number(field: str, value: Any, allowed: Range) -> float:
    """A finite real (int or float, not bool) within `allowed`."""
    if not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range, such as 10**400
            number = math.inf
        if math.isfinite(number) and allowed.contains(number):
            return number
    raise FieldError(field, f"must be a finite number in {allowed}, got {shown(value)}")


def check_integer(field: str, value: Any, low: int, high: int) -> int:
    if not is_integer(value) or not low <= value <= high:
        raise FieldError(field, f"must be an integer in {Range(low, high)}, got {shown(value)}")
    return int(value)


def check_choice(field: str, value: Any, choices: Iterable[str]) -> str:
    allowed = tuple(choices)
    if not isinstance(value, str) or value not in allowed:
        raise FieldError(field, f"must be one of {', '.join(allowed)}, got {shown(value)}")
    return value


def check_boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError(field, f"must be true or false, got {shown(value)}")
    return value


def check_choices(field: str, value: Any, choices: Iterable[str]) -> list[str]:
    """A non-empty list of distinct choices, in the order given."""
    if not isinstance(value, list | tuple) or not value:
        raise FieldError(field, f"must be a non-empty list, got {shown(value)}")
    allowed = tuple(choices)
    for index, item in enumerate(value):
        check_choice(f"{field}[{index}]", item, allowed)
    if len(set(value)) != len(value):
        raise FieldError(field, f"each at most once, got {shown(value)}")
    return list(value)


def check_integers(
    field: str,
    value: Any,
    items: Range,
    length: tuple[int, int],
    distinct: bool = False,
    noun: str = "integers",
) -> list[int]:
    """A list of `length[0]` to `length[1]` integers, each within `items`."""
    shortest, longest = length
    if not isinstance(value, list | tuple) or not shortest <= len(value) <= longest:
        size = f"{shortest} to {longest}" if longest > shortest else str(shortest)
        raise FieldError(field, f"must be a list of {size} {noun}, got {shown(value)}")
    numbers = [
        check_integer(f"{field}[{index}]", item, int(items.low), int(items.high))
        for index, item in enumerate(value)
    ]
    if distinct and len(set(numbers)) != len(numbers):
        raise FieldError(field, f"each at most once, got {shown(value)}")
    return numbers


def check_object(field: str, given: Any, allowed_keys: Iterable[str]) -> dict[str, Any]:
    """A dict with only known keys (a shallow copy)."""
    allowed = tuple(allowed_keys)
    if not isinstance(given, dict):
        raise FieldError(field, f"must be an object, got {type(given).__name__}")
    for key in given:
        if key not in allowed:
            name = key if isinstance(key, str) and len(key) <= 40 else shown(key)
            raise FieldError(f"{field}.{name}", f"unknown key; allowed: {', '.join(allowed)}")
    return dict(given)
