"""Binary envelope of docs/protocol.md: a JSON header, then f32, f64 and (quantised) u8 arrays."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

ALIGN = 4
F64_ALIGN = 8  # a Float64Array must start on a multiple of 8 bytes of its message
DTYPES = {"f32": np.dtype("<f4"), "f64": np.dtype("<f8"), "u8": np.dtype(np.uint8)}
# Header figures (losses, norms) are shown, not computed with: float32's precision is plenty,
# and 17-digit doubles would make up a fifth of a frame.
HEADER_DIGITS = 7


def encode(header: Mapping[str, Any], arrays: Iterable[tuple[str, np.ndarray]]) -> bytes:
    """Pack `arrays` (name, array) after `header`; float arrays become f32, uint8 ones stay u8."""
    return encode_entries(header, (plain_entry(name, array) for name, array in arrays))


def plain_entry(name: str, array: np.ndarray) -> tuple[dict[str, Any], bytes]:
    """An f32 (or already-u8) array as its header entry and its bytes."""
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return {"name": name, "dtype": "u8", "shape": list(array.shape)}, array.tobytes()
    with np.errstate(over="ignore"):  # a diverged run's huge values become ±inf, as they are
        data = np.ascontiguousarray(array, dtype="<f4")
    return {"name": name, "dtype": "f32", "shape": list(array.shape)}, data.tobytes()


def f64_entry(name: str, array: np.ndarray) -> tuple[dict[str, Any], bytes]:
    """A float array at full precision (phases: step mode shows every digit the engine has)."""
    data = np.ascontiguousarray(array, dtype="<f8")
    return {"name": name, "dtype": "f64", "shape": list(data.shape)}, data.tobytes()


def u8_entry(name: str, array: np.ndarray) -> tuple[dict[str, Any], bytes]:
    """A float array quantised to 8 bits over its own finite range (value = lo + q/255 (hi-lo))."""
    q, lo, hi = quantise(array)
    # 7 digits move a decoded value by ~1e-7 of the range, far below one step of 1/255.
    span = [float(f"{lo:.{HEADER_DIGITS}g}"), float(f"{hi:.{HEADER_DIGITS}g}")]
    entry = {"name": name, "dtype": "u8", "shape": list(q.shape), "range": span}
    return entry, q.tobytes()


def quantise(array: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Map `array` onto 0..255 over [min, max] of its finite values; non-finite values become lo."""
    values = np.asarray(array, dtype=np.float64)
    # The ufuncs' reduce, not values.min(): the same result without a Python wrapper (4 a frame).
    lo = float(np.minimum.reduce(values, axis=None, initial=np.inf))
    hi = float(np.maximum.reduce(values, axis=None, initial=-np.inf))
    finite = None
    if not (math.isfinite(lo) and math.isfinite(hi)):  # rare (a diverged run): slow path
        finite = np.isfinite(values)
        if not finite.any():
            return np.zeros(values.shape, dtype=np.uint8), 0.0, 0.0
        lo, hi = float(values[finite].min()), float(values[finite].max())
    if hi == lo:  # a flat surface: every q = 0 decodes to lo exactly
        return np.zeros(values.shape, dtype=np.uint8), lo, hi
    scaled = (values - lo) * (255.0 / (hi - lo))
    if finite is not None:
        scaled[~finite] = 0.0
    return np.rint(scaled).astype(np.uint8), lo, hi


def encode_entries(
    header: Mapping[str, Any],
    entries: Iterable[tuple[dict[str, Any], bytes]],
    digits: int | None = HEADER_DIGITS,
) -> bytes:
    """The envelope: u32 header length, padded JSON header, then each array on a 4-byte boundary
    (8 for f64); header floats keep `digits` significant digits (None: all of them)."""
    entries = list(entries)
    descriptors = [descriptor for descriptor, _ in entries]
    # Descriptors hold only names, ints and finite Python floats: no need to walk them.
    compact = {**json_safe(header, digits=digits), "arrays": descriptors}
    text = json.dumps(compact, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-(4 + len(text)) % ALIGN)
    parts, offset = [struct.pack("<I", len(text)), text], 4 + len(text)
    for descriptor, data in entries:
        gap = -offset % F64_ALIGN if descriptor["dtype"] == "f64" else 0
        padded = b"\0" * gap + data + b"\0" * (-len(data) % ALIGN)
        parts.append(padded)
        offset += len(padded)
    return b"".join(parts)


def decode(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The inverse of `encode`, as a client does it: header and arrays (u8 ranges expanded)."""
    (length,) = struct.unpack_from("<I", message, 0)
    header = json.loads(message[4 : 4 + length].decode("utf-8"))
    arrays, offset = {}, 4 + length
    for entry in header["arrays"]:
        dtype = DTYPES[entry["dtype"]]
        if entry["dtype"] == "f64":
            offset += -offset % F64_ALIGN
        count = math.prod(entry["shape"])
        array = np.frombuffer(message, dtype=dtype, count=count, offset=offset)
        array = array.reshape(entry["shape"])
        if "range" in entry:
            lo, hi = entry["range"]
            array = lo + array.astype(np.float64) / 255.0 * (hi - lo)
        arrays[entry["name"]] = array
        offset += count * dtype.itemsize
        offset += -offset % ALIGN
    if offset != len(message):
        raise ValueError(f"envelope: {len(message) - offset} unexpected trailing bytes")
    return header, arrays


def json_safe(value: Any, digits: int | None = None) -> Any:
    """Values for JSON.parse: NumPy scalars become numbers, NaN and ±inf become null, and floats
    keep `digits` significant digits when given."""
    kind = type(value)
    if kind is float or kind is np.float64:
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}") if digits is not None else float(value)
    if kind is int or kind is str or kind is bool or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(key): json_safe(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, digits) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist(), digits)
    if isinstance(value, np.generic):
        return json_safe(value.item(), digits)
    return value


def frame_message(
    header: Mapping[str, Any],
    parameters: Sequence[tuple[str, np.ndarray]],
    surfaces: Mapping[str, Any],
    more_surfaces: Sequence[tuple[str, np.ndarray]] = (),
) -> bytes:
    """A `frame`: parameters and gradients as f32, every surface quantised to u8 (the racers'
    output surfaces among `more_surfaces`, named `compare/<k>/surface/output`)."""
    entries = parameter_entries(parameters)
    entries.append(u8_entry("surface/output", surfaces["output"]))
    entries.append(u8_entry("surface/inputs", surfaces["inputs"]))
    entries.extend(
        u8_entry(f"surface/hidden/{layer}", grid) for layer, grid in enumerate(surfaces["hidden"])
    )
    entries.extend(u8_entry(name, grid) for name, grid in more_surfaces)
    return encode_entries({"type": "frame", **header, "extent": surfaces["extent"]}, entries)


def parameter_entries(
    parameters: Sequence[tuple[str, np.ndarray]],
) -> list[tuple[dict[str, Any], bytes]]:
    """Float64 arrays as f32 entries, converted in one NumPy call: a frame carries four per
    layer, and converting each on its own cost more than the conversion itself."""
    arrays = [np.asarray(array) for _, array in parameters]
    if not arrays or any(array.dtype != np.float64 for array in arrays):
        return [plain_entry(name, array) for name, array in parameters]
    with np.errstate(over="ignore"):  # a diverged run's huge values become ±inf, as they are
        data = np.concatenate([array.ravel() for array in arrays]).astype("<f4").tobytes()
    entries, start = [], 0
    for (name, _), array in zip(parameters, arrays, strict=True):
        end = start + 4 * array.size  # f32 arrays need no padding
        entry = {"name": name, "dtype": "f32", "shape": list(array.shape)}
        entries.append((entry, data[start:end]))
        start = end
    return entries


def phase_message(phase: Mapping[str, Any]) -> bytes:
    """A `phase`: array fields (nested ones named `focus/Z`, `W/0`, ...) as f64 (a dropout mask
    too: 0 or 1/(1 − p), as the engine applies it), the rest in the header with every digit.

    Step mode shows the engine's numbers as they are (a published worked example's total error
    to the last digit); a phase is sent on request, one at a time, so its size does not matter.
    """
    header: dict[str, Any] = {"type": "phase"}
    entries: list[tuple[dict[str, Any], bytes]] = []
    _split_phase(phase, "", header, entries)
    return encode_entries(header, entries, digits=None)


def _split_phase(
    fields: Mapping[str, Any],
    prefix: str,
    header: dict[str, Any],
    entries: list[tuple[dict[str, Any], bytes]],
) -> None:
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if isinstance(value, np.ndarray):
            entries.append(f64_entry(name, value))
        elif isinstance(value, list | tuple) and value and isinstance(value[0], np.ndarray):
            for index, item in enumerate(value):
                entries.append(f64_entry(f"{name}/{index}", item))
        elif isinstance(value, Mapping):
            nested: dict[str, Any] = {}
            _split_phase(value, f"{name}/", nested, entries)
            if nested:
                header[key] = nested
        else:
            header[key] = value
