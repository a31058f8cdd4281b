"""The app's observable state: what the window shows, owned by no widget.

Like a napari layer, AppState holds data and emits a signal when a part of it changes; widgets
observe it and services act on it. It never imports a widget, so it is tested without a window
(tests/app/test_app_state.py). Only the GUI thread touches it: workers talk to services by queued
signals, and services write here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from playground.formats.presets import Preset
from playground.formats.settings import Settings
from playground.learning.loss_history import LossHistory

DEFAULT_VIEW = {"xlim": [-4.0, 4.0], "ylim": [-4.0, 4.0]}


@dataclass
class TrainingStatus:
    """What the training worker last reported (step, rate, device, lr, losses)."""
    step: int = 0
    rate: float = 0.0
    lr: float | None = None
    device: str = ""
    running: bool = False
    n_classes: int | None = None        # of the current model; None: no model built yet
    last_event: str = ""
    losses: LossHistory = field(default_factory=LossHistory)


@dataclass(frozen=True)
class Flags:
    """Training options set by feature panels rather than by the controls."""
    conditional: bool = False           # train with class labels (classifier-free guidance)
    dataset_size: int | None = None     # "roll the dice N times"; None: fresh samples each step


class AppState(QObject):
    presetChanged = Signal(object, str)     # the current Preset (maybe empty) and its combo key
    targetChanged = Signal(object)          # the new current Preset, only when it is not empty
    settingsChanged = Signal(object, object, str)   # Settings, set of changed keys, origin
    flagsChanged = Signal(object)           # Flags
    generationChanged = Signal(int)         # a fresh model (reset) was requested
    runChanged = Signal(object)             # the Run on screen (maths/samplers/record.py), or None
    frameShown = Signal(int)                # index of the run's frame now on screen (after runChanged)
    qualityChanged = Signal(object)         # the quality sweep's table (quality_vs_steps), or None
    reflowChanged = Signal(object)          # the last finished reflow (features/reflow), or None
    lossFloorChanged = Signal(object)       # the lowest loss the trainer could reach (float), or None
    couplingModelsChanged = Signal(object)  # {"independent model": source, "OT model": source}, or None
    trainingChanged = Signal(object)        # TrainingStatus (step, rate, losses, device, lr ...)
    trainingStep = Signal(int)              # the trainer's step after each chunk of training

    def __init__(self, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or Settings()
        self.preset: Preset | None = None
        self.preset_key = ""
        self.view = {k: list(v) for k, v in DEFAULT_VIEW.items()}
        self.flags = Flags()
        self.generation = 0
        self.run = None                     # the Run on screen; it carries the source that made it
        self.frame_index = 0
        self.autoplay = True                # play a new run from frame_index once it is shown
        self.training = TrainingStatus()
        self.quality = None                 # the last quality sweep (exports read it)
        self.reflow = None                  # the last reflow's models and report (Compare, explanations)
        self.loss_floor = None              # set: the loss plot shows the loss minus this floor
        self.coupling_models = None         # the Pairing tab's fm models, one per coupling (Compare offers them)

    # ----- target ------------------------------------------------------------------------------
    def set_preset(self, preset: Preset, key: str) -> None:
        """Make `preset` current (its view box too); the old run's frames no longer apply."""
        self.preset, self.preset_key = preset, str(key)
        self.view = {"xlim": [float(v) for v in preset.view["xlim"]],
                     "ylim": [float(v) for v in preset.view["ylim"]]}
        self.set_run(None)
        self.presetChanged.emit(preset, self.preset_key)
        if not preset.is_empty:
            self.targetChanged.emit(preset)

    def has_target(self) -> bool:
        return self.preset is not None and not self.preset.is_empty

    # ----- settings and flags ------------------------------------------------------------------
    def update_settings(self, origin: str = "user", **changes) -> set[str]:
        """Change some settings (each checked; SettingsError on a bad one); returns what changed."""
        new = self.settings.with_(**changes)
        changed = new.diff(self.settings)
        if changed:
            self.settings = new
            self.settingsChanged.emit(new, changed, origin)
        return changed

    def replace_settings(self, settings: Settings, origin: str = "session") -> set[str]:
        changed = settings.diff(self.settings)
        if changed:
            self.settings = settings
            self.settingsChanged.emit(settings, changed, origin)
        return changed

    def set_flags(self, **changes) -> None:
        from dataclasses import replace
        new = replace(self.flags, **changes)
        if new != self.flags:
            self.flags = new
            self.flagsChanged.emit(new)

    # ----- model generation and training status ---------------------------------------------------
    def new_generation(self) -> int:
        """A fresh model is on its way: losses and step start over, stale answers are dropped."""
        self.generation += 1
        self.training.losses.reset()
        self.training.step, self.training.rate, self.training.n_classes = 0, 0.0, None
        self.generationChanged.emit(self.generation)
        self.trainingChanged.emit(self.training)
        return self.generation

    def add_losses(self, losses, step: int, rate: float) -> None:
        self.training.losses.append(losses)
        self.training.step, self.training.rate = int(step), float(rate)
        self.trainingStep.emit(self.training.step)

    def update_training(self, **changes) -> None:
        for key, value in changes.items():
            if not hasattr(self.training, key):
                raise AttributeError(f"TrainingStatus has no field {key!r}")
            setattr(self.training, key, value)
        self.trainingChanged.emit(self.training)

    def set_quality(self, table) -> None:
        self.quality = table
        self.qualityChanged.emit(table)

    def set_loss_floor(self, floor: float | None) -> None:
        if floor != self.loss_floor:
            self.loss_floor = floor
            self.training.losses.dirty = True        # the curve is redrawn against the new floor
            self.lossFloorChanged.emit(floor)

    def set_coupling_models(self, models: dict | None) -> None:
        self.coupling_models = models
        self.couplingModelsChanged.emit(models)

    def set_reflow(self, result) -> None:
        self.reflow = result
        self.reflowChanged.emit(result)

    # ----- the current sampler run ------------------------------------------------------------------
    @property
    def run_source(self):
        """The source of the run on screen (None: no run, or a run reopened from a session)."""
        return None if self.run is None else self.run.source

    def set_run(self, run, shown: int = 0, play: bool = True) -> None:
        """A new run on screen (or None); `shown` is the frame to put on screen first and `play`
        whether the window then plays it (a reopened session shows its last frame, paused). Every
        runChanged observer has seen the run before its first frameShown."""
        self.run = run
        self.frame_index = 0 if run is None or not len(run) else int(min(max(int(shown), 0), len(run) - 1))
        self.autoplay = bool(play)
        self.runChanged.emit(run)
        if run is not None and len(run):
            self.frameShown.emit(self.frame_index)

    def show_frame(self, i: int) -> int:
        """Clamp and record the frame on screen; returns the index used (-1 without frames)."""
        f = self.run
        if f is None or not len(f):
            return -1
        self.frame_index = int(min(max(int(i), 0), len(f) - 1))
        self.frameShown.emit(self.frame_index)
        return self.frame_index
