"""What the user sees of training and sampling besides the particles: the loss curve and the
status-bar labels (rate or step, loss, device, sampler, NFE). Observes AppState only.

The labels refresh at 10 Hz and the loss curve every LOSS_REFRESH_TICKS-th tick (never per
training chunk): re-plotting it re-ranges and re-renders its axes, ~2 ms the animation needs.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel

from playground.learning.loss_history import for_plot, positive
from playground.app.core.state import AppState
from playground.app.core.errors import reported

UI_REFRESH_MS = 100
LOSS_REFRESH_TICKS = 3


class StatusView(QObject):
    def __init__(self, state: AppState, sampling, status_bar, raw_curve, smooth_curve, on_error, parent=None):
        super().__init__(parent)
        self.state = state
        self.raw, self.smooth = raw_curve, smooth_curve
        self.on_error = on_error
        self.labels: dict[str, QLabel] = {}
        for key, text in (("rate", "0 steps/s"), ("loss", "loss –"), ("device", "device –"),
                          ("sampler", "sampler –"), ("nfe", "NFE 0")):
            lab = QLabel(text, objectName=f"status_{key}")
            lab.setMinimumWidth(90)
            status_bar.addPermanentWidget(lab)
            self.labels[key] = lab
        self._ticks = 0
        self.timer = QTimer(self)
        self.timer.setInterval(UI_REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        state.trainingChanged.connect(self._on_training)
        state.settingsChanged.connect(lambda s, changed, _o: "sampler" in changed and self.show_sampler())
        state.runChanged.connect(lambda *_: self.show_sampler())
        state.frameShown.connect(self._on_frame)
        sampling.progress.connect(lambda done, planned: self.labels["nfe"].setText(f"sampling {done}/{planned}"))
        sampling.failed.connect(lambda *_: self.show_sampler())
        self.show_sampler()

    def _on_training(self, status) -> None:
        if status.device:
            self.labels["device"].setText(f"device {status.device}")

    def _on_frame(self, i: int) -> None:
        if self.state.run is not None:
            self.labels["nfe"].setText(f"NFE {self.state.run.nfe[i]}")

    def show_sampler(self, running: bool = False) -> None:
        f = self.state.run
        name = f.sampler if f is not None else self.state.settings.sampler
        self.labels["sampler"].setText(f"sampler {name}" + (" …" if running else ""))

    def refresh(self) -> None:
        with reported("refresh ui", self.on_error):
            self._refresh()

    def _refresh(self) -> None:
        self._ticks += 1
        tr = self.state.training
        history = tr.losses
        if history.dirty and self._ticks % LOSS_REFRESH_TICKS == 0:
            history.dirty = False
            floor = self.state.loss_floor          # set: the excess over the lowest reachable loss
            shift = 0.0 if floor is None else floor
            x, y = for_plot(positive(history.values() - shift))
            self.raw.setData(x, y, connect="finite")
            if len(y):
                self.smooth.setData(*for_plot(positive(history.smoothed() - shift)), connect="finite")
            else:
                self.smooth.setData([], [])
        self.labels["rate"].setText(f"{tr.rate:.0f} steps/s" if tr.running else f"step {tr.step}")
        self.labels["loss"].setText("loss –" if math.isnan(history.last) else f"loss {history.last:.4f}")

    def stop(self) -> None:
        self.timer.stop()
