"""Two-way binding between the controls panel and AppState.settings, and its buttons to services.

A widget change becomes `state.update_settings(key=value)` (origin "user": services react); a
settings change from elsewhere (a session, the trainer lowering the rate) is shown on the widgets
with their signals blocked, so it is not sent back.
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from playground.formats.settings import Settings
from playground.app.widgets.controls import ControlsPanel, show_toggle
from playground.app.core.state import AppState
from playground.app.core.errors import reported

# key -> (read the widget, show a value on it, the widget's change signal name)
WIDGETS = {
    "device": ("device", lambda w: w.currentText(), lambda w, v: w.setCurrentIndex(max(0, w.findText(v))),
               "currentIndexChanged"),
    "schedule": ("schedule", lambda w: w.currentData(), lambda w, v: _select_data(w, v), "currentIndexChanged"),
    "sampler": ("sampler", lambda w: w.currentData(), lambda w, v: _select_data(w, v), "currentIndexChanged"),
    "objective": ("objective", lambda w: w.currentData(), lambda w, v: _select_data(w, v), "currentIndexChanged"),
    "coupling": ("coupling", lambda w: w.currentData(), lambda w, v: _select_data(w, v), "currentIndexChanged"),
    **{key: (key, lambda w: w.value(), lambda w, v: w.setValue(v), "valueChanged")
       for key in ("hidden", "lr", "batch", "steps", "particles", "seed", "speed", "gamma", "mu")},
    **{key: (key, lambda w: w.isChecked(), lambda w, v: w.setChecked(v), "toggled")
       for key in ("density", "exact", "error", "velocity")},
}


def _select_data(combo, value) -> None:
    i = combo.findData(value)
    if i >= 0:
        combo.setCurrentIndex(i)


def read_settings(controls: ControlsPanel, base: Settings) -> Settings:
    """The settings the widgets show (the preset key is the state's, not a widget's)."""
    values = {key: read(getattr(controls, attr)) for key, (attr, read, _, _) in WIDGETS.items()}
    for key in ("lr", "gamma", "mu"):
        values[key] = float(values[key])
    return base.with_(**values)


class ControlsBinding(QObject):
    def __init__(self, controls: ControlsPanel, state: AppState, services, on_error, parent=None):
        super().__init__(parent)
        self.controls, self.state, self.services = controls, state, services
        self.on_error = on_error            # fn(text): refusals go to the banner
        state.replace_settings(read_settings(controls, state.settings), origin="init")
        for key, (attr, read, _, signal) in WIDGETS.items():
            widget = getattr(controls, attr)
            getattr(widget, signal).connect(lambda *_, k=key, w=widget, r=read: self._from_widget(k, r(w)))
        state.settingsChanged.connect(self._to_widgets)
        state.trainingChanged.connect(lambda tr: show_toggle(controls.train, tr.running, "Pause", "Train"))
        controls.train.toggled.connect(self.set_training)
        controls.reset.clicked.connect(lambda *_: self.guarded("reset training", services.model.reset))
        controls.sample.clicked.connect(lambda *_: self.start_sampling())

    def _from_widget(self, key: str, value) -> None:
        if key == "lr" and not value > 0:
            return
        self.guarded(f"set {key}", lambda: self.state.update_settings(origin="user", **{key: value}))

    def _to_widgets(self, settings: Settings, changed: set, origin: str) -> None:
        for key in changed:
            if key not in WIDGETS:
                continue
            attr, read, show, _ = WIDGETS[key]
            widget = getattr(self.controls, attr)
            if read(widget) != getattr(settings, key):
                widget.blockSignals(True)
                try:
                    show(widget, getattr(settings, key))
                finally:
                    widget.blockSignals(False)
        if "sampler" in changed:
            self.controls.update_sampler_tooltip()
        if "objective" in changed:
            self.controls.update_objective_tooltip()
            self.controls.coupling.setEnabled(settings.objective == "fm")      # score matching pairs nothing

    def set_training(self, on: bool) -> None:
        show_toggle(self.controls.train, bool(on), "Pause", "Train")
        self.guarded("set training", lambda: self.services.model.set_running(on))

    def start_sampling(self) -> None:
        self.guarded("start sampling", self.services.sampling.sample)

    def guarded(self, what: str, fn):
        """Run fn(); a refusal (ValueError etc.) becomes one banner line, never a traceback in Qt."""
        with reported(what, self.on_error):
            return fn()
        return None
