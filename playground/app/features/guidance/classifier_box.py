"""Train the noisy classifier p(class | x_t, level) that learned classifier guidance steers with.

Training (learning.classifier.ClassifierTrainer, cross-entropy on noised target samples) runs in
a services TaskRunner thread on the CPU, so the window stays responsive; the worker appends its
losses to a list that the GUI reads on each progress signal (the loss curve), and the finished job
carries the frozen classifier with its accuracy beside the Bayes-optimal one (classes overlap once
noised, so 100% is out of reach at high noise levels). A new target drops the classifier.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget

from playground.learning.classifier import ClassifierConfig, ClassifierTrainer
from playground.learning.train_loop import train_for
from playground.maths.progress import Cancelled
from playground.app.widgets.controls import named

DEFAULT_STEPS = 800
CHUNK = 20                      # steps between progress reports (and loss-curve updates)


def train_classifier(target, steps: int, seed: int, losses: list, progress, stop) -> dict:
    """The TaskRunner job: `steps` cross-entropy steps (the learning rate on the CLI's cosine tail),
    then the accuracy on fresh noisy points."""
    trainer = ClassifierTrainer(target, ClassifierConfig(seed=int(seed), device="cpu"))
    for p in train_for(trainer, steps=int(steps), chunk=CHUNK):
        losses.extend(p.losses)
        if stop.is_set() or progress(0.95 * p.step / steps) is False:
            raise Cancelled()
    return {"target": target, "classifier": trainer.classifier(), "steps": trainer.step,
            **trainer.accuracy(n=4000, seed=int(seed))}


class ClassifierBox(QObject):
    trained = Signal(object)         # the finished result dict (classifier, accuracy, bayes_accuracy)

    def __init__(self, state, services, ui, parent=None):
        super().__init__(parent)
        self.state, self.ui = state, ui
        self.result: dict | None = None
        self._losses: list[float] = []
        self.widget = QWidget()
        self.steps = named(QSpinBox(), "classifierStepsSpin", "Training steps of the noisy classifier "
                                                              "(batches of 512 noised target samples)")
        self.steps.setRange(20, 20000)
        self.steps.setSingleStep(100)
        self.steps.setValue(DEFAULT_STEPS)
        self.train_button = named(QPushButton("Train classifier"), "trainClassifierButton",
                                  "Train a small MLP p(class | x_t, noise level σ/α) with cross-entropy, in the "
                                  "background; learned classifier guidance steers with its gradient")
        self.cancel_button = named(QPushButton("Cancel"), "classifierCancelButton", "Stop the classifier's training")
        self.cancel_button.setEnabled(False)
        self.progress = named(QProgressBar(), "classifierProgress", "Progress of the classifier's training")
        self.progress.setRange(0, 1000)
        self.progress.setMaximumHeight(14)
        self.loss_plot = pg.PlotWidget()
        named(self.loss_plot, "classifierLossPlot", "Cross-entropy of the noisy classifier per step (nats)")
        self.loss_plot.setFixedHeight(90)
        self.loss_plot.setMouseEnabled(x=False, y=False)
        self.loss_plot.hideButtons()
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen((120, 200, 120), width=1))
        self.accuracy_label = named(QLabel("no classifier yet"), "classifierAccuracyLabel",
                                    "Accuracy of the learned classifier on fresh noised points, beside the best "
                                    "possible (the exact posterior's) at the same noise levels")
        self.accuracy_label.setWordWrap(True)

        lay = QVBoxLayout(self.widget)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("steps"))
        row.addWidget(self.steps, 1)
        row.addWidget(self.train_button)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.loss_plot)
        lay.addWidget(self.accuracy_label)

        self.runner = services.tasks("classifierThread", self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.train_button.clicked.connect(lambda *_: self.train())
        self.cancel_button.clicked.connect(lambda *_: self.runner.cancel())
        state.targetChanged.connect(lambda *_: self.forget())

    @property
    def classifier(self):
        """The learned classifier of the current target, or None."""
        return self.result["classifier"] if self.result is not None else None

    def train(self, steps: int | None = None) -> None:
        if steps is not None:
            self.steps.setValue(int(steps))
        preset = self.state.preset
        if preset is None or preset.is_empty or preset.target.n_groups < 2:
            self.ui.show_message("train classifier: the target needs at least two classes", error=True)
            return
        target, n, seed, losses = preset.target, int(self.steps.value()), self.state.settings.seed, []
        self._losses = losses
        self.loss_curve.setData([], [])
        self._set_busy(True)
        self.accuracy_label.setText(f"training {n} steps …")
        self.runner.start(lambda progress, stop: train_classifier(target, n, seed, losses, progress, stop))

    def forget(self) -> None:
        """A new target: the classifier (and a run for the old target) no longer applies."""
        self.runner.cancel()
        self.result = None
        self._losses = []
        self.loss_curve.setData([], [])
        self.accuracy_label.setText("no classifier yet")

    def _set_busy(self, busy: bool) -> None:
        self.train_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.progress.setValue(0)

    def _draw_losses(self) -> None:
        losses = np.asarray(list(self._losses), dtype=np.float64)   # a copy: the worker appends to it
        if len(losses):
            self.loss_curve.setData(np.arange(1, len(losses) + 1), losses)

    def _on_progress(self, fraction: float) -> None:
        self.progress.setValue(int(1000 * fraction))
        self._draw_losses()

    def _on_finished(self, result: dict) -> None:
        self._set_busy(False)
        self.progress.setValue(1000)
        self._draw_losses()
        if not self.state.has_target() or result["target"] is not self.state.preset.target:
            return                           # trained for a target that is gone
        self.result = result
        self.accuracy_label.setText(f"accuracy {100 * result['accuracy']:.1f}% after {result['steps']} steps "
                                    f"(best possible at these noise levels: {100 * result['bayes_accuracy']:.1f}%)")
        self.trained.emit(result)

    def _on_failed(self, msg: str) -> None:
        self._set_busy(False)
        self.accuracy_label.setText("training failed")
        self.ui.show_message(f"train classifier failed: {msg}", error=True)

    def _on_cancelled(self) -> None:
        self._set_busy(False)
        self.progress.setValue(0)
        if self.result is None:
            self.accuracy_label.setText("cancelled")
