"""Which loss the loss plot shows: its title and axis name follow the training objective.

A dsm loss (denoising error, weighted to unit variance per level) and an fm loss (velocity
regression) are different numbers, so the plot names the one it draws; switching objective is a
reset (model_service), after which the curve starts over under its new name.
"""
from __future__ import annotations

LOSS_NAMES = {"dsm": "denoising score matching", "fm": "flow matching (velocity)"}
LOSS_FORMULAS = {"dsm": "‖D(y, s) − x₀‖², weighted to unit variance at every noise level σ/α",
                 "fm": "‖v(x_t, t) − (ε − x₀)‖² on x_t = (1 − t)·x₀ + t·ε"}


class ObjectiveView:
    def __init__(self, state, plot):
        self.state, self.plot = state, plot
        state.settingsChanged.connect(lambda s, changed, _o: "objective" in changed and self.update())
        self.update()

    def title(self) -> str:
        return f"loss: {LOSS_NAMES[self.state.settings.objective]}"

    def update(self) -> None:
        objective = self.state.settings.objective
        self.plot.setTitle(self.title(), size="9pt")
        self.plot.setLabel("left", f"{objective} loss")
        self.plot.setToolTip(f"Training loss, {LOSS_NAMES[objective]}: {LOSS_FORMULAS[objective]}")


def install(state, services, ui) -> ObjectiveView:
    return ObjectiveView(state, ui.views["loss"])
