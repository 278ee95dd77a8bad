"""The run schema: every option of a run declared once, one entry per field.

An entry says where the field lives (`training.lr`), what kind of value it takes, its default,
its range or choices (choices come from the engine's registries), whether it applies to a
running run (`live`) or rebuilds it, and how a person meets it (label, one-line help, control).
Everything else is derived from this table: validation (engine/checks.py, one check per kind),
the defaults, the server's message models, the page's controls (rendered by the server), the URL
hash (the key is the path), the lessons' validation and docs/options.md.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, activation_facts
from .cells import CELL_LABELS, FORGET_BIAS_RANGE
from .checks import (
    MAX_EXACT_INTEGER,
    Range,
    check_boolean,
    check_choice,
    check_choices,
    check_integer,
    check_integers,
    check_number,
)
from .datasets import DATASETS, MAX_NOISE
from .features import FEATURES
from .inits import INITS, MAX_INIT_SCALE
from .losses import DEFAULT_LOSS, LOSSES
from .optimizers import OPTIMIZERS
from .sequences import DEFAULT_DELAY, DEFAULT_TEXT, MAX_DELAY, MAX_TEXT, SEQUENCE_TASKS
from .sequences import check_text as check_sequence_text

SEED_MAX = MAX_EXACT_INTEGER  # every seed a page can send exactly
SECTIONS = ("data", "network", "training")
# Kinds a generic check handles; "rows" (data.points) and "parameters" (weights, biases) have
# checks of their own in the engine (their shape depends on other fields).
CHECKED_KINDS = ("number", "integer", "choice", "boolean", "choices", "integers", "text")
# The kinds of network a run can be (network.kind); a field belongs to one or both.
NETWORK_KINDS = ("feed-forward", "recurrent")
FEED_FORWARD, RECURRENT = NETWORK_KINDS
# The page's recurrent view stays readable up to this many steps (engine/sequences.py allows more).
MAX_SEQUENCE_LENGTH = 60
MAX_SEQUENCES = 256


@dataclass(frozen=True)
class Limits:
    """Size limits a server imposes on every run (its settings); they bound some ranges."""

    max_hidden_layers: int = 8
    max_neurons: int = 32
    max_points: int = 5000


@dataclass(frozen=True)
class Field:
    """One option of a run. `control` is how the page shows it: select, number, range,
    checkbox, checkboxes, or "" for a field with a view of its own (layers, frozen) or none."""

    path: str
    kind: str
    default: Any
    label: str
    help: str
    live: bool = False
    range: Range | None = None  # number and integer; integers: each item
    length: tuple[int, int] | None = None  # integers: how many
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    control: str = ""
    step: float | None = None  # the control's step; None: any value
    percent: bool = False  # shown as a percentage of 1
    when: tuple[str, tuple[str, ...]] | None = None  # shown only while that field has one of these
    in_url: bool = True
    noun: str = "integers"  # integers: what the list holds, in words
    kinds: tuple[str, ...] = NETWORK_KINDS  # the network kinds whose runs have this field
    facts: Callable[[str], dict[str, Any]] | None = None  # more about each choice, for the page

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.path.split(".", 1)[1]

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    def check(self, value: Any) -> Any:
        """The value normalised (ints of a number field become floats), or FieldError."""
        kind, path = self.kind, self.path
        if kind == "number":
            return check_number(path, value, self.range)
        if kind == "integer":
            return check_integer(path, value, int(self.range.low), int(self.range.high))
        if kind == "choice":
            return check_choice(path, value, self.values)
        if kind == "boolean":
            return check_boolean(path, value)
        if kind == "choices":
            return check_choices(path, value, self.values)
        if kind == "integers":
            return check_integers(path, value, self.range, self.length, noun=self.noun)
        if kind == "text":  # the one text field, data.text: its own rules (engine/sequences.py)
            return check_sequence_text(value)
        raise TypeError(f"{path}: a {kind} field has a check of its own")

    def describe(self) -> dict[str, Any]:
        """The entry as JSON (hello.schema): every attribute that is set."""
        entry: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "default": self.default,
            "label": self.label,
            "help": self.help,
            "live": self.live,
            "control": self.control,
            "url": self.in_url,
            "kinds": list(self.kinds),
        }
        if self.range is not None:
            entry["range"] = {"low": self.range.low, "high": self.range.high}
            entry["range"]["bounds"] = self.range.bounds
        if self.length is not None:
            entry["length"] = list(self.length)
        if self.choices:
            facts = self.facts or (lambda value: {})
            entry["choices"] = [
                {"value": v, "label": label, **facts(v)} for v, label in self.choices
            ]
        if self.step is not None:
            entry["step"] = self.step
        if self.percent:
            entry["percent"] = True
        if self.when is not None:
            entry["when"] = {"path": self.when[0], "values": list(self.when[1])}
        return entry


def _named(names: tuple[str, ...] | list[str]) -> tuple[tuple[str, str], ...]:
    """Registry names as choices labelled by the name itself."""
    return tuple((name, name) for name in names)


FF_ONLY = (FEED_FORWARD,)
FF_WHEN = ("network.kind", FF_ONLY)
RECURRENT_ONLY = (RECURRENT,)
RECURRENT_WHEN = ("network.kind", RECURRENT_ONLY)


def _users_of(hyperparameter: str) -> tuple[str, tuple[str, ...]]:
    """`when` of an optimizer hyperparameter: the optimizers that read it."""
    users = tuple(
        name for name, optimizer in OPTIMIZERS.items() if hyperparameter in optimizer.uses
    )
    return ("training.optimizer", users)


def _data_fields(limits: Limits) -> list[Field]:
    datasets = tuple((name, entry.label) for name, entry in DATASETS.items())
    features = tuple((name, feature.label) for name, feature in FEATURES.items())
    tasks = tuple((name, task.label) for name, task in SEQUENCE_TASKS.items())
    return [
        Field("data.task", "choice", "echo", "sequence task",
              "What the recurrent network learns to predict at each time step",
              choices=tasks, control="select", kinds=RECURRENT_ONLY, when=RECURRENT_WHEN),
        Field("data.length", "integer", 10, "sequence length", "Time steps per sequence",
              range=Range(2, MAX_SEQUENCE_LENGTH), control="number", step=1,
              kinds=RECURRENT_ONLY, when=RECURRENT_WHEN),
        Field("data.delay", "integer", DEFAULT_DELAY, "delay",
              "Echo: the target is the input this many steps ago", live=False,
              range=Range(1, MAX_DELAY), control="number", step=1, kinds=RECURRENT_ONLY,
              when=("data.task", ("echo",))),
        Field("data.text", "text", DEFAULT_TEXT, "text",
              f"The string whose next character is predicted (at most {MAX_TEXT} characters)",
              range=Range(2, MAX_TEXT), control="text", kinds=RECURRENT_ONLY,
              when=("data.task", ("text",))),
        Field("data.n_sequences", "integer", 32, "sequences",
              "Training sequences; every step trains on all of them",
              range=Range(1, MAX_SEQUENCES), control="number", step=1, kinds=RECURRENT_ONLY,
              when=RECURRENT_WHEN),
        Field("data.dataset", "choice", "circle", "data set", "The points to classify or fit",
              choices=datasets, control="select", kinds=FF_ONLY, when=FF_WHEN),
        Field("data.n_points", "integer", 200, "points", "How many points are drawn",
              range=Range(1, limits.max_points), control="number", step=10,
              kinds=FF_ONLY, when=FF_WHEN),
        Field("data.noise", "number", 0.0, "noise (%)",
              "How far labels are read from where each point was drawn",
              range=Range(0.0, MAX_NOISE), control="range", step=5),
        # Up to 1: a hand-made set of a few points may be all training, no test set.
        Field("data.train_ratio", "number", 0.5, "train share",
              "The share of points used for training; the rest test",
              range=Range(0.05, 1.0), control="range", step=0.05, percent=True,
              kinds=FF_ONLY, when=FF_WHEN),
        Field("data.features", "choices", ["x1", "x2"], "features",
              "The inputs the network sees, computed from each point's coordinates",
              choices=features, control="checkboxes", kinds=FF_ONLY, when=FF_WHEN),
        Field("data.seed", "integer", 1, "data seed", "Fixes the points and their split",
              range=Range(0, SEED_MAX), control="number", step=1),
        Field("data.points", "rows", None, "points drawn",
              "The person's own points [x1, x2, target], instead of generated ones",
              in_url=False, kinds=FF_ONLY, when=FF_WHEN),
    ]  # fmt: skip


def _network_fields(limits: Limits) -> list[Field]:
    return [
        Field("network.kind", "choice", FEED_FORWARD, "network kind",
              "Feed-forward: one pass per point; recurrent: a hidden state carried through a "
              "sequence, trained by backpropagation through time",
              choices=_named(NETWORK_KINDS), control="select"),
        Field("network.cell", "choice", "rnn", "cell",
              "rnn: h_t = f(x_t W_xh + h_(t-1) W_hh + b); lstm: gates and a memory cell",
              choices=tuple(CELL_LABELS.items()), control="select", kinds=RECURRENT_ONLY,
              when=RECURRENT_WHEN),
        Field("network.hidden", "integer", 8, "hidden units", "The size of the hidden state h_t",
              range=Range(1, limits.max_neurons), control="number", step=1,
              kinds=RECURRENT_ONLY, when=RECURRENT_WHEN),
        # Jozefowicz et al. 2015: a forget bias of 1-2 keeps the cell's memory from the start.
        Field("network.forget_bias", "number", 0.0, "forget bias",
              "The forget gate's first bias (lstm): 1-2 keeps the memory at the start",
              range=FORGET_BIAS_RANGE, control="number", step=0.5, kinds=RECURRENT_ONLY,
              when=("network.cell", ("lstm",))),
        Field("network.layers", "integers", [2, 4, 2, 1], "layers",
              "Neurons per layer, inputs first; the +/- buttons over the network change it",
              range=Range(1, limits.max_neurons), length=(2, limits.max_hidden_layers + 2),
              noun=f"sizes (at most {limits.max_hidden_layers} hidden layers)", kinds=FF_ONLY,
              when=FF_WHEN),
        # A recurrent cell takes fewer (rnn: tanh, relu; lstm: fixed): state.allowed says which.
        Field("network.activation", "choice", "tanh", "activation",
              "The function every hidden neuron applies", choices=_named(HIDDEN_ACTIVATIONS),
              control="select", facts=activation_facts),
        Field("network.output", "choice", "sigmoid", "output",
              "The output layer's function; a two-class set takes 1 sigmoid output or 2 softmax "
              "outputs (the +/- over the output switch)", choices=_named(OUTPUT_ACTIVATIONS),
              control="select", kinds=FF_ONLY, when=FF_WHEN, facts=activation_facts),
        Field("network.loss", "choice", DEFAULT_LOSS["sigmoid"], "loss",
              "What training minimises",
              choices=tuple((name, loss.label) for name, loss in LOSSES.items()), control="select",
              kinds=FF_ONLY, when=FF_WHEN),
        Field("network.init", "choice", "xavier", "init", "How the first weights are drawn",
              choices=_named(INITS), control="select"),
        Field("network.init_scale", "number", 1.0, "init scale",
              "Multiplies the initial weights' spread",
              range=Range(0.0, MAX_INIT_SCALE, "(]"), control="number", step=0.1),
        Field("network.seed", "integer", 1, "weight seed",
              "Fixes the first weights, the dropout masks and the batch order",
              range=Range(0, SEED_MAX), control="number", step=1),
        Field("network.bias", "boolean", True, "use biases", "Whether neurons have a bias",
              control="checkbox", kinds=FF_ONLY, when=FF_WHEN),
        Field("network.weights", "parameters", None, "weights",
              "Given weights, one (fan_in, fan_out) matrix per layer", in_url=False),
        Field("network.biases", "parameters", None, "biases",
              "Given biases, one vector per layer", in_url=False, kinds=FF_ONLY, when=FF_WHEN),
    ]  # fmt: skip


def _training_fields(limits: Limits) -> list[Field]:
    return [
        Field("training.optimizer", "choice", "sgd", "optimizer", "The update rule",
              live=True, choices=_named(tuple(OPTIMIZERS)), control="select"),
        Field("training.lr", "number", 0.03, "learning rate", "The size of each step",
              live=True, range=Range(0.0, 10.0, "(]"), control="number"),
        Field("training.momentum", "number", 0.9, "momentum",
              "How much of the last step carries into the next", live=True,
              range=Range(0.0, 1.0, "[)"), control="number", when=_users_of("momentum")),
        Field("training.alpha", "number", 0.99, "α (decay)",
              "How slowly the running mean of squared gradients forgets", live=True,
              range=Range(0.0, 1.0, "[)"), control="number", when=_users_of("alpha")),
        Field("training.beta1", "number", 0.9, "β₁", "Decay of the running mean of gradients",
              live=True, range=Range(0.0, 1.0, "[)"), control="number",
              when=_users_of("beta1")),
        Field("training.beta2", "number", 0.999, "β₂",
              "Decay of the running mean of squared gradients", live=True,
              range=Range(0.0, 1.0, "[)"), control="number", when=_users_of("beta2")),
        Field("training.eps", "number", 1e-8, "ε", "Keeps the step finite where gradients vanish",
              live=True, range=Range(0.0, 1.0, "(]"), control="number", when=_users_of("eps")),
        # Classroom limits: a penalty beyond λ = 1 swamps the data gradient of these small sets
        # at once, and dropout above 0.9 leaves a small hidden layer all but empty.
        Field("training.l1", "number", 0.0, "L1", "Pulls every weight towards 0 by a constant",
              live=True, range=Range(0.0, 1.0), control="number"),
        Field("training.l2", "number", 0.0, "L2", "Shrinks every weight in proportion to its size",
              live=True, range=Range(0.0, 1.0), control="number"),
        Field("training.dropout", "number", 0.0, "dropout",
              "The chance that a hidden neuron is left out of a training step", live=True,
              range=Range(0.0, 0.9), control="range", step=0.1, kinds=FF_ONLY, when=FF_WHEN),
        # torch.nn.utils.clip_grad_norm_'s max_norm; 0 turns clipping off.
        Field("training.clip", "number", 0.0, "clip",
              "Largest gradient norm a step may use; a longer gradient is scaled down (0: off)",
              live=True, range=Range(0.0, 1000.0), control="number"),
        # Truncated BPTT: the gradient stops at every k-th step (PyTorch's h.detach()).
        Field("training.truncate", "integer", 0, "truncate",
              "Backpropagate through at most this many steps per window (0: the whole sequence)",
              live=True, range=Range(0, MAX_SEQUENCE_LENGTH), control="number", step=1,
              kinds=RECURRENT_ONLY, when=RECURRENT_WHEN),
        Field("training.batch_size", "integer", 10, "batch size",
              "Training samples per step (at most the training set)", live=True,
              range=Range(1, limits.max_points), control="number", step=1,
              kinds=FF_ONLY, when=FF_WHEN),
        Field("training.frozen", "integers", [], "frozen layers",
              "Weight layers that are not trained (the boxes over the network)", live=True,
              range=Range(0, limits.max_hidden_layers), length=(0, limits.max_hidden_layers + 1),
              noun="weight layers", kinds=FF_ONLY, when=FF_WHEN),
    ]  # fmt: skip


@lru_cache(maxsize=8)
def fields(limits: Limits = Limits()) -> tuple[Field, ...]:
    """Every field of a run, in the order the page shows them."""
    return (*_data_fields(limits), *_network_fields(limits), *_training_fields(limits))


def field(path: str, limits: Limits = Limits()) -> Field:
    """The field at `path` (KeyError for an unknown one)."""
    return _by_path(limits)[path]


@lru_cache(maxsize=8)
def _by_path(limits: Limits) -> dict[str, Field]:
    return {entry.path: entry for entry in fields(limits)}


def section_fields(
    section: str, limits: Limits = Limits(), kind: str | None = None
) -> tuple[Field, ...]:
    """The fields of one section, of runs of network kind `kind` (None: of either kind)."""
    return tuple(
        entry
        for entry in fields(limits)
        if entry.section == section and (kind is None or kind in entry.kinds)
    )


def section_keys(section: str, kind: str | None = None) -> tuple[str, ...]:
    return tuple(entry.key for entry in section_fields(section, kind=kind))


def section_defaults(section: str, kind: str = FEED_FORWARD) -> dict[str, Any]:
    """The defaults of one section of a `kind` run (a fresh copy); fields without a default
    are left out."""
    return {
        entry.key: copy.deepcopy(entry.default)
        for entry in section_fields(section, kind=kind)
        if entry.default is not None
    }


def default_config(kind: str = FEED_FORWARD) -> dict[str, Any]:
    """A full default configuration of a `kind` run (a fresh copy)."""
    config = {section: section_defaults(section, kind) for section in SECTIONS}
    config["network"]["kind"] = kind
    return config


def describe(limits: Limits = Limits()) -> list[dict[str, Any]]:
    """The schema as JSON, for hello.schema and the page's controls."""
    return [entry.describe() for entry in fields(limits)]
