"""ModelService: the one way the GUI talks to the training worker.

The worker (training_worker.py) owns the Trainer in its own thread; this service, on the GUI
thread, sends it requests by queued signals and turns its answers into AppState changes.
Model snapshots (frozen copies of the EMA weights that know their generation and step) come one
way: the worker publishes a CPU copy after a reset or load and every half second of training
(`snapshotPublished`, kept as `latest`), and a caller that needs the newest weights on a device
asks with `snapshot(callback, device)`; the callback runs on the GUI thread with a ModelSource, or
None when there is no model yet.
"""
from __future__ import annotations

import threading
from itertools import count

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from playground.formats.settings import FIELDS
from playground.learning.model import OBJECTIVES, ModelConfig
from playground.learning.trainer import TrainConfig
from playground.app.core.state import AppState
from playground.app.core.threads import stop_thread
from playground.app.core.training_worker import PUSHED, TrainingWorker

LOAD_WAIT_S = 10.0


class ModelService(QObject):
    # GUI -> worker (queued: the worker lives in another thread)
    _sigReset = Signal(object, object, int)
    _sigRunning = Signal(bool)
    _sigTarget = Signal(object)
    _sigLr = Signal(float)
    _sigBatch = Signal(int)
    _sigCoupling = Signal(str)
    _sigDataset = Signal(int)
    _sigSnapshot = Signal(str, int)
    _sigLoad = Signal(object, object, object, int, object)
    _sigShutdown = Signal()
    # service -> features
    snapshotPublished = Signal(object)       # the newest CPU model copy, published unasked
    datasetReady = Signal(object, object)    # target, class weights of the fixed training set (None: fresh)
    message = Signal(str, bool)              # text, is_error

    def __init__(self, state: AppState, parent=None, start: bool = True):
        super().__init__(parent)
        self.state = state
        self.closed = False
        self._callbacks: dict[int, tuple[str, object]] = {}
        self.latest = None                       # the last published snapshot of the current model
        self._tickets = count(1)
        self._stop_echoes = 0
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("trainingThread")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.worker_thread)
        w = self.worker
        for sig, slot in ((self._sigReset, w.reset), (self._sigRunning, w.set_running), (self._sigTarget, w.set_target),
                          (self._sigLr, w.set_lr), (self._sigBatch, w.set_batch), (self._sigDataset, w.set_dataset_size),
                          (self._sigCoupling, w.set_coupling),
                          (self._sigSnapshot, w.request_snapshot), (self._sigLoad, w.load_state),
                          (self._sigShutdown, w.shutdown)):
            sig.connect(slot)
        # Every answer lands in a bound method of this GUI-thread object: queued onto the GUI thread.
        w.lossesReady.connect(self._on_losses)
        w.eventRaised.connect(self._on_event)
        w.snapshotReady.connect(self._on_snapshot)
        w.trainerReady.connect(self._on_trainer_ready)
        w.failed.connect(self._on_failed)
        w.runningChanged.connect(self._on_running_changed)
        w.datasetReady.connect(self._on_dataset)
        w.buildFailed.connect(self._on_build_failed)
        state.settingsChanged.connect(self._on_settings)
        state.presetChanged.connect(self._on_preset)
        self._build_failed = False
        self.rebuild_timer = QTimer(self)           # debounce: typing "256" rebuilds once, not three times
        self.rebuild_timer.setSingleShot(True)
        self.rebuild_timer.setInterval(400)
        self.rebuild_timer.timeout.connect(self._rebuild)
        if start:
            self.start()

    def start(self) -> None:
        """Start the worker's thread. Requests sent before wait in its queue, so a window can
        paint first and let the first model build afterwards (start=False, then start())."""
        if not self.closed and not self.worker_thread.isRunning():
            self.worker_thread.start()

    # ----- requests --------------------------------------------------------------------------------
    def config(self) -> TrainConfig:
        s, f = self.state.settings, self.state.flags
        return TrainConfig(lr=s.lr, batch=s.batch, device=s.device, model=ModelConfig(hidden=s.hidden, objective=s.objective),
                           dataset_size=f.dataset_size, conditional=f.conditional, coupling=self.coupling())

    def coupling(self) -> str:
        """The coupling the trainer uses: the setting under flow matching; score matching pairs nothing."""
        s = self.state.settings
        return s.coupling if s.objective == "fm" else "independent"

    def reset(self) -> None:
        """A fresh model for the current target (training goes on if it was running)."""
        if self.closed:
            return
        if not self.state.has_target():
            raise ValueError("pick a non-empty preset first")
        generation = self.state.new_generation()
        self.latest = None
        self._sigReset.emit(self.state.preset.target, self.config(), generation)

    def warm_start(self, target) -> None:
        """Train on a new target from the current weights."""
        if not self.closed:
            self._sigTarget.emit(target)

    def set_running(self, on: bool) -> None:
        """Start or pause training; ValueError when there is nothing to train on."""
        if self.closed:               # after shutdown the worker lives in the GUI thread: never start it there
            return
        on = bool(on)
        if on and not self.state.has_target():
            self.state.update_training(running=False)
            raise ValueError("the current preset is empty: nothing to train on")
        if not on:      # the worker answers every stop once; count them so a late answer is not a failure
            self._stop_echoes += 1
        self.state.update_training(running=on)
        self._sigRunning.emit(on)

    def set_dataset_size(self, n: int | None) -> None:
        self.state.set_flags(dataset_size=n if n else None)
        if not self.closed:
            self._sigDataset.emit(int(n or 0))

    def snapshot(self, callback, device: str | None = None) -> None:
        """callback(source) on the GUI thread: a frozen copy of the current model's EMA weights, taken
        now, on `device` (None: the training device), or None without a model."""
        if self.closed:
            return
        ticket = next(self._tickets)
        self._callbacks[ticket] = (device or "", callback)
        self._sigSnapshot.emit(device or "", ticket)

    def waiting(self) -> bool:
        """Whether a snapshot asked for has not been handed over yet."""
        return bool(self._callbacks)

    def read_state(self) -> dict | None:
        """A CPU copy of the whole trainer state (sessions), taken under the worker's lock between chunks."""
        return self.worker.read_state()

    def load_state(self, target, config: TrainConfig, trainer_state: dict) -> bool:
        """Rebuild the trainer from a saved state (after a reset) and wait until it is in place. The
        worker does it in its own thread and sets an Event; nothing here runs the GUI's events."""
        done = threading.Event()
        self.start()                      # a window opened on a session may not have started it yet
        self._sigLoad.emit(target, config, trainer_state, self.state.generation, done)
        return done.wait(LOAD_WAIT_S) and not self.closed

    # ----- answers -----------------------------------------------------------------------------------
    def _on_snapshot(self, source, generation: int, ticket: int) -> None:
        if self.closed:
            return
        if ticket == PUSHED:
            if generation == self.state.generation and source is not None:
                self.latest = source
                self.snapshotPublished.emit(source)
            return
        entry = self._callbacks.get(ticket)
        if entry is None:
            return
        if generation != self.state.generation and source is not None:
            self._sigSnapshot.emit(entry[0], ticket)     # taken from a replaced model: ask the new one
            return
        del self._callbacks[ticket]
        entry[1](source)

    def _on_losses(self, losses, step: int, rate: float, generation: int) -> None:
        # Chunks the replaced model trained before the reset reached the worker belong to no curve.
        if not self.closed and generation == self.state.generation:
            self.state.add_losses(losses, step, rate)

    def _on_trainer_ready(self, info: dict) -> None:
        if info.get("generation") == self.state.generation:
            self.state.update_training(device=info["device"], lr=info["lr"], step=info["step"],
                                       n_classes=info["n_classes"])

    def _on_event(self, event) -> None:
        self.state.update_training(last_event=str(event))
        if event.lr_changed:
            self.state.update_training(lr=event.lr)
            lo, hi = FIELDS["lr"].lo, FIELDS["lr"].hi
            self.state.update_settings(origin="trainer", lr=min(max(event.lr, lo), hi))
        self.message.emit(str(event), event.lr_changed)

    def _on_failed(self, text: str) -> None:
        self.message.emit(text, True)

    def _on_running_changed(self, on: bool) -> None:
        if not on and self._stop_echoes > 0:
            self._stop_echoes -= 1       # the answer to our own stop: a Train click after it stands
            return
        if not on and self.state.training.running:
            self.state.update_training(running=False)

    def _on_build_failed(self, generation: int) -> None:
        self._build_failed = generation == self.state.generation

    def _on_preset(self, preset, key: str) -> None:
        """A new target: warm start the current model, or build the first one."""
        if preset.is_empty:
            if self.state.training.running:
                self.set_running(False)
        elif self.state.generation == 0 or self._build_failed:
            self._build_failed = False
            self.reset()
        else:
            self.warm_start(preset.target)

    def _on_dataset(self, target, weights, generation: int) -> None:
        if generation == self.state.generation:
            self.datasetReady.emit(target, weights)

    def _on_settings(self, settings, changed: set, origin: str) -> None:
        if origin != "user" or self.closed:
            return                     # the trainer's own lr, or a session that loads its own trainer
        if "lr" in changed:
            self._sigLr.emit(float(settings.lr))
        if "batch" in changed:
            self._sigBatch.emit(int(settings.batch))
        if "coupling" in changed:
            self._sigCoupling.emit(self.coupling())
        if "objective" in changed:
            self.rebuild_timer.stop()
            self._rebuild()
            self.message.emit(f"switching objective resets the model: a fresh {OBJECTIVES[settings.objective]} "
                              f"({settings.objective}) model starts from step 0", False)
        elif "device" in changed:
            self._rebuild()
        elif "hidden" in changed:
            self.rebuild_timer.start()

    def _rebuild(self) -> None:
        try:
            self.reset()
        except ValueError as exc:
            self.message.emit(f"reset training: {exc}", True)

    # ----- shutdown ------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self.worker.request_stop()

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.rebuild_timer.stop()
        self.worker.request_stop()
        self._sigShutdown.emit()
        stop_thread(self.worker_thread)
        for sig in (self._sigReset, self._sigRunning, self._sigTarget, self._sigLr, self._sigBatch, self._sigCoupling,
                    self._sigDataset, self._sigSnapshot, self._sigLoad):
            try:
                sig.disconnect()
            except (RuntimeError, TypeError):
                pass
