"""What the server sends of a recurrent run (engine/recurrent_run.py): the frame that draws the
focus sequence unrolled in time, and the `data` message describing its sequences. No math here:
every number is one the engine computed; this module only chooses a precision for each.

Frame (docs/protocol.md, "Recurrent frames"): header `recurrent` = {cell, task, steps, hidden,
alphabet, grad_norms (per parameter), dh_norms (T,), forget_gates (T,) and gates (i, f, g, o)
for an lstm}; arrays:
each weight matrix `W/<name>` as u8 (edge colours), `x`, `y`, `yhat` f32 (text: `x`, `y` as
character indices u8, `yhat` the predicted distribution (T, K) u8), `mask` u8, `h` and `dh`
(T, H) u8, `c` (T, H) u8 for an lstm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.recurrent_run import RecurrentRun
from engine.recurrent_spec import LSTM_GATES
from server.frames import encode_entries, plain_entry, u8_entry


def recurrent_header(run: RecurrentRun, figures: dict[str, np.ndarray]) -> dict[str, Any]:
    """The frame's `recurrent` header: the net's shape, the task, and the per-step figures."""
    network, data = run.network, run.config["data"]
    gradients = run.trainer.last_gradients
    header: dict[str, Any] = {
        "cell": network.cell,
        "task": data["task"],
        "steps": int(figures["h"].shape[0]),
        "hidden": network.hidden,
        "inputs": network.inputs,
        "outputs": network.outputs,
        "alphabet": run.alphabet,
        "truncate": run.config["training"]["truncate"],
        "grad_norms": {name: float(np.linalg.norm(g)) for name, g in gradients.items()},
        "dh_norms": figures["dh_norms"].tolist(),
    }
    if "forget_gates" in figures:
        header["forget_gates"] = figures["forget_gates"].tolist()
    if network.cell == "lstm":  # the order of W_h's column blocks, for the page's gate choice
        header["gates"] = list(LSTM_GATES)
    return header


def recurrent_entries(run: RecurrentRun, figures: dict[str, np.ndarray]) -> list:
    """The frame's arrays: weights as 8-bit colours, the focus sequence unrolled."""
    entries = [u8_entry(f"W/{name}", W) for name, W in run.network.weights.items()]
    if run.alphabet is not None:  # one-hot rows travel as character indices
        entries.append(plain_entry("x", figures["x"].argmax(axis=1).astype(np.uint8)))
        entries.append(plain_entry("y", figures["y"].argmax(axis=1).astype(np.uint8)))
        entries.append(u8_entry("yhat", figures["yhat"]))
    else:
        entries += [plain_entry(name, figures[name]) for name in ("x", "y", "yhat")]
    entries.append(plain_entry("mask", figures["mask"].astype(np.uint8)))
    entries += [u8_entry("h", figures["h"]), u8_entry("dh", figures["dh"])]
    if "c" in figures:
        entries.append(u8_entry("c", figures["c"]))
    return entries


def recurrent_frame(run: RecurrentRun, header: dict[str, Any]) -> bytes:
    """A recurrent `frame`: the session's header fields and metrics, then the unrolled view."""
    figures = run.unrolled()
    full = {"type": "frame", **header, "recurrent": recurrent_header(run, figures)}
    return encode_entries(full, recurrent_entries(run, figures))


# What the page is sent of each recurrent phase: all but the batch arrays listed here. They grow
# with the number of sequences (the loss phase's Yhat and Y are (T, n, K) each: 254 KB for an
# lstm on text, 1 MB for 64 sequences of 60 steps), and the page draws the followed sequence
# (the `focus` fields), the per-step figures and the recurrent weight's partial sums.
BATCH_ONLY = {
    "forward": ("x", "h", "yhat", "z", "gates", "c"),
    "loss": ("Yhat", "Y", "mask"),
    "backward": ("dh", "dz", "dgates", "dc"),
}


def recurrent_phase(phase: dict[str, Any]) -> dict[str, Any]:
    """The fields of an engine phase (engine/recurrent_phases.py) that the page is sent, every
    array at full precision (server/frames.py phase_message)."""
    left_out = BATCH_ONLY.get(phase["phase"], ())
    return {key: value for key, value in phase.items() if key not in left_out}


def recurrent_data(run: RecurrentRun) -> dict[str, Any]:
    """The `data` message of a recurrent run: no points, a description of its sequences."""
    data = run.config["data"]
    return {
        "type": "data",
        "train": [],
        "test": [],
        "kind": run.task.kind,
        "n_classes": len(run.alphabet) if run.alphabet else None,
        "sequences": {
            "task": data["task"],
            "label": run.task.label,
            "length": data["length"],
            "train": run.n_train,
            "test": int(run.test_sequences[0].shape[1]),
            "alphabet": run.alphabet,
        },
    }
