"""Likelihood view: the model's log-density on a grid (through the probability-flow ODE, exact
divergence) beside the exact log-density, on the same colour levels.

Both images clip at (max − CLIP_NATS, max) of the exact grid, so where the model puts too much
or too little mass shows as a colour difference, not as a rescaled picture. The ODE runs in a
TaskRunner thread, batch by batch, on a CPU copy of the EMA weights.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from playground.tools.compare import Cancelled
from playground.maths.likelihood import density_grids
from playground.maths.sources import ExactSource
from .task_panel import TaskPanel, cpu_copy

CLIP_NATS = 12.0
NLL_SAMPLES = 300


def view_rect(view: dict) -> QRectF:
    (x0, x1), (y0, y1) = view["xlim"], view["ylim"]
    return QRectF(x0, y0, x1 - x0, y1 - y0)


class _StoppableTarget:
    """The target with a denoiser that aborts the ODE at its next evaluation once stop is set."""

    def __init__(self, target, stop):
        self._target, self._stop = target, stop

    def denoise(self, *args, **kwargs):
        if self._stop.is_set():
            raise Cancelled()
        return self._target.denoise(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._target, name)


class _StoppableModel:
    def __init__(self, model, stop):
        self._model, self._stop = model, stop

    def __call__(self, y, s):
        if self._stop.is_set():
            raise Cancelled()
        return self._model(y, s)


class LikelihoodPanel(TaskPanel):
    def __init__(self, state, services, ui):
        super().__init__(state, services, ui, "likelihood", "likelihood")
        self.nll_samples = NLL_SAMPLES

        self.run_button = QPushButton("Compute", objectName="likelihoodRunButton")
        self.run_button.setToolTip("Model log-density on a grid through the probability-flow ODE (background)")
        self.cancel_button = QPushButton("Cancel", objectName="likelihoodCancelButton", enabled=False)
        self.cancel_button.setToolTip("Stop the running computation")
        self.res = QSpinBox(objectName="likelihoodGridSpin")
        self.res.setRange(8, 120)
        self.res.setValue(40)
        self.res.setToolTip("Grid resolution per axis (cost grows with its square)")
        self.exact_check = QCheckBox("exact score (check)", objectName="likelihoodExactCheck")
        self.exact_check.setToolTip("Integrate the ODE with the exact score instead of the model: "
                                    "the left image should then equal the right one")
        self.progress = QProgressBar(objectName="likelihoodProgress")
        self.progress.setRange(0, 1000)
        self.progress.setToolTip("Progress of the ODE integration")
        self.nll_label = QLabel("mean NLL of exact samples: –", objectName="likelihoodNll")
        self.nll_label.setToolTip(f"Mean −log p of {NLL_SAMPLES} exact samples under the model (ODE) and the truth")
        self.nll_label.setWordWrap(True)
        self.plots, self.images = [], []
        for name, title in (("likelihoodModelPlot", "model log p (ODE)"), ("likelihoodExactPlot", "exact log p")):
            w = pg.PlotWidget(objectName=name)
            w.setToolTip(f"{title}; colours clipped to (max − {CLIP_NATS:g}, max) nats, same for both")
            w.setTitle(title)
            w.setAspectLocked(True)
            w.setMinimumHeight(150)
            img = pg.ImageItem(axisOrder="col-major")
            img.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
            w.addItem(img)
            self.plots.append(w)
            self.images.append(img)
        self.plots[1].setXLink(self.plots[0])
        self.plots[1].setYLink(self.plots[0])

        controls = QVBoxLayout()
        for w in (self.run_button, self.cancel_button, QLabel("grid"), self.res, self.exact_check, self.progress,
                  self.nll_label):
            controls.addWidget(w)
        controls.addStretch(1)
        side = QWidget()
        side.setLayout(controls)
        side.setMaximumWidth(220)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(side)
        lay.addWidget(self.plots[0], 1)
        lay.addWidget(self.plots[1], 1)

        self._attach(self.run_button, self.cancel_button, self.progress, self.nll_label)
        state.targetChanged.connect(lambda *_: self._clear())

    def run(self, exact: bool | None = None, res: int | None = None) -> None:
        if exact is not None:
            self.exact_check.setChecked(bool(exact))
        if res is not None:
            self.res.setValue(int(res))
        preset = self.app.preset
        if preset is None or preset.is_empty:
            raise ValueError("the current preset is empty: no density to show")
        self.cancel()
        view = {"xlim": list(self.app.view["xlim"]), "ylim": list(self.app.view["ylim"])}
        job = (preset.target, view, int(self.res.value()), self.app.settings.seed, self.nll_samples)
        if self.exact_check.isChecked():
            self._launch(job, ExactSource(preset.target))
        else:
            self._request(job)

    def _launch(self, job, source) -> None:
        target, view, res, seed, n_nll = job
        if source is None:
            self._set_state("idle")
            self.ui.show_message("likelihood: no model yet — train first, or tick 'exact score'", error=True)
            return

        def work(progress, stop):
            if isinstance(source, ExactSource):
                src = ExactSource(_StoppableTarget(target, stop))
            else:
                src = cpu_copy(source)
                src.model = _StoppableModel(src.model, stop)
            return density_grids(target, src, view, res, seed, progress, n_nll)

        self._set_state("running")
        self.nll_label.setText(f"integrating the ODE on {res}×{res} points …")
        self.runner.start(work)

    def _show(self, r: dict) -> None:
        top = float(np.max(r["exact"]))
        levels = (top - CLIP_NATS, top)
        rect = view_rect(r["view"])
        for img, grid in zip(self.images, (r["model"], r["exact"])):
            g = np.where(np.isfinite(grid), grid, levels[0])
            img.setImage(np.clip(g, *levels).astype(np.float32), levels=levels)
            img.setRect(rect)
        self.plots[0].setTitle("exact score through the ODE" if r["exact_source"] else "model log p (ODE)")
        for w in self.plots:
            w.getViewBox().setRange(rect, padding=0)
        self.nll_label.setText(f"mean NLL of {r['nll_samples']} exact samples: model {r['nll']:.3f} nats, "
                               f"truth {r['nll_true']:.3f} nats (gap {r['nll'] - r['nll_true']:+.3f})")

    def _clear(self) -> None:
        """A new target makes old images wrong: drop them (and any run for the old target)."""
        self.cancel()
        self.result = None
        for img in self.images:
            img.clear()
        self.nll_label.setText("mean NLL of exact samples: –")


def install(state, services, ui) -> "LikelihoodPanel":
    panel = LikelihoodPanel(state, services, ui)
    ui.add_tab("likelihood", "Likelihood", lambda: panel, lazy=False)
    return panel
