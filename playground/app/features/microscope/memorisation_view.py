"""The "Memorisation" tab: does the model copy its training points, or make new ones?

Roll the die N times and train on those N points only: the exact denoiser of N points (the
empirical-exact source) can only ever return them, so its samples are copies; a small network
trained on them is smoother and makes new points, until N is so small that it memorises too. The tab
draws the N training points, samples of the empirical-exact source and of the current model (when
it trains on those very points), a line from each sample to its nearest training point, and the
copy rates beside that of fresh exact samples (chance). A sweep over N trains one model per size for
the same number of steps and plots the copy rates against N.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy

from playground.learning.dataset import training_set
from playground.learning.diagnostics import SWEEP_SIZES, memorisation_sweep
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.diagnostics.memorisation import memorisation
from playground.app.widgets.controls import named, side_by_side, spin_box
from playground.app.widgets.log_axis import LogLossAxis
from playground.app.widgets.task_panel import TaskPanel, cpu_copy

SAMPLES = 1000                 # samples per source in the picture
LINES = 300                    # nearest-point lines drawn (of the model's samples, else the empirical ones)
SWEEP_STEPS = 600              # training steps per size in the sweep (the same for every N)
SWEEP_SAMPLES = 500
COLOURS = {"train": (240, 240, 240), "empirical": (90, 160, 255), "model": (255, 160, 50), "fresh": (150, 150, 150)}


def nearest_lines(samples: np.ndarray, train: np.ndarray, limit: int = LINES) -> tuple[np.ndarray, np.ndarray]:
    """x, y of segments from (up to `limit`) samples to their nearest training point, for connect="pairs"."""
    from scipy.spatial import cKDTree
    pick = samples[np.all(np.isfinite(samples), axis=1)][:limit]
    if not len(pick):
        return np.zeros(0), np.zeros(0)
    _, j = cKDTree(train).query(pick, k=1)
    seg = np.stack([pick, train[j]], axis=1).reshape(-1, 2)
    return seg[:, 0], seg[:, 1]


class MemorisationPanel(TaskPanel):
    def __init__(self, state, services, ui):
        super().__init__(state, services, ui, "memorisation", "memorisation")
        self.sweep = None
        self.size_spin = spin_box("memorisationSizeSpin", "N: how many exact samples the model trains on (the die "
                                  "rolled N times); the same set `train --dataset-size N` draws", 2, 100_000, 16)
        buttons = (("use_button", "Train on these N", "memorisationUseButton",
                    "Make the window's model train on exactly these N points (as the Dice panel's rolls do)"),
                   ("run_button", "Compare", "memorisationRunButton",
                    "Sample the empirical-exact denoiser of the N points and the current model, and count copies"),
                   ("sweep_button", "Sweep N", "memorisationSweepButton",
                    f"Train one model per N in {', '.join(map(str, SWEEP_SIZES))} for {SWEEP_STEPS} steps each and "
                    "plot every copy rate against N (background, about a minute)"))
        for attr, text, name, tip in buttons:
            setattr(self, attr, named(QPushButton(text), name, tip))
        self.cancel_button = named(QPushButton("Cancel", enabled=False), "memorisationCancelButton", "Stop it")
        self.progress = named(QProgressBar(), "memorisationProgress", "Progress")
        self.progress.setRange(0, 1000)
        self.status = named(QLabel("pick N and press Compare"), "memorisationStatus",
                            "Copy rates: a sample is a copy when its nearest training point is closer than a tenth "
                            "of the training points' median nearest-neighbour spacing")
        # one line that never widens the tab (a wrapped label makes the scroll area lay out by size hints)
        self.status.setWordWrap(False)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot = named(pg.PlotWidget(), "memorisationView",
                          "White: the N training points; blue: samples of their exact denoiser (copies); orange: "
                          "the model's samples; grey lines: each sample to its nearest training point")
        self.plot.setAspectLocked(True)
        self.plot.setMinimumSize(200, 160)
        self.plot.addLegend(offset=(10, 10))
        self.lines = pg.PlotCurveItem(pen=pg.mkPen(200, 200, 200, 70), connect="pairs")
        self.plot.addItem(self.lines)
        self.dots = {k: self.plot.plot([], [], pen=None, symbol="o", symbolSize=s, symbolPen=None,
                                       symbolBrush=COLOURS[k], name=name)
                     for k, s, name in (("empirical", 4, "empirical-exact"), ("model", 4, "model"),
                                        ("train", 8, "training points"))}
        self.sweep_plot = named(pg.PlotWidget(axisItems={"bottom": LogLossAxis("bottom")}), "memorisationSweepPlot",
                                "Copy rate against the training-set size N")
        self.sweep_plot.setLogMode(x=True, y=False)
        self.sweep_plot.setMinimumSize(200, 160)
        self.sweep_plot.setLabel("bottom", "training points N")
        self.sweep_plot.setLabel("left", "copy rate")
        self.sweep_plot.addLegend(offset=(-10, 10))
        form = QFormLayout()
        form.addRow("N", self.size_spin)
        for row in ((self.use_button,), (self.run_button, self.sweep_button), (self.cancel_button,)):
            line = QHBoxLayout()
            for b in row:
                line.addWidget(b)
            form.addRow(line)
        form.addRow(self.progress)
        form.addRow(self.status)
        side_by_side(self, form, 260, self.plot, self.sweep_plot)
        self._attach(self.run_button, self.cancel_button, self.progress, self.status)
        self.sweep_button.clicked.connect(lambda *_: self._guard(self.run_sweep))
        self.use_button.clicked.connect(lambda *_: self._guard(self.use_size))
        flags = state.flags.dataset_size
        if flags:
            self.size_spin.setValue(min(max(int(flags), 2), 100_000))

    # ----- actions --------------------------------------------------------------------------------
    def use_size(self) -> None:
        self.services.model.set_dataset_size(int(self.size_spin.value()))
        self.ui.show_message(f"the model now trains on {int(self.size_spin.value())} fixed points: press Train, then Compare")

    def run(self) -> None:
        """Compare: the current model takes part only when it trains on exactly these N points."""
        if not self.app.has_target():
            raise ValueError("the current preset is empty: nothing to draw a training set from")
        self.cancel()
        n = int(self.size_spin.value())
        job = ("compare", self.app.preset.target, n)
        if self.app.flags.dataset_size == n:
            self._request(job)
        else:
            self._launch(job, None)

    def run_sweep(self) -> None:
        if not self.app.has_target():
            raise ValueError("the current preset is empty: nothing to draw a training set from")
        self.cancel()
        self._launch(("sweep", self.app.preset.target, None), None)

    def _launch(self, job, snapshot) -> None:
        kind, target, n = job
        if kind == "compare":
            source = None if snapshot is None else cpu_copy(snapshot)

            def work(progress, stop):
                return "compare", memorisation(target, training_set(target, n, 0)[0], n=SAMPLES, seed=0,
                                               source=source, stop=stop)
            note = "" if source is not None else " (the model trains on other data: only the exact rates)"
            self.status.setText(f"sampling the {n}-point sets …{note}")
        else:
            def train(size, dataset):
                trainer = Trainer(target, TrainConfig(seed=0, device="cpu", dataset_size=size))
                trainer.train(SWEEP_STEPS)             # the same budget for every N
                return trainer.source()

            def work(progress, stop):
                return "sweep", memorisation_sweep(target, SWEEP_SIZES, n=SWEEP_SAMPLES, model_for=train, stop=stop,
                                                   progress=progress)
            self.status.setText(f"sweep: {len(SWEEP_SIZES)} models of {SWEEP_STEPS} steps …")
        self._set_state("running")
        self.runner.start(work)

    # ----- drawing ------------------------------------------------------------------------------------
    def _show(self, result) -> None:
        kind, value = result
        if kind == "sweep":
            self.show_sweep([m.to_json() for m in value])
        else:
            self.show_compare(value)

    def show_compare(self, m) -> None:
        train = np.asarray(m.dataset, dtype=np.float64)
        self.dots["train"].setData(train[:, 0], train[:, 1])
        self.dots["empirical"].setData(m.samples_empirical[:, 0], m.samples_empirical[:, 1])
        model = m.samples_model
        if model is not None:
            self.dots["model"].setData(model[:, 0], model[:, 1])
        else:
            self.dots["model"].setData([], [])
        x, y = nearest_lines(np.asarray(model if model is not None else m.samples_empirical), train)
        self.lines.setData(x, y)
        rates = f"copies: empirical-exact {m.copy_rate_empirical_exact:.0%}"
        if m.copy_rate_model is not None:
            rates += f", model {m.copy_rate_model:.0%}"
        self.status.setText(f"N = {m.n_train}: {rates}; fresh exact samples (chance) {m.copy_rate_fresh:.0%}")

    def show_sweep(self, rows: list[dict]) -> None:
        self.sweep = rows
        self.sweep_plot.clear()
        sizes = np.asarray([r["n_train"] for r in rows], dtype=np.float64)
        for key, name in (("copy_rate_empirical_exact", "empirical"), ("copy_rate_model", "model"),
                          ("copy_rate_fresh", "fresh")):
            y = np.asarray([np.nan if r.get(key) is None else r[key] for r in rows], dtype=np.float64)
            self.sweep_plot.plot(sizes, y, pen=pg.mkPen(COLOURS[name], width=2), symbol="o", symbolSize=6,
                                 symbolBrush=COLOURS[name], symbolPen=None, name=name, connect="finite")
        self.status.setText("sweep done: the model copies less than its exact denoiser once N is large enough")

    # ----- sessions -------------------------------------------------------------------------------------
    def get_state(self) -> dict:
        return {"n": int(self.size_spin.value()), "sweep": self.sweep}

    def set_state(self, data: dict) -> None:
        n = data.get("n")
        if isinstance(n, int) and not isinstance(n, bool) and 2 <= n <= 100_000:
            self.size_spin.setValue(n)
        rows = data.get("sweep")
        keys = ("n_train", "copy_rate_empirical_exact", "copy_rate_fresh")
        if isinstance(rows, list) and rows and all(isinstance(r, dict) and all(
                isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for k in keys)
                and r["n_train"] > 0 for r in rows):
            self.show_sweep(rows)
