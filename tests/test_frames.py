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
        "mask": np.array([[2.0, 0.0]]),  # dropout 0.5: a kept unit scaled by 1 / (1 - p)
        "focus": {"Z": np.ones(2), "loss": 0.5},
        "W": [np.ones((2, 2)), np.ones((2, 1))],
    }
    header, arrays = frames.decode(frames.phase_message({**phase, "iteration": 7}))
    assert header["type"] == "phase" and header["phase"] == "forward" and header["layer"] == 1
    assert header["iteration"] == 7 and header["focus"] == {"loss": 0.5}
    assert sorted(arrays) == ["W/0", "W/1", "Z", "focus/Z", "mask"]
    assert all(array.dtype == np.float64 for array in arrays.values())
    assert arrays["mask"].tolist() == [[2.0, 0.0]]


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


def test_phase_arrays_travel_as_f64_on_8_byte_boundaries_with_exact_header_numbers():
    phase = {
        "phase": "loss",
        "loss": 0.1 + 0.2,  # 0.30000000000000004: every digit must arrive
        "mask": np.array([2.0, 0.0, 2.0]),  # a dropout mask of p = 0.5, as the engine sends it
        "Yhat": np.array([[1 / 3, 2 / 3]]),
        "focus": {"loss": 1 / 7, "Z": np.array([np.pi, -1e-300])},
        "W": [np.arange(3) / 7],
    }
    message = frames.phase_message(phase)
    header, arrays = frames.decode(message)
    assert header["loss"] == 0.1 + 0.2 and header["focus"]["loss"] == 1 / 7
    dtypes = {entry["name"]: entry["dtype"] for entry in header["arrays"]}
    assert dtypes == {"mask": "f64", "Yhat": "f64", "focus/Z": "f64", "W/0": "f64"}
    for name, expected in [("Yhat", phase["Yhat"]), ("focus/Z", phase["focus"]["Z"])]:
        assert arrays[name].dtype == np.float64 and arrays[name].tobytes() == expected.tobytes()
    assert arrays["W/0"].tobytes() == phase["W"][0].tobytes()
    # Walk the envelope as docs/protocol.md says: each f64 array starts on an 8-byte boundary.
    (length,) = struct.unpack_from("<I", message, 0)
    offset = 4 + length
    for entry in header["arrays"]:
        size = 8 if entry["dtype"] == "f64" else 1
        offset += -offset % size
        start = offset
        offset += size * int(np.prod(entry["shape"]))
        offset += -offset % 4
        if entry["dtype"] == "f64":
            assert start % 8 == 0
            data = np.frombuffer(message, "<f8", int(np.prod(entry["shape"])), start)
            assert data.tobytes() == arrays[entry["name"]].tobytes()
    assert offset == len(message)


def test_frames_stay_f32_with_rounded_header_figures():
    message = frames.encode({"loss": 0.1 + 0.2}, [("W/0", np.array([1 / 3]))])
    header, arrays = frames.decode(message)
    assert header["loss"] == 0.3 and header["arrays"][0]["dtype"] == "f32"
    assert arrays["W/0"].dtype == np.float32
