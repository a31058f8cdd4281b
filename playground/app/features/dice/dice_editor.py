"""The "Dice" dock: load the die with six face sliders, and roll it only N times.

Moving a slider makes a `dice` preset current (warm start, so the model visibly follows the new
odds). The spin box sets the training-set size: with N fixed rolls the model learns the
empirical face frequencies of those rolls, not the true odds, and the chart shows it (true,
training set, sampled). The class weights of the training set are computed in the training
worker, which owns the data; this panel only receives them by signal.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from playground.maths.budgets import MIXTURE_CELLS
from playground.formats.presets import load_preset, preset_from_json
from playground.app.widgets.controls import named
from playground.app.widgets.weights_chart import WeightsChart
from playground.app.core.errors import reported
from playground.app.features.microscope import LINKS as MICROSCOPE_LINKS

DEBOUNCE_MS = 150            # a slider drag applies at most this often (and always at its final value)
SAMPLED_EVERY_MS = 500       # live samples replace the run ~6 times a second: the chart follows at most twice
DEFAULT_RADIUS, DEFAULT_STD = 2.2, 0.3
ZERO_FACE = 1e-6             # a face at 0 keeps a negligible weight: every mixture weight must be > 0
MAX_DATASET = 100_000
MAX_CLASSIFY = 20_000        # sampled particles classified for the chart (a fixed subsample above this)


def class_weights(target, x, max_points: int = MAX_CLASSIFY, max_cells: int = MIXTURE_CELLS) -> np.ndarray:
    """Fraction of the (finite) points in each class of `target`, classified in memory-bounded chunks."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    x = x[np.all(np.isfinite(x), axis=1)]
    if target.n_groups == 1 or len(x) == 0:
        return np.ones(1) if target.n_groups == 1 else np.zeros(target.n_groups)
    if len(x) > max_points:
        x = x[np.random.default_rng(0).choice(len(x), max_points, replace=False)]
    return target.empirical_weights(x, max_cells=max_cells)


class DiceEditor(QObject):

    def __init__(self, state, services, ui):
        super().__init__(services)          # lives and dies with the window
        self.state, self.services, self.ui = state, services, ui
        self._weights = np.ones(6) * 100.0      # slider units; probabilities are these over their sum
        self._shape = {"radius": DEFAULT_RADIUS, "std": DEFAULT_STD}
        self._view = None
        self._applied = None                    # the preset this panel made current (no feedback loop)
        self.training_weights: np.ndarray | None = None

        self.sliders: list[QSlider] = []
        self.prob_labels: list[QLabel] = []
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        for k in range(1, 7):
            s = named(QSlider(Qt.Orientation.Horizontal), f"faceSlider{k}",
                       f"Weight of face {k} (0-100); probabilities are the weights over their sum")
            s.setRange(0, 100)
            s.setValue(100)
            lab = named(QLabel("0.17"), f"faceProb{k}", f"Probability of face {k} (normalised)")
            lab.setMinimumWidth(34)
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(QLabel(f"face {k}"), k - 1, 0)
            grid.addWidget(s, k - 1, 1)
            grid.addWidget(lab, k - 1, 2)
            s.valueChanged.connect(lambda v, i=k - 1: self._on_slider(i, v))
            s.sliderReleased.connect(self.apply_weights)
            self.sliders.append(s)
            self.prob_labels.append(lab)

        self.fair_button = named(QPushButton("Fair"), "fairDiceButton", "Six equally likely faces")
        self.loaded_button = named(QPushButton("Loaded"), "loadedDiceButton",
                                    "The weights of the built-in loaded die (presets/loaded_dice.json)")
        self.fair_button.clicked.connect(lambda *_: self.set_weights(np.ones(6)))
        self.loaded_button.clicked.connect(lambda *_: self._load_loaded())
        buttons = QHBoxLayout()
        buttons.addWidget(self.fair_button)
        buttons.addWidget(self.loaded_button)

        self.dataset_spin = named(QSpinBox(), "datasetSizeSpin",
                                   "Roll the dice N times: train on N fixed samples of the target instead of "
                                   "fresh samples every step. A small N (e.g. 10) is memorised: the sampled "
                                   "frequencies then follow the training set, not the true odds")
        self.dataset_spin.setRange(0, MAX_DATASET)
        self.dataset_spin.setSpecialValueText("fresh samples every step")
        self.dataset_spin.setKeyboardTracking(False)     # typing "100" resamples once, not three times
        self.dataset_spin.valueChanged.connect(self._on_dataset_size)
        rolls = QHBoxLayout()
        rolls.addWidget(QLabel("Rolls N"))
        rolls.addWidget(self.dataset_spin, 1)

        self.chart = WeightsChart(object_name="rollsChart")
        self.chart.setToolTip("Face (class) probabilities: true odds, the N training rolls, and the sampled "
                              "particles of the last run. Train with a small N (e.g. 10): the model memorises "
                              "the rolls and the sampled bars follow the training-set bars, not the true ones")
        self.chart.setMinimumHeight(130)

        panel = QWidget()
        lay = QVBoxLayout(panel)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(grid)
        lay.addLayout(buttons)
        lay.addLayout(rolls)
        lay.addWidget(ui.link_label(MICROSCOPE_LINKS, "diceMicroscopeLinks"))
        lay.addWidget(self.chart, 1)
        self.panel = panel

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.apply_weights)
        self._sampled_timer = QTimer(self)
        self._sampled_timer.setSingleShot(True)
        self._sampled_timer.timeout.connect(self._update_sampled)
        self._sampled_at = -1e9
        self._classifier = services.tasks("diceClassThread", self)     # off the GUI thread: 0.1 s on rings
        self._classifier.finished.connect(self._on_sampled)

        services.model.datasetReady.connect(self._on_dataset)
        state.targetChanged.connect(self._on_target)
        state.runChanged.connect(self._on_frames)
        self._update_labels()
        current = state.preset
        if current is not None and not current.is_empty:
            self._on_target(current)

    # ----- face weights ---------------------------------------------------------------------
    def probabilities(self) -> np.ndarray | None:
        total = float(self._weights.sum())
        return self._weights / total if total > 0 else None

    def _update_labels(self) -> None:
        p = self.probabilities()
        for k, lab in enumerate(self.prob_labels):
            lab.setText("–" if p is None else f"{p[k]:.2f}")

    def _set_sliders(self) -> None:
        for s, w in zip(self.sliders, self._weights):
            s.blockSignals(True)
            s.setValue(int(round(w)))
            s.blockSignals(False)

    def _on_slider(self, k: int, value: int) -> None:
        self._weights[k] = float(value)
        self._update_labels()
        self._timer.start()                      # restart: a drag applies once it pauses or ends

    def set_weights(self, weights) -> bool:
        """Set all six faces (any positive scale) and apply at once (the Fair / Loaded buttons)."""
        w = np.asarray(weights, dtype=np.float64).ravel()
        if len(w) != 6 or not np.all(np.isfinite(w)) or np.any(w < 0):
            self.ui.show_message("dice: six finite, non-negative weights are needed", error=True)
            return False
        self._weights = 100.0 * w / w.max() if w.max() > 0 else np.zeros(6)
        self._set_sliders()
        self._update_labels()
        return self.apply_weights()

    def _load_loaded(self) -> None:
        with reported("loaded dice", self.ui.error):   # a broken built-in preset is reported, not raised
            self.set_weights(load_preset("loaded_dice").spec["weights"])

    def build_preset(self):
        """The dice preset for the current sliders, keeping the radius and std of the current die."""
        p = self.probabilities()
        if p is None:
            return None
        spec = {"kind": "dice", "weights": [float(v) if v > 0 else ZERO_FACE for v in p],
                "radius": self._shape["radius"], "std": self._shape["std"]}
        data = {"name": "Dice (edited)", "description": "Dice with the face weights set by the sliders",
                "target": spec}
        if self._view is not None:
            data["view"] = self._view
        return preset_from_json(data, "dice")

    def apply_weights(self) -> bool:
        """Make the sliders' die the current target (what the debounce timer calls; tests call it directly)."""
        self._timer.stop()
        if self.services.closed:
            return False
        with reported("dice", self.ui.error) as outcome:
            preset = self.build_preset()
        if not outcome:
            return False
        if preset is None:
            self.ui.show_message("dice: all six faces have weight 0; raise at least one slider", error=True)
            return False
        self._applied = preset
        self.services.presets.apply(preset, key="dice")
        return True

    # ----- following the window -------------------------------------------------------------
    def _on_target(self, preset) -> None:
        target = preset.target
        self.chart.set_groups(target.group_names)
        self.chart.set_series("true", target.group_weights())
        self.training_weights = None
        if target.kind == "dice":
            self._shape = {"radius": float(target.spec.get("radius", DEFAULT_RADIUS)),
                           "std": float(target.spec.get("std", DEFAULT_STD))}
            self._view = dict(preset.view)
            if preset is not self._applied:        # our own edit: the sliders already say this
                w = target.group_weights()
                self._weights = 100.0 * w / w.max()
                self._set_sliders()
                self._update_labels()

    def _on_dataset(self, target, weights) -> None:
        preset = self.state.preset
        if preset is None or preset.is_empty or target is not preset.target:
            return                                 # a reply about a target that is no longer current
        self.training_weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.chart.set_series("training set", self.training_weights)

    def _on_frames(self, frames) -> None:
        """A new run: its class weights are computed now, in the background, or (runs replaced faster
        than SAMPLED_EVERY_MS, as live samples are) once that much time has passed since the last,
        for the run then on screen."""
        wait_ms = SAMPLED_EVERY_MS - 1000 * (time.monotonic() - self._sampled_at)
        if frames is None or wait_ms <= 0:
            self._sampled_timer.stop()
            self._update_sampled()
        elif not self._sampled_timer.isActive():
            self._sampled_timer.start(int(wait_ms) + 1)

    def _update_sampled(self) -> None:
        preset, frames = self.state.preset, self.state.run
        if frames is None or not len(frames) or preset is None or preset.is_empty:
            self._classifier.cancel()
            self.chart.set_series("sampled", None)
            return
        self._sampled_at = time.monotonic()
        target, x = preset.target, frames.x[-1]
        self._classifier.start(lambda progress, stop: (target, class_weights(target, x)))

    def _on_sampled(self, result) -> None:
        target, weights = result
        preset = self.state.preset
        if preset is not None and not preset.is_empty and preset.target is target:
            self.chart.set_series("sampled", weights)

    # ----- "roll the dice N times" ------------------------------------------------------------
    def _on_dataset_size(self, n: int) -> None:
        n = int(n)
        if n == 0:
            self.training_weights = None
            self.chart.set_series("training set", None)
        self.services.model.set_dataset_size(n)      # kept in state.flags for the next reset too

    def get_state(self) -> dict:
        return {"dataset_size": int(self.dataset_spin.value())}

    def set_state(self, state: dict) -> None:
        n = state.get("dataset_size", 0) if isinstance(state, dict) else 0
        if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_DATASET:
            self.dataset_spin.setValue(n)


def install(state, services, ui) -> DiceEditor:
    editor = DiceEditor(state, services, ui)
    editor.dock = ui.add_tab("dice", "Dice", lambda: editor.panel, lazy=False).dock
    services.parts.register("dice", editor.get_state, editor.set_state)
    return editor
