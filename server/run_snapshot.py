"""A whole run as bytes, exactly: what a student's fork receives from the teacher's process.

`Run.clone` starts a fresh optimizer; a fork must go on exactly as the teacher's run would
(float64 weights, optimizer state, random streams, batch order, counters), possibly in another
process. The snapshot is the run's data state: every array, random generator state and plain
value reachable from the Run through engine objects, by attribute path. Loading builds a Run from
the same config (the constructor makes the functions and the structure) and writes the values
back along the same paths. Nothing is executed on load: unlike pickle, a snapshot can only set
attributes the new run already has, to values of the same kind.

Layout: uint32 little-endian header length, UTF-8 JSON header, then the arrays' raw bytes.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from typing import Any

import numpy as np

from engine.recurrent_run import build_run
from engine.run import Limits, Run

DTYPES = {"f64": np.dtype("<f8"), "i64": np.dtype("<i8"), "bool": np.dtype("bool")}
MAX_DEPTH = 6
# What the receiving Run makes itself from the config (the data and its features), or must
# keep as its own (the receiving server's limits), or cannot carry over (a phase generator), or
# computes again when asked (a recurrent run's forward pass held for its next frame).
REBUILT_FROM_CONFIG = (
    "limits",
    "data",
    "_X_train",
    "_X_test",
    "_phases",
    "_phase_context",
    "_held_trace",
)


def _is_engine_object(value: Any) -> bool:
    """A mutable engine object: frozen ones (an activation, a loss) hold no state of the run."""
    if dataclasses.is_dataclass(value) and value.__dataclass_params__.frozen:
        return False
    return type(value).__module__.startswith("engine.") and hasattr(value, "__dict__")


class _Writer:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def array(self, value: np.ndarray) -> dict[str, Any]:
        name = next((key for key, dtype in DTYPES.items() if value.dtype.kind == dtype.kind), None)
        if name is None:
            raise TypeError(f"run snapshot: cannot store an array of {value.dtype}")
        data = np.ascontiguousarray(value, dtype=DTYPES[name]).tobytes()
        entry = {"array": name, "shape": list(value.shape), "offset": self.size}
        self.chunks.append(data)
        self.size += len(data)
        return entry

    def tree(self, value: Any, depth: int = 0) -> Any:
        """The JSON-able description of `value`; None for what the constructor rebuilds."""
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, np.random.Generator):
            return {"generator": value.bit_generator.state}
        if isinstance(value, np.generic):
            return {"value": value.item()}
        if value is None or isinstance(value, bool | int | float | str):
            return {"value": value}
        if depth >= MAX_DEPTH:
            return None
        if isinstance(value, tuple | list):
            return {"sequence": [self.tree(item, depth + 1) for item in value]}
        if isinstance(value, dict) and all(isinstance(key, str) for key in value):
            return {"dict": {key: self.tree(item, depth + 1) for key, item in value.items()}}
        if _is_engine_object(value):
            return {"object": {k: self.tree(v, depth + 1) for k, v in vars(value).items()}}
        return None  # functions, ufuncs: made again from the config


def dump_run(run: Run) -> bytes:
    """The run's exact state. A phase-stepped iteration in progress is not kept (as in clone):
    the fork starts that iteration again from its first phase."""
    writer = _Writer()
    state = {
        name: writer.tree(value, 1)
        for name, value in vars(run).items()
        if name not in REBUILT_FROM_CONFIG
    }
    header = {"config": run.config, "state": state}
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<I", len(text)) + text + b"".join(writer.chunks)


class _Reader:
    def __init__(self, body: memoryview) -> None:
        self.body = body

    def array(self, entry: dict[str, Any]) -> np.ndarray:
        dtype = DTYPES[entry["array"]]
        shape = tuple(int(n) for n in entry["shape"])
        count = int(np.prod(shape)) if shape else 1
        start = int(entry["offset"])
        data = self.body[start : start + count * dtype.itemsize]
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()

    def value(self, entry: dict[str, Any] | None, current: Any) -> Any:
        """The stored value, written into `current` where it is an array or engine object of
        the same shape (views of a flat parameter array must stay views)."""
        if entry is None:
            return current
        if "array" in entry:
            array = self.array(entry)
            if isinstance(current, np.ndarray) and current.shape == array.shape:
                current[...] = array
                return current
            return array.astype(current.dtype) if isinstance(current, np.ndarray) else array
        if "generator" in entry:
            if not isinstance(current, np.random.Generator):
                raise ValueError("run snapshot: a generator where the run has none")
            current.bit_generator.state = entry["generator"]
            return current
        if "value" in entry:
            return entry["value"]
        if "sequence" in entry:
            items = list(current) if isinstance(current, tuple | list) else []
            items += [None] * (len(entry["sequence"]) - len(items))
            values = [self.value(e, c) for e, c in zip(entry["sequence"], items, strict=False)]
            if hasattr(current, "_fields"):  # a NamedTuple
                return type(current)(*values)
            return tuple(values) if isinstance(current, tuple) else values
        if "dict" in entry:
            old = current if isinstance(current, dict) else {}
            return {key: self.value(e, old.get(key)) for key, e in entry["dict"].items()}
        if "object" in entry and _is_engine_object(current):
            self.fields(current, entry["object"])
            return current
        raise ValueError("run snapshot: an entry that does not fit the run")

    def fields(self, target: Any, entries: dict[str, Any]) -> None:
        for name, entry in entries.items():
            if not hasattr(target, name):
                raise ValueError(f"run snapshot: the run has no {name!r}")
            setattr(target, name, self.value(entry, getattr(target, name)))


def load_run(data: bytes, limits: Limits) -> Run:
    """A Run equal to the dumped one in every number; its config is validated again."""
    (length,) = struct.unpack_from("<I", data)
    header = json.loads(bytes(data[4 : 4 + length]))
    run = build_run(header["config"], limits)  # a Run or a RecurrentRun, as the config says
    _Reader(memoryview(data)[4 + length :]).fields(run, header["state"])
    return run
