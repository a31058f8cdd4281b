"""What a tour must give back when it closes: the window as it was before (preset, settings, model, run).

Taken through the same services a session file uses (the trainer's state read under the worker's
lock, the feature panels' parts, the run on screen) but kept in memory, and put back the way
File > Open session does: settings, target, panels, then the trainer rebuilt from its state, then
the run, paused on the frame it showed. Widgets the tour touched and docks it raised come back too.
"""
from __future__ import annotations

import json
from dataclasses import asdict

from playground.learning.trainer import TrainConfig
from playground.app.core.errors import reported
from playground.app.features.tours import widget_values


class WindowMemory:
    def __init__(self, state, services, ui, widgets: dict):
        """widgets: objectName -> widget, every one the tour may change (their values are kept)."""
        self.state, self.services, self.ui = state, services, ui
        self.preset, self.preset_key = state.preset, state.preset_key
        self.settings, self.flags = state.settings, state.flags
        self.running = state.training.running
        if self.running:
            services.model.set_running(False)       # the tour's pictures need a model that holds still
        self.trainer = services.model.read_state()
        self.parts = {}
        for name, (get_state, _) in services.parts.items():
            with reported(""):
                self.parts[name] = json.loads(json.dumps(get_state()))
        self.run, self.frame = state.run, state.frame_index
        self.widgets = {name: (w, widget_values.read(w)) for name, w in widgets.items()}
        self.docks = [name for name, d in ui.docks.items() if d.isVisible()]

    def config(self) -> TrainConfig | None:
        return None if self.trainer is None else TrainConfig.from_dict(self.trainer["config"])

    def restore_model(self) -> None:
        """The window's own model again (a tour stop that says "original", and Close)."""
        model = self.services.model
        model.set_running(False)
        self.state.set_flags(**asdict(self.flags))
        if self.trainer is None or not self.state.has_target():
            return
        model.reset()
        model.load_state(self.state.preset.target, self.config(), dict(self.trainer))

    def restore(self) -> None:
        """Everything back; one failing part is one banner line, the rest still comes back."""
        services, state = self.services, self.state
        services.sampling.cancel()
        services.sampling.cancel_compare()
        with reported("the tour could not restore the target", self.ui.error):
            if self.preset is not None:
                if self.preset_key.startswith("custom:"):
                    services.presets.apply(self.preset, self.preset_key[len("custom:"):])
                else:
                    services.presets.select(self.preset_key)
        for name, (w, value) in self.widgets.items():
            with reported(""):
                widget_values.write(w, value)
        with reported("the tour could not restore the settings", self.ui.error):
            state.replace_settings(self.settings, origin="session")
        for name, part in self.parts.items():
            entry = services.parts.get(name)
            if entry is not None:
                with reported(""):
                    entry[1](part)
        with reported("the tour could not restore the model", self.ui.error):
            self.restore_model()
        if self.run is not None:
            services.sampling.show(self.run, self.frame, play=False)
        for name in self.docks:
            self.ui.show_dock(name)
        if self.running:
            with reported("the tour could not restart training", self.ui.error):
                services.model.set_running(True)
