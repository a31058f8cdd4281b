"""Live training off the GUI thread.

The worker lives in its own QThread and owns the Trainer: every call that touches weights
(train, set_target, set_lr, snapshot) runs in that thread, so a snapshot is never taken in
the middle of an optimiser step and no lock is needed. Training is driven by a zero-interval
QTimer in the worker thread: each tick trains for about CHUNK_SECONDS, then the thread's event
loop runs the queued requests from the GUI (pause, new target, snapshot) before the next tick.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import torch
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from playground.learning.couplings import check_coupling
from playground.learning.trainer import Trainer
from playground.app.core.threads import release_worker
from playground.maths.budgets import release_free_memory
from playground.app.core.errors import reported

PUSHED = 0              # snapshot ticket of copies the worker publishes unasked (reset, load, while training)
CHUNK_SECONDS = 0.03     # short enough that pause/snapshot requests are answered within ~30 ms
PUBLISH_SECONDS = 0.5    # while training, a CPU copy of the EMA weights is published this often
TORCH_THREADS = 1        # leave the other core(s) to the GUI thread and the painter


@dataclass(frozen=True)
class TrainerEvent:
    """A trainer note for the banner, with the learning rate it left behind: the GUI follows a
    lowered rate from `lr` and `lr_changed`, never by reading the text."""
    text: str
    lr: float
    lr_changed: bool = False

    def __str__(self) -> str:
        return self.text


class TrainingWorker(QObject):
    """Owns a Trainer; all slots run in the worker thread (connect with queued signals)."""

    lossesReady = Signal(object, int, float, int)   # losses (np.float32), trainer step, steps/s, generation
    eventRaised = Signal(object)                    # TrainerEvent (divergence recovery, device notes)
    snapshotReady = Signal(object, int, int)        # ModelSource copy (with generation, step), generation, ticket
    trainerReady = Signal(dict)                     # generation, device, lr, step, n_classes
    failed = Signal(str)                            # an exception, as one line for the banner
    buildFailed = Signal(int)                       # generation whose trainer could not be built
    runningChanged = Signal(bool)
    datasetReady = Signal(object, object, int)      # target, class weights of the fixed training set (None: fresh), generation

    def __init__(self):
        super().__init__()
        self.trainer: Trainer | None = None
        self.generation = -1
        self._timer = QTimer(self)        # a child moves to the worker thread with its parent
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)
        self._stop = threading.Event()    # read inside a chunk, so closing never waits a full chunk
        self._events_seen = 0
        self._lr_seen = 0.0
        self._rate = 0.0
        self._threads_set = False
        self.lock = threading.Lock()      # held around each training chunk: read_state sees whole steps
        self._published = 0.0

    # ----- requests from the GUI ----------------------------------------------------------
    @Slot(object, object, int)
    def reset(self, target, config, generation: int) -> None:
        """Build a fresh Trainer (new weights, optimiser, step 0)."""
        self._set_threads()
        running = self._timer.isActive()
        self._timer.stop()
        with reported("could not build the trainer", self.failed.emit) as outcome:
            self.trainer = Trainer(target, config)
            self.generation = generation
            self._events_seen = 0
            self._lr_seen = self.trainer.lr
            self._emit_events()
            self.trainerReady.emit(self._info())
            self._publish()
            self._emit_dataset()
            if running:
                self._timer.start()
        if not outcome:
            self.trainer = None
            self.buildFailed.emit(generation)
            self.runningChanged.emit(False)

    @Slot(bool)
    def set_running(self, on: bool) -> None:
        self._set_threads()
        if on and self.trainer is None:
            self.failed.emit("no model to train (pick a non-empty preset)")
            self.runningChanged.emit(False)
            return
        if on:
            self._timer.start()
        else:
            self._timer.stop()
            release_free_memory()
        self.runningChanged.emit(bool(on))

    @Slot(object)
    def set_target(self, target) -> None:
        if self.trainer is not None:
            with reported("could not switch target", self.failed.emit):
                self.trainer.set_target(target)
            self._emit_dataset()

    @Slot(int)
    def set_dataset_size(self, n: int) -> None:
        """"Roll the dice N times": train on N fixed samples of the target (0: fresh samples every step)."""
        if self.trainer is None:
            return
        with reported("could not set the training-set size", self.failed.emit):
            self.trainer.set_target(self.trainer.target, dataset_size=int(n) if n > 0 else None)
        self._emit_dataset()

    def _emit_dataset(self) -> None:
        """Class weights of the fixed training set, computed here so the GUI never reads the trainer."""
        tr = self.trainer
        if tr is None:
            return
        weights = None
        if tr.dataset is not None:
            with reported("could not classify the training set", self.failed.emit):
                weights = tr.target.empirical_weights(tr.dataset.detach().cpu())
        self.datasetReady.emit(tr.target, weights, self.generation)

    @Slot(float)
    def set_lr(self, lr: float) -> None:
        if self.trainer is not None:
            with reported("", self.failed.emit):
                self.trainer.set_lr(lr)
                self._lr_seen = self.trainer.lr

    @Slot(int)
    def set_batch(self, batch: int) -> None:
        if self.trainer is not None and batch >= 1:
            self.trainer.config.batch = int(batch)

    @Slot(str)
    def set_coupling(self, coupling: str) -> None:
        """How the running trainer pairs noise with data from its next batch on (flow matching)."""
        if self.trainer is not None:
            with reported("could not change the coupling", self.failed.emit):
                c = self.trainer.config            # read at every batch: the change applies from the next one
                check_coupling(coupling, self.trainer.model.config.objective, c.ot_batch, c.ot_reg)
                c.coupling = coupling

    @Slot(str, int)
    def request_snapshot(self, device: str, ticket: int) -> None:
        """Answer with a frozen copy of the EMA weights (taken between optimiser steps) on `device`
        ("" = the training device), or None without a trainer."""
        source = None
        if self.trainer is not None:
            with reported("could not copy the model", self.failed.emit):
                source = self._source(device or None)
        self.snapshotReady.emit(source, self.generation, ticket)

    def _publish(self) -> None:
        """Publish a CPU copy unasked (after a reset or load, and every PUBLISH_SECONDS of training):
        views that follow the model observe these instead of polling for them."""
        self._published = time.perf_counter()
        self.snapshotReady.emit(self._source("cpu"), self.generation, PUSHED)

    def _info(self) -> dict:
        tr = self.trainer
        return {"generation": self.generation, "device": str(tr.device), "lr": tr.lr, "step": tr.step,
                "n_classes": int(tr.model.config.n_classes)}

    def _source(self, device: str | None):
        """A frozen EMA copy that knows which model and step it is (a run's provenance reads them)."""
        source = self.trainer.source(device=device)
        source.generation, source.step = self.generation, int(self.trainer.step)
        return source

    def read_state(self) -> dict | None:
        """Thread-safe: a CPU copy of the trainer's full state (config, weights, EMA, optimiser,
        step, losses), taken between training chunks. None before a trainer exists."""
        with self.lock:
            tr = self.trainer
            if tr is None:
                return None
            state = _cpu_copy(tr.state_dict())
            state["losses"] = torch.from_numpy(np.array(tr.losses, dtype=np.float32))
        return state

    @Slot(object, object, object, int, object)
    def load_state(self, target, config, state, generation: int, done: threading.Event) -> None:
        """Rebuild the trainer from a saved state (sessions); training stays paused. `done` is set
        once the new trainer is in place (or the load failed)."""
        self._set_threads()
        self._timer.stop()
        with reported("could not restore the trainer", self.failed.emit):
            trainer = Trainer(target, config)
            trainer.load_state_dict(state)
            if state.get("losses") is not None:
                trainer.losses.extend(state["losses"].tolist())
            with self.lock:
                self.trainer = trainer
            self.generation = generation
            self._events_seen = len(trainer.events)
            self._lr_seen = trainer.lr
            self.trainerReady.emit(self._info())
            # A copy: a view would pin the array('f') and its next extend() would raise BufferError.
            self.lossesReady.emit(np.array(trainer.losses, dtype=np.float32), trainer.step, 0.0, generation)
            self._publish()
            self._emit_dataset()
        self.runningChanged.emit(False)
        done.set()

    @Slot()
    def shutdown(self) -> None:
        """Stop the timer in its own thread, hand the object back to the GUI thread, end the loop."""
        self._timer.stop()
        release_worker(self)

    def request_stop(self) -> None:
        """Thread-safe: make a running chunk return at once (used when the window closes)."""
        self._stop.set()

    # ----- the training loop ----------------------------------------------------------------
    def _set_threads(self) -> None:
        if not self._threads_set:
            torch.set_num_threads(TORCH_THREADS)
            self._threads_set = True

    def _tick(self) -> None:
        tr = self.trainer
        if tr is None or self._stop.is_set():
            self._timer.stop()
            return
        t0 = time.perf_counter()
        losses: list[float] = []
        with reported("training stopped", self.failed.emit) as outcome, self.lock:
            while time.perf_counter() - t0 < CHUNK_SECONDS and not self._stop.is_set():
                before = len(tr.events)
                losses += tr.train(2)
                if len(tr.events) != before:
                    break
        if not outcome:
            self._timer.stop()
            self.runningChanged.emit(False)
            return
        dt = time.perf_counter() - t0
        if losses and dt > 0:
            rate = len(losses) / dt
            self._rate = rate if self._rate == 0 else 0.8 * self._rate + 0.2 * rate
        self._emit_events()
        if losses:
            self.lossesReady.emit(np.asarray(losses, dtype=np.float32), tr.step, self._rate, self.generation)
        if time.perf_counter() - self._published >= PUBLISH_SECONDS:
            self._publish()

    def _emit_events(self) -> None:
        if self.trainer is None:
            return
        tr = self.trainer
        events = tr.events
        for msg in events[self._events_seen:]:
            changed = tr.lr != self._lr_seen
            self._lr_seen = tr.lr
            self.eventRaised.emit(TrainerEvent(str(msg), float(tr.lr), changed))
        self._events_seen = len(events)


def _cpu_copy(obj):
    """Detached CPU clones of every tensor in nested dicts/lists (training may go on with the originals)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return obj
