"""Feature panels that plug into the window (editing, comparison, sessions, guidance, ...).

Each module listed here has `install(state, services, ui) -> feature`: it builds its widgets
through the UiHost (controls sections, menu actions, docks, overlays), observes the AppState's
signals and acts through the services. The window keeps the returned objects in a registry
(`window.features[name]`); no feature touches the window or another feature's private members.
"""
from __future__ import annotations

import importlib

FEATURES: dict[str, str] = {          # registry name -> module under playground.app.features
    "sessions": "sessions.session_actions",
    "exporter": "export.export_actions",
    "dice_editor": "dice.dice_editor",
    "file_actions": "files.file_actions",
    "target_editor": "editing.target_editor",
    "comparison": "comparison.comparison_view",
    "metrics": "metrics.metrics_dock",
    "guidance_panel": "guidance.guidance_panel",
    "quality": "quality.quality_view",
    "likelihood": "likelihood.likelihood_view",
    "forward": "forward.forward_view",
    "objective": "objective.objective_view",
    "reflow": "reflow.reflow_panel",
    "explanation": "explanation.explanation_panel",
    "live_samples": "live.live_samples",
    "frame_overlays": "overlays.frame_overlays",
    "run_views": "run_views.run_views",
    "model_notes": "model_notes.model_notes",
    "microscope": "microscope.microscope",
    "pairing": "coupling.pairing_view",
    "tours": "tours.tour_player",            # last: a tour names widgets of every other feature
}


def install_feature(name: str, state, services, ui):
    """Import one feature's module and install it; returns the feature object."""
    return importlib.import_module(f"playground.app.features.{FEATURES[name]}").install(state, services, ui)


def install_features(state, services, ui) -> dict:
    """Install every feature in order; returns the registry name -> feature object."""
    return {name: install_feature(name, state, services, ui) for name in FEATURES}
