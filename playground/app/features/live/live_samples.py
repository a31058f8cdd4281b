"""Live samples: while training runs, the particle view shows the sampler's output from one fixed
noise draw, re-drawn from the newest model snapshot several times a second.

The same noise every time, so what changes on screen is the model alone. This feature decides
when: the next snapshot is asked for as soon as a run starts, so the training worker's answer
(it comes between training chunks) arrives while the sampler computes; at most one run and one
snapshot request are in flight, and a newer snapshot replaces an unused one. The sampling service
decides how: a live picture is the run a Sample press would make (same options, same guide), in
its live lane, and it is shown as a one-frame run that carries its source, so every view that
follows the run on screen (metrics, class weights, overlays) follows training too.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QLabel, QVBoxLayout

MIN_INTERVAL_MS = 150          # at most ~6 refreshes a second: the rest of the time is training's


class LiveSamples(QObject):
    refreshed = Signal(int)        # refreshes shown so far

    def __init__(self, state, services, ui):
        super().__init__(services)
        self.state, self.services, self.ui = state, services, ui
        self.lane = services.sampling.live
        self.running, self.asking, self.count = False, False, 0
        self.source = None                # a snapshot in hand, not yet sampled from
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
        ui.add_section(box, first=True)
        self.check.toggled.connect(self._on_toggled)
        state.trainingStep.connect(lambda *_: self.refresh())
        state.trainingChanged.connect(lambda *_: self.refresh())
        state.presetChanged.connect(lambda *_: self._drop())
        state.generationChanged.connect(lambda *_: self._drop())
        services.sampling.liveFinished.connect(self._on_finished)
        services.sampling.liveFailed.connect(self._on_failed)
        self.lane.cancelled.connect(self._on_done)
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
        self.services.model.snapshot(self._on_snapshot)

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
        self._last_start, self._run_generation = time.monotonic(), self._generation
        self.running = self.services.sampling.live_run(source)
        if self.running and not self.asking:
            self._ask()                   # the next snapshot is taken while this run computes

    def _on_finished(self, run, shown: bool) -> None:
        if shown and self.active() and self._run_generation == self.state.generation:
            self.count += 1
            self.note.setText(f"step {self.state.training.step}: {run.n} samples from the newest model "
                              f"({run.sampler}, NFE {run.nfe[-1]}; {run.provenance.describe()})")
            self.refreshed.emit(self.count)
        self._on_done()

    def _on_failed(self, msg: str) -> None:
        self.note.setText(msg)
        self._on_done()

    def _on_done(self) -> None:
        self.running = False
        self.refresh()

    def _drop(self) -> None:
        self.lane.cancel()
        self.source = None

    def _on_toggled(self, on: bool) -> None:
        if on:
            self.lane.open()
            self.services.sampling.cancel()       # a running Sample would be replaced anyway
            if not self.state.training.running:
                self.note.setText("starts when training runs")
            self.refresh()
        else:
            self._drop()
            self.lane.close()
            self.note.setText("")


def install(state, services, ui) -> LiveSamples:
    return LiveSamples(state, services, ui)
