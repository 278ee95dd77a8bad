"""Speed of `Trainer.step` against a bare hand-written NumPy loop of the same math.

2-4-2-1 tanh network, sigmoid output with binary cross-entropy, batch 10, plain SGD.
Run: python benchmarks/engine_speed.py
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import Network, Trainer

SPEC = {"layers": [2, 4, 2, 1], "activation": "tanh", "output": "sigmoid", "loss": "bce", "seed": 3}
LR = 0.03
BATCH = 10


def engine_loop(X: np.ndarray, Y: np.ndarray, iterations: int) -> float:
    """Iterations per second of trainer.step."""
    trainer = Trainer(Network.from_spec(SPEC), optimizer="sgd", lr=LR)
    start = time.perf_counter()
    for _ in range(iterations):
        trainer.step(X, Y)
    return iterations / (time.perf_counter() - start)


def bare_loop(X: np.ndarray, Y: np.ndarray, iterations: int) -> float:
    """Iterations per second of the same forward, loss, backward and SGD update, written out."""
    net = Network.from_spec(SPEC)
    W1, W2, W3 = (W.copy() for W in net.weights)
    b1, b2, b3 = (b.copy() for b in net.biases)
    n = X.shape[0]
    start = time.perf_counter()
    for _ in range(iterations):
        A1 = np.tanh(X @ W1 + b1)
        A2 = np.tanh(A1 @ W2 + b2)
        Z3 = A2 @ W3 + b3
        Yhat = 1.0 / (1.0 + np.exp(-Z3))
        _loss = float(
            (np.maximum(Z3, 0.0) - Z3 * Y + np.log1p(np.exp(-np.abs(Z3)))).sum(axis=1).mean()
        )
        dZ3 = (Yhat - Y) * (1.0 / n)
        dZ2 = (dZ3 @ W3.T) * (1.0 - A2 * A2)
        dZ1 = (dZ2 @ W2.T) * (1.0 - A1 * A1)
        W3 -= LR * (A2.T @ dZ3)
        b3 -= LR * dZ3.sum(axis=0)
        W2 -= LR * (A1.T @ dZ2)
        b2 -= LR * dZ2.sum(axis=0)
        W1 -= LR * (X.T @ dZ1)
        b1 -= LR * dZ1.sum(axis=0)
    return iterations / (time.perf_counter() - start)


def main(iterations: int = 4000, repeats: int = 15) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-6, 6, size=(BATCH, 2))
    Y = (np.hypot(X[:, :1], X[:, 1:]) < 3).astype(np.float64)
    engine_loop(X, Y, 1000)  # warm up caches and lazy imports
    bare_loop(X, Y, 1000)
    # Pairs of runs back to back, so both loops of a pair see the same machine conditions; the
    # median over pairs keeps a burst of load on a shared machine from deciding the ratio.
    engine_rates, bare_rates, ratios = [], [], []
    for _ in range(repeats):
        engine_rates.append(engine_loop(X, Y, iterations))
        bare_rates.append(bare_loop(X, Y, iterations))
        ratios.append(bare_rates[-1] / engine_rates[-1])
    engine_rate, bare_rate = statistics.median(engine_rates), statistics.median(bare_rates)
    print(
        f"network 2-4-2-1 tanh, sigmoid/bce, batch {BATCH}, sgd, "
        f"median of {repeats} interleaved pairs of {iterations} iterations"
    )
    print(f"trainer.step   {engine_rate:10.0f} it/s   {1e6 / engine_rate:6.1f} µs/it")
    print(f"bare NumPy     {bare_rate:10.0f} it/s   {1e6 / bare_rate:6.1f} µs/it")
    print(
        f"engine time / bare time: {statistics.median(ratios):.2f}×  "
        f"(median of the pairs' ratios; goal: at most 1.3×)"
    )


if __name__ == "__main__":
    main()
    # The recurrent step (rnn and lstm) against its own bare BPTT loop.
    from benchmarks.recurrent_speed import main as recurrent_main

    recurrent_main()
