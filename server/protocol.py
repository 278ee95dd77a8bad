"""Typed models of every client message; parsing turns hostile input into one clear error line."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
)

from engine import schema
from engine.datasets import shown
from engine.recurrent_spec import parameter_names
from server.config import MAX_FPS, MAX_SPEED
from server.message_base import Message, ProtocolError, error_message
from server.room_messages import (
    ROOM_MESSAGE_TYPES,
    Challenge,
    Follow,
    Fork,
    Join,
    Leave,
    RoomClose,
    RoomLesson,
    RoomOpen,
    Show,
)

__all__ = ["ROOM_MESSAGE_TYPES", "Message", "ProtocolError", "error_message"]  # used as protocol.X


# The paths a `change` may name: the fields with a check of their own kind (not weights, points).
CHANGEABLE = tuple(e.path for e in schema.fields() if e.kind in schema.CHECKED_KINDS)
# What `edit.param` may name: a feed-forward layer's W or b, or a recurrent parameter's name.
EDITABLE = tuple(dict.fromkeys(("W", "b", *parameter_names())))


# The pydantic type of each kind of schema field; the engine then checks ranges and choices with
# its own words. Every field is optional: what a message leaves out keeps its value or default.
KIND_TYPES: dict[str, Any] = {
    "number": float,
    "integer": int,
    "choice": str,
    "boolean": bool,
    "choices": list[str],
    "integers": list[int],
    "rows": list[list[float]],
    "text": str,
}
# A recurrent network's weights are named ({"W_hh": [[...]], "b_h": [...]}, engine/recurrent.py).
RECURRENT_WEIGHTS = dict[str, list[list[float]] | list[float]]
PARAMETER_TYPES: dict[str, Any] = {
    "weights": list[list[list[float]]] | RECURRENT_WEIGHTS,
    "biases": list[list[float]],
}


def _field_type(entry: schema.Field) -> Any:
    return PARAMETER_TYPES[entry.key] if entry.kind == "parameters" else KIND_TYPES[entry.kind]


def _section_model(section: str, base: type[Message] = Message, skip: tuple[str, ...] = ()) -> Any:
    """A model with one optional field per schema field of `section`."""
    fields = {
        entry.key: (_field_type(entry) | None, None)
        for entry in schema.section_fields(section)
        if entry.key not in skip
    }
    return create_model(f"{section.title()}Section", __base__=base, **fields)


class TrainingOptions(_section_model("training")):  # type: ignore[misc]
    """Any subset of the run's training options (engine/schema.py's training section)."""

    def training(self) -> dict[str, Any]:
        """Only the options the client actually sent, as the engine's `run.set` expects."""
        keys = set(schema.section_keys("training"))
        return self.model_dump(include=keys, exclude_unset=True, exclude_none=True)


class Config(Message):
    type: Literal["config"]
    network: _section_model("network") | None = None  # type: ignore[valid-type]
    training: _section_model("training") | None = None  # type: ignore[valid-type]
    data: _section_model("data") | None = None  # type: ignore[valid-type]

    def config(self) -> dict[str, Any]:
        """The sections sent, with the keys sent (a null weights or points means none)."""
        sections = {name: getattr(self, name) for name in schema.SECTIONS}
        return {
            name: section.model_dump(exclude_unset=True)
            for name, section in sections.items()
            if section is not None
        }


class Set(TrainingOptions):
    type: Literal["set"]
    # "max": as many iterations as fit in the time each frame leaves free (server/pacing.py).
    speed: Annotated[int, Field(ge=1, le=MAX_SPEED)] | Literal["max"] | None = None
    fps: Annotated[int, Field(ge=1, le=MAX_FPS)] | None = None


class Change(Message):
    """One field changed by a person (a control): live fields apply to the run, others rebuild
    it with the fields that depend on them made to fit (engine/changes.py)."""

    type: Literal["change"]
    path: Literal[CHANGEABLE]  # type: ignore[valid-type]
    value: float | int | str | bool | list[str] | list[int]


class Play(Message):
    type: Literal["play"]


class Pause(Message):
    type: Literal["pause"]


class Reset(Message):
    type: Literal["reset"]
    seed: Annotated[int, Field(ge=0, le=schema.SEED_MAX)] | None = None


class Step(Message):
    type: Literal["step"]
    unit: Literal["phase", "iteration", "epoch"]
    count: Annotated[int, Field(ge=1, le=100)] = 1


class Inspect(Message):
    """A feed-forward weight, bias or neuron (layer, i, j), or a recurrent network's parameter
    entry (name, i, j: the sum over time) or hidden state (t, j)."""

    type: Literal["inspect"]
    kind: Literal["weight", "bias", "neuron", "recurrent_weight", "hidden_state"]
    layer: Annotated[int, Field(ge=0)] | None = None
    name: Annotated[str, Field(max_length=8)] | None = None
    t: Annotated[int, Field(ge=0)] | None = None
    i: Annotated[int, Field(ge=0)] | None = None
    j: Annotated[int, Field(ge=0)]

    def target(self) -> dict[str, Any]:
        return self.model_dump(exclude={"type"}, exclude_none=True)


class Focus(Message):
    type: Literal["focus"]
    sample: Annotated[int, Field(ge=0)]


class Edit(Message):
    type: Literal["edit"]
    # A feed-forward network's W or b of a `layer`; a recurrent network's parameter by its name
    # (W_hh, b_y, ...), with no layer. The run checks which fits it.
    param: Literal[EDITABLE]  # type: ignore[valid-type]
    layer: Annotated[int, Field(ge=0)] | None = None
    i: Annotated[int, Field(ge=0)] | None = None
    j: Annotated[int, Field(ge=0)]
    value: float


class Points(Message):
    type: Literal["points"]
    # [x1, x2, target] rows ([x1, x2, y_1, ..., y_k] for regression); the engine checks each row.
    points: list[list[float]]


class Variant(TrainingOptions):
    label: Annotated[str, Field(min_length=1, max_length=40)]


class Compare(Message):
    type: Literal["compare"]
    variants: list[Variant]

    @field_validator("variants")
    @classmethod
    def _two_to_four_or_none(cls, variants: list[Variant]) -> list[Variant]:
        if len(variants) == 1 or len(variants) > 4:
            raise ValueError(f"give 2 to 4 variants, or [] to stop; got {len(variants)}")
        return variants


class Export(Message):
    """Asks for the run's full config with its current float64 weights (exact, unlike frames)."""

    type: Literal["export"]


class Cost(Message):
    """Asks for a lesson's cost table (engine/cost.py): the networks its `view.cost_table`
    names, measured one by one, each row sent as soon as it is measured; with `current`, one
    row for the run's own network instead (the page asks again when the network changes)."""

    type: Literal["cost"]
    lesson: Annotated[str, Field(max_length=64)]
    current: bool = False


class Restore(Message):
    """Puts an export's `progress` (counters, optimizer state, batch order, random streams)
    into the run just built from the same export's config: a run carried over a restart."""

    type: Literal["restore"]
    progress: dict[str, Any]


class Ack(Message):
    type: Literal["ack"]


ClientMessage = Annotated[
    Config
    | Set
    | Change
    | Play
    | Pause
    | Reset
    | Step
    | Inspect
    | Focus
    | Edit
    | Points
    | Compare
    | Export
    | Cost
    | Restore
    | Ack
    | RoomOpen
    | RoomClose
    | Join
    | Leave
    | Fork
    | Follow
    | Challenge
    | Show
    | RoomLesson,
    Field(discriminator="type"),
]
# Every type the union above knows, read off the models themselves (not a second list).
MESSAGE_TYPES = tuple(
    get_args(model.model_fields["type"].annotation)[0]
    for model in get_args(get_args(ClientMessage)[0])
)
# Messages that may carry a whole run (weights, optimizer state, points): the config cap.
RUN_SIZED = ("config", "restore")
_client_message = TypeAdapter(ClientMessage)


def parse_message(
    raw: str | bytes | None,
    max_bytes: int,
    max_depth: int,
    max_config_bytes: int | None = None,
) -> BaseModel:
    """One websocket message → its typed model, or ProtocolError saying what was wrong.

    Every message must fit in `max_bytes` except a `config`, which may carry a network's weights
    and so fill up to `max_config_bytes`.
    """
    if not isinstance(raw, str):
        raise ProtocolError("message: must be JSON text, binary messages are not accepted")
    size = len(raw.encode("utf-8"))
    config_bytes = max(max_bytes, max_config_bytes or 0)
    if size > config_bytes:
        limits = f"{config_bytes} for a config" if config_bytes > max_bytes else str(max_bytes)
        raise ProtocolError(f"message: {size} bytes is larger than the limit of {limits}")
    document = _load_json(raw)
    if _depth(document) > max_depth:
        raise ProtocolError(f"message: JSON nested deeper than {max_depth} levels")
    if not isinstance(document, dict):
        raise ProtocolError('message: must be a JSON object with a "type"')
    kind = document.get("type")
    if kind not in MESSAGE_TYPES:
        expected = ", ".join(MESSAGE_TYPES)
        raise ProtocolError(f"type: unknown message type {shown(kind)}; expected one of {expected}")
    if size > max_bytes and kind not in RUN_SIZED:
        raise ProtocolError(f"message: {size} bytes is larger than the limit of {max_bytes}")
    try:
        message = _client_message.validate_python(document)
    except ValidationError as error:
        raise _describe(error) from None
    return message


def _reject_constant(name: str) -> float:
    raise ProtocolError(f"message: {name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # "1e999" parses to inf
        raise ProtocolError(f"message: number {text[:20]} is out of range")
    return value


def _load_json(raw: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ProtocolError("message: JSON nested too deeply") from None
    except ProtocolError:
        raise
    except ValueError as error:  # JSONDecodeError, and ints too long to convert
        raise ProtocolError(f"message: not valid JSON ({error})") from None


def _depth(document: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion (a scalar is 0)."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            stack.extend((child, level + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, level + 1) for child in value)
        else:
            deepest = max(deepest, level)
            continue
        deepest = max(deepest, level + 1)
    return deepest


# What pydantic says was wrong, at most: an error never grows with the schema or the input.
LONGEST_REASON = 160


def _describe(error: ValidationError) -> ProtocolError:
    """The first problem, naming the schema field where the message carries one (`set.lr` is
    `training.lr`, `config.network.seed` is `network.seed`)."""
    first = error.errors(include_url=False)[0]
    value = first.get("input")
    got = "" if isinstance(value, dict | list) else f", got {shown(value)}"
    reason = first["msg"]
    if len(reason) > LONGEST_REASON:  # a long list of choices: change.path's is every field
        reason = reason[: LONGEST_REASON - 1] + "…"
    return ProtocolError(f"{reason}{got}", field=_field_name(first["loc"]))


def _field_name(loc: tuple[Any, ...]) -> str:
    kind, rest = loc[0], list(loc[1:])
    if kind == "points" and rest[:1] == ["points"]:
        rest = rest[1:]  # the points message's only field is the points
    elif kind == "config" and rest:
        kind, rest = rest[0], rest[1:]
    elif kind in ("set", "compare") and rest and rest[-1] in schema.section_keys("training"):
        if kind == "set":
            kind = "training"
    elif kind == "reset" and rest == ["seed"]:
        return "network.seed"
    name = str(kind)[:40]
    for part in rest:  # an unknown key is part of the path: cut it short like a value
        name += f"[{part}]" if isinstance(part, int) else f".{_short_key(part)}"
    return name


def _short_key(key: Any) -> str:
    text = str(key)
    return text if len(text) <= 40 else shown(text)


# ----- what the server tells a client in `hello` -------------------------------------------------


def lessons() -> list[dict[str, Any]]:
    """The lesson presets when the engine has them (engine/lessons.py), else none."""
    try:
        from engine.lessons import LESSONS
    except ImportError:
        return []
    return LESSONS
