"""Services: one way to do each background thing, with no widget inside.

`Services` is what a feature gets besides the state and the ui host:
  services.presets    PresetCatalog: select(name_or_path), apply(preset, key) -> the current target
  services.model      ModelService: train, pause, reset, warm start, request_snapshot(purpose, callback)
  services.sampling   SamplingService: run a sampler on a snapshot (or a given source) into state.frames
  services.tasks      TaskRunner(name) for any other background job (exports, autosave, panels)
  services.parts      what sessions store for each feature: register(name, get_state, set_state)
  services.notify     a one-line message for the banner (messageRaised)
  services.on_shutdown(fn)  stop a feature's own work when the window closes
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from playground.formats.settings import sampler_options
from playground.maths.samplers import check_options

from playground.app.core.model_service import ModelService
from playground.app.core.preset_catalog import PresetCatalog
from playground.app.core.sampling_worker import SamplingJob, SamplingWorker
from playground.app.core.state import AppState
from playground.app.core.threads import TaskRunner, start_worker, stop_worker


class SamplingService(QObject):
    """Records one sampler run at a time in its own thread; the finished run becomes state.frames."""
    _sigSample = Signal(object)
    _sigShutdown = Signal()
    progress = Signal(int, int)      # steps done, planned (current job only)
    failed = Signal(str)

    def __init__(self, state: AppState, model: ModelService, parent=None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.closed = False
        self._job_id = 0
        self.worker = w = SamplingWorker()
        self.worker_thread = start_worker(w, "samplingThread", (
            (self._sigSample, w.run), (self._sigShutdown, w.shutdown), (w.finished, self._on_frames),
            (w.failed, self._on_failed), (w.progress, self._on_progress)))
        state.presetChanged.connect(lambda *_: self.cancel())   # a run for the old target is stale

    def sample(self) -> None:
        """Sample the current model with the current settings (a snapshot is requested first)."""
        if self.closed:
            return
        if not self.state.has_target():
            raise ValueError("the current preset is empty: nothing to sample")
        self.model.request_snapshot("sample", self._with_model)

    def _with_model(self, source) -> None:
        if source is None:
            self.failed.emit("no model to sample from yet")
            return
        self.run(source)

    def run(self, source) -> int:
        """Sample from `source` (a model snapshot, an exact or a guided source); returns the job id."""
        s = self.state.settings
        options = sampler_options(s, s.sampler)
        check_options(s.sampler, options)          # a bad option is refused before the run (ValueError)
        self.cancel()                              # a running job stops at its next step
        self.state.last_sampling_source = source
        job = SamplingJob(self._job_id, s.sampler, source, s.particles, s.steps, s.schedule, s.seed, options)
        self._sigSample.emit(job)
        return self._job_id

    def cancel(self) -> None:
        """Stop the running job and ignore its frames if they still arrive."""
        self.worker.cancel()
        self._job_id += 1

    def show_frames(self, frames) -> None:
        """Show frames made elsewhere (the benchmark) as if a run had just finished."""
        self._job_id += 1
        self.state.set_frames(frames)

    def restore(self, frames) -> None:
        """Show a saved run, paused at its last frame. No snapshot of a model made it here, so views
        that need the run's score (x̂₀, the mesh) use the exact one until the next run."""
        self._job_id += 1
        self.state.last_sampling_source = None
        self.state.set_frames(frames, shown=len(frames) - 1, play=False)

    def _on_frames(self, job_id: int, frames) -> None:
        if job_id == self._job_id and not self.closed:
            self.state.set_frames(frames)

    def _on_failed(self, job_id: int, msg: str) -> None:
        if job_id == self._job_id:
            self.failed.emit(msg)

    def _on_progress(self, job_id: int, done: int, planned: int) -> None:
        if job_id == self._job_id:
            self.progress.emit(done, planned)

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.worker.cancel()
        stop_worker(self._sigShutdown, self.worker_thread)


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
        self.sampling = SamplingService(state, self.model, self)
        self.parts = SessionParts()
        self._runners: list[TaskRunner] = []
        self._hooks: list = []
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

    def on_shutdown(self, fn) -> None:
        self._hooks.append(fn)

    def shutdown(self) -> None:
        """Features first (they may still save through the model), then the runners and workers."""
        if self.closed:
            return
        self.closed = True
        self.presets.closed = True
        self.model.request_stop()
        self.sampling.worker.cancel()
        for hook in self._hooks:
            hook()
        for runner in self._runners:
            runner.shutdown()
        self.model.shutdown()
        self.sampling.shutdown()
