"""Desktop window of Diffusion Playground (PySide6 + pyqtgraph).

Qt is imported lazily: `import playground.app` must work on a headless machine without a
display (the CLI imports it only to find `run_gui`), so `MainWindow` is resolved on first use.
"""
from __future__ import annotations

__all__ = ["MainWindow", "run_gui"]


def __getattr__(name):
    if name == "MainWindow":
        from playground.app.shell.main_window import MainWindow
        return MainWindow
    if name == "run_gui":
        from playground.app.shell.launch import run_gui
        return run_gui
    raise AttributeError(f"module 'playground.app' has no attribute {name!r}")
