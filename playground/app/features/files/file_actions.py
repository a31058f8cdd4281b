"""File menu: open a preset, import an image or a point cloud, export the target; drag and drop.

Every file goes through the same validators as the command line (`playground.formats.presets`), and a
refusal is one line in the window's banner: the current target and the trained model are only
replaced once a file has been read and compiled completely. Dialogs are used only to choose a
file (and the bandwidth of imported points); errors never open a modal box.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog

from playground.formats.presets import (DEFAULT_VIEW, IMAGE_SUFFIXES, POINT_SUFFIXES, PresetError, default_bandwidth,
                       image_preset, points_preset, read_image_file, read_points_file, read_preset_file,
                       save_preset)
from playground.app.core.errors import reported

SUPPORTED = {".json"} | IMAGE_SUFFIXES | POINT_SUFFIXES
KINDS_TEXT = "a preset .json, an image .png/.jpg or points .csv/.npy"
DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)


def _reason(exc: Exception, path: Path) -> str:
    """The validator's message without the path it starts with (the banner names the file once)."""
    text = str(exc)
    for prefix in (f"{path}: ", f"{path.name}: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def points_view(points: np.ndarray, bandwidth: float) -> dict:
    """The default view if it holds the cloud, else a square around it: imports keep their units."""
    lo, hi = points.min(0) - 3 * bandwidth, points.max(0) + 3 * bandwidth
    (x0, x1), (y0, y1) = DEFAULT_VIEW["xlim"], DEFAULT_VIEW["ylim"]
    if lo[0] >= x0 and lo[1] >= y0 and hi[0] <= x1 and hi[1] <= y1:
        return {"xlim": list(DEFAULT_VIEW["xlim"]), "ylim": list(DEFAULT_VIEW["ylim"])}
    centre, half = (lo + hi) / 2, 0.55 * float((hi - lo).max())
    return {"xlim": [float(centre[0] - half), float(centre[0] + half)],
            "ylim": [float(centre[1] - half), float(centre[1] + half)]}


class FileActions(QObject):
    def __init__(self, state, services, ui):
        super().__init__(services)          # lives and dies with the window
        self.state, self.services, self.ui = state, services, ui
        self._dir = str(Path.cwd())
        self.actions = {}
        for key, text, shortcut, tip, slot in (
                ("open", "&Open preset…", QKeySequence.StandardKey.Open, "Open a preset .json file",
                 self._choose_preset),
                ("image", "Import &image…", None, "Import a PNG/JPG picture as a density (darker = more mass)",
                 self._choose_image),
                ("points", "Import &points…", None, "Import points (.csv with x,y columns or .npy (N, 2)) "
                 "as a sum of Gaussians of a chosen bandwidth", self._choose_points),
                ("export", "&Export target as preset JSON…", QKeySequence("Ctrl+E"),
                 "Save the current target as a preset .json (opens again with File > Open)", self._choose_export)):
            self.actions[key] = ui.add_action("file", text, f"{key}FileAction", tip, slot, shortcut)
        # A drag entering a child that does not take it (the plots' scenes) propagates up to the
        # window, and the drop then goes to whichever widget accepted the enter: the window.
        ui.accept_drops(self)

    # ----- public, used by the menu, drops and tests ----------------------------------------
    def load(self, path, bandwidth: float | None = None):
        """Read and compile a file to a Preset, or raise PresetError with the reason."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED:
            raise PresetError(f"unsupported file type '{suffix or path.name}' (open {KINDS_TEXT})")
        if not path.is_file():
            raise PresetError("no such file")
        if suffix in IMAGE_SUFFIXES:
            return image_preset(read_image_file(path), path.stem)
        if suffix in POINT_SUFFIXES:
            return self._points_preset(read_points_file(path), path, bandwidth)
        return read_preset_file(path)

    def open_file(self, path, bandwidth: float | None = None) -> bool:
        """Open a preset, image or points file as the current target; False (and a message) if refused."""
        path = Path(path)
        with reported("") as outcome:            # an unexpected reader failure is still just a refusal
            try:
                if bandwidth is not None and not (np.isfinite(bandwidth) and bandwidth > 0):
                    raise PresetError(f"bandwidth must be a number > 0, got {bandwidth}")
                preset = self.load(path, bandwidth)
            except PresetError as exc:
                return self._refuse(path, _reason(exc, path))
        if not outcome:
            return self._refuse(path, outcome.failed)
        return self._apply(preset, path)

    def export_preset(self, path) -> bool:
        """Save the current target as a preset JSON (atomic: a failed save leaves the old file)."""
        path = Path(path)
        if path.suffix.lower() != ".json":
            path = path.with_name(path.name + ".json")
        preset = self.state.preset
        if preset is None or preset.is_empty:
            self.ui.show_message("Export: the current target is empty; nothing to save", error=True)
            return False
        with reported(f"Could not save {path.name}", self.ui.error) as outcome:
            save_preset(preset, path)
        if not outcome:
            return False
        self._dir = str(path.parent)
        self.ui.status(f"Saved the target to {path}", 8000)
        return True

    # ----- helpers ------------------------------------------------------------------------------
    def _points_preset(self, points: np.ndarray, path: Path, bandwidth: float | None):
        preset = points_preset(points, path.stem, bandwidth=bandwidth, fit=False)
        spec = preset.spec
        preset.view = points_view(np.asarray(spec["points"]), float(spec["bandwidth"]))
        return preset

    def _refuse(self, path: Path, reason: str) -> bool:
        self.ui.show_message(f"Could not open {path.name}: {reason}", error=True)
        return False

    def _apply(self, preset, path: Path) -> bool:
        self._dir = str(path.parent)
        try:
            self.services.presets.apply(preset, key=f"file:{path.resolve()}")
        except ValueError as exc:
            return self._refuse(path, str(exc))
        if self.state.preset is not preset:
            return False                     # the window refused it (and said why in the banner)
        self.ui.status(f"Opened {path.name}: {preset.description}", 8000)
        return True

    # ----- dialogs (choosing files only) -------------------------------------------------------
    def _ask_open(self, title: str, filters: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self.ui.dialog_parent(), title, self._dir, filters)
        return path

    def _choose_preset(self) -> None:
        path = self._ask_open("Open preset", "Preset JSON (*.json);;All files (*)")
        if path:
            self.open_file(path)

    def _choose_image(self) -> None:
        path = self._ask_open("Import image", "Images (*.png *.jpg *.jpeg);;All files (*)")
        if path:
            self.open_file(path)

    def _choose_points(self) -> None:
        name = self._ask_open("Import points", "Points (*.csv *.npy);;All files (*)")
        if not name:
            return
        path = Path(name)
        try:
            if path.suffix.lower() not in POINT_SUFFIXES:
                raise PresetError(f"unsupported point file type '{path.suffix}' (use .csv or .npy)")
            points = read_points_file(path)
        except PresetError as exc:
            self._refuse(path, _reason(exc, path))
            return
        h, ok = QInputDialog.getDouble(self.ui.dialog_parent(), "Import points",
                                       "Bandwidth (std of the Gaussian on each point):",
                                       round(default_bandwidth(points), 4), 1e-4, 1e3, 4)
        if not ok:
            return
        try:
            preset = self._points_preset(points, path, h)
        except PresetError as exc:
            self._refuse(path, _reason(exc, path))
            return
        self._apply(preset, path)

    def _choose_export(self) -> None:
        preset = self.state.preset
        stem = "target" if preset is None else "".join(c if c.isalnum() or c in "-_" else "_" for c in preset.name)
        path, _ = QFileDialog.getSaveFileName(self.ui.dialog_parent(), "Export target as preset", str(Path(self._dir) / f"{stem}.json"),
                                              "Preset JSON (*.json)")
        if path:
            self.export_preset(path)

    # ----- drag and drop ---------------------------------------------------------------------
    @staticmethod
    def dropped_files(mime) -> list[Path]:
        if mime is None or not mime.hasUrls():
            return []
        return [Path(u.toLocalFile()) for u in mime.urls()
                if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in SUPPORTED]

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind not in DRAG_EVENTS:
            return False
        files = self.dropped_files(event.mimeData())
        if not files:
            return False                     # not ours: text drops etc. go to the widget as usual
        event.acceptProposedAction()
        if kind == QEvent.Type.Drop:
            self.open_file(files[0])
        return True


def install(state, services, ui) -> FileActions:
    return FileActions(state, services, ui)
