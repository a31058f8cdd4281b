"""Forward-process view: the data turning into noise under a schedule, its alpha/sigma/log-SNR
curves, and whether x_T is close to the noise the sampler starts from (playground.forward).

Everything here is cheap (a few thousand points, K+1 frames), so it is computed on the GUI
thread, debounced while the user types; the animation replays the stored frames with a timer.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QSlider, QSpinBox, QWidget)

from playground.app.widgets.legend import legend_beside
from playground.maths.forward import check, forward_frames, schedule_curves
from playground.maths.schedules import SCHEDULES, SIGMA_MAX, get_schedule
from playground.app.widgets.controls import show_toggle, side_by_side
from playground.app.core.errors import reported

N_POINTS = 2000
WARNING_STYLE = "background:#5a3a1e; color:#ffe2b8; padding:3px; border-radius:3px;"


class ForwardPanel(QWidget):
    def __init__(self, state, ui):
        super().__init__()
        self.state, self.ui = state, ui
        self.frames = None
        self.check = None
        self.frame = 0

        self.schedule = QComboBox(objectName="forwardScheduleCombo")
        self.schedule.setToolTip("Noise schedule of the forward process")
        for name, cls in SCHEDULES.items():
            self.schedule.addItem(cls.label, name)
        main = state.settings.schedule
        self.schedule.setCurrentIndex(max(0, self.schedule.findData(main)))
        self.steps = QSpinBox(objectName="forwardStepsSpin")
        self.steps.setRange(1, 1000)
        self.steps.setValue(state.settings.steps)
        self.steps.setToolTip("Number of levels (the ones a sampler with this many steps visits)")
        self.sigma_max = QDoubleSpinBox(objectName="forwardSigmaMaxSpin")
        self.sigma_max.setRange(0.01, 1000.0)
        self.sigma_max.setDecimals(2)
        self.sigma_max.setValue(SIGMA_MAX)
        self.sigma_max.setToolTip("Largest noise level σ/α at t_max; it must be well above the data's spread")
        self.normalise = QCheckBox("show x / √(α² + σ²)", objectName="forwardNormaliseCheck", checked=True)
        self.normalise.setToolTip("Rescale each frame to unit scale so VE noise stays on screen "
                                  "(no change for VP schedules)")
        self.play_button = QPushButton("Play", objectName="forwardPlayButton", checkable=True)
        self.play_button.setToolTip("Animate data → noise")
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="forwardSlider")
        self.slider.setToolTip("Scrub through the forward process (left: data, right: noise)")
        self.frame_label = QLabel("", objectName="forwardFrameLabel")
        self.gap_label = QLabel("", objectName="forwardGapLabel")
        self.gap_label.setToolTip("Sliced W2 between (x_T − α_T·m)/σ_T and N(0, I): the sampler starts from "
                                  "α_T·m + σ_T·ε, m the data's mean; and the same distance between two "
                                  "independent N(0, I) sets")
        self.gap_label.setWordWrap(True)
        self.warning = QLabel("", objectName="forwardWarning")
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.setWordWrap(True)
        self.warning.setVisible(False)

        self.view = pg.PlotWidget()
        self.view.setObjectName("forwardView")   # PlotWidget hands objectName= to its PlotItem
        self.view.setToolTip("Samples of x_t under the forward process")
        self.view.setAspectLocked(True)
        self.view.setMinimumHeight(150)
        self.scatter = pg.ScatterPlotItem(size=2.5, pen=None, brush=pg.mkBrush(255, 200, 80, 160))
        self.view.addItem(self.scatter)

        self.schedule_plot = pg.PlotWidget()
        self.schedule_plot.setObjectName("forwardSchedulePlot")   # PlotWidget hands objectName= to its PlotItem
        self.schedule_plot.setToolTip("α_t and σ_t (left, log scale) and log-SNR = log(α²/σ²) (right) against t; "
                                      "dots: the levels visited, line: the frame shown")
        self.schedule_plot.setMinimumHeight(150)
        p1 = self.schedule_plot.getPlotItem()
        p1.setLogMode(x=False, y=True)
        p1.setLabel("bottom", "t")
        p1.setLabel("left", "α, σ")
        p1.showAxis("right")
        p1.getAxis("right").setLogMode(False, False)     # log-SNR is already a log: a linear axis
        p1.setLabel("right", "log-SNR")
        self.legend = legend_beside(p1)
        self.alpha_curve = p1.plot(pen=pg.mkPen((90, 170, 255), width=2), name="α_t")
        self.sigma_curve = p1.plot(pen=pg.mkPen((255, 120, 90), width=2), name="σ_t")
        self.snr_box = pg.ViewBox()
        p1.scene().addItem(self.snr_box)
        p1.getAxis("right").linkToView(self.snr_box)
        self.snr_box.setXLink(p1)
        self.snr_curve = pg.PlotDataItem(pen=pg.mkPen((120, 220, 120), width=2))
        self.snr_levels = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(120, 220, 120))
        self.snr_box.addItem(self.snr_curve)
        self.snr_box.addItem(self.snr_levels)
        self.legend.addItem(self.snr_curve, "log-SNR (right)")
        self.t_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((220, 220, 220), style=Qt.PenStyle.DashLine))
        p1.addItem(self.t_line, ignoreBounds=True)
        p1.vb.sigResized.connect(self._sync_boxes)

        form = QFormLayout()
        form.addRow("Schedule", self.schedule)
        form.addRow("Steps", self.steps)
        form.addRow("σ_max", self.sigma_max)
        form.addRow(self.normalise)
        row = QHBoxLayout()
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        form.addRow(row)
        form.addRow(self.frame_label)
        form.addRow(self.gap_label)
        form.addRow(self.warning)
        side_by_side(self, form, 320, self.view, self.schedule_plot)

        self._stale = True              # frames not computed for the current settings yet
        self._on_screen = False         # set by the dock's visibilityChanged
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(150)
        self.debounce.timeout.connect(self._guarded_refresh)
        self.timer = QTimer(self)
        self.timer.setInterval(60)
        self.timer.timeout.connect(self._advance)
        for sig in (self.schedule.currentIndexChanged, self.steps.valueChanged, self.sigma_max.valueChanged):
            sig.connect(lambda *_: self.debounce.start())
        self.normalise.toggled.connect(lambda *_: self.show_frame(self.frame))
        self.slider.valueChanged.connect(self.show_frame)
        self.play_button.toggled.connect(self.set_playing)
        state.targetChanged.connect(lambda *_: self.debounce.start())
        state.settingsChanged.connect(lambda s, changed, _o: "schedule" in changed and self._follow_main_schedule())

    # ----- public ---------------------------------------------------------------------------------
    def current_schedule(self):
        return get_schedule(self.schedule.currentData(), sigma_max=float(self.sigma_max.value()))

    def refresh(self) -> None:
        """Recompute frames, curves and the terminal check for the current settings (raises on bad input)."""
        self.debounce.stop()
        preset = self.state.preset
        if preset is None or preset.is_empty:
            self.frames, self.check = None, None
            self.scatter.setData([], [])
            self.warning.setVisible(False)
            self.gap_label.setText("empty preset: nothing to noise")
            return
        sched = self.current_schedule()
        k = int(self.steps.value())
        seed = self.state.settings.seed
        self.frames = forward_frames(preset.target, sched, k, N_POINTS, seed)
        self.check = check(preset.target, sched, k, N_POINTS, seed)
        curves = schedule_curves(sched)
        self.alpha_curve.setData(curves["t"], curves["alpha"])
        self.sigma_curve.setData(curves["t"], curves["sigma"])
        self.snr_curve.setData(curves["t"], curves["log_snr"])
        lv = self.frames
        visited = lv.sigma > 0
        self.snr_levels.setData(lv.t[visited], 2 * np.log(lv.alpha[visited] / lv.sigma[visited]))
        self.snr_box.enableAutoRange()
        self.schedule_plot.getPlotItem().enableAutoRange()
        c = self.check
        self.gap_label.setText(f"(x_T − α_T·m)/σ_T vs N(0, I): SW2 {c.sw2:.3f} "
                               f"(floor {c.floor:.3f} at N = {N_POINTS})")
        self.warning.setText("\n".join("⚠ " + w for w in c.warnings))
        self.warning.setVisible(not c.ok)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(lv) - 1)
        self.slider.blockSignals(False)
        self.show_frame(min(self.frame, len(lv) - 1))

    def show_frame(self, i: int) -> None:
        f = self.frames
        if f is None:
            return
        i = int(min(max(i, 0), len(f) - 1))
        self.frame = i
        if self.slider.value() != i:
            self.slider.blockSignals(True)
            self.slider.setValue(i)
            self.slider.blockSignals(False)
        x = f.normalised(i) if self.normalise.isChecked() else f.x[i]
        self.scatter.setData(x[:, 0], x[:, 1])
        self._fit_view(x)
        self.t_line.setValue(float(f.t[i]))
        lvl = f.level(i)
        self.frame_label.setText(f"t = {f.t[i]:.3g}   α = {f.alpha[i]:.3g}   σ = {f.sigma[i]:.3g}   "
                                 f"σ/α = {'∞' if not math.isfinite(lvl) else f'{lvl:.3g}'}")

    def set_playing(self, on: bool) -> None:
        on = bool(on) and self.frames is not None and len(self.frames) > 1
        if on and self.frame >= len(self.frames) - 1:
            self.show_frame(0)
        show_toggle(self.play_button, on, "Pause", "Play")
        self.timer.start() if on else self.timer.stop()

    def set_on_screen(self, on: bool) -> None:
        """The dock's tab was selected (or shown) or put away (QDockWidget.visibilityChanged)."""
        self._on_screen = bool(on)
        if self._on_screen and self._stale:
            QTimer.singleShot(0, self._guarded_refresh)

    def shutdown(self) -> None:
        self.timer.stop()
        self.debounce.stop()

    # ----- internals --------------------------------------------------------------------------------
    def _guarded_refresh(self) -> None:
        if not self._on_screen:
            # The terminal check sorts 2000 points on 256 directions (0.1-0.25 s): a tab nobody is
            # looking at (the default) defers it to when it is shown, which keeps it out of start-up.
            self._stale = True
            return
        self._stale = False
        with reported("forward process", self.ui.error):
            self.refresh()

    def _advance(self) -> None:
        if self.frames is None or self.frame >= len(self.frames) - 1:
            self.set_playing(False)
            return
        self.show_frame(self.frame + 1)

    def _fit_view(self, x: np.ndarray) -> None:
        """Keep the preset's view while the cloud fits in it; zoom out (never in) when it grows."""
        v = self.state.view
        half = max(abs(v["xlim"][0]), abs(v["xlim"][1]), abs(v["ylim"][0]), abs(v["ylim"][1]))
        if len(x):
            half = max(half, float(np.quantile(np.abs(x), 0.995)) * 1.1)
        self.view.getViewBox().setRange(xRange=(-half, half), yRange=(-half, half), padding=0)

    def _sync_boxes(self) -> None:
        p1 = self.schedule_plot.getPlotItem()
        self.snr_box.setGeometry(p1.vb.sceneBoundingRect())
        self.snr_box.linkedViewChanged(p1.vb, self.snr_box.XAxis)

    def _follow_main_schedule(self, *_):
        i = self.schedule.findData(self.state.settings.schedule)
        if i >= 0:
            self.schedule.setCurrentIndex(i)


def install(state, services, ui) -> ForwardPanel:
    panel = ForwardPanel(state, ui)
    handle = ui.add_tab("forward", "Forward process", lambda: panel, lazy=False)
    handle.dock.visibilityChanged.connect(panel.set_on_screen)
    services.on_shutdown(panel.shutdown)
    panel.debounce.start()
    return panel
