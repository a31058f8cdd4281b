"""SamplingService: every sampler run of the window, made one way and shown one way.

A run is described by a RunRequest (built from the settings by `request`, so a Sample press, live
samples and a guided sample all take the same sampler options), recorded by `RunRequest.record`
on a source, and comes back as a Run that carries that source. Three lanes run at once, each in
its own thread, newest job wins within a lane:
  main     Sample and guided Sample: every frame, shown in the particle view and played;
  live     one picture of the newest model while training (LiveLane: a child process for a CPU
           model, else a thread), shown as a one-frame run;
  compare  the Compare dock's panels, several runs recorded in turn.
Whatever is shown goes through `show` into state.run, so overlays, metrics and purity always read
the source of the run on screen.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from playground.maths.budgets import RUN_FRAME_BYTES
from playground.formats.settings import sampler_options
from playground.maths.samplers import check_options
from playground.maths.samplers.record import KEEP_LAST, Run, RunRequest
from playground.app.core.live_lane import LiveLane
from playground.app.core.state import AppState

MAX_FRAME_BYTES = RUN_FRAME_BYTES     # beyond this, keep every k-th frame (always the first and last)


class SamplingService(QObject):
    progress = Signal(int, int)          # main lane: steps done, planned
    failed = Signal(str)                 # main lane: one line for the banner
    liveFinished = Signal(object, bool)  # a live run, and whether it went on screen (not stale)
    liveFailed = Signal(str)
    compared = Signal(object)            # the compare lane's list of Runs
    compareProgress = Signal(int, int)
    compareFailed = Signal(str)

    def __init__(self, state: AppState, model, tasks, parent=None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.closed = False
        self.guide = None          # the last press's wrapper of a model snapshot (guided sample), or None
        self._planned = self._compare_planned = 0
        self.main = tasks("samplingThread", self)
        self.main.finished.connect(self.show)
        self.main.failed.connect(lambda msg: self.failed.emit(f"{self.state.settings.sampler} failed: {msg}"))
        self.main.progress.connect(lambda f: self.progress.emit(int(round(f * self._planned)), self._planned))
        self.live = LiveLane(tasks("liveSamplesThread", self), self)
        self.live.finished.connect(self._on_live)
        self.live.failed.connect(self.liveFailed)
        self.compare_lane = tasks("comparisonThread", self)
        self.compare_lane.finished.connect(self.compared)
        self.compare_lane.progress.connect(lambda f: self.compareProgress.emit(int(round(f * self._compare_planned)),
                                                                               self._compare_planned))
        self.compare_lane.failed.connect(lambda msg: self.compareFailed.emit(f"comparison failed: {msg}"))
        state.presetChanged.connect(lambda *_: self.cancel())   # a run for the old target is stale

    # ----- what to run ------------------------------------------------------------------------------
    def request(self, **overrides) -> RunRequest:
        """The run the settings ask for (sampler, particles, steps, schedule, seed and the sampler's
        own options), with `overrides`; a bad option is refused here (ValueError), before any run."""
        s = self.state.settings
        sampler = overrides.pop("sampler", s.sampler)
        options = overrides.pop("options", sampler_options(s, sampler))
        check_options(sampler, options)
        fields = dict(sampler=sampler, n=s.particles, steps=s.steps, schedule=s.schedule, seed=s.seed, options=options,
                      max_bytes=MAX_FRAME_BYTES)
        fields.update(overrides)
        return RunRequest(**fields)

    # ----- the main lane ----------------------------------------------------------------------------
    def sample(self, guide=None, source=None) -> None:
        """A Sample press: the newest model snapshot, wrapped by `guide` (snapshot -> source or None)
        when the press is a guided one, or a `source` that needs no model (an exact guided score).
        Live samples follow the press's guide until the next press."""
        if self.closed:
            return
        if not self.state.has_target():
            raise ValueError("the current preset is empty: nothing to sample")
        request = self.request()
        self.guide = guide
        if source is not None:
            self.run(source, request)
        else:
            self.model.snapshot(lambda snap: self._with_snapshot(snap, request))

    def _with_snapshot(self, snapshot, request: RunRequest) -> None:
        if snapshot is None:
            self.failed.emit("no model to sample from yet")
            return
        try:
            source = self.guide(snapshot) if self.guide is not None else snapshot
        except ValueError as exc:
            self.failed.emit(str(exc))
            return
        if source is not None:
            self.run(source, request)

    def run(self, source, request: RunRequest | None = None) -> None:
        """Record a run of `source` (a snapshot, an exact or a guided source) in the main lane; it is
        shown when it finishes. A press that needs no model (the exact score) comes here directly."""
        request = request or self.request()
        self.cancel()
        self._planned = request.steps
        planned = max(1, request.steps)

        def work(progress, stop):
            return request.record(source, stop, lambda st: st.i % 5 == 0 and progress(min(1.0, st.i / planned)))
        self.main.start(work)

    def show(self, run: Run, shown: int = 0, play: bool = True) -> None:
        """Put a run on screen: the one way a run becomes state.run."""
        if not self.closed and run is not None:
            self.state.set_run(run, shown, play)

    def restore(self, run: Run) -> None:
        """Show a saved run paused at its last frame. No model made it here, so views that need the
        run's score (x̂₀, the mesh) use the exact one until the next run."""
        self.cancel()
        run.source = None
        self.show(run, shown=len(run) - 1, play=False)

    def cancel(self) -> None:
        """Stop the main lane's job; its frames are dropped if they still arrive."""
        self.main.cancel()

    # ----- the live lane ------------------------------------------------------------------------------
    def live_run(self, snapshot) -> bool:
        """One live picture of `snapshot`: what a Sample press would run (options, the press's guide),
        last frame only. False when nothing was started (no source, or the guide refused it)."""
        try:
            source = self.guide(snapshot) if self.guide is not None else snapshot
            request = self.request(keep=KEEP_LAST, max_bytes=None)
        except ValueError as exc:
            self.liveFailed.emit(str(exc))
            return False
        if source is None:
            return False
        self.live.start(source, request)
        return True

    def _on_live(self, run: Run) -> None:
        """Show a live picture unless its snapshot belongs to a model that was replaced meanwhile."""
        current = run.provenance.generation in (None, self.state.generation)
        if current:
            self.show(run)
        self.liveFinished.emit(run, current and not self.closed)

    # ----- the compare lane -----------------------------------------------------------------------------
    def compare(self, jobs: list) -> None:
        """Record each (RunRequest, source) of `jobs` in turn; `compared` carries the list of Runs."""
        planned = self._compare_planned = sum(max(1, r.steps) for r, _ in jobs)

        def work(progress, stop):
            runs, done = [], 0
            for request, source in jobs:
                runs.append(request.record(source, stop, lambda st, base=done, k=request.steps:
                                           progress(min(1.0, (base + min(st.i, k)) / planned))))
                done += max(1, request.steps)
            return runs
        self.compare_lane.start(work)

    def cancel_compare(self) -> None:
        self.compare_lane.cancel()

    @property
    def comparing(self) -> bool:
        return self.compare_lane.busy

    def shutdown(self) -> None:
        self.closed = True
        self.main.cancel()
        self.compare_lane.cancel()
        self.live.close()

