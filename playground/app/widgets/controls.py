"""The controls panel: every input widget, with its objectName and tooltip, and nothing else.

Widgets are built here and wired in main_window; keeping construction apart keeps the window
module about behaviour. objectNames are part of the contract with the acceptance tests.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import (QBoxLayout, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from playground.app.widgets.section import Section
from playground.formats.presets import builtin_names
from playground.formats.settings import DEVICES, FIELDS, Settings
from playground.learning.model import OBJECTIVES
from playground.maths.samplers import SAMPLERS
from playground.maths.schedules import SCHEDULES
from playground.maths.samplers.explanations import CONCEPTS, tooltip as sampler_tooltip

DENSITY_AUTO_PARTICLES = 20000
WIDE_RATIO = 1.3             # an owner this much wider than tall lays its views in a row
QWIDGETSIZE_MAX = (1 << 24) - 1
COUPLING_WORDS = {"independent": "independent pairs", "ot": "optimal transport (ot)",
                  "sinkhorn": "entropic OT (sinkhorn)", "ot-global": "OT across classes (ot-global)"}
OBJECTIVE_CONCEPTS = {"dsm": "score-matching", "fm": "flow-matching"}


def show_toggle(button, on: bool, on_text: str, off_text: str) -> None:
    """Show a checkable button's state and label without emitting toggled: the caller is already
    acting on the change (Play/Pause, Train/Pause)."""
    if button.isChecked() != on:
        button.blockSignals(True)
        button.setChecked(on)
        button.blockSignals(False)
    button.setText(on_text if on else off_text)


def ranged(spin, key: str):
    """A spin box limited to the range FIELDS states for the setting `key`."""
    spin.setRange(FIELDS[key].lo, FIELDS[key].hi)
    return spin


def named(widget, name: str, tip: str):
    """The widget with its objectName (what tests and the outside contract find it by) and tooltip."""
    widget.setObjectName(name)
    widget.setToolTip(tip)
    return widget


def spin_box(name: str, tip: str, lo, hi, value, step=1, decimals: int | None = None, suffix: str = ""):
    """A named spin box with its range, step and value: a QDoubleSpinBox when `decimals` is given."""
    box = named(QSpinBox() if decimals is None else QDoubleSpinBox(), name, tip)
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    if suffix:
        box.setSuffix(suffix)
    return box


class FollowShape(QObject):
    """Lays a QBoxLayout's items in a row while its owner is wide and in a column while it is tall:
    the same panel reads well as a strip under the particles and as a tall tab beside them."""

    def __init__(self, owner: QWidget, layout: QBoxLayout, column: QWidget | None, max_width: int):
        super().__init__(owner)
        self.layout, self.column, self.max_width = layout, column, max_width
        owner.installEventFilter(self)

    def eventFilter(self, owner, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            wide = owner.width() >= WIDE_RATIO * owner.height()
            direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
            if self.layout.direction() != direction:
                self.layout.setDirection(direction)
                if self.column is not None:
                    self.column.setMaximumWidth(self.max_width if wide else QWIDGETSIZE_MAX)
        return False


def follow_shape(owner: QWidget, layout: QBoxLayout, column: QWidget | None = None, max_width: int = 0) -> None:
    """Let `layout` (owner's) switch between a row and a column with the owner's shape (FollowShape)."""
    FollowShape(owner, layout, column, max_width)


def side_by_side(owner: QWidget, controls, max_width: int, *views) -> QWidget:
    """Lay `owner` out as a column of controls (a layout) at most max_width wide, then `views`
    sharing the rest of the width equally; in a tall owner, the controls on top and the views
    below each other. Returns the column's widget."""
    column = QWidget()
    column.setLayout(controls)
    column.setMaximumWidth(max_width)
    lay = QBoxLayout(QBoxLayout.Direction.LeftToRight, owner)
    lay.setContentsMargins(2, 2, 2, 2)
    lay.addWidget(column)
    for view in views:
        lay.addWidget(view, 1)
    follow_shape(owner, lay, column, max_width)
    return column


class ControlsPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setSpacing(4)
        self.sections: list[Section] = []
        d = Settings()

        # --- target and model
        box = QGroupBox("Target and model")
        form = QFormLayout(box)
        self.preset = named(QComboBox(), "presetCombo", "Target distribution (built-in presets)")
        for name in builtin_names():
            self.preset.addItem(name, name)
        self.preset.setCurrentIndex(max(0, self.preset.findData(d.preset)))
        self.device = named(QComboBox(), "deviceCombo", "Where the model trains: auto uses CUDA when available")
        self.device.addItems(list(DEVICES))
        self.schedule = named(QComboBox(), "scheduleCombo", "Noise schedule the sampler visits")
        for name, cls in SCHEDULES.items():
            self.schedule.addItem(cls.label, name)
            self.schedule.setItemData(self.schedule.count() - 1, f"{cls.label}\n{cls.tooltip}", 3)  # ToolTipRole
        self.schedule.setCurrentIndex(self.schedule.findData(d.schedule))
        self.objective = named(QComboBox(), "objectiveCombo",
                               "What the network learns; switching objective resets the model")
        for name, words in OBJECTIVES.items():
            concept = CONCEPTS[OBJECTIVE_CONCEPTS[name]]
            self.objective.addItem(f"{words} ({name})", name)
            self.objective.setItemData(self.objective.count() - 1, f"{concept.tooltip}\n{concept.rule}", 3)
        self.objective.setCurrentIndex(max(0, self.objective.findData(d.objective)))
        self.coupling = named(QComboBox(), "couplingCombo",
                              "Flow matching only: how each batch pairs noise with data. independent: at random "
                              "(lines cross, paths bend); ot: minibatch optimal transport (lines untangle, paths "
                              "straighten); sinkhorn: in between; ot-global: OT across classes (breaks guidance, on "
                              "purpose). Applies live; the Pairing tab draws it")
        for name, words in COUPLING_WORDS.items():
            self.coupling.addItem(words, name)
        self.coupling.setCurrentIndex(max(0, self.coupling.findData(d.coupling)))
        self.coupling.setEnabled(d.objective == "fm")
        self.hidden = ranged(named(QSpinBox(), "hiddenSpin", "Hidden width of the MLP denoiser (rebuilds the model)"),
                             "hidden")
        self.hidden.setSingleStep(16)
        self.hidden.setValue(d.hidden)
        self.lr = named(QDoubleSpinBox(), "lrSpin", "AdamW learning rate (applies live; a diverging run is "
                                                     "rolled back and the rate halved)")
        self.lr.setDecimals(5)
        ranged(self.lr, "lr")
        self.lr.setSingleStep(1e-3)
        self.lr.setValue(d.lr)
        self.batch = ranged(named(QSpinBox(), "batchSpin", "Training batch size (applies live)"), "batch")
        self.batch.setSingleStep(256)
        self.batch.setValue(d.batch)
        form.addRow("Preset", self.preset)
        self.preset_note = QLabel("", objectName="presetDescription")
        self.preset_note.setWordWrap(True)          # the whole description, on as many lines as it needs
        self.preset_note.setStyleSheet("color: gray")
        form.addRow(self.preset_note)
        form.addRow("Objective", self.objective)
        form.addRow("Coupling", self.coupling)
        form.addRow("Device", self.device)
        row = QHBoxLayout()
        self.train = named(QPushButton("Train"), "trainButton", "Train the denoiser while pressed (T)")
        self.train.setCheckable(True)
        self.reset = named(QPushButton("Reset"), "resetButton", "Fresh weights and optimiser (R)")
        row.addWidget(self.train)
        row.addWidget(self.reset)
        form.addRow(row)
        self._add(outer, Section("Target and model", "targetSection", box))
        box = QGroupBox()
        form = QFormLayout(box)
        form.addRow("Schedule", self.schedule)
        form.addRow("Hidden width", self.hidden)
        form.addRow("Learning rate", self.lr)
        form.addRow("Batch", self.batch)
        self._add(outer, Section("Model options", "modelOptionsSection", box, open_=False,
                                 tip="The noise schedule, the network's width, learning rate and batch"))

        # --- sampling
        box = QGroupBox("Sampling")
        form = QFormLayout(box)
        self.sampler = named(QComboBox(), "samplerCombo", "Sampler used by Sample")
        for name in SAMPLERS:
            self.sampler.addItem(name, name)      # the name: what the CLI and scripts use
            self.sampler.setItemData(self.sampler.count() - 1, sampler_tooltip(name), 3)
        self.sampler.setCurrentIndex(self.sampler.findData(d.sampler))
        self.gamma = ranged(named(QDoubleSpinBox(), "gammaSpin",
                                  "γ of gradient estimation: ε̄ = γ·ε_i + (1 − γ)·ε_{i−1}; 1 = DDIM, 2 = the "
                                  "paper's default (a momentum-like correction)"), "gamma")
        self.gamma.setDecimals(2)
        self.gamma.setSingleStep(0.1)
        self.gamma.setValue(d.gamma)
        self.mu = ranged(named(QDoubleSpinBox(), "muSpin",
                               "μ of gradient estimation, in [0, 1): 0 = deterministic (DDIM-like), larger "
                               "values re-inject more fresh noise each step"), "mu")
        self.mu.setDecimals(2)
        self.mu.setSingleStep(0.05)
        self.mu.setValue(d.mu)
        self.sampler_options = QWidget(objectName="samplerOptions")
        row = QHBoxLayout(self.sampler_options)
        row.setContentsMargins(0, 0, 0, 0)
        for text, spin in (("γ", self.gamma), ("μ", self.mu)):
            row.addWidget(QLabel(text))
            row.addWidget(spin, 1)
        self.steps = ranged(named(QSpinBox(), "stepsSpin", "Number of sampler steps (noise levels)"), "steps")
        self.steps.setValue(d.steps)
        self.particles = ranged(named(QSpinBox(), "particlesSpin",
                                      f"Number of particles (density view above {DENSITY_AUTO_PARTICLES})"), "particles")
        self.particles.setSingleStep(500)
        self.particles.setValue(d.particles)
        self.seed = ranged(named(QSpinBox(), "seedSpin",
                                 "Seed of the initial noise (same seed: same start for every sampler)"), "seed")
        self.seed.setValue(d.seed)
        self.speed = ranged(named(QSpinBox(), "speedSpin", "Animation speed in frames per second"), "speed")
        self.speed.setValue(d.speed)
        self.speed.setSuffix(" fps")
        self.density = named(QCheckBox("Density view"), "densityCheck",
                              "Show a 2D histogram instead of points (automatic for many particles)")
        form.addRow("Sampler", self.sampler)
        form.addRow(self.sampler_options)
        form.addRow("Steps", self.steps)
        form.addRow("Particles", self.particles)
        self.sample = named(QPushButton("Sample"), "sampleButton", "Run the sampler on a snapshot of the model (S)")
        form.addRow(self.sample)
        self._add(outer, Section("Sampling", "samplingSection", box))
        box = QGroupBox()
        form = QFormLayout(box)
        form.addRow("Seed", self.seed)
        form.addRow("Speed", self.speed)
        form.addRow(self.density)
        self.sampling_options = Section("Sampling options", "samplingOptionsSection", box, open_=False,
                                        tip="The noise seed, the animation speed and the density view")

        # --- score field toggles (laid out by the window under the field view)
        self.exact = named(QCheckBox("Exact score"), "exactCheck", "Overlay the exact score of the noised target (grey)")
        self.error = named(QCheckBox("Error heatmap"), "errorCheck",
                            "|learned − exact| / |exact|, weighted by the noised density")
        self.velocity = named(QCheckBox("Velocity"), "velocityCheck",
                               "Show the probability-flow velocity of the current schedule instead of the score "
                               "(arrows point the way particles move while sampling, −dx/dt); learned and exact "
                               "as for the score, with the same error heatmap. On VE and EDM schedules (α = 1) it "
                               "points along the score; on VP and flow schedules the shrinking α bends it")
        self.field_info = QLabel("")
        self.field_info.setObjectName("fieldInfo")
        # Its text changes every frame: it must never push the plots around, so it gets what is left.
        self.field_info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._everyday = outer.count()        # feature sections asked for first go here, the rest below
        self._add(outer, self.sampling_options)
        outer.addStretch(1)
        self._outer = outer
        self.update_sampler_tooltip()
        self.sampler.currentIndexChanged.connect(self.update_sampler_tooltip)
        self.update_objective_tooltip()
        self.objective.currentIndexChanged.connect(self.update_objective_tooltip)

    def _add(self, outer, section: Section) -> None:
        outer.addWidget(section)
        self.sections.append(section)

    def add_section(self, widget, first: bool = False, open_: bool = True) -> Section:
        """A feature's group box (editing, guidance, ...) in a collapsible section: with the everyday
        controls if `first` (live samples), else above the trailing stretch."""
        title = widget.title() if isinstance(widget, QGroupBox) else widget.objectName()
        name = f"{widget.objectName() or title.replace(' ', '')}Fold"
        section = Section(title, name, widget, open_=open_)
        at = self._everyday if first else self._outer.count() - 1
        if first:
            self._everyday += 1
        self._outer.insertWidget(at, section)
        self.sections.append(section)
        return section

    def update_objective_tooltip(self) -> None:
        concept = CONCEPTS[OBJECTIVE_CONCEPTS.get(self.objective.currentData(), "score-matching")]
        self.objective.setToolTip(f"{concept.label}: {concept.tooltip}\n{concept.rule}\n"
                                  "Switching objective resets the model.")

    def update_sampler_tooltip(self) -> None:
        """The sampler's tooltip, and its own options (γ, μ) shown and enabled only for it."""
        name = self.sampler.currentData()
        if name in SAMPLERS:
            self.sampler.setToolTip(sampler_tooltip(name))
        takes = SAMPLERS[name].options if name in SAMPLERS else {}
        for key in ("gamma", "mu"):
            getattr(self, key).setEnabled(key in takes)
        self.sampler_options.setVisible(any(k in takes for k in ("gamma", "mu")))
