"""Diffusion Playground: exact 2D targets, noise schedules, denoisers and samplers (GUI-free core)."""
from playground.formats.presets import Preset, PresetError, load_preset

__all__ = ["load_preset", "Preset", "PresetError"]


def _version() -> str:
    """The installed distribution's version (pyproject.toml is its one source); a bare checkout has none."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("diffusion-playground")
    except PackageNotFoundError:
        return "unknown (not installed)"


__version__ = _version()
