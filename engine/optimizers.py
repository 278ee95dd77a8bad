"""Optimizers with exactly torch.optim's update rules (SGD, SGD momentum, RMSprop, Adam).

Each one is a pure step: (gradient, hyperparameters, state) -> (Δparams, new state), on the
network's flat parameter vector, so the trainer can throw a step away when it diverges.
"""

from typing import NamedTuple, Protocol

import numpy as np

Array = np.ndarray
State = tuple[Array, ...]


class Hyper(NamedTuple):
    """Hyperparameters, named as in torch.optim (their defaults live in engine/schema.py)."""

    lr: float
    momentum: float
    alpha: float
    beta1: float
    beta2: float
    eps: float


class Optimizer(Protocol):
    uses: tuple[str, ...]  # the hyperparameters its rule reads

    def initial_state(self, size: int) -> State: ...

    def propose(self, g: Array, hyper: Hyper, state: State) -> tuple[Array, State]: ...


class SGD:
    """w ← w − lr·g"""

    uses = ("lr",)

    def initial_state(self, size: int) -> State:
        return ()

    def propose(self, g: Array, hyper: Hyper, state: State) -> tuple[Array, State]:
        return -hyper.lr * g, state


class Momentum:
    """torch SGD(momentum=μ, dampening=0): v ← μ·v + g (v₁ = g), w ← w − lr·v"""

    uses = ("lr", "momentum")

    def initial_state(self, size: int) -> State:
        return (np.zeros(size),)

    def propose(self, g: Array, hyper: Hyper, state: State) -> tuple[Array, State]:
        v = hyper.momentum * state[0] + g
        return -hyper.lr * v, (v,)


class RMSprop:
    """torch RMSprop: s ← α·s + (1−α)·g², w ← w − lr·g / (√s + eps)"""

    uses = ("lr", "alpha", "eps")

    def initial_state(self, size: int) -> State:
        return (np.zeros(size),)

    def propose(self, g: Array, hyper: Hyper, state: State) -> tuple[Array, State]:
        s = hyper.alpha * state[0] + (1.0 - hyper.alpha) * (g * g)
        return -hyper.lr * (g / (np.sqrt(s) + hyper.eps)), (s,)


class Adam:
    """torch Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    w ← w − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + eps).

    The step count t is kept per parameter, as torch does per tensor: a frozen layer's count
    does not advance, so its bias correction resumes correctly when it is unfrozen.
    """

    uses = ("lr", "beta1", "beta2", "eps")

    def initial_state(self, size: int) -> State:
        return (np.zeros(size), np.zeros(size), np.zeros(size))

    def propose(self, g: Array, hyper: Hyper, state: State) -> tuple[Array, State]:
        m_old, v_old, t_old = state
        m = hyper.beta1 * m_old + (1.0 - hyper.beta1) * g
        v = hyper.beta2 * v_old + (1.0 - hyper.beta2) * (g * g)
        t = t_old + 1.0
        step_size = hyper.lr / (1.0 - hyper.beta1**t)
        denominator = np.sqrt(v) / np.sqrt(1.0 - hyper.beta2**t) + hyper.eps
        return -step_size * (m / denominator), (m, v, t)


OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": SGD(),
    "momentum": Momentum(),
    "rmsprop": RMSprop(),
    "adam": Adam(),
}
