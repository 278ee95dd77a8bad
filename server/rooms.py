"""Classroom rooms, the parts without sockets: codes read aloud, the teacher's secret token,
students' names, and the challenge's leaderboard (figures the server computed, never a client's).

A room is a named group in a broker (server/room_broker.py); server/room_hub.py fans its
messages out to the sockets of one process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# Easy to read aloud and to type: no 0/O, no 1/I/L (and so no look-alike to guess between).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# 31**6 ≈ 8.9e8 codes: with 1,000 open rooms and join attempts limited to 20 a minute from one
# address, finding any room by guessing takes ~30 days of trying on average.
CODE_LENGTH = 6
TOKEN_BYTES = 32  # 256 bits; the issue asks for at least 128
MAX_NAME_CHARS = 24
# A challenge's goals, with the words the page shows for them (hello.challenge carries both).
CHALLENGE_GOALS = {"lowest_test_loss": "lowest test loss", "fewest_neurons": "fewest neurons"}
CHALLENGE_SECONDS = (10, 3600, 120)  # low, high, default
CHALLENGE_ACCURACY = 0.95  # the threshold a "fewest neurons" challenge starts from
MAX_LEADERBOARD_ROWS = 100  # a room may hold hundreds: the teacher's table shows the best 100


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: Any) -> str:
    """A code as a person types it: any case, with spaces or dashes between groups.

    Raises ValueError naming the field when it cannot be a code at all (a code that could be one
    but is not open is the caller's business: it must cost a join attempt)."""
    if not isinstance(text, str):
        raise ValueError(f"code: must be a string, got {type(text).__name__}")
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        raise ValueError(
            f"code: a room code is {CODE_LENGTH} characters from {CODE_ALPHABET}, got {text[:16]!r}"
        )
    return code


def spoken(code: str) -> str:
    """`K7Q-M4X`: two groups of three are easier to read out and copy."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def duration(seconds: float) -> str:
    """`5 min`, `90 s`, `0.2 s`: how long, as a person reads it."""
    if seconds >= 120:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What a broker stores: a leaked Redis dump must not hand out rooms."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: Any, digest: str) -> bool:
    if not isinstance(token, str) or len(token) > 256:
        return False
    return hmac.compare_digest(token_digest(token), digest)


def clean_name(name: Any) -> str:
    """A student's name as the leaderboard shows it (as text, never markup): printable
    characters only, whitespace collapsed, at most MAX_NAME_CHARS."""
    if not isinstance(name, str):
        raise ValueError(f"name: must be a string, got {type(name).__name__}")
    printable = "".join(
        char
        for char in name
        if not unicodedata.category(char).startswith(("C", "Z")) or char == " "
    )
    cleaned = " ".join(printable.split())
    if not cleaned:
        raise ValueError("name: must have at least one visible character")
    if len(cleaned) > MAX_NAME_CHARS:
        raise ValueError(f"name: at most {MAX_NAME_CHARS} characters, got {len(cleaned)}")
    return cleaned


# ------------------------------------------------------------------ challenge and leaderboard


def data_digest(data: dict[str, Any]) -> str:
    """Names a data set exactly (generator, seed, split, or every point): a fork's figures count
    in a challenge only on the very data the challenge was set on."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Challenge:
    """What the class competes on: `goal` on the data set whose `data_digest` is `digest`
    until `ends_at` (time.time() seconds)."""

    goal: str
    dataset: str
    digest: str
    started_at: float
    ends_at: float
    accuracy: float | None = None  # fewest_neurons: the test accuracy a network must reach

    @classmethod
    def start(
        cls, goal: str, seconds: int, data: dict[str, Any], now: float, accuracy: float | None
    ) -> Challenge:
        """A challenge on the data section `data` of the teacher's config, from `now`."""
        if goal not in CHALLENGE_GOALS:
            raise ValueError(f"goal: must be one of {', '.join(CHALLENGE_GOALS)}, got {goal!r}")
        low, high, _ = CHALLENGE_SECONDS
        if not low <= seconds <= high:
            raise ValueError(f"seconds: must be in [{low}, {high}], got {seconds}")
        if goal == "fewest_neurons":
            if accuracy is None or not 0 < accuracy <= 1:
                raise ValueError(f"accuracy: fewest_neurons needs one in (0, 1], got {accuracy}")
        elif accuracy is not None:
            raise ValueError("accuracy: only the fewest_neurons goal takes one")
        dataset = str(data.get("dataset"))
        return cls(goal, dataset, data_digest(data), now, now + seconds, accuracy)

    def accepts(self, digest: str, now: float) -> bool:
        """Whether a fork's figures count: same data set (points, split and seed), in time."""
        return self.started_at <= now <= self.ends_at and digest == self.digest

    def to_message(self, now: float) -> dict[str, Any]:
        return {
            "type": "challenge",
            "goal": self.goal,
            "accuracy": self.accuracy,
            "seconds_left": max(0.0, round(self.ends_at - now, 1)),
            "dataset": self.dataset,
            "digest": self.digest,
        }


@dataclass
class Entry:
    """One student's best result so far; every figure comes from the server's own metrics."""

    member: str
    name: str
    test_loss: float | None
    test_accuracy: float | None
    neurons: int
    iteration: int

    def to_row(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "name": self.name,
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "neurons": self.neurons,
            "iteration": self.iteration,
        }


def hidden_neurons(layers: list[int]) -> int:
    """Neurons a student chose: the hidden layers' widths (inputs and outputs are the task's).

    layers: the network's widths, inputs first (`config["network"]["layers"]`)."""
    return sum(int(width) for width in layers[1:-1])


def entry_from_metrics(member: str, name: str, metrics: dict[str, Any], neurons: int) -> Entry:
    """An entry from `Run.metrics()` of the student's fork on the server."""
    loss = metrics.get("test_loss")
    return Entry(
        member=member,
        name=name,
        test_loss=loss if loss is not None and math.isfinite(loss) else None,
        test_accuracy=metrics.get("test_accuracy"),
        neurons=neurons,
        iteration=int(metrics["iteration"]),
    )


@dataclass
class Leaderboard:
    """The best entry of each student in one challenge, ranked by its goal."""

    challenge: Challenge
    entries: dict[str, Entry] = field(default_factory=dict)

    def score(self, entry: Entry) -> tuple[float, ...] | None:
        """Sort key, lower is better; None: the entry does not qualify (yet)."""
        if entry.test_loss is None:
            return None
        if self.challenge.goal == "lowest_test_loss":
            return (entry.test_loss, entry.neurons)
        accuracy = entry.test_accuracy
        if accuracy is None or accuracy < (self.challenge.accuracy or 0.0):
            return None
        return (float(entry.neurons), entry.test_loss)

    def report(self, entry: Entry) -> bool:
        """Keep `entry` if it is the student's first or better than their best; a better name
        is kept either way. Whether the board changed."""
        best = self.entries.get(entry.member)
        if best is None:
            self.entries[entry.member] = entry
            return True
        new, old = self.score(entry), self.score(best)
        if new is not None and (old is None or new < old):
            self.entries[entry.member] = entry
            return True
        if old is None and new is None and entry.iteration != best.iteration:
            self.entries[entry.member] = entry  # not qualified yet: show progress
            return True
        return False

    def rows(self) -> list[dict[str, Any]]:
        """Qualified entries best first, then the others by name; each with its `rank`."""
        scored = [(self.score(entry), entry) for entry in self.entries.values()]
        ranked = sorted((s, e.name, e.member, e) for s, e in scored if s is not None)
        waiting = sorted((e.name, e.member, e) for s, e in scored if s is None)
        rows = [{**e.to_row(), "rank": n + 1} for n, (_, _, _, e) in enumerate(ranked)]
        rows += [{**e.to_row(), "rank": None} for _, _, e in waiting]
        return rows[:MAX_LEADERBOARD_ROWS]
