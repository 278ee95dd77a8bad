"""Builders of what the server tells a client: hello, state, data, export and the binary frame.
Each is a pure function of the run and the session's streaming state; none changes anything but
the histories it hands over."""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from engine import schema
from engine.changes import allowed_choices
from engine.progress import progress
from engine.recurrent_run import RecurrentRun
from engine.run import Limits, Run, default_config
from server import frames, protocol, room_messages
from server.config import PROTOCOL_VERSION, Settings
from server.race import Race, add_point
from server.recurrent_frames import recurrent_data, recurrent_frame


def hello(
    settings: Settings, limits: Limits, state: dict[str, Any], speed: int | str, fps: int
) -> dict[str, Any]:
    return {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "limits": settings.limits(),
        "schema": schema.describe(limits),
        "defaults": default_config(),
        # The default run of each network kind: a link naming network.kind starts from its own.
        "kinds": {kind: default_config(kind) for kind in schema.NETWORK_KINDS},
        "lessons": protocol.lessons(),
        "challenge": room_messages.challenge_options(),
        "speed": speed,
        "fps": fps,
        "state": state,
    }


def state(run: Run, run_id: int, playing: bool) -> dict[str, Any]:
    """The run as it is now; `run` says which run every later frame and phase belongs to, and
    `allowed` which values each choice of the network would be accepted with now."""
    return {
        "type": "state",
        "run": run_id,
        "config": run.config,
        "allowed": allowed_choices(run.config, run.limits),
        "network": run.network.to_spec(),
        "playing": playing,
        "iteration": run.iteration,
        "epoch": run.epoch,
    }


def export(run: Run) -> dict[str, Any]:
    """The run's config with its current weights as float64 JSON numbers: a file that rebuilds
    the network exactly (Python's float repr round-trips every double)."""
    config = copy.deepcopy(run.config)
    # The spec's keys that are fields of the run's network section (a recurrent spec also
    # holds its sizes, readout and loss, which the task decides).
    keys = schema.section_keys("network", run.kind)
    spec = {key: value for key, value in run.network.to_spec().items() if key in keys}
    config["network"] = {**config["network"], **spec}
    return {
        "type": "export",
        "config": config,
        "iteration": run.iteration,
        "epoch": run.epoch,
        "progress": progress(run),  # sent back in a `restore`, the run goes on bit for bit
    }


def data(run: Run | RecurrentRun) -> dict[str, Any]:
    if run.kind == schema.RECURRENT:
        return recurrent_data(run)  # type: ignore[arg-type]
    dataset = run.data
    return {
        "type": "data",
        "train": dataset.train_rows(),
        "test": dataset.test_rows(),
        "kind": dataset.kind,
        "n_classes": dataset.n_classes,
    }


def frame(
    run: Run,
    metrics: dict[str, Any],
    history: deque,
    race: Race,
    settings: Settings,
    header: dict[str, Any],
) -> bytes:
    """The binary frame: `metrics`, the loss points since the last frame (handed over, so the
    deques empty), the session's own `header` fields, parameters and surfaces."""
    if not history or history[-1][0] != metrics["iteration"]:
        add_point(history, metrics)  # the history ends with this frame's own point
    full = {**metrics, "history": list(history), **header, "focus_sample": run.focus}
    history.clear()
    if race:
        full["compare"] = race.summaries()
    if run.kind == schema.RECURRENT:
        return recurrent_frame(run, full)  # type: ignore[arg-type]
    racers = []
    if race:
        racers = [
            (f"compare/{index}/surface/output", variant.run.output_surface(settings.output_grid))
            for index, variant in enumerate(race.variants)
        ]
    surfaces = run.surfaces(settings.output_grid, settings.neuron_grid)
    return frames.frame_message(full, parameters(run), surfaces, racers)


def parameters(run: Run) -> list[tuple[str, Any]]:
    """Weights, biases and the gradient the last step applied (zeros before the first one)."""
    network = run.network
    arrays = [(f"W/{layer}", W) for layer, W in enumerate(network.weights)]
    arrays += [(f"b/{layer}", b) for layer, b in enumerate(network.biases)]
    gradients = run.trainer.last_gradients
    arrays += [(f"dW/{layer}", g["W"]) for layer, g in enumerate(gradients)]
    arrays += [(f"db/{layer}", g["b"]) for layer, g in enumerate(gradients)]
    return arrays
