"""The explanation panel: the selected sampler's update rule and what to look for
(text from playground.tools.explanations, so the CLI and tests read the same words)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QScrollArea

from playground.tools.explanations import explain, explain_html
from playground.maths.samplers import SAMPLERS


class ExplanationPanel(QScrollArea):
    def __init__(self, window):
        super().__init__()
        self.window = window
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
        window.controls.sampler.currentIndexChanged.connect(lambda *_: self.update_text())
        self.update_text()

    def update_text(self) -> None:
        name = self.window.controls.sampler.currentData()
        if name not in SAMPLERS:
            return
        self.sampler = name
        self.label.setText(explain_html(name))

    def plain_text(self) -> str:
        return explain(self.sampler) if self.sampler else ""


def install(window) -> None:
    panel = ExplanationPanel(window)
    dock = QDockWidget("What this sampler does", window)
    dock.setObjectName("explanationDock")
    dock.setWidget(panel)
    window.add_dock(dock, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.explanation = panel
    window.explanation_dock = dock
