"""File > Export: views as PNG/SVG, the stored sampler run as GIF/MP4, samples, trajectories, the
checkpoint and the quality table.

Animations are rendered from the recorded frames with playground/render.py (numpy), never by
grabbing the screen, so they look the same at any window size and can be made off the GUI
thread: slow exports (animations, trajectory tables) run on a plain worker thread that only
touches numpy arrays, while a GUI timer shows progress and offers Cancel. Every file is written
beside its destination and renamed over it, so a failed or cancelled export clobbers nothing.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QProgressDialog

from playground.formats import render
from playground.formats.checkpoint import save_checkpoint
from playground.formats.io_utils import atomic_path, atomic_write_bytes, atomic_write_text
from .features import add_menu_action

POLL_MS = 100
GIF_SIZE = 256
MP4_HINT = "MP4 export needs the imageio-ffmpeg package: pip install imageio-ffmpeg (GIF works without it)"
BUILTIN_VIEWS = {"particles": "particle_view", "field": "field_view", "loss": "loss_plot"}


class ExportError(ValueError):
    """An export that cannot be made; the message is meant for the user."""


class _Cancelled(Exception):
    pass


class _StateHolder:
    """Lets save_checkpoint write a state read under the training worker's lock."""

    def __init__(self, state: dict):
        self._state = state

    def state_dict(self) -> dict:
        return dict(self._state)


def mp4_available() -> bool:
    return importlib.util.find_spec("imageio_ffmpeg") is not None


class Exporter(QObject):
    """window.exporter. Public methods return the written Path, or None after showing why not."""

    exportFinished = Signal(str)     # path
    exportFailed = Signal(str)       # message

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._progress = (0, 1)
        self._result: tuple[Path | None, str | None] = (None, None)
        self._what = ""
        self._dialog: QProgressDialog | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._on_poll)

    # ----- views ---------------------------------------------------------------------------------------
    def views(self) -> dict[str, pg.PlotWidget]:
        """Every plot in the window: the three built-in ones, then any feature dock's PlotWidget."""
        out = {name: getattr(self.window, attr) for name, attr in BUILTIN_VIEWS.items()}
        for widget in self.window.findChildren(pg.PlotWidget):
            if widget not in out.values():
                out.setdefault(widget.objectName() or f"plot{len(out)}", widget)
        return out

    def export_view(self, name: str, path) -> Path | None:
        return self._guard(f"export {name}", self._export_view, name, Path(path))

    def _export_view(self, name: str, path: Path) -> Path:
        views = self.views()
        widget = views.get(name) or next((w for w in views.values() if w.objectName() == name), None)
        if widget is None:
            raise ExportError(f"no view named {name!r} (one of {', '.join(views)})")
        item = widget.getPlotItem()
        suffix = path.suffix.lower()
        if suffix == ".png":
            from pyqtgraph.exporters import ImageExporter
            exporter = ImageExporter(item)
            if int(exporter.parameters()["width"]) < 2 or int(exporter.parameters()["height"]) < 2:
                raise ExportError(f"the {name} view has no size yet")
            image = exporter.export(toBytes=True)
            with atomic_path(path) as tmp:
                if not image.save(str(tmp), "PNG"):
                    raise ExportError(f"could not write {path.name}")
        elif suffix == ".svg":
            atomic_write_bytes(path, _svg_bytes(widget))
        else:
            raise ExportError(f"{path.name}: views export as .png or .svg")
        return path

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
        preset = self.window.current_preset()
        xlim, ylim = list(preset.view["xlim"]), list(preset.view["ylim"])
        target = None if preset.is_empty else preset.target
        xs = list(frames.x)               # stored arrays are never modified: safe to read from a thread
        size = int(size)

        def work(progress):
            background = None if target is None else render.density_background(target, xlim, ylim, size)
            images = []
            for k, x in enumerate(xs):
                self._check_cancel()
                images.append(render.frame(x, xlim, ylim, size, background,
                                           progress=k / max(1, len(xs) - 1)))
                progress(k + 1, len(xs) + 1)
            self._check_cancel()
            if kind == "gif":
                render.write_gif(path, images, fps=float(fps))
            else:
                import imageio.v2 as iio2
                with atomic_path(path) as tmp:
                    iio2.mimwrite(tmp, images, format="FFMPEG", fps=float(fps), macro_block_size=16)
            return path

        return self._run(f"{kind.upper()} {path.name}", work, wait)

    # ----- data -----------------------------------------------------------------------------------------
    def export_samples(self, path) -> Path | None:
        """The particles of the frame on screen, (N, 2): .npy, or .csv with header x,y."""
        return self._guard("export samples", self._export_samples, Path(path))

    def _export_samples(self, path: Path) -> Path:
        frames = self._frames()
        i = min(max(self.window.current_frame_index(), 0), len(frames) - 1)
        x = np.asarray(frames.x[i], dtype=np.float32)
        suffix = path.suffix.lower()
        if suffix == ".npy":
            atomic_write_bytes(path, _npy_bytes(x))
        elif suffix == ".csv":
            buf = io.StringIO()
            np.savetxt(buf, x, delimiter=",", header="x,y", comments="", fmt="%.8g")
            atomic_write_text(path, buf.getvalue())
        else:
            raise ExportError(f"{path.name}: samples export as .npy or .csv")
        return path

    def export_trajectories(self, path, wait: bool = True) -> Path | None:
        """All stored frames: .npy of shape (T, N, 2), or .csv rows frame,step,particle,x,y."""
        return self._guard("export trajectories", self._export_trajectories, Path(path), wait)

    def _export_trajectories(self, path: Path, wait: bool) -> Path | None:
        suffix = path.suffix.lower()
        if suffix not in (".npy", ".csv"):
            raise ExportError(f"{path.name}: trajectories export as .npy or .csv")
        frames = self._frames()
        xs, steps = list(frames.x), list(frames.step)

        def work(progress):
            if suffix == ".npy":
                atomic_write_bytes(path, _npy_bytes(np.stack(xs).astype(np.float32)))
                return path
            with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write("frame,step,particle,x,y\n")
                for k, x in enumerate(xs):
                    self._check_cancel()
                    n = len(x)
                    block = np.column_stack([np.full(n, k), np.full(n, steps[k]), np.arange(n), x])
                    np.savetxt(fh, block, delimiter=",", fmt=["%d", "%d", "%d", "%.8g", "%.8g"])
                    progress(k + 1, len(xs))
            return path

        return self._run(f"trajectories {path.name}", work, wait)

    def export_checkpoint(self, path) -> Path | None:
        """The trainer's weights and EMA (what `sample --model` reads), with the target's preset."""
        return self._guard("export checkpoint", self._export_checkpoint, Path(path))

    def _export_checkpoint(self, path: Path) -> Path:
        if path.suffix.lower() != ".pt":
            raise ExportError(f"{path.name}: checkpoints are .pt files")
        state = self.window.train_worker.read_state()
        if state is None:
            raise ExportError("no model yet: pick a non-empty preset first")
        state.pop("losses", None)
        preset = self.window.current_preset()
        extra = {"preset": preset.to_json()} if preset is not None else None
        save_checkpoint(_StateHolder(state), path, extra=extra)
        return path

    def export_metrics(self, path) -> Path | None:
        """The quality-vs-steps table (window.quality.result) as CSV: sampler,score,steps,sw2,floor."""
        return self._guard("export metrics", self._export_metrics, Path(path))

    def _export_metrics(self, path: Path) -> Path:
        result = getattr(getattr(self.window, "quality", None), "result", None)
        if not isinstance(result, dict) or not result.get("results"):
            raise ExportError("no quality result yet: run a quality-vs-steps comparison first")
        if path.suffix.lower() != ".csv":
            raise ExportError(f"{path.name}: the metrics table exports as .csv")
        steps, floor = list(result.get("steps", [])), result.get("floor", "")
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow(["sampler", "score", "steps", "sw2", "floor"])
        for row in result["results"]:
            for k, value in zip(steps, row.get("sw2", [])):
                out.writerow([row.get("sampler", ""), row.get("score", ""), k, value, floor])
        atomic_write_text(path, buf.getvalue())
        return path

    # ----- background jobs ------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cancel(self) -> None:
        self._cancel.set()

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise _Cancelled()

    def _run(self, what: str, work, wait: bool) -> Path | None:
        """Run work(progress) on a plain thread; wait=True keeps the GUI painting until it is done."""
        if self.busy():
            raise ExportError("another export is still running")
        self._cancel.clear()
        self._progress, self._result, self._what = (0, 1), (None, None), what

        def progress(done, total):
            self._progress = (done, total)

        def target():
            try:
                self._result = (work(progress), None)
            except _Cancelled:
                self._result = (None, "cancelled")
            except Exception as exc:  # noqa: BLE001 - reported in the banner by the GUI thread
                self._result = (None, str(exc) or type(exc).__name__)

        self._thread = threading.Thread(target=target, name="export", daemon=True)
        self._thread.start()
        if not wait:
            self._dialog = QProgressDialog(f"Exporting {what}…", "Cancel", 0, 100, self.window)
            self._dialog.setObjectName("exportProgress")
            self._dialog.setWindowModality(Qt.WindowModality.NonModal)
            self._dialog.setMinimumDuration(300)
            self._dialog.canceled.connect(self.cancel)
            self._poll.start()
            return None
        while self._thread.is_alive():
            self._thread.join(0.02)
            self._show_progress()
            QApplication.processEvents()
        return self._finish()

    def _show_progress(self) -> None:
        done, total = self._progress
        self.window.statusBar().showMessage(f"exporting {self._what}: {done}/{total}")
        if self._dialog is not None:
            self._dialog.setValue(int(100 * done / max(1, total)))

    def _on_poll(self) -> None:
        if self.busy():
            self._show_progress()
            return
        self._poll.stop()
        self._finish()

    def _finish(self) -> Path | None:
        if self._dialog is not None:
            self._dialog.reset()
            self._dialog.deleteLater()
            self._dialog = None
        path, error = self._result
        self._thread = None
        if error is not None:
            msg = f"export {self._what}: {error}"
            self.window.show_message(msg, error=True)
            self.exportFailed.emit(msg)
            return None
        self.window.show_message(f"exported {path}")
        self.exportFinished.emit(str(path))
        return path

    def shutdown(self) -> None:
        """Window closing: stop a running export (its temporary file is removed) and wait briefly."""
        self._cancel.set()
        try:
            self._poll.stop()
        except RuntimeError:          # the timer's C++ side is already gone (interpreter exit)
            pass
        if self._thread is not None:
            self._thread.join(5.0)

    # ----- helpers ----------------------------------------------------------------------------------------
    def _frames(self):
        frames = self.window.current_frames()
        if frames is None or not len(frames):
            raise ExportError("no sampler run to export yet: press Sample first")
        return frames

    def _guard(self, what: str, fn, *args) -> Path | None:
        try:
            path = fn(*args)
        except Exception as exc:  # noqa: BLE001 - bad input ends up in the banner, never a traceback
            msg = str(exc) if isinstance(exc, ExportError) else f"{what}: {exc}"
            self.window.show_message(msg, error=True)
            self.exportFailed.emit(msg)
            return None
        if path is not None and not self.busy():
            self.window.show_message(f"exported {path}")
        return path


def _svg_bytes(widget: pg.PlotWidget) -> bytes:
    from pyqtgraph.exporters import SVGExporter
    try:
        return SVGExporter(widget.getPlotItem()).export(toBytes=True)
    except ValueError:
        # pyqtgraph 0.14 cannot parse the path syntax of newer Qt SVG output (pyqtgraph issue #3485):
        # let Qt's own SVG generator draw the same scene instead (still vector graphics).
        return _qt_svg_bytes(widget)


def _qt_svg_bytes(widget: pg.PlotWidget) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator
    source = widget.getPlotItem().sceneBoundingRect()
    w, h = max(1, int(source.width())), max(1, int(source.height()))
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QSize(w, h))
    gen.setViewBox(QRectF(0, 0, w, h))
    gen.setTitle(widget.objectName() or "plot")
    gen.setDescription("Diffusion Playground view")
    painter = QPainter(gen)
    try:
        widget.scene().render(painter, QRectF(0, 0, w, h), source)
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


# ----- menu -------------------------------------------------------------------------------------------------

def _ask(window, title: str, default: str, filters: str) -> Path | None:
    """A save dialog (user actions only); adds the chosen filter's suffix when none was typed."""
    path, chosen = QFileDialog.getSaveFileName(window, title, default, filters)
    if not path:
        return None
    p = Path(path)
    if not p.suffix and "*." in chosen:
        p = p.with_suffix("." + chosen.split("*.", 1)[1].split(")")[0].split()[0])
    return p


def install(window) -> None:
    exporter = Exporter(window)
    window.exporter = exporter
    menu = window.menus["file"].addMenu("&Export")
    menu.setObjectName("exportMenu")
    menu.setToolTipsVisible(True)
    views_menu = menu.addMenu("&View as image")
    views_menu.setObjectName("exportViewMenu")

    def fill_views():
        views_menu.clear()
        for name, widget in exporter.views().items():
            title = widget.getPlotItem().titleLabel.text or name
            act = views_menu.addAction(f"{title} ({name})…")
            act.setObjectName(f"exportView_{name}")
            act.triggered.connect(lambda *_, n=name: _export_view_dialog(window, n))
    views_menu.aboutToShow.connect(fill_views)

    def add(text, name, tip, fn):
        add_menu_action(window, menu, text, name, tip, fn)

    def gif():
        p = _ask(window, "Export animation", "run.gif", "GIF animation (*.gif)")
        if p:
            exporter.export_gif(p, fps=window.controls.speed.value(), wait=False)

    def mp4():
        if not mp4_available():
            window.show_message(MP4_HINT, error=True)
            return
        p = _ask(window, "Export video", "run.mp4", "MP4 video (*.mp4)")
        if p:
            exporter.export_mp4(p, fps=window.controls.speed.value(), wait=False)

    def samples():
        p = _ask(window, "Export samples", "samples.csv", "CSV (*.csv);;NumPy array (*.npy)")
        if p:
            exporter.export_samples(p)

    def trajectories():
        p = _ask(window, "Export trajectories", "trajectories.npy", "NumPy array (*.npy);;CSV (*.csv)")
        if p:
            exporter.export_trajectories(p, wait=False)

    def checkpoint():
        p = _ask(window, "Export checkpoint", "model.pt", "Checkpoint (*.pt)")
        if p:
            exporter.export_checkpoint(p)

    def metrics():
        if getattr(getattr(window, "quality", None), "result", None) is None:
            window.show_message("no quality result yet: run a quality-vs-steps comparison first", error=True)
            return
        p = _ask(window, "Export quality table", "quality.csv", "CSV (*.csv)")
        if p:
            exporter.export_metrics(p)

    add("Animation as &GIF…", "exportGifAction", "The stored sampler run, one frame per step", gif)
    add("Animation as &MP4…", "exportMp4Action",
        "The stored sampler run as video" + ("" if mp4_available() else " (needs imageio-ffmpeg)"), mp4)
    add("&Samples of the shown frame…", "exportSamplesAction", "Particle positions (N, 2) as CSV or NPY", samples)
    add("&Trajectories (all frames)…", "exportTrajectoriesAction",
        "Every stored frame: NPY (T, N, 2) or CSV rows frame,step,particle,x,y", trajectories)
    add("&Checkpoint (.pt)…", "exportCheckpointAction",
        "Weights and EMA, loadable with torch.load(weights_only=True) and `sample --model`", checkpoint)
    add("&Quality table (CSV)…", "exportMetricsAction",
        "SW2 per sampler and step count, with the noise floor", metrics)
    hooks = getattr(window, "shutdown_hooks", None)
    if hooks is not None:
        hooks.append(exporter.shutdown)


def _export_view_dialog(window, name: str) -> None:
    p = _ask(window, f"Export {name} view", f"{name}.png", "PNG image (*.png);;SVG drawing (*.svg)")
    if p:
        window.exporter.export_view(name, p)
