"""Services: one way to do each background thing, with no widget inside.

`Services` is what a feature gets besides the state and the ui host:
  services.presets    PresetCatalog: select(name_or_path), apply(preset, key) -> the current target
  services.model      ModelService: train, pause, reset, warm start; snapshot(callback, device) and the
                      snapshotPublished signal (the newest EMA copy)
  services.sampling   SamplingService: every sampler run (Sample, guided, live, Compare), into state.run
  services.tasks      TaskRunner(name) for any other background job (exports, autosave, panels)
  services.parts      what sessions store for each feature: register(name, get_state, set_state)
  services.notify     a one-line message for the banner (messageRaised)
  services.on_shutdown(fn)  stop a feature's own work when the window closes
  services.busy()     whether any of that background work is still unfinished (guided tours wait on it)
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from playground.app.core.model_service import ModelService
from playground.app.core.preset_catalog import PresetCatalog
from playground.app.core.sampling import SamplingService
from playground.app.core.state import AppState
from playground.app.core.threads import TaskRunner


class SessionParts:
    """Feature settings that sessions store: name -> (get_state() -> JSON-able dict, set_state(dict))."""

    def __init__(self):
        self._parts: dict[str, tuple] = {}

    def register(self, name: str, get_state, set_state) -> None:
        self._parts[name] = (get_state, set_state)

    def items(self):
        return list(self._parts.items())

    def get(self, name: str):
        return self._parts.get(name)


class Services(QObject):
    messageRaised = Signal(str, bool)      # text, is_error: the banner shows it

    def __init__(self, state: AppState, parent=None, start_model: bool = True):
        super().__init__(parent)
        self.state = state
        self.presets = PresetCatalog(state, self)
        self.model = ModelService(state, self, start=start_model)
        self._runners: list[TaskRunner] = []
        self.sampling = SamplingService(state, self.model, self.tasks, self)
        self.parts = SessionParts()
        self._hooks: list = []
        self._busy_checks: list = []
        self.closed = False
        self.model.message.connect(self.notify)
        self.sampling.failed.connect(lambda msg: self.notify(msg, True))

    def notify(self, text: str, error: bool = False) -> None:
        self.messageRaised.emit(str(text), bool(error))

    def tasks(self, name: str, parent: QObject | None = None) -> TaskRunner:
        """A TaskRunner (its own thread, one job at a time), stopped when the window closes."""
        runner = TaskRunner(name, parent or self)
        self._runners.append(runner)
        return runner

    def busy(self) -> bool:
        """Whether any background job (a run, a panel's computation, a snapshot on its way) is unfinished."""
        return self.model.waiting() or any(r.busy for r in self._runners) or any(f() for f in self._busy_checks)

    def add_busy_check(self, fn) -> None:
        """fn() -> bool: a feature's own worker (not a TaskRunner) that `busy` must also wait for."""
        self._busy_checks.append(fn)

    def on_shutdown(self, fn) -> None:
        self._hooks.append(fn)

    def shutdown(self) -> None:
        """Features first (they may still save through the model), then the runners and workers."""
        if self.closed:
            return
        self.closed = True
        self.presets.closed = True
        self.model.request_stop()
        self.sampling.shutdown()
        for hook in self._hooks:
            hook()
        for runner in self._runners:
            runner.shutdown()
        self.model.shutdown()
