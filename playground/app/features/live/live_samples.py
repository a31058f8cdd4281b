"""Live samples: while training runs, the particle view shows the sampler's output from one fixed
noise draw, re-drawn from the newest model snapshot several times a second.

The same noise every time, so what changes on screen is the model alone. A refresh is a sampler
run in a TaskRunner thread on a model snapshot. The next snapshot is asked for as soon as a run
starts, so the training worker's answer (it comes between training chunks) arrives while the
sampler computes instead of before it: at most one run and one snapshot request are in flight, a
newer snapshot replaces an unused one (the newest wins, nothing queues up).
The output becomes a one-frame run (SamplingService.show_frames), so every view that follows
the current run (metrics, class weights) follows training too.
"""
from __future__ import annotations

import os
import time

import torch
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QLabel, QVBoxLayout

from playground.learning.sample_process import SampleProcess
from playground.maths.samplers import sample_steps
from playground.maths.progress import Cancelled
from playground.app.core.sampling_worker import Frames, append_step

USE_PROCESS = os.name == "posix"   # live runs of a CPU model in their own process (sample_process.py);
                                   # select() on pipes, which the process's reader needs, is POSIX only
MIN_INTERVAL_MS = 150          # at most ~6 refreshes a second: the rest of the time is training's


def live_frames(sampler: str, source, n: int, seed: int, steps: int, schedule: str, stop=None) -> Frames:
    """One frame: the sampler's output from the seed's noise (the same draw for every snapshot)."""
    frames = Frames(sampler, schedule)
    last = None
    source.nfe = 0
    with torch.no_grad():
        for st in sample_steps(sampler, source, n, seed, steps=steps, schedule=schedule):
            if stop is not None and stop.is_set():
                raise Cancelled()
            last = st
    append_step(frames, last)
    return frames


class LiveSamples(QObject):
    refreshed = Signal(int)        # refreshes shown so far

    def __init__(self, state, services, ui):
        super().__init__(services)
        self.state, self.services, self.ui = state, services, ui
        self.runner = services.tasks("liveSamplesThread", self)
        self.running, self.asking, self.count = False, False, 0
        self.source = None                # a snapshot in hand, not yet sampled from
        self.process: SampleProcess | None = None    # the live runs' own process, while the box is ticked
        services.on_shutdown(self._close_process)
        self._last_start = 0.0
        self._generation = self._run_generation = state.generation
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._start_run)
        self.check = QCheckBox("Live samples while training", objectName="liveSamplesCheck")
        self.check.setToolTip("While training runs, re-draw the sampler's output from one fixed noise draw "
                              "with the newest model, several times a second (no Sample press needed)")
        self.note = QLabel("", objectName="liveSamplesNote")
        self.note.setWordWrap(True)
        box = QGroupBox("Watch it learn", objectName="liveSamplesSection")
        lay = QVBoxLayout(box)
        lay.addWidget(self.check)
        lay.addWidget(self.note)
        ui.add_section(box)
        self.check.toggled.connect(self._on_toggled)
        state.trainingStep.connect(lambda *_: self.refresh())
        state.trainingChanged.connect(lambda *_: self.refresh())
        state.presetChanged.connect(lambda *_: self._drop())
        state.generationChanged.connect(lambda *_: self._drop())
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_done)
        services.parts.register("live_samples", lambda: {"on": self.check.isChecked()},
                                lambda d: self.check.setChecked(bool(d.get("on", False))))

    def active(self) -> bool:
        return self.check.isChecked() and self.state.training.running and self.state.has_target()

    @property
    def in_flight(self) -> bool:
        """A sampler run or a snapshot request is under way."""
        return self.running or self.asking

    def refresh(self) -> None:
        """Ask for a snapshot if none is in hand or on its way, and start a run if one can start."""
        if not self.active() or self.services.closed:
            return
        if self._generation != self.state.generation:
            self._generation, self.source = self.state.generation, None
        if self.source is None and not self.asking:
            self._ask()
        self._start_run()

    def _ask(self) -> None:
        self.asking = True
        self.services.model.request_snapshot("live", self._on_snapshot)

    def _on_snapshot(self, source) -> None:
        self.asking = False
        if source is not None and self.active() and self.state.generation == self._generation:
            self.source = source          # a newer copy replaces one not used yet
            self._start_run()

    def _start_run(self) -> None:
        """Start the sampler on the snapshot in hand: at most one run, at most one start per interval."""
        if self.running or self.source is None or not self.active():
            return
        wait_ms = MIN_INTERVAL_MS - 1000 * (time.monotonic() - self._last_start)
        if wait_ms > 0:
            if not self.timer.isActive():
                self.timer.start(int(wait_ms) + 1)
            return
        source, self.source = self.source, None
        self.running, self._last_start, self._run_generation = True, time.monotonic(), self._generation
        s = self.state.settings
        sampler, n, seed, steps, schedule = s.sampler, s.particles, s.seed, s.steps, s.schedule
        self.runner.start(lambda progress, stop: self._frames(sampler, source, n, seed, steps, schedule, stop))
        if not self.asking:
            self._ask()                   # the next snapshot is taken while this run computes

    def _frames(self, sampler, source, n, seed, steps, schedule, stop) -> Frames:
        """In the task runner's thread: the CPU model's run goes to the sampling process (its own
        core and GIL); a GPU model samples here, where its kernels do not hold the GIL."""
        process = self.process
        if process is None or source.device.type != "cpu" or source.label is not None:
            return live_frames(sampler, source, n, seed, steps, schedule, stop)
        try:
            out = process.run(source.model, sampler, n, seed, steps, schedule, stop)
        except (RuntimeError, OSError):   # the process cannot run (or the job failed there): sample here
            if self.process is process:
                self.process = None
                process.close()
            return live_frames(sampler, source, n, seed, steps, schedule, stop)
        if out is None:
            raise Cancelled()
        frames = Frames(sampler, schedule)
        for key in ("x", "step", "alpha", "sigma", "level", "nfe"):
            getattr(frames, key).append(out[key])
        return frames

    def _close_process(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.close()

    def _on_finished(self, frames) -> None:
        if self.active() and self._run_generation == self.state.generation:
            self.services.sampling.show_frames(frames)
            self.count += 1
            self.note.setText(f"step {self.state.training.step}: {len(frames.x[0])} samples from the newest model "
                              f"({self.state.settings.sampler}, NFE {frames.nfe[0]})")
            self.refreshed.emit(self.count)
        self._on_done()

    def _on_failed(self, msg: str) -> None:
        self.note.setText(f"live samples failed: {msg}")
        self._on_done()

    def _on_done(self) -> None:
        self.running = False
        self.refresh()

    def _drop(self) -> None:
        self.runner.cancel()
        self.source = None

    def _on_toggled(self, on: bool) -> None:
        if on:
            if self.process is None and USE_PROCESS:
                self.process = SampleProcess()
                try:
                    self.process.start()          # its imports run while training warms up
                except (OSError, RuntimeError):
                    self.process = None           # no process: the live runs sample in the thread
            self.services.sampling.cancel()       # a running Sample would be replaced anyway
            if not self.state.training.running:
                self.note.setText("starts when training runs")
            self.refresh()
        else:
            self._drop()
            self._close_process()
            self.note.setText("")


def install(state, services, ui) -> LiveSamples:
    return LiveSamples(state, services, ui)
