"""What the Export menu writes, as plain functions of arrays and plots: views as PNG/SVG, samples,
trajectories, animation frames and the quality table. Every file is written beside its destination
and renamed over it (formats.io_utils), so a failed or cancelled export clobbers nothing."""
from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QSize
from PySide6.QtGui import QResizeEvent

from playground.formats import render
from playground.formats.io_utils import atomic_path, atomic_write_bytes, atomic_write_text
from playground.app.core.errors import Refusal

GIF_SIZE = 256
HIDDEN_EXPORT_SIZE = QSize(800, 500)     # a view exported from behind a tab
MP4_HINT = "MP4 export needs the imageio-ffmpeg package: pip install imageio-ffmpeg (GIF works without it)"


class ExportError(Refusal, ValueError):
    """An export that cannot be made; the message is meant for the user, whole."""


def mp4_available() -> bool:
    return importlib.util.find_spec("imageio_ffmpeg") is not None


def _laid_out(widget: pg.PlotWidget) -> None:
    """A view behind another tab keeps the size it had when last shown (or none): lay it out at a
    readable size for the file (the tab lays it out again when it is shown)."""
    if widget.isVisible() and not widget.viewport().visibleRegion().isEmpty():
        return                        # on screen: exported as seen
    old = widget.size()
    size = old.expandedTo(HIDDEN_EXPORT_SIZE)
    widget.resize(size)
    QCoreApplication.sendEvent(widget, QResizeEvent(size, old))


def write_view(widget: pg.PlotWidget, name: str, path: Path) -> Path:
    _laid_out(widget)
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


def write_samples(x: np.ndarray, path: Path) -> Path:
    """(N, 2) positions: .npy, or .csv with header x,y."""
    x = np.asarray(x, dtype=np.float32)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        atomic_write_bytes(path, npy_bytes(x))
    elif suffix == ".csv":
        buf = io.StringIO()
        np.savetxt(buf, x, delimiter=",", header="x,y", comments="", fmt="%.8g")
        atomic_write_text(path, buf.getvalue())
    else:
        raise ExportError(f"{path.name}: samples export as .npy or .csv")
    return path


def write_trajectories(xs: list, steps: list, path: Path, progress, check_cancel) -> Path:
    """All frames: .npy of shape (T, N, 2), or .csv rows frame,step,particle,x,y."""
    if path.suffix.lower() == ".npy":
        atomic_write_bytes(path, npy_bytes(np.stack(xs).astype(np.float32)))
        return path
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("frame,step,particle,x,y\n")
        for k, x in enumerate(xs):
            check_cancel()
            n = len(x)
            block = np.column_stack([np.full(n, k), np.full(n, steps[k]), np.arange(n), x])
            np.savetxt(fh, block, delimiter=",", fmt=["%d", "%d", "%d", "%.8g", "%.8g"])
            progress(k + 1, len(xs))
    return path


def write_animation(kind: str, path: Path, xs: list, target, xlim, ylim, size: int, fps: float,
                    progress, check_cancel) -> Path:
    """One frame per stored frame over the faint target density: GIF (numpy only) or MP4 (imageio)."""
    background = None if target is None else render.density_background(target, xlim, ylim, size)
    images = []
    for k, x in enumerate(xs):
        check_cancel()
        images.append(render.frame(x, xlim, ylim, size, background, progress=k / max(1, len(xs) - 1)))
        progress(k + 1, len(xs) + 1)
    check_cancel()
    if kind == "gif":
        render.write_gif(path, images, fps=float(fps))
    else:
        import imageio.v2 as iio2
        with atomic_path(path) as tmp:
            iio2.mimwrite(tmp, images, format="FFMPEG", fps=float(fps), macro_block_size=16)
    return path


def write_quality_table(result, path: Path) -> Path:
    """The quality-vs-steps table as CSV: sampler,score,steps,sw2,floor."""
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


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


