"""The "Loss by level" tab: the model's denoising error at each noise level against the exact floor.

At every level s the best any denoiser can do is the exact posterior mean, whose error (the floor)
is not zero at high noise: there x_t says little about x0. The tab draws both rows on log axes and
shades the gap, the part training can still remove, and says where that gap is widest. It follows
the model the training worker publishes (every half second of training) while the tab is shown;
each scoring runs in a TaskRunner thread, newest wins. The draws and the floor are computed once
per target (LevelProbe). It can also hand the loss plot the trainer's own floor, so that plot shows
the excess instead of the raw loss.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from playground.learning.diagnostics import level_weights
from playground.maths.diagnostics.loss_by_level import LevelProbe, weighted_mean
from playground.app.widgets.controls import named
from playground.app.widgets.log_axis import LogLossAxis

PROBE_N = 8000            # draws per level in the window: ~1% Monte Carlo error, ~0.1 s per scoring
FLOOR_PEN = pg.mkPen((230, 230, 230), width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
MODEL_PEN = pg.mkPen((255, 170, 60), width=2)


def widest_gap(result) -> str:
    """One line: at which level the model is furthest above its floor, and by how much."""
    if result is None or result.model_mse is None:
        return "the exact floor: the error even a perfect denoiser makes (large where noise hides x₀)"
    ratio = result.model_mse / np.maximum(result.floor_mse, 1e-30)
    ok = np.isfinite(ratio)
    if not ok.any():
        return "the model's error is not finite (diverged?)"
    i = int(np.nanargmax(np.where(ok, ratio, -np.inf)))
    where = "high noise (coarse structure)" if result.levels[i] > 1 else "low noise (fine detail)"
    return (f"furthest above its floor at σ/α = {result.levels[i]:.3g}: {ratio[i]:.2f}× the floor, "
            f"at {where}")


class LossByLevelPanel(QWidget):
    def __init__(self, state, services, ui):
        super().__init__()
        self.state, self.services, self.ui = state, services, ui
        self.probe, self._probe_key = None, None
        self.result = None
        self.shown = False
        self._building = self._again = False      # a probe is being built (seconds on big mixtures)
        axes = {side: LogLossAxis(side) for side in ("bottom", "left")}    # log ticks whose labels never collide
        self.plot = named(pg.PlotWidget(axisItems=axes), "lossByLevelView",
                          "Denoising error E‖D(y, s) − x₀‖² at each noise level s: the current model (orange) "
                          "and the exact denoiser (dashed), the floor no network can beat")
        self.plot.setLogMode(x=True, y=True)
        self.plot.setLabel("bottom", "noise level σ/α")
        self.plot.setLabel("left", "mse")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMinimumSize(240, 160)       # the tab may be short: the plot shrinks, nothing scrolls
        self.plot.addLegend(offset=(-10, -10))
        self.floor_curve = self.plot.plot(pen=FLOOR_PEN, name="exact floor")
        self.model_curve = self.plot.plot(pen=MODEL_PEN, name="model")
        self.fill = pg.FillBetweenItem(self.model_curve, self.floor_curve, brush=pg.mkBrush(255, 170, 60, 60))
        self.plot.addItem(self.fill)
        self.note = named(QLabel(widest_gap(None)), "lossByLevelNote", "Where the model is furthest above its floor")
        # one line that never widens the tab (a wrapped label makes the scroll area lay out by size hints)
        self.note.setWordWrap(False)
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.excess_check = named(QCheckBox("Loss plot: show the excess over the floor"), "lossExcessCheck",
                                  "Draw the training loss minus the lowest loss any network could reach under the "
                                  "trainer's own weighting of noise levels")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.note)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.excess_check)
        self.runner = services.tasks("lossByLevelThread", self)
        self.runner.finished.connect(self._on_scored)
        self.runner.failed.connect(lambda msg: self.note.setText(f"loss by level failed: {msg}"))
        services.model.snapshotPublished.connect(lambda *_: self.refresh())
        state.targetChanged.connect(lambda *_: self._on_target())
        self.excess_check.toggled.connect(lambda *_: self._publish_floor())

    def set_shown(self, visible: bool) -> None:
        self.shown = bool(visible)
        if self.shown:
            self.refresh()

    def refresh(self) -> None:
        """Score the newest published model (in the thread; a newer call replaces a running one)."""
        if not self.shown or not self.state.has_target() or self.services.closed:
            return
        target, source = self.state.preset.target, self.services.model.latest
        key = id(target)
        probe = self.probe if self._probe_key == key else None
        if self._building and probe is None and self.runner.busy:
            self._again = True                    # never restart a probe build: score once it is there
            return
        self._building = probe is None
        if self._building:
            self.note.setText("computing the exact floor at every level (once per target) …")

        def work(progress, stop):
            p = probe or LevelProbe(target, n=PROBE_N, stop=stop)
            return key, p, (p.evaluate(source, stop=stop) if source is not None else p.floor_only()), source
        self.runner.start(work)

    def _on_target(self) -> None:
        self.probe = self._probe_key = self.result = None
        self._building = self._again = False
        self.model_curve.setData([], [])
        self.floor_curve.setData([], [])
        self.state.set_loss_floor(None)
        self.refresh()

    def _on_scored(self, answer) -> None:
        key, probe, result, source = answer
        self._building = False
        if self._again:
            self._again = False
            QTimer.singleShot(0, self.refresh)
        if not self.state.has_target() or key != id(self.state.preset.target):
            return
        self.probe, self._probe_key, self.result, self._source = probe, key, result, source
        self.show_result(result)
        self._publish_floor()

    def show_result(self, result) -> None:
        self.result = result
        lv = np.asarray(result.levels, dtype=np.float64)
        self.floor_curve.setData(lv, np.maximum(result.floor_mse, 1e-30))
        if result.model_mse is not None and np.all(np.isfinite(result.model_mse)):
            self.model_curve.setData(lv, np.maximum(result.model_mse, 1e-30))
        else:
            self.model_curve.setData([], [])
        self.note.setText(widest_gap(result))

    def _publish_floor(self) -> None:
        """The loss plot's floor: the weighted floor of the trainer's own loss, or None (raw loss)."""
        source = getattr(self, "_source", None)
        if not self.excess_check.isChecked() or self.result is None or source is None:
            self.state.set_loss_floor(None)
            return
        weights = level_weights(self.result.levels, self.services.model.config(), source.model.config)
        floor = weighted_mean(self.result.levels, self.result.floor_mse, weights)
        self.state.set_loss_floor(floor if math.isfinite(floor) else None)

    # ----- sessions -------------------------------------------------------------------------------
    def get_state(self) -> dict:
        return {"excess": self.excess_check.isChecked(),
                "result": None if self.result is None else self.result.to_json()}

    def set_state(self, data: dict) -> None:
        if isinstance(data.get("excess"), bool):
            self.excess_check.setChecked(data["excess"])
        saved = data.get("result")
        if isinstance(saved, dict):
            from playground.maths.diagnostics.loss_by_level import LossByLevel
            try:
                levels, floor = np.asarray(saved["levels"], float), np.asarray(saved["floor_mse"], float)
                model = saved.get("model_mse")
                model = None if model is None else np.asarray([np.nan if v is None else v for v in model], float)
            except (KeyError, TypeError, ValueError):
                return                        # a damaged block is ignored: the tab recomputes when shown
            fits = levels.ndim == 1 and levels.shape == floor.shape and (model is None or model.shape == levels.shape)
            if fits and np.all(np.isfinite(levels) & (levels > 0)) and np.all(np.isfinite(floor)):
                self.show_result(LossByLevel(levels, floor, model))
