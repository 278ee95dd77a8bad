"""Sessions whose socket dropped, kept for a while so that the page can resume them exactly
(weights, optimizer state, iteration, history, race, playing) with the session's token.

A parked session runs nothing: it holds memory only, so there are caps on how many one address
and the whole process may keep; the oldest goes first when one is over.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class Parked:
    session: Any  # server.session.Session (not imported: it imports this module's users)
    address: str | None  # None for loopback: not counted per address
    until: float


class Parking:
    """Parked sessions by token, oldest first."""

    def __init__(self, grace: float, per_address: int, total: int) -> None:
        self.grace, self.per_address, self.total = grace, per_address, total
        self.parked: OrderedDict[str, Parked] = OrderedDict()

    def __len__(self) -> int:
        self.expire()
        return len(self.parked)

    def park(self, session: Any, address: str | None) -> None:
        self.expire()
        self.parked[session.token] = Parked(session, address, time.monotonic() + self.grace)
        if address is not None:
            mine = [token for token, kept in self.parked.items() if kept.address == address]
            for token in mine[: max(0, len(mine) - self.per_address)]:
                del self.parked[token]
        while len(self.parked) > self.total:
            self.parked.popitem(last=False)

    def take(self, token: str | None) -> Any | None:
        """The session parked under `token`, no longer parked; None if there is none (never
        was, expired, or already taken)."""
        self.expire()
        kept = self.parked.pop(token, None) if token else None
        return kept.session if kept else None

    def expire(self) -> None:
        now = time.monotonic()
        while self.parked:
            token, kept = next(iter(self.parked.items()))
            if kept.until > now:
                return
            del self.parked[token]
