"""File > Export: views as PNG/SVG, the stored sampler run as GIF/MP4, samples, trajectories, the
checkpoint and the quality table.

Animations are rendered from the recorded frames (formats/render.py, numpy), never by grabbing
the screen, so they look the same at any window size and are made off the GUI thread: slow
exports run in a TaskRunner (services.tasks) that only touches numpy arrays, while the GUI shows
progress and offers Cancel. The file writers themselves are in export_files.py.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from playground.formats.checkpoint import save_checkpoint
from playground.maths.progress import Cancelled
from playground.app.core.threads import wait_events
from playground.app.features.export.export_files import (GIF_SIZE, MP4_HINT, ExportError, mp4_available, write_animation, write_quality_table,
                           write_samples, write_trajectories, write_view)
from playground.app.core.errors import reported

BUILTIN_VIEWS = ("particles", "field", "loss")
EXPORT_WAIT_S = 600          # a scripted export (wait=True) gives up after this long


class _StateHolder:
    """Lets save_checkpoint write a state read under the training worker's lock."""

    def __init__(self, state: dict):
        self._state = state

    def state_dict(self) -> dict:
        return dict(self._state)


class Exporter(QObject):
    """Public methods return the written Path, or None after showing why not."""

    exportFinished = Signal(str)     # path
    exportFailed = Signal(str)       # message

    def __init__(self, state, services, ui):
        super().__init__(services)          # lives and dies with the window
        self.state, self.services, self.ui = state, services, ui
        self.runner = services.tasks("exportThread", self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(lambda path: self._finish(path, None))
        self.runner.failed.connect(lambda msg: self._finish(None, msg))
        self.runner.cancelled.connect(lambda: self._finish(None, "cancelled"))
        self._what = ""
        self._done = True
        self._result: Path | None = None
        self._dialog: QProgressDialog | None = None

    # ----- views ---------------------------------------------------------------------------------------
    def views(self) -> dict:
        """Every plot in the window: the three built-in ones, then any feature dock's PlotWidget."""
        out = {name: self.ui.views[name] for name in BUILTIN_VIEWS}
        for widget in self.ui.plots():
            if widget not in out.values():
                out.setdefault(widget.objectName() or f"plot{len(out)}", widget)
        return out

    def export_view(self, name: str, path) -> Path | None:
        def run():
            views = self.views()
            widget = views.get(name) or next((w for w in views.values() if w.objectName() == name), None)
            if widget is None:
                raise ExportError(f"no view named {name!r} (one of {', '.join(views)})")
            return write_view(widget, name, Path(path))
        return self._guard(f"export {name}", run)

    # ----- animations -------------------------------------------------------------------------------
    def export_gif(self, path, fps: float = 20.0, size: int = GIF_SIZE, wait: bool = True) -> Path | None:
        """One GIF frame per stored frame of the last sampler run, over the faint target density."""
        return self._guard("export GIF", self._start_animation, Path(path), fps, size, wait, "gif")

    def export_mp4(self, path, fps: float = 20.0, size: int = GIF_SIZE, wait: bool = True) -> Path | None:
        return self._guard("export MP4", self._start_animation, Path(path), fps, size, wait, "mp4")

    def _start_animation(self, path: Path, fps, size, wait, kind) -> Path | None:
        if kind == "mp4" and not mp4_available():
            raise ExportError(MP4_HINT)
        if not (0 < float(fps) <= 100):
            raise ExportError(f"fps must be in (0, 100], got {fps}")
        if path.suffix.lower() != f".{kind}":
            raise ExportError(f"{path.name}: the file name must end in .{kind}")
        frames = self._frames()
        preset = self.state.preset
        xlim, ylim = list(preset.view["xlim"]), list(preset.view["ylim"])
        target = None if preset.is_empty else preset.target
        xs = list(frames.x)               # stored arrays are never modified: safe to read from a thread
        return self._run(f"{kind.upper()} {path.name}", wait, lambda progress, check: write_animation(
            kind, path, xs, target, xlim, ylim, int(size), float(fps), progress, check))

    # ----- data -----------------------------------------------------------------------------------------
    def export_samples(self, path) -> Path | None:
        """The particles of the frame on screen, (N, 2): .npy, or .csv with header x,y."""
        def run():
            frames = self._frames()
            i = min(max(self.state.frame_index, 0), len(frames) - 1)
            return write_samples(frames.x[i], Path(path))
        return self._guard("export samples", run)

    def export_trajectories(self, path, wait: bool = True) -> Path | None:
        """All stored frames: .npy of shape (T, N, 2), or .csv rows frame,step,particle,x,y."""
        def run():
            p = Path(path)
            if p.suffix.lower() not in (".npy", ".csv"):
                raise ExportError(f"{p.name}: trajectories export as .npy or .csv")
            frames = self._frames()
            xs, steps = list(frames.x), list(frames.step)
            return self._run(f"trajectories {p.name}", wait,
                             lambda progress, check: write_trajectories(xs, steps, p, progress, check))
        return self._guard("export trajectories", run)

    def export_checkpoint(self, path) -> Path | None:
        """The trainer's weights and EMA (what `sample --model` reads), with the target's preset."""
        def run():
            p = Path(path)
            if p.suffix.lower() != ".pt":
                raise ExportError(f"{p.name}: checkpoints are .pt files")
            state = self.services.model.read_state()
            if state is None:
                raise ExportError("no model yet: pick a non-empty preset first")
            state.pop("losses", None)
            preset = self.state.preset
            save_checkpoint(_StateHolder(state), p, extra={"preset": preset.to_json()} if preset else None)
            return p
        return self._guard("export checkpoint", run)

    def export_metrics(self, path) -> Path | None:
        """The quality-vs-steps table (published by the quality panel) as CSV."""
        return self._guard("export metrics", lambda: write_quality_table(self.state.quality, Path(path)))

    # ----- background jobs ------------------------------------------------------------------------------
    def busy(self) -> bool:
        return not self._done

    def cancel(self) -> None:
        self.runner.cancel()

    def _run(self, what: str, wait: bool, work) -> Path | None:
        """work(progress(done, total), check_cancel()) in the task runner; wait=True keeps the GUI
        painting until it is done and returns the path."""
        if self.busy():
            raise ExportError("another export is still running")
        self._what, self._done, self._result = what, False, None

        def job(progress, stop):
            def check():
                if stop.is_set():
                    raise Cancelled()
            return work(lambda done, total: progress(done / max(1, total)), check)

        self.runner.start(job)
        if not wait:
            self._dialog = QProgressDialog(f"Exporting {what}…", "Cancel", 0, 100, self.ui.dialog_parent())
            self._dialog.setObjectName("exportProgress")
            self._dialog.setWindowModality(Qt.WindowModality.NonModal)
            self._dialog.setMinimumDuration(300)
            self._dialog.canceled.connect(self.cancel)
            return None
        if not wait_events(lambda: self._done, EXPORT_WAIT_S):
            self.cancel()
            self.ui.show_message(f"exporting {what} took over {EXPORT_WAIT_S} s: cancelled", error=True)
        return self._result

    def _on_progress(self, fraction: float) -> None:
        self.ui.status(f"exporting {self._what}: {100 * fraction:.0f}%", 2000)
        if self._dialog is not None:
            self._dialog.setValue(int(100 * fraction))

    def _finish(self, path, error) -> None:
        if self._dialog is not None:
            self._dialog.reset()
            self._dialog.deleteLater()
            self._dialog = None
        self._done, self._result = True, path
        if error is not None:
            msg = f"export {self._what}: {error}"
            self.ui.show_message(msg, error=True)
            self.exportFailed.emit(msg)
            return
        self.ui.show_message(f"exported {path}")
        self.exportFinished.emit(str(path))

    def shutdown(self) -> None:
        """Window closing: stop a running export (its temporary file is removed)."""
        self.runner.cancel()
        self._done = True

    # ----- helpers ----------------------------------------------------------------------------------------
    def _frames(self):
        frames = self.state.run
        if frames is None or not len(frames):
            raise ExportError("no sampler run to export yet: press Sample first")
        return frames

    def _guard(self, what: str, fn, *args) -> Path | None:
        path = None
        with reported(what) as outcome:          # bad input: a banner line, never a traceback
            path = fn(*args)
        if not outcome:
            self.ui.error(outcome.failed)
            self.exportFailed.emit(outcome.failed)
            return None
        if path is not None and self._done:
            self.ui.show_message(f"exported {path}")
        return path


def _ask(parent, title: str, default: str, filters: str) -> Path | None:
    """A save dialog (user actions only); adds the chosen filter's suffix when none was typed."""
    path, chosen = QFileDialog.getSaveFileName(parent, title, default, filters)
    if not path:
        return None
    p = Path(path)
    if not p.suffix and "*." in chosen:
        p = p.with_suffix("." + chosen.split("*.", 1)[1].split(")")[0].split()[0])
    return p


def install(state, services, ui) -> Exporter:
    exporter = Exporter(state, services, ui)
    parent = ui.dialog_parent()
    menu = ui.add_menu("file", "export", "&Export")
    menu.setObjectName("exportMenu")
    views_menu = menu.addMenu("&View as image")
    views_menu.setObjectName("exportViewMenu")

    def view_dialog(name: str) -> None:
        p = _ask(parent, f"Export {name} view", f"{name}.png", "PNG image (*.png);;SVG drawing (*.svg)")
        if p:
            exporter.export_view(name, p)

    def fill_views():
        views_menu.clear()
        for name, widget in exporter.views().items():
            title = widget.getPlotItem().titleLabel.text or name
            act = views_menu.addAction(f"{title} ({name})…")
            act.setObjectName(f"exportView_{name}")
            act.triggered.connect(lambda *_, n=name: view_dialog(n))
    views_menu.aboutToShow.connect(fill_views)

    def ask_then(title, default, filters, fn):
        def run():
            p = _ask(parent, title, default, filters)
            if p:
                fn(p)
        return run

    def mp4():
        if not mp4_available():
            ui.show_message(MP4_HINT, error=True)
            return
        ask_then("Export video", "run.mp4", "MP4 video (*.mp4)",
                 lambda p: exporter.export_mp4(p, fps=state.settings.speed, wait=False))()

    def metrics():
        if state.quality is None:
            ui.show_message("no quality result yet: run a quality-vs-steps comparison first", error=True)
            return
        ask_then("Export quality table", "quality.csv", "CSV (*.csv)", exporter.export_metrics)()

    for text, name, tip, fn in (
            ("Animation as &GIF…", "exportGifAction", "The stored sampler run, one frame per step",
             ask_then("Export animation", "run.gif", "GIF animation (*.gif)",
                      lambda p: exporter.export_gif(p, fps=state.settings.speed, wait=False))),
            ("Animation as &MP4…", "exportMp4Action",
             "The stored sampler run as video" + ("" if mp4_available() else " (needs imageio-ffmpeg)"), mp4),
            ("&Samples of the shown frame…", "exportSamplesAction", "Particle positions (N, 2) as CSV or NPY",
             ask_then("Export samples", "samples.csv", "CSV (*.csv);;NumPy array (*.npy)", exporter.export_samples)),
            ("&Trajectories (all frames)…", "exportTrajectoriesAction",
             "Every stored frame: NPY (T, N, 2) or CSV rows frame,step,particle,x,y",
             ask_then("Export trajectories", "trajectories.npy", "NumPy array (*.npy);;CSV (*.csv)",
                      lambda p: exporter.export_trajectories(p, wait=False))),
            ("&Checkpoint (.pt)…", "exportCheckpointAction",
             "Weights and EMA, loadable with torch.load(weights_only=True) and `sample --model`",
             ask_then("Export checkpoint", "model.pt", "Checkpoint (*.pt)", exporter.export_checkpoint)),
            ("&Quality table (CSV)…", "exportMetricsAction", "SW2 per sampler and step count, with the noise floor",
             metrics)):
        ui.add_action("export", text, name, tip, fn)
    services.on_shutdown(exporter.shutdown)
    return exporter
