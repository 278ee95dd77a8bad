"""Speed of `Trainer.step` on a Recurrent net against a bare NumPy BPTT loop of the same math.

rnn (tanh) and lstm, H = 16, T = 20, n = 16 sequences of the echo task (delay 5), linear
readout with mse, plain SGD. Both loops run interleaved in one process, several times; the
figure is the median of the per-run ratios.
Run: python benchmarks/recurrent_speed.py   (also run by benchmarks/engine_speed.py)
"""

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import Recurrent, Trainer
from engine.sequences import generate_sequences

H, T, N, LR = 16, 20, 16, 0.05


def spec(cell: str) -> dict:
    return {"cell": cell, "inputs": 1, "hidden": H, "outputs": 1, "seed": 3}


def seconds_per_step(step: Callable[[], None], iterations: int) -> float:
    """Seconds per call of `step`, over `iterations` calls."""
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    return (time.perf_counter() - start) / iterations


def engine_loop(cell: str, X, Y, mask, iterations: int) -> float:
    """Seconds per trainer.step."""
    trainer = Trainer(Recurrent.from_spec(spec(cell)), optimizer="sgd", lr=LR)
    return seconds_per_step(lambda: trainer.step(X, Y, mask), iterations)


def initial_weights(cell: str) -> dict[str, np.ndarray]:
    """Copies of the engine's initial weights, for a bare loop to train."""
    return {k: v.copy() for k, v in Recurrent.from_spec(spec(cell)).weights.items()}


def readout_backward(hs, Y, mask, W_hy, b_y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear readout of every h_t (hs: (T + 1, n, H), h_0 first), the masked halved squared
    error, and back: ∂L/∂W_hy, ∂L/∂b_y and each step's ∂L/∂h_t through its own output (T, n, H)."""
    n = hs.shape[1]
    Yhat = hs[1:] @ W_hy + b_y
    R = (Yhat - Y) * mask[:, :, None]
    _loss = 0.5 * float((R * (Yhat - Y)).sum()) / n
    dy = R / n
    dW_hy = hs[1:].reshape(T * n, H).T @ dy.reshape(T * n, 1)
    db_y = dy.sum(axis=(0, 1))
    return dW_hy, db_y, dy @ W_hy.T


def sgd(pairs) -> None:
    for param, grad in pairs:
        param -= LR * grad


def bare_rnn(X, Y, mask, iterations: int) -> float:
    """Seconds per step of the same forward, loss, BPTT and SGD update, written out."""
    W = initial_weights("rnn")
    W_xh, W_hh, b_h, W_hy, b_y = W["W_xh"], W["W_hh"], W["b_h"], W["W_hy"], W["b_y"]
    n = X.shape[1]

    def step() -> None:
        hs = np.zeros((T + 1, n, H))
        Z = X @ W_xh + b_h
        for t in range(T):
            hs[t + 1] = np.tanh(Z[t] + hs[t] @ W_hh)
        dW_hy, db_y, dh_own = readout_backward(hs, Y, mask, W_hy, b_y)
        dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros_like(b_h)
        dh_next = np.zeros((n, H))
        for t in reversed(range(T)):
            dz = (dh_own[t] + dh_next) * (1 - hs[t + 1] * hs[t + 1])
            dW_xh += X[t].T @ dz
            dW_hh += hs[t].T @ dz
            db_h += dz.sum(axis=0)
            dh_next = dz @ W_hh.T
        sgd(((W_xh, dW_xh), (W_hh, dW_hh), (b_h, db_h), (W_hy, dW_hy), (b_y, db_y)))

    return seconds_per_step(step, iterations)


def bare_lstm(X, Y, mask, iterations: int) -> float:
    """Seconds per step of the same LSTM forward, loss, BPTT and SGD update, written out."""
    W = initial_weights("lstm")
    W_x, W_h, b, W_hy, b_y = W["W_x"], W["W_h"], W["b"], W["W_hy"], W["b_y"]
    n = X.shape[1]

    def step() -> None:
        hs, cs = np.zeros((T + 1, n, H)), np.zeros((T + 1, n, H))
        gates, tcs = np.zeros((T, n, 4 * H)), np.zeros((T, n, H))
        pre_x = X @ W_x + b
        for t in range(T):
            pre = pre_x[t] + hs[t] @ W_h
            g = 1.0 / (1.0 + np.exp(-pre))
            g[:, 2 * H : 3 * H] = np.tanh(pre[:, 2 * H : 3 * H])
            gates[t] = g
            cs[t + 1] = g[:, H : 2 * H] * cs[t] + g[:, :H] * g[:, 2 * H : 3 * H]
            tcs[t] = np.tanh(cs[t + 1])
            hs[t + 1] = g[:, 3 * H :] * tcs[t]
        dW_hy, db_y, dh_own = readout_backward(hs, Y, mask, W_hy, b_y)
        dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b)
        dh_next, dc_next = np.zeros((n, H)), np.zeros((n, H))
        for t in reversed(range(T)):
            g = gates[t]
            i, f, c_hat, o = g[:, :H], g[:, H : 2 * H], g[:, 2 * H : 3 * H], g[:, 3 * H :]
            dh = dh_own[t] + dh_next
            dc = dc_next + dh * o * (1 - tcs[t] * tcs[t])
            da = np.concatenate(
                [
                    dc * c_hat * i * (1 - i),
                    dc * cs[t] * f * (1 - f),
                    dc * i * (1 - c_hat * c_hat),
                    dh * tcs[t] * o * (1 - o),
                ],
                axis=1,
            )
            dW_x += X[t].T @ da
            dW_h += hs[t].T @ da
            db += da.sum(axis=0)
            dh_next = da @ W_h.T
            dc_next = dc * f
        sgd(((W_x, dW_x), (W_h, dW_h), (b, db), (W_hy, dW_hy), (b_y, db_y)))

    return seconds_per_step(step, iterations)


def main(iterations: int = 300, runs: int = 15) -> None:
    X, Y, mask = generate_sequences("echo", N, T, 0, seed=0, delay=5)
    setup = f"H={H}, T={T}, n={N}, echo (delay 5), linear/mse, sgd"
    print(f"recurrent {setup}; {runs} interleaved runs × {iterations} steps")
    for cell, bare in (("rnn", bare_rnn), ("lstm", bare_lstm)):
        engine_loop(cell, X, Y, mask, 100)  # warm up
        bare(X, Y, mask, 100)
        ratios, engine_times, bare_times = [], [], []
        for _ in range(runs):  # interleaved, so both loops see the same machine conditions
            engine_time = engine_loop(cell, X, Y, mask, iterations)
            bare_time = bare(X, Y, mask, iterations)
            engine_times.append(engine_time)
            bare_times.append(bare_time)
            ratios.append(engine_time / bare_time)
        print(
            f"{cell:4}  trainer.step {1e6 * statistics.median(engine_times):7.1f} µs/it   "
            f"bare NumPy {1e6 * statistics.median(bare_times):7.1f} µs/it   "
            f"ratio (engine / bare), median of {runs}: {statistics.median(ratios):.2f}×  "
            f"(range {min(ratios):.2f}-{max(ratios):.2f}; goal: at most 1.5×)"
        )


if __name__ == "__main__":
    main()
