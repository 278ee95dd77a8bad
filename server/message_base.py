"""What every client message model shares: strict parsing, and the error a refused message gets
back (`{"type": "error", "field", "message"}`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ProtocolError(ValueError):
    """A client message that cannot be applied; it goes back as `{"type": "error"}` with the
    `field` it names, when it names one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field, self.reason = field, message


def error_message(error: ValueError) -> dict[str, Any]:
    """The `error` reply to a refused message."""
    field = getattr(error, "field", None)
    reply: dict[str, Any] = {"type": "error", "message": str(error)}
    if field:
        reply["field"] = field
    return reply


class Message(BaseModel):
    # Strict: "1" is not a number and 1.0 is not an integer; NaN and Infinity are refused.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
