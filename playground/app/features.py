"""Feature panels that plug into the main window (editing, comparison, sessions, guidance, ...).

Each module listed here has `install(window)`, which builds its widgets, adds docks, menu
actions and controls sections through the window's small public surface (`menus`,
`add_dock`, `controls.add_section`, `apply_preset`, `register_session_part`, and the
`targetChanged` / `framesChanged` / `frameShown` signals). Keeping them out of main_window
keeps that module about training, sampling and playback.
"""
from __future__ import annotations

import importlib

from PySide6.QtGui import QAction

FEATURES: list[str] = [
    "session_actions",
    "export_actions",
    "dice_editor",
    "file_actions",
    "target_editor",
    "comparison_view",
    "metrics_dock",
    "guidance_panel",
    "quality_view",
    "likelihood_view",
    "forward_view",
    "explanation_panel",
]


def add_menu_action(window, menu, text: str, name: str, tip: str, fn, shortcut=None) -> QAction:
    """A menu entry with its objectName, tooltip and status-bar tip; triggering it calls fn()."""
    act = QAction(text, window)
    act.setObjectName(name)
    act.setToolTip(tip)
    act.setStatusTip(tip)
    if shortcut is not None:
        act.setShortcut(shortcut)
    act.triggered.connect(lambda *_: fn())
    menu.addAction(act)
    return act


def install_features(window) -> None:
    for name in FEATURES:
        importlib.import_module(f"{__package__}.{name}").install(window)
