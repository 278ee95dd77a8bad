"""Typed models of the classroom room messages (docs/protocol.md "Rooms"); server/room_link.py
applies them, server/protocol.py parses them with every other message."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from server.message_base import Message
from server.rooms import CHALLENGE_ACCURACY, CHALLENGE_GOALS, CHALLENGE_SECONDS

RoomCode = Annotated[str, Field(max_length=32)]
RoomToken = Annotated[str, Field(max_length=256)]


class RoomOpen(Message):
    """Open a room, or (with the code and token of one) take it back after a reload."""

    type: Literal["room_open"]
    code: RoomCode | None = None
    token: RoomToken | None = None


class RoomClose(Message):
    type: Literal["room_close"]


class Join(Message):
    type: Literal["join"]
    code: RoomCode
    name: Annotated[str, Field(max_length=200)]  # cleaned and limited to 24 by server/rooms.py


class Leave(Message):
    type: Literal["leave"]


class Fork(Message):
    type: Literal["fork"]


class Follow(Message):
    type: Literal["follow"]


class Challenge(Message):
    """Start a challenge on the current data set, or stop it (`goal` null)."""

    type: Literal["challenge"]
    goal: Literal[tuple(CHALLENGE_GOALS)] | None
    seconds: Annotated[int, Field(ge=CHALLENGE_SECONDS[0], le=CHALLENGE_SECONDS[1])] = (
        CHALLENGE_SECONDS[2]
    )
    accuracy: Annotated[float, Field(gt=0, le=1)] | None = None


def challenge_options() -> dict:
    """What the teacher's challenge form offers, for hello: the page restates none of it."""
    low, high, default = CHALLENGE_SECONDS
    return {
        "goals": [{"value": value, "label": label} for value, label in CHALLENGE_GOALS.items()],
        "seconds": {"low": low, "high": high, "default": default},
        "accuracy": {"default": CHALLENGE_ACCURACY},
    }


class Show(Message):
    """Teacher: put a student's network on the projector (`member` from the leaderboard), or
    go back to the teacher's own run (`member` null)."""

    type: Literal["show"]
    member: Annotated[str, Field(max_length=64)] | None


class RoomLesson(Message):
    """Teacher: the lesson whose text the teacher's page shows (null: none), for the room."""

    type: Literal["room_lesson"]
    lesson: Annotated[str, Field(max_length=64)] | None


ROOM_MESSAGE_TYPES = (
    "room_open",
    "room_close",
    "join",
    "leave",
    "fork",
    "follow",
    "challenge",
    "show",
    "room_lesson",
)
