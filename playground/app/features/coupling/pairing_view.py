"""The "Pairing" tab: how flow matching pairs noise with data, drawn, and what it does to the model.

One batch of data points (from the target) and as many noise points (from N(0, I)) joined by the
lines flow matching trains on, under the coupling chosen beside the objective: independent lines
cross everywhere; optimal-transport lines hardly cross, so the velocity they teach is nearly constant
along each, and the model's paths come out straight. Beside the picture: the mean squared length of a
pair, and for the current model its mean path straightness and the quality of one Euler step (both on
the flow schedule, computed off the GUI thread from the newest published snapshot).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QSizePolicy, QWidget

from playground.learning.couplings import paired
from playground.learning.model import ModelConfig
from playground.learning.reflow import flow_report
from playground.learning.train_loop import train_for
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.progress import Cancelled
from playground.maths.metrics import noise_floor_band
from playground.app.widgets.controls import named, side_by_side

BATCH = 256                 # pairs drawn: enough to see the pattern, few enough to see each line
BOTH_STEPS = 1200           # training steps of each model "Train both" makes (the same for both)
REPORT_N = 2000             # samples behind the model's straightness and one-step SW2
NOISE_RGB, DATA_RGB = (170, 170, 170), (90, 160, 255)


class PairingPanel(QWidget):
    def __init__(self, state, services, ui):
        super().__init__()
        self.state, self.services, self.ui = state, services, ui
        self.batch_seed = 0
        self.shown = False
        self.pairs = None           # (x0, partner noise) of the batch on screen
        self.report = None
        self.plot = named(pg.PlotWidget(), "couplingView",
                          "One batch: data points (blue) and noise points (grey) joined by the lines flow matching "
                          "trains on under the chosen coupling (Coupling, beside Objective)")
        self.plot.setAspectLocked(True)
        self.plot.setMinimumSize(220, 200)
        self.lines = pg.PlotCurveItem(pen=pg.mkPen(230, 230, 230, 60), connect="pairs")
        self.plot.addItem(self.lines)
        self.noise_dots = self.plot.plot([], [], pen=None, symbol="o", symbolSize=4, symbolPen=None,
                                         symbolBrush=NOISE_RGB, name="noise")
        self.data_dots = self.plot.plot([], [], pen=None, symbol="o", symbolSize=4, symbolPen=None,
                                        symbolBrush=DATA_RGB, name="data")
        self.new_button = named(QPushButton("New batch"), "couplingNewBatchButton", "Draw another batch and pair it")
        self.both_button = named(QPushButton("Train both"), "couplingTrainButton",
                                 f"Train two flow-matching models on this target, {BOTH_STEPS} steps each from the same "
                                 "seed, one with independent pairs and one with OT pairs; Compare then shows them "
                                 "(and a reflowed model) side by side in one click")
        self.both_label = named(QLabel(""), "couplingBothLabel", "The two models' straightness and one-step quality")
        self.batch_label = named(QLabel(""), "couplingBatchLabel", "Mean squared length of a pair in this batch")
        self.model_label = named(QLabel("model: –"), "couplingModelLabel",
                                 "The current model on the flow schedule: mean straightness of 50-step Euler paths "
                                 "(1 = straight lines) and the sliced W2 of one Euler step against the noise floor")
        for label in (self.batch_label, self.model_label, self.both_label):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        form = QFormLayout()
        form.addRow(self.new_button)
        form.addRow(self.batch_label)
        form.addRow(self.model_label)
        form.addRow(self.both_button)
        form.addRow(self.both_label)
        side_by_side(self, form, 230, self.plot).setMinimumWidth(230)
        self.both_runner = services.tasks("couplingModelsThread", self)
        self.both_runner.progress.connect(lambda f: self.both_label.setText(f"training both models … {f:.0%}"))
        self.both_runner.finished.connect(self._on_both)
        self.both_runner.failed.connect(lambda msg: self.both_label.setText(f"training both failed: {msg}"))
        self.both_button.clicked.connect(lambda *_: self.train_both())
        self.runner = services.tasks("pairingThread", self)
        self.runner.finished.connect(self._on_report)
        self.runner.failed.connect(lambda msg: self.model_label.setText(f"model: {msg}"))
        self.new_button.clicked.connect(lambda *_: self.new_batch())
        state.targetChanged.connect(lambda *_: self._on_target())
        state.settingsChanged.connect(lambda s, changed, _o: changed & {"coupling", "objective"} and self.draw())
        services.model.snapshotPublished.connect(lambda *_: self.score_model())

    def set_shown(self, visible: bool) -> None:
        self.shown = bool(visible)
        if self.shown:
            self.draw()
            self.score_model()

    def _on_target(self) -> None:
        self.both_runner.cancel()
        if self.state.coupling_models is not None:
            self.state.set_coupling_models(None)         # they learned the old target
            self.both_label.setText("")
        self.draw()

    def train_both(self) -> None:
        """Two fm models of the current target, independent and OT pairs, same seed and steps (thread)."""
        if not self.state.has_target():
            self.ui.error("Pairing: the current preset is empty: nothing to train on")
            return
        target = self.state.preset.target

        def work(progress, stop):
            out = {}
            for i, (name, coupling) in enumerate((("independent model", "independent"), ("OT model", "ot"))):
                trainer = Trainer(target, TrainConfig(seed=0, device="cpu", coupling=coupling,
                                                      model=ModelConfig(objective="fm")))
                for p in train_for(trainer, steps=BOTH_STEPS):
                    if stop.is_set() or progress((i + p.step / BOTH_STEPS) / 2) is False:
                        raise Cancelled()
                out[name] = (trainer.source(), flow_report(trainer.ema_model, target, n=REPORT_N))
            return target, out
        self.both_label.setText("training both models …")
        self.both_runner.start(work)

    def _on_both(self, answer) -> None:
        target, out = answer
        if not self.state.has_target() or target is not self.state.preset.target:
            return
        self.state.set_coupling_models({name: source for name, (source, _) in out.items()})
        self.both_label.setText("; ".join(f"{name}: straightness {r['straightness'] or float('nan'):.3f}, "
                                          f"1-step SW2 {r['sw2_1step'] or float('nan'):.3f}"
                                          for name, (_, r) in out.items()) + " (Compare: independent · OT · reflowed)")

    def new_batch(self) -> None:
        self.batch_seed += 1
        self.draw()

    def coupling(self) -> str:
        s = self.state.settings
        return s.coupling if s.objective == "fm" else "independent"

    def draw(self) -> None:
        """Pair one batch under the current coupling (a few ms) and draw its lines."""
        if not self.shown or not self.state.has_target():
            return
        target, coupling = self.state.preset.target, self.coupling()
        x0, labels = target.mixture.sample_with_labels(BATCH, seed=self.batch_seed)
        noise = torch.randn(BATCH, 2, generator=torch.Generator().manual_seed(10_000 + self.batch_seed))
        x0, partner = paired(x0, noise, coupling, generator=torch.Generator().manual_seed(self.batch_seed),
                             labels=labels if self.state.flags.conditional else None)
        self.pairs = (x0.numpy(), partner.numpy())
        a, b = self.pairs
        seg = np.stack([a, b], axis=1).reshape(-1, 2)
        self.lines.setData(seg[:, 0], seg[:, 1])
        self.noise_dots.setData(b[:, 0], b[:, 1])
        self.data_dots.setData(a[:, 0], a[:, 1])
        length = float(((a - b) ** 2).sum(1).mean())
        self.batch_label.setText(f"{coupling}: mean squared pair length {length:.2f} over {BATCH} pairs"
                                 + ("" if self.state.settings.objective == "fm"
                                    else " (score matching has no pairing: switch the objective to flow matching)"))

    def score_model(self) -> None:
        """Straightness and one-step SW2 of the newest snapshot, in the thread (newest wins)."""
        source, target = self.services.model.latest, self.state.preset.target if self.state.has_target() else None
        if not self.shown or source is None or target is None or self.runner.busy:
            return
        model = source.model

        def work(progress, stop):
            report = flow_report(model, target, n=REPORT_N)
            floor = noise_floor_band(target, REPORT_N)[0]
            return target, report, floor
        self.runner.start(work)

    def _on_report(self, answer) -> None:
        target, report, floor = answer
        if not self.state.has_target() or target is not self.state.preset.target:
            return
        self.report = report
        straight, sw2 = report["straightness"], report["sw2_1step"]
        if straight is None or sw2 is None:
            self.model_label.setText("model: its flow diverged")
            return
        self.model_label.setText(f"model: straightness {straight:.3f}, one Euler step SW2 {sw2:.3f} "
                                 f"({sw2 / max(floor, 1e-12):.1f}× the noise floor)")


def install(state, services, ui) -> PairingPanel:
    panel = PairingPanel(state, services, ui)
    handle = ui.add_tab("pairing", "Pairing", lambda: panel, lazy=False)
    handle.dock.visibilityChanged.connect(panel.set_shown)
    return panel
