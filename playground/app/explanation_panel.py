"""The explanation panel: the selected sampler's update rule and what to look for
(words from the one sampler-info table, playground.tools.explanations, which the CLI reads too)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea

from playground.maths.samplers import SAMPLERS
from playground.tools.explanations import DENOISED_LINE, explain, explain_html


class ExplanationPanel(QScrollArea):
    def __init__(self, state):
        super().__init__()
        self.state = state
        self.label = QLabel(objectName="explanationText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setToolTip("How the selected sampler updates the particles, and what to watch for")
        self.label.setMargin(6)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.sampler = None
        state.settingsChanged.connect(lambda s, changed, _o: "sampler" in changed and self.update_text())
        self.update_text()

    def update_text(self) -> None:
        name = self.state.settings.sampler
        if name not in SAMPLERS:
            return
        self.sampler = name
        self.label.setText(explain_html(name))

    def plain_text(self) -> str:
        return f"{explain(self.sampler)}\n\n{DENOISED_LINE}" if self.sampler else ""


def install(state, services, ui) -> ExplanationPanel:
    panel = ExplanationPanel(state)
    ui.add_dock("explanation", "What this sampler does", lambda: panel, area="left")
    return panel
