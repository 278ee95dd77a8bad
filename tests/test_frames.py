"""The binary envelope: layout, alignment, round trip, quantisation and JSON-safe headers."""

import json
import struct

import numpy as np
import pytest

from server import frames


def test_layout_matches_protocol_doc():
    W = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    message = frames.encode({"iteration": 3}, [("W/0", W), ("b/0", np.ones(3))])
    (length,) = struct.unpack_from("<I", message, 0)
    assert (4 + length) % 4 == 0
    header = json.loads(message[4 : 4 + length])
    assert header["iteration"] == 3
    assert header["arrays"][0] == {"name": "W/0", "dtype": "f32", "shape": [2, 3]}
    first = np.frombuffer(message, dtype="<f4", count=6, offset=4 + length)
    np.testing.assert_array_equal(first, W.ravel().astype(np.float32))
    assert len(message) == 4 + length + 6 * 4 + 3 * 4


def test_round_trip_keeps_order_and_pads_u8_to_four_bytes():
    odd = np.array([1, 2, 3, 4, 5], dtype=np.uint8)
    after = np.array([[-1.5, 2.25]])
    header, arrays = frames.decode(frames.encode({}, [("odd", odd), ("after", after)]))
    assert [entry["name"] for entry in header["arrays"]] == ["odd", "after"]
    np.testing.assert_array_equal(arrays["odd"], odd)
    np.testing.assert_array_equal(arrays["after"], after.astype(np.float32))


def test_quantise_spans_range_within_half_a_step():
    values = np.linspace(-3.0, 5.0, 1000).reshape(10, 100)
    q, lo, hi = frames.quantise(values)
    assert (lo, hi, q.dtype) == (-3.0, 5.0, np.uint8)
    assert q.min() == 0 and q.max() == 255
    restored = lo + q / 255 * (hi - lo)
    assert np.abs(restored - values).max() <= (hi - lo) / 255 / 2 + 1e-12


def test_quantise_flat_and_non_finite_surfaces():
    q, lo, hi = frames.quantise(np.full((3, 3), 0.25))
    assert (lo, hi) == (0.25, 0.25) and not q.any()
    q, lo, hi = frames.quantise(np.array([np.nan, 1.0, 3.0, np.inf]))
    assert (lo, hi) == (1.0, 3.0)
    assert q.tolist() == [0, 0, 255, 0]


def test_u8_entry_carries_its_range_through_decode():
    surface = np.array([[0.0, 0.5], [1.0, 0.25]])
    entry = frames.u8_entry("surface/output", surface)
    header, arrays = frames.decode(frames.encode_entries({}, [entry]))
    assert header["arrays"][0]["range"] == [0.0, 1.0]
    assert np.abs(arrays["surface/output"] - surface).max() <= 0.5 / 255 + 1e-12


def test_header_is_json_safe_for_browsers():
    header, _ = frames.decode(
        frames.encode({"loss": float("nan"), "big": np.float64(np.inf), "n": np.int64(4)}, [])
    )
    assert header["loss"] is None and header["big"] is None and header["n"] == 4


def test_decode_rejects_trailing_bytes():
    with pytest.raises(ValueError, match="trailing"):
        frames.decode(frames.encode({}, [("x", np.zeros(1))]) + b"\0\0\0\0")


def test_phase_message_splits_arrays_from_header():
    phase = {
        "phase": "forward",
        "layer": 1,
        "Z": np.ones((4, 2)),
        "mask": np.array([[True, False]]),
        "focus": {"Z": np.ones(2), "loss": 0.5},
        "W": [np.ones((2, 2)), np.ones((2, 1))],
    }
    header, arrays = frames.decode(frames.phase_message({**phase, "iteration": 7}))
    assert header["type"] == "phase" and header["phase"] == "forward" and header["layer"] == 1
    assert header["iteration"] == 7 and header["focus"] == {"loss": 0.5}
    assert sorted(arrays) == ["W/0", "W/1", "Z", "focus/Z", "mask"]
    assert arrays["mask"].dtype == np.uint8 and arrays["mask"].tolist() == [[1, 0]]


def test_frame_message_quantises_every_surface():
    surfaces = {
        "extent": [-6, 6],
        "output": np.random.default_rng(0).random((1, 48, 48)),
        "inputs": np.zeros((2, 20, 20)),
        "hidden": [np.ones((4, 20, 20)), np.ones((2, 20, 20))],
    }
    message = frames.frame_message({"iteration": 1}, [("W/0", np.ones((2, 4)))], surfaces)
    header, arrays = frames.decode(message)
    assert header["type"] == "frame" and header["extent"] == [-6, 6]
    np.testing.assert_array_equal(arrays["surface/hidden/0"], np.ones((4, 20, 20)))
    names = [entry["name"] for entry in header["arrays"]]
    assert names == [
        "W/0",
        "surface/output",
        "surface/inputs",
        "surface/hidden/0",
        "surface/hidden/1",
    ]
    assert all(entry["dtype"] == "u8" for entry in header["arrays"][1:])
