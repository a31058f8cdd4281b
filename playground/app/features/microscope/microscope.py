"""Install the two microscope tabs (loss by level, memorisation) and what links to them."""
from __future__ import annotations

from playground.app.features.microscope.loss_by_level import LossByLevelPanel
from playground.app.features.microscope.memorisation_view import MemorisationPanel

class Microscope:
    def __init__(self, state, services, ui):
        self.loss = LossByLevelPanel(state, services, ui)
        self.memorisation = MemorisationPanel(state, services, ui)
        self.loss_dock = ui.add_tab("lossByLevel", "Loss by level", lambda: self.loss, lazy=False)
        self.memorisation_dock = ui.add_tab("memorisation", "Memorisation", lambda: self.memorisation, lazy=False)
        self.loss_dock.dock.visibilityChanged.connect(self.loss.set_shown)
        services.parts.register("loss_by_level", self.loss.get_state, self.loss.set_state)
        services.parts.register("memorisation", self.memorisation.get_state, self.memorisation.set_state)


def install(state, services, ui) -> Microscope:
    return Microscope(state, services, ui)
