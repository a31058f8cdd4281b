"""Likelihood view: the model's log-density on a grid (through the probability-flow ODE, exact
divergence) beside the exact log-density, on the same colour levels.

Both images clip at (max − CLIP_NATS, max) of the exact grid, so where the model puts too much
or too little mass shows as a colour difference, not as a rescaled picture. The ODE runs in a
TaskRunner thread, batch by batch, on a CPU copy of the EMA weights.

Beside the two NLLs the same job computes the ELBO bound (maths/elbo.py) of the K-step discrete
diffusion with the same denoiser on the same exact samples, for K = 10, 100, 1000: the bound lies
above the NLL (−ELBO ≥ −log p_model) and its gap shrinks as K grows, which the small plot shows.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from playground.maths.progress import Cancelled
from playground.maths.elbo import negative_elbo
from playground.maths.likelihood import density_grids
from playground.maths.sources import ExactSource
from playground.app.widgets.controls import named, side_by_side, spin_box
from playground.app.widgets.task_panel import TaskPanel, cpu_copy

CLIP_NATS = 12.0
NLL_SAMPLES = 300
ELBO_STEPS = (10, 100, 1000)
GRID_SHARE = 0.6                # of the progress bar, when the ELBO follows the grid


def elbo_means(target, source, seed: int, n: int, progress) -> dict[int, float]:
    """Mean −ELBO in nats of the n exact samples density_grids scores, for each K in ELBO_STEPS."""
    xs = target.sample(n, seed=seed + 123)
    xs = xs.double() if isinstance(source, ExactSource) else xs
    total, done, out = sum(ELBO_STEPS), 0, {}
    for k in ELBO_STEPS:
        part = (lambda f, a=done, k=k: progress(GRID_SHARE + (1 - GRID_SHARE) * (a + f * k) / total))
        out[k] = float(np.mean(negative_elbo(source, xs, steps=k, seed=seed, progress=part)["elbo"]))
        done += k
    return out


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
        self.config = getattr(model, "config", None)      # its width sizes ModelSource's row slices

    def __call__(self, y, s):
        if self._stop.is_set():
            raise Cancelled()
        return self._model(y, s)


class LikelihoodPanel(TaskPanel):
    def __init__(self, state, services, ui):
        super().__init__(state, services, ui, "likelihood", "likelihood")
        self.nll_samples = NLL_SAMPLES

        self.run_button = named(QPushButton("Compute"), "likelihoodRunButton",
                                "Model log-density on a grid through the probability-flow ODE (background)")
        self.cancel_button = named(QPushButton("Cancel", enabled=False), "likelihoodCancelButton",
                                   "Stop the running computation")
        self.res = spin_box("likelihoodGridSpin", "Grid resolution per axis (cost grows with its square)", 8, 120, 40)
        self.exact_check = QCheckBox("exact score (check)", objectName="likelihoodExactCheck")
        self.exact_check.setToolTip("Integrate the ODE with the exact score instead of the model: "
                                    "the left image should then equal the right one")
        self.progress = QProgressBar(objectName="likelihoodProgress")
        self.progress.setRange(0, 1000)
        self.progress.setToolTip("Progress of the ODE integration")
        self.nll_label = QLabel("mean NLL of exact samples: –", objectName="likelihoodNll")
        self.nll_label.setToolTip(f"Mean −log p of {NLL_SAMPLES} exact samples under the model (ODE) and the truth")
        self.nll_label.setWordWrap(True)
        self.elbo_check = QCheckBox("ELBO bound (K = 10, 100, 1000)", objectName="likelihoodElboCheck")
        self.elbo_check.setToolTip("Also compute the variational bound (−ELBO, what DDPM trains on) of the K-step "
                                   "discrete diffusion with the same denoiser on the same samples")
        self.elbo_check.setChecked(True)
        self.elbo_label = QLabel("", objectName="likelihoodElboLabel")
        self.elbo_label.setToolTip("True −log p, PF-ODE NLL and −ELBO side by side, in nats per sample")
        self.elbo_label.setWordWrap(True)
        self.elbo_plot = pg.PlotWidget()
        self.elbo_plot.setObjectName("likelihoodElboPlot")
        self.elbo_plot.setToolTip("Gap of the bound, −ELBO − true NLL, against the number of steps K (log axis); "
                                  "the dashed line is the PF-ODE NLL's gap")
        self.elbo_plot.setLogMode(x=True, y=False)
        self.elbo_plot.setLabel("bottom", "K")
        self.elbo_plot.setLabel("left", "gap (nats)")
        self.elbo_plot.setFixedHeight(150)
        self.elbo_plot.setMouseEnabled(x=False, y=False)
        self.elbo_plot.hideButtons()
        self.plots, self.images = [], []
        for name, title in (("likelihoodModelPlot", "model log p (ODE)"), ("likelihoodExactPlot", "exact log p")):
            w = pg.PlotWidget()
            w.setObjectName(name)   # PlotWidget hands objectName= to its PlotItem
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
        for w in (self.run_button, self.cancel_button, QLabel("grid"), self.res, self.exact_check, self.elbo_check,
                  self.progress, self.nll_label, self.elbo_label, self.elbo_plot):
            controls.addWidget(w)
        controls.addStretch(1)
        maps = QWidget()                    # the two maps stay side by side, under or beside the controls
        row = QHBoxLayout(maps)
        row.setContentsMargins(0, 0, 0, 0)
        for w in self.plots:
            row.addWidget(w, 1)
        side_by_side(self, controls, 220, maps)

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
        job = (preset.target, view, int(self.res.value()), self.app.settings.seed, self.nll_samples,
               self.elbo_check.isChecked())
        if self.exact_check.isChecked():
            self._launch(job, ExactSource(preset.target))
        else:
            self._request(job)

    def _launch(self, job, source) -> None:
        target, view, res, seed, n_nll, with_elbo = job
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
            grid_progress = (lambda f: progress(GRID_SHARE * f)) if with_elbo else progress
            result = density_grids(target, src, view, res, seed, grid_progress, n_nll)
            result["elbo"] = elbo_means(target, src, seed, n_nll, progress) if with_elbo else None
            return result

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
        self._show_elbo(r)

    def _show_elbo(self, r: dict) -> None:
        self.elbo_plot.clear()
        elbo = r.get("elbo")
        if not elbo:
            self.elbo_label.setText("")
            return
        truth = r["nll_true"]
        rows = [f"true −log p {truth:.3f}", f"PF-ODE NLL {r['nll']:.3f} ({r['nll'] - truth:+.3f})"]
        rows += [f"−ELBO K={k}: {v:.3f} ({v - truth:+.3f})" for k, v in elbo.items()]
        self.elbo_label.setText("nats per sample (gap to the truth)\n" + "\n".join(rows))
        ks = np.array(list(elbo), dtype=np.float64)
        self.elbo_plot.plot(ks, [v - truth for v in elbo.values()], pen=pg.mkPen((255, 170, 40), width=2),
                            symbol="o", symbolSize=6, symbolBrush=(255, 170, 40))
        self.elbo_plot.plot(ks, np.full(len(ks), r["nll"] - truth),
                            pen=pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DashLine))

    def _clear(self) -> None:
        """A new target makes old images wrong: drop them (and any run for the old target)."""
        self.cancel()
        self.result = None
        for img in self.images:
            img.clear()
        self.nll_label.setText("mean NLL of exact samples: –")
        self.elbo_label.setText("")
        self.elbo_plot.clear()


def install(state, services, ui) -> "LikelihoodPanel":
    panel = LikelihoodPanel(state, services, ui)
    ui.add_tab("likelihood", "Likelihood", lambda: panel, lazy=False)
    return panel
