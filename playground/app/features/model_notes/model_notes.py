"""Notes about the model the user is looking at: the field view's title says "untrained model"
until the first training step of the current generation, and a finished sampler run whose
samples lie far outside the target's range raises a warning in the banner and status bar."""
from __future__ import annotations

from PySide6.QtCore import QObject

from playground.maths.metrics import FAR_FACTOR, far_fraction, support_box

FIELD_TITLE = "Score field"
UNTRAINED = "untrained model"


def far_warning(frac: float) -> str:
    return (f"warning: {100 * frac:.3g}% of the samples lie beyond {FAR_FACTOR:g}x the target's range "
            "(a diverging model or extreme settings?)")


class ModelNotes(QObject):
    def __init__(self, state, services, ui, parent=None):
        super().__init__(parent)
        self.state, self.ui = state, ui
        self.field_view = ui.views["field"]
        self.untrained = None
        self.last_warning = ""
        state.trainingStep.connect(lambda *_: self.show_trained())
        state.trainingChanged.connect(lambda *_: self.show_trained())
        state.generationChanged.connect(lambda *_: self.show_trained())
        state.runChanged.connect(self._on_run)
        self.show_trained()

    def show_trained(self) -> None:
        untrained = self.state.training.step <= 0
        if untrained != self.untrained:
            self.untrained = untrained
            self.field_view.setTitle(f"{FIELD_TITLE} — {UNTRAINED}" if untrained else FIELD_TITLE)

    def _on_run(self, frames) -> None:
        preset = self.state.preset
        if frames is None or not len(frames) or preset is None or not self.state.has_target():
            return
        frac = far_fraction(frames.x[-1], support_box(preset.target, self.state.view))
        self.last_warning = far_warning(frac) if frac > 0 else ""
        if self.last_warning:
            self.ui.show_message(self.last_warning)
            self.ui.status(self.last_warning)


def install(state, services, ui) -> ModelNotes:
    return ModelNotes(state, services, ui, parent=ui.dialog_parent())
