"""The "Compare" dock: two to four sampler runs side by side from the very same noise.

Every panel starts from samplers.initial_noise(seed), and stochastic panels take their noise
from one BrownianPath keyed by noise level, so panels with different samplers, step counts or
scores (learned vs exact) differ only by what they are, never by luck. All panels run as one
job in the sampling service's compare lane; one clock then shows in each panel the frame nearest in noise level (or
in fraction of its run), on linked axes, with short trajectory tails for a few particles.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSlider, QSpinBox, QVBoxLayout, QWidget)

from playground.app.features.comparison import setups
from playground.app.features.comparison.compare_panel import (
    CLOCK_FPS, CLOCK_MODES, CLOCK_PLAY_SECONDS, CLOCK_TICKS, MAX_PANELS, PANEL_FRAME_BYTES, ComparePanel,
    PanelResult, panel_result, panel_source)
from playground.app.widgets.controls import named, show_toggle, spin_box
from playground.app.widgets.particle_item import density_image
from playground.maths.samplers.record import Run
from playground.app.core.errors import reported


class ComparisonView(QObject):
    """Controller of the Compare dock (window.comparison): panels, the worker, the shared clock."""
    runFinished = Signal()

    def __init__(self, state, services, ui):
        super().__init__(services)          # lives and dies with the window
        self.state, self.services, self.ui = state, services, ui
        self._specs: list = []
        self._awaiting_snapshot = False
        self._running = False
        self._closed = False
        self._image = None
        self.models: dict = {}             # extra scores -> source: a reflow's base and result, the couplings' models
        self.panels = [ComparePanel(i) for i in range(MAX_PANELS)]
        for p in self.panels[1:]:
            p.plot.setXLink(self.panels[0].plot)
            p.plot.setYLink(self.panels[0].plot)
        self.panels[0].plot.setAspectLocked(True)     # only one: linked aspect-locked views fight
        self._build_widgets()
        sampling = services.sampling
        sampling.compared.connect(self._on_finished)
        sampling.compareProgress.connect(self._on_progress)
        sampling.compareFailed.connect(self._on_failed)
        self._on_target(state.preset)
        state.targetChanged.connect(self._on_target)
        state.reflowChanged.connect(lambda *_: self._on_models())
        state.couplingModelsChanged.connect(lambda *_: self._on_models())
        services.on_shutdown(self.shutdown)

    # ----------------------------------------------------------------------------- building
    def _build_widgets(self) -> None:
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(2, 2, 2, 2)
        top = QHBoxLayout()
        self.count_spin = named(QSpinBox(), "panelCountSpin", "Number of panels compared (2 to 4)")
        self.count_spin.setRange(2, MAX_PANELS)
        self.count_spin.setValue(2)
        self.particles_spin = spin_box("compareParticles", "Particles per panel (the same noise in each)",
                                       1, 20_000, 2000, 500)
        self.learned_exact_button = named(QPushButton("learned + exact"), "compareLearnedExactButton",
                                           "Set panels 1 and 2 to panel 1's sampler and steps, one with the learned "
                                           "score and one with the exact score: is it the model or the sampler?")
        self.run_button = named(QPushButton("Run"), "compareRunButton",
                                 "Run every panel from the same initial noise and Brownian path (seed from the "
                                 "controls); learned panels use a fresh snapshot of the model")
        self.cancel_button = named(QPushButton("Cancel"), "compareCancelButton", "Stop the running comparison")
        self.cancel_button.setEnabled(False)
        self.progress = named(QProgressBar(), "compareProgress", "Steps done over all panels")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.count_spin.setPrefix("panels ")
        self.particles_spin.setSuffix(" particles")
        self.reflow_steps = named(QComboBox(), "compareReflowSteps", "Steps of the few-step panels of "
                                  "'base vs reflowed' (ode-euler on the flow schedule)")
        for k in (1, 2, 4):
            self.reflow_steps.addItem(f"{k} step{'s' if k > 1 else ''}", k)
        self.reflow_button = named(QPushButton("base vs reflowed"), "compareReflowButton",
                                   "After a reflow: base and reflowed model from the same noise on the flow "
                                   "schedule, 50 Euler steps (their path straightness) and the few steps chosen")
        self.reflow_button.setEnabled(False)
        self.reflow_steps.setEnabled(False)
        self.coupling_button = named(QPushButton("indep · OT · reflow"), "compareCouplingButton",
                                     "After Pairing > Train both: the independent and the OT model (and a reflowed "
                                     "one, if any) from the same noise, with the few Euler steps chosen")
        self.coupling_button.setEnabled(False)
        self.clock_mode = named(QComboBox(), "compareClockMode",
                                 "What the clock means: a noise level σ/α (each panel shows its frame nearest "
                                 "in log-level) or a fraction of each run")
        self.clock_mode.addItems(list(CLOCK_MODES))
        self.clock = named(QSlider(Qt.Orientation.Horizontal), "compareClock",
                            "One clock for every panel: from pure noise (left) to the final samples (right)")
        self.clock.setRange(0, CLOCK_TICKS)
        self.clock.setValue(CLOCK_TICKS)
        self.play_button = named(QPushButton("Play"), "comparePlayButton", "Sweep the clock from noise to samples")
        self.play_button.setCheckable(True)
        self.clock_label = named(QLabel("–"), "compareClockLabel", "Where the clock is")
        self.clock_label.setMinimumWidth(96)
        for w, width in ((self.play_button, 48), (self.run_button, 48), (self.cancel_button, 56),
                         (self.learned_exact_button, 96), (self.reflow_button, 100), (self.coupling_button, 104)):
            w.setMinimumWidth(width)            # the style's 80 px minimum made the bar scroll on a laptop
        self.progress.setMaximumWidth(60)
        # Two rows that fit beside the particles on a laptop: what runs and its clock, then the setups.
        for w, stretch in ((self.count_spin, 0), (self.particles_spin, 0), (self.play_button, 0), (self.clock, 1),
                           (self.clock_label, 0), (self.clock_mode, 0)):
            top.addWidget(w, stretch)
        outer.addLayout(top)
        setups_row = QHBoxLayout()
        for w in (self.learned_exact_button, self.reflow_button, self.reflow_steps, self.coupling_button):
            setups_row.addWidget(w)
        setups_row.addStretch(1)
        for w in (self.progress, self.run_button, self.cancel_button):
            setups_row.addWidget(w)
        outer.addLayout(setups_row)

        grid = QGridLayout()
        grid.setSpacing(2)
        for i, p in enumerate(self.panels):
            grid.addWidget(p.widget, i // 2, i % 2)
        outer.addLayout(grid, 1)

        self.root = root
        self.play_timer = QTimer(self)
        self.play_timer.setInterval(int(1000 / CLOCK_FPS))
        self.play_timer.timeout.connect(self._advance_clock)

        self.count_spin.valueChanged.connect(lambda *_: self.apply_count())
        self.learned_exact_button.clicked.connect(lambda *_: self.learned_vs_exact())
        self.reflow_button.clicked.connect(lambda *_: self.base_vs_reflowed(self.reflow_steps.currentData()))
        self.coupling_button.clicked.connect(lambda *_: self.couplings_vs_reflow(self.reflow_steps.currentData()))
        self.run_button.clicked.connect(lambda *_: self.run())
        self.cancel_button.clicked.connect(lambda *_: self.cancel())
        self.clock.valueChanged.connect(lambda *_: self.update_clock())
        self.clock_mode.currentIndexChanged.connect(lambda *_: self.update_clock())
        self.play_button.toggled.connect(self.set_playing)
        # Room for two rows of panels even while only one row is shown: showing more does not resize the window.
        root.setMinimumHeight(root.minimumSizeHint().height())
        self.apply_count()

    # ----------------------------------------------------------------------------- public API
    def panel_count(self) -> int:
        return int(self.count_spin.value())

    def panel_frames(self, i: int) -> list:
        """Stored frames ((N, 2) float32 arrays) of panel i's last run; [] before a run."""
        r = self.panels[i].result
        return list(r.run.x) if r is not None else []

    def panel_result(self, i: int) -> PanelResult | None:
        return self.panels[i].result

    def panel_frame_index(self, i: int) -> int:
        """Index of the stored frame panel i shows now (-1 before a run)."""
        return self.panels[i].shown

    learned_vs_exact = setups.learned_vs_exact
    base_vs_reflowed = setups.base_vs_reflowed
    couplings_vs_reflow = setups.couplings_vs_reflow

    def is_running(self) -> bool:
        return self._running or self._awaiting_snapshot

    def run(self) -> None:
        """Start a comparison of the visible panels (asynchronous; runFinished when done)."""
        with reported("compare", self.ui.error):      # bad input goes to the banner
            if self._closed:
                return
            preset = self.state.preset
            if preset is None or preset.is_empty:
                raise ValueError("the current preset is empty: nothing to compare")
            specs = [p.spec() for p in self.panels[:self.panel_count()]]
            self.services.sampling.cancel_compare()
            if any(s.score == "learned" for s in specs):
                self._awaiting_snapshot = True
                self._set_busy(True)
                self.services.model.snapshot(self._on_snapshot)
            else:
                self._launch(None)

    def cancel(self) -> None:
        self.services.sampling.cancel_compare()       # whatever still arrives is dropped
        self._awaiting_snapshot = False
        self._set_busy(False)

    def clock_level(self) -> float:
        """The noise level σ/α the clock points at (noise-level mode)."""
        lo, hi = self._level_range()
        frac = self.clock.value() / CLOCK_TICKS
        return math.exp(math.log(hi) + frac * (math.log(lo) - math.log(hi)))

    def set_clock(self, value: int) -> None:
        self.set_playing(False)
        self.clock.setValue(int(value))

    # ----------------------------------------------------------------------------- running
    def _set_busy(self, on: bool) -> None:
        self._running = bool(on)
        self.cancel_button.setEnabled(bool(on))
        if on:
            self.progress.setRange(0, 0)          # busy until the first progress report

    def _on_snapshot(self, source) -> None:
        if not self._awaiting_snapshot or self._closed:
            return
        self._awaiting_snapshot = False
        if source is None:
            self._set_busy(False)
            self.ui.show_message("compare: no learned model yet (train one, or use the exact score)", error=True)
            return
        self._launch(source)

    def _launch(self, learned) -> None:
        """One request per visible panel (its sampler and steps, the window's options, the panel
        particle count, shared Brownian noise) on its source, recorded in the compare lane."""
        preset = self.state.preset
        if preset is None or preset.is_empty:
            self._set_busy(False)
            return
        self._specs = [p.spec() for p in self.panels[:self.panel_count()]]
        n, sampling = int(self.particles_spin.value()), self.services.sampling
        try:
            jobs = [(sampling.request(sampler=s.sampler, steps=s.steps, n=n, brownian_path=True,
                                      max_bytes=PANEL_FRAME_BYTES),
                     panel_source(s.score, preset.target, learned, self.models)) for s in self._specs]
        except ValueError as exc:
            self._set_busy(False)
            self.ui.show_message(f"comparison failed: {exc}", error=True)
            return
        self._set_busy(True)
        sampling.compare(jobs)

    def _on_progress(self, done: int, planned: int) -> None:
        if self._running:
            self.progress.setRange(0, max(planned, 1))
            self.progress.setValue(min(done, planned))

    def _on_failed(self, msg: str) -> None:
        self._set_busy(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.ui.show_message(msg, error=True)

    def _on_finished(self, runs: list) -> None:
        if self._closed or not self._running:
            return
        self._set_busy(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        results = [panel_result(spec, run) for spec, run in zip(self._specs, runs)]
        for i, p in enumerate(self.panels):
            p.set_result(results[i] if i < len(results) else None)
        self.set_clock(CLOCK_TICKS)
        self.update_clock()
        self.runFinished.emit()

    # ----------------------------------------------------------------------------- the clock
    def _level_range(self) -> tuple[float, float]:
        """(floor, top) of the clock in noise level: below the smallest positive level of any panel
        (frames at level 0 map to the floor) up to the largest finite one."""
        levels = [lv for p in self.panels[:self.panel_count()] if p.result is not None
                  for lv in p.result.run.level if math.isfinite(lv) and lv > 0]
        if not levels:
            return 1e-3, 80.0
        lo, hi = min(levels) / 2.0, max(levels)
        return lo, max(hi, lo * 4)

    def _nearest_frame(self, frames: Run) -> int:
        if self.clock_mode.currentText() == "fraction of run":
            return int(round(self.clock.value() / CLOCK_TICKS * (len(frames) - 1)))
        lo, hi = self._level_range()
        keys = np.log(np.clip(np.nan_to_num(np.asarray(frames.level, dtype=np.float64), posinf=hi), lo, None))
        return int(np.argmin(np.abs(keys - math.log(self.clock_level()))))

    def update_clock(self) -> None:
        for p in self.panels[:self.panel_count()]:
            if p.result is not None and len(p.result.run):
                p.show_frame(self._nearest_frame(p.result.run))
        if self.clock_mode.currentText() == "fraction of run":
            self.clock_label.setText(f"{100 * self.clock.value() / CLOCK_TICKS:.0f}% of each run")
        else:
            level = self.clock_level()
            self.clock_label.setText("σ/α = 0 (samples)" if self.clock.value() == CLOCK_TICKS else f"σ/α = {level:.3g}")

    def set_playing(self, on: bool) -> None:
        on = bool(on) and not self._closed
        show_toggle(self.play_button, on, "Pause", "Play")
        if on:
            if self.clock.value() >= CLOCK_TICKS:
                self.clock.setValue(0)
            self.play_timer.start()
        else:
            self.play_timer.stop()

    def _advance_clock(self) -> None:
        step = max(1, int(CLOCK_TICKS / (CLOCK_FPS * CLOCK_PLAY_SECONDS)))
        value = min(CLOCK_TICKS, self.clock.value() + step)
        self.clock.setValue(value)
        if value >= CLOCK_TICKS:
            self.set_playing(False)

    def _on_models(self) -> None:
        """A finished reflow or couplings' training (or None: gone) brings or takes away their models."""
        reflow, couplings = self.state.reflow, self.state.coupling_models or {}
        self.models = {} if reflow is None else {"base model": reflow.base, "reflowed model": reflow.reflowed}
        self.models.update(couplings)
        for p in self.panels:
            p.set_choices(tuple(self.models))
        self.reflow_button.setEnabled(reflow is not None)
        self.reflow_steps.setEnabled(reflow is not None or bool(couplings))
        self.coupling_button.setEnabled(bool(couplings))

    # ----------------------------------------------------------------------------- target, layout
    def apply_count(self) -> None:
        n = self.panel_count()
        for i, p in enumerate(self.panels):
            p.widget.setVisible(i < n)
        self.update_clock()

    def _on_target(self, preset) -> None:
        """A new target makes every stored run stale; draw its density behind the particles."""
        self.cancel()
        for p in self.panels:
            p.set_result(None)
        if preset is None or preset.is_empty:
            return
        view = {"xlim": list(map(float, preset.view["xlim"])), "ylim": list(map(float, preset.view["ylim"]))}
        img, rect = density_image(preset.target, view)
        for p in self.panels:
            p.image.setImage(img, levels=(0.0, 1.0))
            p.image.setRect(rect)
        self.panels[0].plot.getViewBox().setRange(xRange=view["xlim"], yRange=view["ylim"], padding=0.02)

    # ----------------------------------------------------------------------------- sessions, shutdown
    def get_state(self) -> dict:
        return {"panels": self.panel_count(), "particles": int(self.particles_spin.value()),
                "clock_mode": self.clock_mode.currentText(),
                "specs": [{"sampler": s.sampler, "steps": s.steps, "score": s.score}
                          for s in (p.spec() for p in self.panels)]}

    def set_state(self, state: dict) -> None:
        specs = state.get("specs", [])
        for p, s in zip(self.panels, specs):
            p.configure(str(s["sampler"]), int(s["steps"]), str(s["score"]))
        self.count_spin.setValue(int(state.get("panels", self.panel_count())))
        self.particles_spin.setValue(int(state.get("particles", self.particles_spin.value())))
        mode = state.get("clock_mode")
        if mode in CLOCK_MODES:
            self.clock_mode.setCurrentIndex(CLOCK_MODES.index(mode))

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.play_timer.stop()
        self.services.sampling.cancel_compare()


def install(state, services, ui) -> ComparisonView:
    view = ComparisonView(state, services, ui)
    # A tab beside the particles that takes most of the width when in front (up to four plots).
    view.dock = ui.add_tab("comparison", "Compare", lambda: view.root, lazy=False, wide=True).dock
    services.parts.register("comparison", view.get_state, view.set_state)
    return view
