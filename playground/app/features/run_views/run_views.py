"""The run seen along time: the 1D probability-flow view and mode commitment, as analysis tabs.

Both follow the target (the exact projected p_t, the target's classes), each finished run (its
paths; its commitment curves, computed in a TaskRunner thread because frames × particles ×
components can take a while) and the frame on screen (a cursor). The widgets exist from the start
(automation finds them by objectName); their pictures are computed only once the tab has been
shown or a run arrives, so hidden tabs cost nothing at start-up.
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from playground.maths.commitment import commitment
from playground.app.features.run_views.commit_view import CommitView
from playground.app.features.run_views.flow_time_view import FlowTimeView

COMMIT_PARTICLES = 2000


class RunViews(QObject):
    def __init__(self, state, services, ui):
        super().__init__(services)
        self.state, self.services = state, services
        self.flow, self.commit = FlowTimeView(), CommitView()
        self.flow_dock = ui.add_tab("flowTime", "Flow in time", lambda: self.flow, lazy=False)
        self.commit_dock = ui.add_tab("commit", "Mode commitment", lambda: self.commit, lazy=False)
        self._wanted = False         # a tab was shown or a run arrived: keep the pictures current
        self._stale_target = True
        self.runner = services.tasks("commitThread", self)
        self.runner.finished.connect(self._on_commitment)
        for dock in (self.flow_dock.dock, self.commit_dock.dock):
            dock.visibilityChanged.connect(self._on_visible)
        state.presetChanged.connect(lambda *_: self._on_target())
        state.settingsChanged.connect(lambda s, changed, o: "schedule" in changed and self._on_target())
        state.runChanged.connect(self._on_run)
        state.frameShown.connect(self._on_frame)
        services.parts.register("run_views", lambda: {"angle": self.flow.angle()},
                                lambda d: self.flow.set_angle(float(d.get("angle", 0.0))))
        self._on_target()

    def _on_visible(self, visible: bool) -> None:
        if visible and not self._wanted:
            self._wanted = True
            self._refresh_target()
            if self.state.run is not None:
                self._on_run(self.state.run)

    def _on_target(self) -> None:
        self._stale_target = True
        self.runner.cancel()
        if self._wanted:
            self._refresh_target()

    def _refresh_target(self) -> None:
        if not self._stale_target or not self.state.has_target():
            return
        p = self.state.preset
        self.flow.set_target(p.target, self.state.settings.schedule, self.state.view)
        self.commit.set_target(p.target)
        self._stale_target = False

    def _on_run(self, frames) -> None:
        """A finished run of at least two frames (live one-frame pictures have no time axis)."""
        if frames is None or len(frames) < 2 or not self.state.has_target():
            return
        self._wanted = True
        self._refresh_target()
        if frames.schedule != self.state.settings.schedule:
            self.flow.set_target(self.state.preset.target, frames.schedule, self.state.view)
        self.flow.set_run(frames.alpha, frames.sigma, frames.x)
        self.flow.set_frame(self.state.frame_index)
        target = self.state.preset.target
        self.commit.clear_run()
        if target.n_groups < 2:
            return
        states, alphas, sigmas = list(frames.x), list(frames.alpha), list(frames.sigma)
        self.runner.start(lambda progress, stop: (frames, commitment(target, states, alphas, sigmas,
                                                                     max_particles=COMMIT_PARTICLES)))

    def _on_commitment(self, result) -> None:
        frames, curves = result
        if frames is self.state.run:
            self.commit.set_commitment(curves)
            self.commit.set_frame(self.state.frame_index)

    def _on_frame(self, k: int) -> None:
        f = self.state.run
        if f is None or len(f) < 2:
            return
        if self.flow.has_run():
            self.flow.set_frame(k)
        if self.commit.commitment() is not None:
            self.commit.set_frame(k)


def install(state, services, ui) -> RunViews:
    return RunViews(state, services, ui)
