"""The explanation panel: the selected sampler's update rule and what to look for, then what the
training objective learns (score matching or flow matching) and, once a reflow has run, why reflow
straightens paths and why straight paths need fewer steps (words from playground.maths.samplers.explanations,
which the CLI reads too)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea

from playground.maths.samplers import SAMPLERS
from playground.maths.samplers.explanations import CONCEPTS, DENOISED_LINE, concept_html, explain, explain_concept, explain_html
from playground.app.widgets.controls import OBJECTIVE_CONCEPTS
from playground.app.features.microscope import LINKS as MICROSCOPE_LINKS

REFLOW_CONCEPTS = ("reflow", "straight-paths")


class ExplanationPanel(QScrollArea):
    def __init__(self, state, on_link=None):
        super().__init__()
        self.state = state
        self.label = QLabel(objectName="explanationText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                           | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        if on_link is not None:
            self.label.linkActivated.connect(on_link)       # links to other tabs (the microscope's)
        self.label.setToolTip("How the selected sampler updates the particles, what the training objective "
                              "learns, and (after a reflow) why straight paths need fewer steps")
        self.label.setMargin(6)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.sampler = None
        state.settingsChanged.connect(lambda s, changed, _o: changed & {"sampler", "objective"} and self.update_text())
        state.reflowChanged.connect(lambda *_: self.update_text())
        self.update_text()

    def concepts(self) -> list[str]:
        """The concepts shown below the sampler: the objective's, and reflow's once one has run."""
        objective = self.state.settings.objective
        names = [OBJECTIVE_CONCEPTS[objective]]
        if self.state.reflow is not None:
            names += list(REFLOW_CONCEPTS)
        elif objective == "fm":
            names.append("straight-paths")
        return [n for n in names if n in CONCEPTS]

    def update_text(self) -> None:
        name = self.state.settings.sampler
        if name not in SAMPLERS:
            return
        self.sampler = name
        self.label.setText(explain_html(name) + "<hr>" + "<hr>".join(concept_html(c) for c in self.concepts())
                           + f"<hr><p>{MICROSCOPE_LINKS}</p>")

    def plain_text(self) -> str:
        if not self.sampler:
            return ""
        return "\n\n".join([explain(self.sampler), DENOISED_LINE] + [explain_concept(c) for c in self.concepts()])


def install(state, services, ui) -> ExplanationPanel:
    panel = ExplanationPanel(state, ui.show_dock)
    ui.add_tab("explanation", "Explain", lambda: panel, lazy=False)
    return panel
