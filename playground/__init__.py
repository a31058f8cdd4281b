"""Diffusion Playground: exact 2D targets, noise schedules, denoisers and samplers (GUI-free core)."""
from playground.formats.presets import Preset, PresetError, load_preset

__all__ = ["load_preset", "Preset", "PresetError"]
__version__ = "0.1.0"
