"""The "Guidance" controls section: sample one class with classifier-free guidance,
D = D_uncond + w (D_cond - D_uncond) (see playground.guidance), or with classifier guidance,
score + w ∇log p(class | x_t), the classifier exact or learned (classifier_box.py trains it).

The guided run goes through the sampling service like a Sample press: the service wraps its
model snapshot with this panel's guide (a GuidedSource or ClassifierGuidedSource), so it plays,
scrubs and reports NFE like any other run, and live samples follow the same guide until the next
press. With "exact guided score" no snapshot is needed. After the run, the fraction of particles in the chosen class is shown next to what
the exact conditional law gives (1.0), added to the purity chart (per kind, against w), and the
class's exact density can be overlaid.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout

from playground.maths.classifier_guidance import ClassifierGuidedSource, ExactClassifier
from playground.maths.guidance import ExactGuidedSource, GuidedSource, UnconditionalModelError, conditional_target
from playground.maths.sources import ExactSource
from playground.app.features.guidance.classifier_box import ClassifierBox
from playground.app.widgets.controls import named
from playground.app.features.guidance.guidance_purity import KINDS, PurityChart
from playground.app.widgets.particle_item import density_image

SLIDER_STEPS = 10            # slider units per unit of w: 0..10 in steps of 0.1
MAX_SCALE = 10
DEFAULT_SCALE = 1.0
NO_CLASSIFIER_MESSAGE = "learned classifier guidance: train the classifier first (Train classifier)"
UNCONDITIONAL_MESSAGE = ("the model is unconditional: train a conditional model first (tick “Train a "
                         "conditional model” and train), or tick “Exact guided score”")


def _overlay_lut(rgb=(255, 150, 40)) -> np.ndarray:
    """Transparent at zero density, warm orange at the peak: faint enough to keep particles readable."""
    ramp = np.linspace(0, 1, 256)[:, None]
    rgba = np.concatenate([ramp * 0 + np.array(rgb)[None], 140 * ramp ** 0.7], 1)
    return rgba.astype(np.ubyte)


def class_fraction(target, x: np.ndarray, label: int) -> float:
    """Fraction of points whose most probable class under the clean target is `label`."""
    return float(target.empirical_weights(x)[label]) if len(x) else float("nan")


class GuidancePanel(QObject):
    def __init__(self, state, services, ui):
        super().__init__(services)          # lives and dies with the window
        self.state, self.services, self.ui = state, services, ui
        self._request = None           # (label, scale, exact, kind) of the last guided press
        self.last_result: dict | None = None

        self.box = QGroupBox("Guidance")
        self.box.setObjectName("guidanceBox")
        self.kind_combo = named(QComboBox(), "guidanceKindCombo",
                                "Classifier-free: the conditional model's D_uncond + w·(D_cond − D_uncond). "
                                "Classifier: score + w·∇log p(class | x_t), with the exact posterior of the "
                                "noised target or a learned noisy classifier (train it below)")
        for kind, (text, _) in KINDS.items():
            self.kind_combo.addItem(text, kind)
        self.classifier_box = ClassifierBox(state, services, ui, self)
        self.purity_chart = PurityChart()
        self.conditional_check = named(QCheckBox("Train a conditional model (labels = classes)"),
                                        "conditionalCheck",
                                        "Rebuild the model so it also learns D(x, σ, class): each training sample "
                                        "carries its class (dice face, component), dropped to “no label” 10% of the "
                                        "time so the same network stays unconditional too (classifier-free guidance)")
        self.class_combo = named(QComboBox(), "classCombo", "Class to sample (the target's classes: dice faces, "
                                                             "components, arms ...)")
        self.guidance_slider = named(QSlider(Qt.Orientation.Horizontal), "guidanceSlider",
                                      "Guidance scale w in D = D_uncond + w·(D_cond − D_uncond): 0 = unconditional, "
                                      "1 = exactly conditional, > 1 sharper and pushed away from the other classes")
        self.guidance_slider.setRange(0, MAX_SCALE * SLIDER_STEPS)
        self.guidance_slider.setValue(int(DEFAULT_SCALE * SLIDER_STEPS))
        self.guidance_label = named(QLabel(), "guidanceLabel", "Current guidance scale w")
        self.guidance_label.setMinimumWidth(52)
        self.exact_check = named(QCheckBox("Exact guided score"), "exactGuidedCheck",
                                  "Use the target's exact unconditional and class scores instead of the learned "
                                  "model (no training needed); with classifier guidance, the exact score is the base "
                                  "the classifier steers")
        self.overlay_check = named(QCheckBox("Show the class's exact density"), "conditionalOverlayCheck",
                                    "Overlay the exact conditional density p(x | class) on the particles (orange)")
        self.sample_button = named(QPushButton("Guided sample"), "guidedSampleButton",
                                    "Sample the chosen class with the chosen scale, using the current sampler, "
                                    "steps, particles and seed (2 evaluations per step)")
        self.result_label = named(QLabel(""), "guidanceResultLabel",
                                   "Fraction of the guided particles in the chosen class, against the exact "
                                   "conditional law (all of them)")
        self.result_label.setWordWrap(True)

        lay = QVBoxLayout(self.box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Kind"))
        row.addWidget(self.kind_combo, 1)
        lay.addLayout(row)
        lay.addWidget(self.conditional_check)
        row = QHBoxLayout()
        row.addWidget(QLabel("Class"))
        row.addWidget(self.class_combo, 1)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("w"))
        row.addWidget(self.guidance_slider, 1)
        row.addWidget(self.guidance_label)
        lay.addLayout(row)
        lay.addWidget(self.exact_check)
        lay.addWidget(self.overlay_check)
        lay.addWidget(self.sample_button)
        lay.addWidget(self.result_label)
        lay.addWidget(self.purity_chart)
        lay.addWidget(self.classifier_box.widget)

        self.overlay = pg.ImageItem(axisOrder="col-major")
        self.overlay.setLookupTable(_overlay_lut())
        self.overlay.setZValue(-8)           # above the target's faint density, below the particles
        self.overlay.setVisible(False)
        ui.add_overlay(self.overlay, "particles")

        self.conditional_check.toggled.connect(self._on_conditional)
        self.guidance_slider.valueChanged.connect(lambda *_: self._update_scale_label())
        self.class_combo.currentIndexChanged.connect(lambda *_: self._on_class())
        self.overlay_check.toggled.connect(lambda *_: self._refresh_overlay())
        self.sample_button.clicked.connect(lambda *_: self.guided_sample())
        state.targetChanged.connect(self._on_target)
        state.runChanged.connect(self._on_frames)
        self._update_scale_label()
        current = state.preset
        if current is not None and not current.is_empty:
            self._on_target(current)

    # ----- settings ---------------------------------------------------------------------------
    def scale(self) -> float:
        return self.guidance_slider.value() / SLIDER_STEPS

    def label(self) -> int:
        return self.class_combo.currentIndex()

    def kind(self) -> str:
        return self.kind_combo.currentData()

    def _on_class(self) -> None:
        self.purity_chart.clear_runs()       # purities of another class are not comparable
        self._refresh_overlay()

    def _update_scale_label(self) -> None:
        self.guidance_label.setText(f"w = {self.scale():.1f}")

    def _on_conditional(self, on: bool) -> None:
        """Rebuild the trainer with (or without) class labels through the window's reset path."""
        self.state.set_flags(conditional=bool(on))
        try:
            self.services.model.reset()
        except ValueError as exc:
            self.ui.show_message(f"guidance: {exc}", error=True)
            return
        if on:
            self.ui.show_message("conditional model: training restarts with class labels "
                                     "(10% dropped to “no label”); press Train, then Guided sample")

    def _on_target(self, preset) -> None:
        names = list(preset.target.group_names)
        old = [self.class_combo.itemText(i) for i in range(self.class_combo.count())]
        if names != old:
            keep = self.class_combo.currentIndex()
            self.class_combo.blockSignals(True)
            self.class_combo.clear()
            self.class_combo.addItems(names)
            self.class_combo.setCurrentIndex(keep if 0 <= keep < len(names) else 0)
            self.class_combo.blockSignals(False)
        n_classes = self.state.training.n_classes
        if self.state.flags.conditional and n_classes is not None and n_classes != preset.target.n_groups:
            self.services.model.reset()          # a warm start cannot change the number of labels
        self.result_label.setText("")
        self.purity_chart.clear_runs()
        self._refresh_overlay()

    def _refresh_overlay(self) -> None:
        preset = self.state.preset
        show = self.overlay_check.isChecked() and preset is not None and not preset.is_empty
        show = show and 0 <= self.label() < preset.target.n_groups
        if not show:
            self.overlay.setVisible(False)
            return
        img, rect = density_image(conditional_target(preset.target, self.label()), preset.view)
        self.overlay.setImage(img, levels=(0.0, 1.0))
        self.overlay.setRect(rect)
        self.overlay.setVisible(True)

    # ----- guided sampling ----------------------------------------------------------------------
    def guided_sample(self) -> None:
        """Start a guided run of the chosen class (messages, never exceptions, for bad states)."""
        preset = self.state.preset
        if preset is None or preset.is_empty:
            self.ui.show_message("the current preset is empty: nothing to sample", error=True)
            return
        label, scale = self.label(), self.scale()
        if not (0 <= label < preset.target.n_groups):
            self.ui.show_message("pick a class first", error=True)
            return
        kind, exact = self.kind(), self.exact_check.isChecked()
        if kind == "classifier-learned" and self.classifier_box.classifier is None:
            self.ui.show_message(NO_CLASSIFIER_MESSAGE, error=True)
            return
        self._request = (label, scale, exact, kind)
        self.result_label.setText("sampling …")
        if exact:
            base = ExactSource(preset.target)
            self.services.sampling.sample(
                source=ExactGuidedSource(preset.target, label, scale) if kind == "cfg" else self._classified(base))
            return
        if kind == "cfg" and self.state.training.n_classes == 0:
            self.ui.show_message(UNCONDITIONAL_MESSAGE, error=True)
            return
        request = self._request
        self.services.sampling.sample(guide=lambda snapshot: self._guide(snapshot, request))

    def _classified(self, base, request=None) -> ClassifierGuidedSource:
        """The base score (exact or a model snapshot) steered by the chosen classifier."""
        label, scale, _, kind = request or self._request
        target = self.state.preset.target
        classifier = ExactClassifier(target) if kind == "classifier-exact" else self.classifier_box.classifier
        return ClassifierGuidedSource(base, classifier, label, scale)

    def _guide(self, snapshot, request):
        """A model snapshot steered as `request` asks: the sampling service calls it for the press and
        for live pictures after it. None (with a message) when the model cannot be guided."""
        label, scale, _, kind = request
        try:
            return GuidedSource(snapshot, label, scale) if kind == "cfg" else self._classified(snapshot, request)
        except UnconditionalModelError:
            self.ui.show_message(UNCONDITIONAL_MESSAGE, error=True)
        except ValueError as exc:
            self.ui.show_message(f"guided sample: {exc}", error=True)
        return None

    def _on_frames(self, run) -> None:
        """Score a guided run on screen (its source says so): its fraction in the class against the
        exact conditional's 1.0. A whole run (a press) also goes on the purity chart; a live
        picture only updates the line."""
        prov = None if run is None else run.provenance
        if prov is None or prov.guidance is None or self._request is None or not self.state.has_target():
            if run is not None and len(run) > 1:
                self.result_label.setText("")
            return
        preset = self.state.preset
        _, _, exact, kind = self._request
        label, scale = prov.label, prov.weight
        if (kind == "cfg") != (prov.guidance == "cfg"):
            return                        # a run of an earlier press of the other kind
        frac = class_fraction(preset.target, np.asarray(run.samples), label)
        name = preset.target.group_names[label]
        score = "exact" if prov.score == "exact" else "learned"
        text = (f"{name}, w = {scale:.1f} ({KINDS.get(kind, (kind,))[0]}, {score} score): {100 * frac:.1f}% in class "
                f"(exact conditional: 100%), NFE {run.nfe[-1]}")
        self.result_label.setText(text)
        if len(run) > 1:
            self.last_result = {"class": label, "scale": scale, "exact": score == "exact", "kind": kind,
                                "fraction": frac, "nfe": int(run.nfe[-1])}
            self.purity_chart.add(kind, scale, frac)
            self.ui.show_message(f"guided sample: {text}")

    # ----- sessions ------------------------------------------------------------------------------
    def get_state(self) -> dict:
        return {"conditional": self.conditional_check.isChecked(), "class": self.label(),
                "scale": self.scale(), "exact": self.exact_check.isChecked(), "kind": self.kind(),
                "overlay": self.overlay_check.isChecked()}

    def set_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            return
        for key, check in (("exact", self.exact_check), ("overlay", self.overlay_check)):
            if isinstance(state.get(key), bool):
                check.setChecked(state[key])
        if isinstance(state.get("conditional"), bool):
            # No rebuild here: opening a session resets the trainer itself, with this flag in its config.
            self.conditional_check.blockSignals(True)
            self.conditional_check.setChecked(state["conditional"])
            self.conditional_check.blockSignals(False)
            self.state.set_flags(conditional=state["conditional"])
        if state.get("kind") in KINDS:
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(state["kind"]))
        k = state.get("class")
        if isinstance(k, int) and not isinstance(k, bool) and 0 <= k < self.class_combo.count():
            self.class_combo.setCurrentIndex(k)
        s = state.get("scale")
        if isinstance(s, (int, float)) and not isinstance(s, bool) and 0 <= s <= MAX_SCALE:
            self.guidance_slider.setValue(int(round(s * SLIDER_STEPS)))


def install(state, services, ui) -> GuidancePanel:
    panel = GuidancePanel(state, services, ui)
    ui.add_section(panel.box)
    services.parts.register("guidance", panel.get_state, panel.set_state)
    return panel
