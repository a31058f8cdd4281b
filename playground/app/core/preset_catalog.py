"""The presets the window lists (built-ins, loaded files, drawn or edited ones) and the one way to
make one current: `state.set_preset(preset, key)` is called from here only.

Features hand a new target in with `services.presets.apply(preset, key)` (listed as "custom:<key>";
the same key again replaces that entry, so a drag does not add hundreds) or pick one with
`select(name_or_path)`. The preset combo is a view of this catalogue (`bind_combo`).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from playground.formats.presets import Preset, builtin_names, load_preset
from playground.app.core.state import AppState
from playground.app.core.errors import reported


class PresetCatalog(QObject):
    listed = Signal(str, str)        # combo key, display name: a new or renamed entry

    def __init__(self, state: AppState, parent=None):
        super().__init__(parent)
        self.state = state
        self.closed = False
        self._custom: dict[str, Preset] = {}
        self._files: set[str] = set()

    def select(self, name_or_path: str) -> None:
        """A built-in preset by name, a listed entry, or a preset/image/points file (then listed).
        Raises PresetError (a user-facing message) for a bad file; nothing changes then."""
        key = str(name_or_path)
        preset = self._custom.get(key)
        if preset is None:
            preset = load_preset(key)
            if key not in builtin_names() and key not in self._files:
                self._files.add(key)
                self.listed.emit(key, preset.name)
        self._make_current(preset, key)

    def apply(self, preset: Preset, key: str = "custom") -> None:
        """Make a drawn, edited or imported Preset current (training warm-starts from it)."""
        combo_key = f"custom:{key}"
        self._custom[combo_key] = preset
        self.listed.emit(combo_key, preset.name)
        self._make_current(preset, combo_key)

    def _make_current(self, preset: Preset, key: str) -> None:
        if self.closed:
            return
        self.state.update_settings(origin="preset", preset=key)
        self.state.set_preset(preset, key)


def bind_combo(combo, catalog: PresetCatalog, on_error) -> None:
    """The preset combo shows the catalogue and the current key; picking an entry selects it."""
    def on_listed(key: str, name: str) -> None:
        i = combo.findData(key)
        if i < 0:
            combo.addItem(name, key)
        else:
            combo.setItemText(i, name)

    def on_current(preset, key: str) -> None:
        i = combo.findData(key)
        if i >= 0 and combo.currentIndex() != i:
            combo.blockSignals(True)
            combo.setCurrentIndex(i)
            combo.blockSignals(False)

    def on_picked(*_) -> None:
        key = combo.currentData()
        if key is None:
            return
        with reported("load preset", on_error):     # a file that vanished since it was listed
            catalog.select(key)

    catalog.listed.connect(on_listed)
    catalog.state.presetChanged.connect(on_current)
    combo.currentIndexChanged.connect(on_picked)
