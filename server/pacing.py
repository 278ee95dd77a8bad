"""What a session's work costs and how it is paced: the message rate limit, the frame credit
window, and the size of the training slices that keep the event loop responsive."""

from __future__ import annotations

import time

from pydantic import BaseModel

from server import protocol
from server.config import Settings

MAX_CHUNK = 1000  # iterations per engine call, whatever the speed
# The page says how many frames a second it draws (`set.fps`, measured by its own clock). The
# training loop ticks this much faster, so a frame is always waiting when the page's next
# animation frame comes; the credit window keeps the surplus from being built or sent. At 1.1
# a server on a shared two-core machine left 2-3 % of the page's animation frames without a new
# frame (benchmarks/vs_playground.py: 58.6 frames drawn of 60.1 ticks at "max"); at 1.25, 0.2 %.
TICK_LEAD = 1.25
# Rate-limit tokens per message: building a run and sending its data, or a gradient check,
# costs far more than a slider move (a person does not need ten of them a second).
MESSAGE_COST = {
    "config": 20,
    "restore": 20,
    "points": 20,
    "reset": 5,
    "inspect": 5,
    "compare": 5,
    "export": 5,  # up to a megabyte of JSON on the largest network
    "cost": 20,  # a numerical gradient of each network: up to a second of CPU in all
}
# A cost-table row for the person's own network times its numerical gradient for at most this
# long (then scales the time per parameter up to all of them): the largest network's whole
# gradient takes seconds, and the row is measured again at every change of the network.
COST_ROW_SECONDS = 0.25
# A phase step costs this many tokens per phase up front, and then one more for every
# PHASE_BYTES_PER_TOKEN bytes the phase turned out to be: a phase is a layer's pass over the
# whole batch, sent as f64, from 1 KB (2-4-1, batch 10) to 800 KB (8 x 32, batch 2,500).
# Measured (benchmarks/phase_cost.py, one core): computing and encoding a phase takes about
# 0.043 ms + 1.46 us per KB, so its size, not its count, is its cost; 32 KB cost as much CPU
# as the fixed part, as much as any one-token message. Sending costs in proportion too.
PHASE_COST = 1
PHASE_BYTES_PER_TOKEN = 32 * 1024
# `{"type": "ack"}` with room for whitespace; anything longer is parsed after the rate limit.
MAX_ACK_CHARS = 64
PAGE_ACK = '{"type":"ack"}'  # JSON.stringify({type: "ack"}), exactly


def phase_tokens(size: int) -> int:
    """Tokens a phase of `size` bytes costs beyond its up-front PHASE_COST."""
    return size // PHASE_BYTES_PER_TOKEN


def message_cost(message: BaseModel) -> int:
    """Rate-limit tokens `message` costs in all: a phase step pays for every phase it sends."""
    if isinstance(message, protocol.Step) and message.unit == "phase":
        return PHASE_COST * message.count
    return MESSAGE_COST.get(message.type, 1)


class TokenBucket:
    """Per-connection message rate limit: `rate` per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self, tokens: int) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < tokens:
            return False
        self.tokens -= tokens
        return True

    def charge(self, tokens: int) -> None:
        """Work already done that turned out dearer than paid for: the bucket may go into debt,
        and the messages after it wait until it is paid back."""
        self.take(0)  # refill up to now first
        self.tokens -= tokens

    @property
    def in_debt(self) -> bool:
        self.take(0)
        return self.tokens < 0


class Credits:
    """The frame credit window: at most `window` frames sent and not yet acked."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.in_flight = 0
        self.waiting_since = time.monotonic()

    @property
    def free(self) -> bool:
        return self.in_flight < self.window

    def spend(self) -> None:
        if self.in_flight == 0:
            self.waiting_since = time.monotonic()
        self.in_flight += 1

    def release(self) -> bool:
        """An ack: whether it freed a credit (an ack with nothing in flight frees nothing)."""
        if not self.in_flight:
            return False
        self.in_flight -= 1
        self.waiting_since = time.monotonic()
        return True

    def overdue(self, timeout: float) -> bool:
        """Frames held without an ack for more than `timeout` seconds."""
        return bool(self.in_flight) and time.monotonic() - self.waiting_since > timeout


def tick_seconds(fps: float) -> float:
    """The training loop's period for a page drawing `fps` frames a second."""
    return 1.0 / (fps * TICK_LEAD)


def max_training_seconds(fps: float, frame_seconds: float, slice_seconds: float) -> float:
    """How long speed "max" trains each tick: the time the tick leaves free, from the page's
    measured frame rate, less the measured time of the tick's frame and loss point; one slice
    at least. The page is another process (another core), and other sessions are served between
    slices, least charged first (server/fairness.py): neither needs a share held back here."""
    return max(slice_seconds, tick_seconds(fps) - frame_seconds)


def tick_iterations(speed: int, budget: float, cpu_per_iteration: float) -> int:
    """Iterations a tick of speed `speed` trains: `speed`, or as many as fit in `budget` (what
    speed "max" trains for) at the measured CPU cost of one, when fewer; one at least. So a
    costly run (an lstm over 30 steps) keeps the page's frame rate and trains fewer iterations a
    frame, instead of fewer frames."""
    if cpu_per_iteration <= 0.0:  # not measured yet
        return speed
    return max(1, min(speed, int(budget / cpu_per_iteration)))


class ChunkSizer:
    """Iterations per engine call, adapted so that each call takes about `slice_seconds`; and
    the CPU time one iteration costs (what `tick_iterations` plans with: CPU time, unlike the
    wall time of a call, does not grow when the machine is busy with other work)."""

    def __init__(self, slice_seconds: float) -> None:
        self.slice_seconds = slice_seconds
        self.size = 1
        self.per_iteration = slice_seconds  # wall seconds, as last measured
        self.cpu_per_iteration = 0.0

    def measured(self, iterations: int, elapsed: float, cpu: float | None = None) -> None:
        self.per_iteration = max(elapsed / iterations, 1e-7)
        self.size = max(1, min(MAX_CHUNK, int(self.slice_seconds / self.per_iteration)))
        if cpu is not None:
            self.cpu_per_iteration = cpu / iterations

    def fitting(self, seconds: float) -> int:
        """A chunk that ends within `seconds` (a deadline's time left), one iteration at least:
        the last slice of a tick at "max" does not run over into the next tick's frame."""
        return max(1, min(self.size, int(seconds / self.per_iteration)))


class RateLimitedError(Exception):
    """A message refused by the rate limit; `report` says whether to tell the client (once a
    second is enough to explain: more would be a flood of our own)."""

    def __init__(self, report: bool, limit: float) -> None:
        super().__init__(f"rate limit: more than {limit:g} messages per second; dropped")
        self.report = report


class Gate:
    """Every raw client message passes here before the session sees it: a valid ack of a frame
    in flight goes straight through, anything else is charged to the rate limit (before parsing:
    parsing is work too, then for what it really costs) and parsed into its typed model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bucket = TokenBucket(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.last_report = 0.0

    def admit(self, text: str | None, data: bytes | None, in_flight: int) -> BaseModel:
        """The typed message, or RateLimitedError, or ProtocolError saying what was wrong."""
        if in_flight and self.is_ack(text):
            return protocol.Ack(type="ack")
        upfront = self.upfront_cost(text)
        if not self.bucket.take(upfront):
            raise self.refused()
        settings = self.settings
        message = protocol.parse_message(
            text if text is not None else data,
            settings.max_message_bytes,
            settings.max_json_depth,
            settings.max_config_bytes,
        )
        extra = message_cost(message) - upfront
        if extra > 0 and not self.bucket.take(extra):
            raise self.refused()
        return message

    def upfront_cost(self, text: str | None) -> int:
        """Tokens taken before parsing: one, or a config's cost for a message over the common
        limit (only a config may be that big, and parsing it is the expensive part)."""
        if text is not None and len(text) > self.settings.max_message_bytes:
            return MESSAGE_COST["config"]
        return 1

    def is_ack(self, text: str | None) -> bool:
        """Whether `text` is a valid ack; with frames in flight those skip the rate limit.

        A dropped ack would hold its frame credit for good (two fill the window, and the
        watchdog later closes a client that did ack). An ack with nothing in flight grants
        nothing, so it goes through the bucket like any other message.
        """
        if text is None or len(text) > MAX_ACK_CHARS:
            return False
        if text == PAGE_ACK:  # what every page sends: no parse (a room sends 100s a second)
            return True
        try:
            message = protocol.parse_message(text, MAX_ACK_CHARS, self.settings.max_json_depth)
        except ValueError:  # refused again by `admit`, charged, with its error
            return False
        return isinstance(message, protocol.Ack)

    def refused(self) -> RateLimitedError:
        now = time.monotonic()
        report = now - self.last_report >= 1.0
        if report:
            self.last_report = now
        return RateLimitedError(report, self.settings.rate_limit_per_second)
