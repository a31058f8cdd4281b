"""Where the built-in presets live: inside the installed package, or the checkout's presets/.

setup.py ships the repository's top-level presets/ folder as package data (playground/builtin_presets),
so a wheel installed anywhere finds them through importlib.resources; a checkout (editable install or
PYTHONPATH) has no such folder and reads presets/ next to the package instead.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def _builtin_dir():
    packaged = resources.files("playground") / "builtin_presets"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "presets"


PRESET_DIR = _builtin_dir()


def builtin_names() -> list[str]:
    return sorted(p.name[:-len(".json")] for p in PRESET_DIR.iterdir() if p.name.endswith(".json"))


def builtin_file(name: str):
    """The preset's JSON as a importlib.resources Traversable, or None if there is no such built-in."""
    f = PRESET_DIR / f"{name}.json"
    return f if f.is_file() else None
