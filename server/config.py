"""Typed settings of one server process: where it listens, what it accepts, how fast it streams."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.hosts import is_loopback_host, normal_allowed_host, normal_origin
from server.rooms import MAX_NAME_CHARS

if TYPE_CHECKING:
    from engine.schema import Limits

PROTOCOL_VERSION = 1
# The speed slider's stops, in iterations per frame; "max": as many as fit in the time a frame
# leaves free (server/pacing.py). A session starts at DEFAULT_SPEED, as the page's slider does.
SPEED_STOPS: tuple[int | str, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, "max")
MAX_SPEED = max(stop for stop in SPEED_STOPS if isinstance(stop, int))
DEFAULT_SPEED = 10
MAX_FPS = 60
# The longest float64 JSON number, -1.2345678901234567e-100, and its separator ", ".
NUMBER_BYTES = 26
# Numbers an optimizer keeps per parameter, at most (Adam: m, v and its step count t).
OPTIMIZER_SLOTS = 3
# One drawn point of a config's data, [x1, x2, target] and the ", " after it.
POINT_BYTES = 3 * NUMBER_BYTES + 4
# Worker processes of `--workers N` rebuild their Settings from this variable (JSON).
SETTINGS_VARIABLE = "BACKPROP_LAB_SETTINGS"


def setting(default: Any, help: str) -> Any:
    """A field of Settings with the sentence docs/settings.md shows for it."""
    return field(default=default, metadata={"help": help})


def engine_limit(name: str, help: str) -> Any:
    """A size limit whose default is the engine's own (engine/schema.py's Limits). Read when a
    Settings is made, not when this module is imported: the engine loads NumPy, which the
    console script may do only after it has set the BLAS variables (server/cli.py)."""

    def default() -> int:
        from engine.schema import Limits

        return getattr(Limits(), name)

    return field(default_factory=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every tunable of the server. docs/settings.md is generated from these fields and their
    help (python -m server.settings_doc > docs/settings.md)."""

    host: str = setting("127.0.0.1", "Address to bind")
    port: int = setting(8000, "Port to bind")
    allowed_origins: tuple[str, ...] = setting(
        (), "More origins whose pages may open the websocket (normalised to scheme://host[:port])"
    )
    allowed_hosts: tuple[str, ...] = setting(
        (), "More names a Host header may carry on a bind open to the room"
    )
    # Size of the networks and data sets a client may ask for (passed on to engine.Limits).
    max_hidden_layers: int = engine_limit("max_hidden_layers", "Hidden layers a network may have")
    max_neurons: int = engine_limit("max_neurons", "Neurons one layer may have")
    max_points: int = engine_limit("max_points", "Points a data set may have")
    # Hostile-client protection.
    max_message_bytes: int = setting(64 * 1024, "Bytes a message may have (a config: its own cap)")
    max_json_depth: int = setting(8, "Levels a message's JSON may nest")
    rate_limit_per_second: float = setting(100.0, "Message tokens a session earns a second")
    rate_limit_burst: int = setting(200, "Message tokens a session may save up")
    max_connections: int = setting(64, "Websocket sessions at once, over all worker processes")
    # Sized for a class of 30 behind one NAT (a school network often shows the server one
    # address for every laptop), one tab each: a prankster on an address of his own can take at
    # most half the slots.
    max_sessions_per_address: int = setting(
        32, "Sessions one client address may hold (loopback is not capped)"
    )
    # Sessions are per connection, so the processes share nothing but rooms (through Redis).
    workers: int = setting(1, "Server processes sharing the port")
    # Streaming.
    ack_timeout: float = setting(
        60.0, "Seconds a client may hold frames unacked before it is closed"
    )
    send_timeout: float = setting(
        30.0, "Seconds a message (text, phase or frame) may wait for a client that stopped reading"
    )
    idle_timeout: float = setting(
        600.0, "Seconds a session may neither play nor send before it is closed (it may resume)"
    )
    resume_grace: float = setting(
        120.0, "Seconds a session whose socket dropped is kept for its page to resume it"
    )
    # Four, not two: a page drawing 2-32x8-1 spends a whole animation frame drawing, and a frame
    # sent meanwhile waits behind it to be read, so with two in flight a quarter of its animation
    # frames found none new (benchmarks/page_fps.py drawn/ticks at 1280x720: 74 % with two,
    # 84-87 % with three, 96 % with four; 2-8x6-1 96 % -> 99 %). The cost: the page shows a frame
    # up to four frames after it was built.
    frame_window: int = setting(4, "Frames sent and not yet acked, at most")
    default_fps: int = setting(30, "Frames a second until the page says the rate it draws at")
    history_cap: int = setting(64, "Loss points a frame carries at most (those since the last)")
    output_grid: int = setting(48, "Points per side of the output surface's grid")
    # 16: keeps the default network's frame within 6 KB.
    neuron_grid: int = setting(16, "Points per side of each neuron's picture")
    slice_seconds: float = setting(
        0.004, "Seconds of engine work, at most, between two yields to the event loop"
    )
    # Classroom rooms (server/rooms.py): in this process, or in Redis shared by every worker.
    redis_url: str | None = setting(None, "The Redis server rooms go through (none: in-process)")
    room_cap: int = setting(500, "Students in one room")
    room_grace_seconds: float = setting(
        300.0, "Seconds a room outlives its teacher's connection, for a reload to reclaim it"
    )
    join_attempts_per_minute: int = setting(20, "Wrong room codes one address may try a minute")

    def __post_init__(self) -> None:
        positive = {
            "port": self.port,
            "max_hidden_layers": self.max_hidden_layers,
            "max_neurons": self.max_neurons,
            "max_points": self.max_points,
            "max_message_bytes": self.max_message_bytes,
            "rate_limit_per_second": self.rate_limit_per_second,
            "rate_limit_burst": self.rate_limit_burst,
            "max_connections": self.max_connections,
            "max_sessions_per_address": self.max_sessions_per_address,
            "workers": self.workers,
            "ack_timeout": self.ack_timeout,
            "send_timeout": self.send_timeout,
            "idle_timeout": self.idle_timeout,
            "resume_grace": self.resume_grace,
            "frame_window": self.frame_window,
            "history_cap": self.history_cap,
            "slice_seconds": self.slice_seconds,
            "room_cap": self.room_cap,
            "room_grace_seconds": self.room_grace_seconds,
            "join_attempts_per_minute": self.join_attempts_per_minute,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"settings.{name}: must be positive, got {value}")
        if not 1 <= self.default_fps <= MAX_FPS:
            message = f"must be in [1, {MAX_FPS}], got {self.default_fps}"
            raise ValueError(f"settings.default_fps: {message}")

        try:
            origins = tuple(normal_origin(origin) for origin in self.allowed_origins)
            hosts = tuple(normal_allowed_host(host) for host in self.allowed_hosts)
        except ValueError as error:
            raise ValueError(f"settings: {error}") from None
        object.__setattr__(self, "allowed_origins", origins)  # frozen: normalised once, here
        object.__setattr__(self, "allowed_hosts", hosts)

        if self.workers > self.max_connections:
            message = f"{self.workers} workers cannot share {self.max_connections} connections"
            raise ValueError(f"settings.workers: {message}")

    @property
    def rooms_off_reason(self) -> str | None:
        """Why rooms are off, or None: several processes without Redis cannot share them."""
        if self.workers > 1 and not self.redis_url:
            return (
                f"rooms are off: {self.workers} worker processes share no rooms without a broker; "
                "start with --redis redis://HOST:6379 (or --workers 1)"
            )
        return None

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def max_config_bytes(self) -> int:
        """A `config` may carry a whole run sent back (an export imported, a restore after a
        server restart) on top of what any message may: the largest network's weights and its
        optimizer's state, and `max_points` drawn points. 1.40 MiB by default."""
        layers, width = self.max_hidden_layers + 1, self.max_neurons
        parameters = layers * (width * width + width)
        numbers = parameters * (1 + OPTIMIZER_SLOTS)
        return self.max_message_bytes + numbers * NUMBER_BYTES + self.max_points * POINT_BYTES

    @property
    def connections_per_worker(self) -> int:
        """Each process counts only its own sessions: an equal share keeps the total within
        max_connections (the OS, not us, decides which process takes a connection)."""
        return self.max_connections // self.workers

    @property
    def sessions_per_address_per_worker(self) -> int:
        """Each process counts an address's sessions on its own, as for connections_per_worker;
        the kernel spreads one address's connections over the workers by their ports."""
        return max(1, self.max_sessions_per_address // self.workers)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        fields: dict[str, Any] = json.loads(text)
        fields["allowed_origins"] = tuple(fields.get("allowed_origins", ()))
        fields["allowed_hosts"] = tuple(fields.get("allowed_hosts", ()))
        return cls(**fields)

    def run_limits(self) -> Limits:
        """The engine's limits of every run this server builds."""
        from engine.schema import Limits

        return Limits(self.max_hidden_layers, self.max_neurons, self.max_points)

    def limits(self) -> dict[str, float]:
        """The limits a client is told about in `hello`."""
        return {
            "max_hidden_layers": self.max_hidden_layers,
            "max_neurons": self.max_neurons,
            "max_points": self.max_points,
            "max_message_bytes": self.max_message_bytes,
            "max_config_bytes": self.max_config_bytes,
            "rate_limit_per_second": self.rate_limit_per_second,
            "max_speed": MAX_SPEED,
            "speed_stops": list(SPEED_STOPS),
            "max_fps": MAX_FPS,
            "frame_window": self.frame_window,
            "ack_timeout": self.ack_timeout,
            "idle_timeout": self.idle_timeout,
            "resume_grace": self.resume_grace,
            "max_name_chars": MAX_NAME_CHARS,  # a student's name in a room
        }
