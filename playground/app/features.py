"""Feature panels that plug into the window (editing, comparison, sessions, guidance, ...).

Each module listed here has `install(state, services, ui) -> feature`: it builds its widgets
through the UiHost (controls sections, menu actions, docks, overlays), observes the AppState's
signals and acts through the services. The window keeps the returned objects in a registry
(`window.features[name]`); no feature touches the window or another feature's private members.
"""
from __future__ import annotations

import importlib

FEATURES: dict[str, str] = {          # registry name -> module
    "sessions": "session_actions",
    "exporter": "export_actions",
    "dice_editor": "dice_editor",
    "file_actions": "file_actions",
    "target_editor": "target_editor",
    "comparison": "comparison_view",
    "metrics": "metrics_dock",
    "guidance_panel": "guidance_panel",
    "quality": "quality_view",
    "likelihood": "likelihood_view",
    "forward": "forward_view",
    "objective": "objective_view",
    "reflow": "reflow_panel",
    "explanation": "explanation_panel",
    "live_samples": "live_samples",
    "frame_overlays": "frame_overlays",
    "run_views": "run_views",
    "model_notes": "model_notes",
}


def install_feature(name: str, state, services, ui):
    """Import one feature's module and install it; returns the feature object."""
    return importlib.import_module(f"{__package__}.{FEATURES[name]}").install(state, services, ui)


def install_features(state, services, ui) -> dict:
    """Install every feature in order; returns the registry name -> feature object."""
    return {name: install_feature(name, state, services, ui) for name in FEATURES}
