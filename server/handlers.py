"""The session's message handlers, one per client message type (`on_<type>`): each validates
fully before it changes anything. A part of `Session` (server/session.py), which owns the run,
the streams and the locks these use."""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING

from engine import progress
from engine.changes import apply_change, carried_parameters, changeable
from engine.cost import backprop_cost_table, network_cost_row
from engine.lessons import get_lesson
from engine.recurrent_run import build_run
from engine.run import Run
from engine.schema import FEED_FORWARD, RECURRENT
from server import frames, messages, protocol
from server.pacing import COST_ROW_SECONDS, ChunkSizer, phase_tokens
from server.recurrent_frames import recurrent_phase

if TYPE_CHECKING:
    from server.session import Session

MAX_STEP_ITERATIONS = 20_000  # a few seconds of training at most


class MessageHandlers:
    async def new_run(self: Session, run: Run | None = None, *, data: bool = False) -> None:
        """A new run (config, reset, new points): a new id, a fresh history, the race restarted
        on it, and the page told by `state` (and `data` when the data changed)."""
        if run is not None:
            self.run = run
            # Its iterations may cost far more or less than the last run's: measure them anew.
            self.chunk = ChunkSizer(self.settings.slice_seconds)
        self.run_id += 1
        self.race.restart(self.run)
        self.history.clear()
        await self.send_json(await self.engine_call("state", self.state_message))
        if data:
            await self.send_json(await self.engine_call("data", messages.data, self.run))

    async def on_config(self: Session, message: protocol.Config) -> None:
        run = await self.engine_call("config", lambda: build_run(message.config(), self.limits))
        self.set_playing(False)
        await self.new_run(run, data=True)

    async def on_change(self: Session, message: protocol.Change) -> None:
        """A control changed: a live field is set on the run; any other rebuilds it, and a
        playing run keeps playing (the person changed one thing, not the transport)."""
        entry = changeable(message.path, self.limits)
        if entry.live:
            self.run.set({entry.key: message.value})
            await self.send_json(await self.engine_call("state", self.state_message))
            return
        config = apply_change(self.run.config, message.path, message.value, self.limits)
        run = await self.engine_call("config", lambda: build_run(config, self.limits))
        # The weights that still fit are kept (a new loss, a neuron more or less), new ones drawn.
        carried = carried_parameters(self.run.config, self.run.network.to_spec(), config)
        if carried is not None:
            run.set_parameters(carried)
        # Another network kind learns other data (points or sequences): the page is told.
        await self.new_run(run, data=entry.section == "data" or entry.path == "network.kind")

    async def on_set(self: Session, message: protocol.Set) -> None:
        training = message.training()
        if training:
            self.run.set(training)
        if message.speed is not None:
            self.speed = message.speed
        if message.fps is not None:
            self.fps = message.fps

    async def on_play(self: Session, message: protocol.Play) -> None:
        self.set_playing(True)
        await self.send_status()

    async def on_pause(self: Session, message: protocol.Pause) -> None:
        self.set_playing(False)
        await self.send_status()

    async def on_reset(self: Session, message: protocol.Reset) -> None:
        self.run.reset(seed=message.seed)
        await self.new_run()

    async def on_step(self: Session, message: protocol.Step) -> None:
        self.check_step_size(message)
        if self.playing:
            self.set_playing(False)
            await self.send_status()
        if message.unit == "phase":
            await self.send_phases(message.count)
            return
        per_unit = 1 if message.unit == "iteration" else self.iterations_per_epoch()
        await self.train(message.count * per_unit)

    async def send_phases(self: Session, count: int) -> None:
        """One phase at a time, each sent before the next is computed (memory stays flat), each
        charged by its size; a step that runs the rate limit into debt stops there."""
        bucket = self.gate.bucket
        for _ in range(count):
            if bucket.in_debt:
                refused = self.gate.refused()
                if refused.report:
                    await self.send_error(ValueError(str(refused)))
                return
            encoded = await self.engine_call("phase", self.encoded_phase)
            bucket.charge(phase_tokens(len(encoded)))
            await self.send_bytes(encoded)
            await self.room.mirror_phase(encoded)

    def encoded_phase(self: Session) -> bytes:
        phase = self.run.next_phase()
        if phase.get("kind") == RECURRENT:
            phase = recurrent_phase(phase)  # what the page draws, not the whole batch
        return frames.phase_message({**phase, "run": self.run_id})

    def check_step_size(self: Session, message: protocol.Step) -> None:
        """A step runs while the receiver waits: keep it to seconds, play is for longer runs."""
        if message.unit != "epoch":
            return
        iterations = message.count * self.iterations_per_epoch()
        if iterations > MAX_STEP_ITERATIONS:
            raise protocol.ProtocolError(
                f"{message.count} epochs are {iterations} iterations, more than "
                f"{MAX_STEP_ITERATIONS} in one step; use play",
                field="step.count",
            )

    async def on_inspect(self: Session, message: protocol.Inspect) -> None:
        explanation = await self.engine_call("inspect", self.run.inspect, message.target())
        await self.send_json({"type": "inspect", **explanation})

    async def on_focus(self: Session, message: protocol.Focus) -> None:
        self.run.set_focus(message.sample)

    async def on_edit(self: Session, message: protocol.Edit) -> None:
        self.run.edit(message.param, message.layer, message.i, message.j, message.value)
        await self.send_json(await self.engine_call("state", self.state_message))

    async def on_points(self: Session, message: protocol.Points) -> None:
        self.run.set_points(message.points)
        await self.new_run(data=True)

    async def on_compare(self: Session, message: protocol.Compare) -> None:
        self.race.start(self.run, [(v.label, v.training()) for v in message.variants])

    async def on_export(self: Session, message: protocol.Export) -> None:
        exported = await self.engine_call("export", messages.export, self.run)
        await self.send_json(exported)

    async def on_cost(self: Session, message: protocol.Cost) -> None:
        """The lesson's networks, measured one at a time in a worker thread; each row goes out
        as soon as it is measured, so the table grows on the page as the networks grow. With
        `current`, the run's own network, its numerical gradient timed for at most
        COST_ROW_SECONDS (then scaled up to every parameter, and said so)."""
        networks = get_lesson(message.lesson).get("view", {}).get("cost_table")
        if not networks:
            raise protocol.ProtocolError("this lesson has no cost table", field="cost.lesson")
        if message.current:
            await self.send_current_cost(message.lesson)
            return
        for index, layers in enumerate(networks):
            (row,) = await self.engine_call("cost", backprop_cost_table, [layers])
            reply = {"type": "cost", "lesson": message.lesson, "index": index}
            await self.send_json({**reply, "of": len(networks), "row": row})

    async def send_current_cost(self: Session, lesson: str) -> None:
        if self.run.kind != FEED_FORWARD:
            raise protocol.ProtocolError(
                "a recurrent network has no layers for the cost table", field="cost.current"
            )
        # A copy taken now (no engine lock: see session.WITHOUT_ENGINE_LOCK) and the run it is of.
        network, run_id = copy.deepcopy(self.run.config["network"]), self.run_id
        measure = functools.partial(network_cost_row, budget_seconds=COST_ROW_SECONDS)
        row = await self.engine_call("cost", measure, network)
        reply = {"type": "cost", "lesson": lesson, "current": True, "run": run_id}
        await self.send_json({**reply, "row": row})

    async def on_restore(self: Session, message: protocol.Restore) -> None:
        """The run goes on from an export's progress: same run (its id too), new counters."""
        await self.engine_call("restore", progress.restore, self.run, message.progress)
        self.race.restart(self.run)
        await self.send_json(await self.engine_call("state", self.state_message))

    def set_playing(self: Session, playing: bool) -> None:
        self.playing = playing
        if playing:
            self.play_event.set()
        else:
            self.play_event.clear()
