"""Size of the recurrent frame proposed in docs/recurrent.md (H = 16, T = 30), encoded with the
server's existing binary envelope (server/frames.py), for rnn and lstm on echo and text.

A measurement for the design, not the server's code: the server does not send these frames yet.
Run: python benchmarks/recurrent_frame_size.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import Recurrent, Trainer
from engine.recurrent import forget_gate_means, gradient_norms_through_time
from engine.sequences import SEQUENCE_TASKS, generate_sequences
from server.frames import encode_entries, plain_entry, u8_entry

T, N, H = 30, 32, 16
BUDGET = 8 * 1024
CASES = (("rnn", "echo", {"delay": 5}), ("lstm", "echo", {"delay": 5}), ("lstm", "text", {}))


def frame(cell: str, task: str, options: dict, with_gradients: bool) -> bytes:
    X, Y, mask = generate_sequences(task, N, T, 0, 1, **options)
    entry = SEQUENCE_TASKS[task]
    spec = {"cell": cell, "inputs": X.shape[2], "hidden": H, "outputs": Y.shape[2]}
    net = Recurrent.from_spec(spec | {"output": entry.output, "loss": entry.loss})
    trainer = Trainer(net, optimizer="adam", lr=0.01)
    trainer.step(X, Y, mask)
    trace = net.forward_trace(X)
    backward = net.backward(trace, Y, mask)
    grads = trainer.last_gradients
    header = {
        "type": "frame",
        "run": "r-0123456789abcdef",
        "iteration": 1234,
        "loss": 1.2345678,
        "test_loss": 1.3456789,
        "accuracy": 0.987,
        "gradient_norm": 0.1234567,
        "focus": 0,
        "grad_norms": {name: float(np.linalg.norm(g)) for name, g in grads.items()},
    }
    entries = []
    for name, W in net.weights.items():
        entries.append(u8_entry(name, W))  # edge colours: 8 bits are enough to draw
        if with_gradients:
            entries.append(u8_entry("d" + name, grads[name]))
    x, y, yhat = X[:, 0], Y[:, 0], trace.Yhat[:, 0]
    if task == "text":  # one-hot rows travel as character indices, probabilities as 8 bits
        entries += [plain_entry("x", x.argmax(axis=1).astype(np.uint8))]
        entries += [plain_entry("y", y.argmax(axis=1).astype(np.uint8)), u8_entry("yhat", yhat)]
    else:
        entries += [plain_entry("x", x), plain_entry("y", y), plain_entry("yhat", yhat)]
    entries.append(plain_entry("mask", mask[:, 0].astype(np.uint8)))
    entries += [u8_entry("h", trace.H[1:, 0]), u8_entry("dh", backward.dH[:, 0])]
    entries.append(plain_entry("dh_norms", gradient_norms_through_time(backward)))
    if cell == "lstm":
        entries += [u8_entry("c", trace.C[1:, 0])]  # type: ignore[index]
        entries += [plain_entry("forget_gates", forget_gate_means(net, trace))]
    return encode_entries(header, entries)


def main() -> None:
    print(f"recurrent frame, H={H}, T={T}, focus sequence unrolled; budget {BUDGET} bytes")
    for cell, task, options in CASES:
        sizes = [len(frame(cell, task, options, grads)) for grads in (False, True)]
        print(f"{cell:4} {task:5} {sizes[0]:6} bytes   (with 8-bit gradient matrices: {sizes[1]})")


if __name__ == "__main__":
    main()
