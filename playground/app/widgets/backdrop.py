"""A PlotWidget whose static target density is painted as the view's cached background.

The faint target density behind the particles changes only with the target or the axes, yet
as an ImageItem it was rescaled (200x200 -> view size) on every paint: 1.5 ms per paint, four
paints per animation frame in the benchmark. QGraphicsView's background cache (pyqtgraph
turns it on) renders it once per target/axes change and then blits a device-sized pixmap.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem


def faint_lut(rgb=(80, 120, 190)) -> np.ndarray:
    ramp = np.linspace(0, 1, 256)[:, None] ** 0.6
    return (ramp * np.array(rgb)[None]).astype(np.ubyte)


def density_qimage(img: np.ndarray, lut: np.ndarray) -> QImage:
    """(nx, ny) values in [0, 1], x along axis 0 and y upwards -> an RGB32 QImage, top row = max y."""
    idx = np.clip(np.nan_to_num(img) * 255, 0, 255).astype(np.uint8)
    rgb = lut[idx.T[::-1]]                                  # rows: y from top to bottom
    argb = np.empty(rgb.shape[:2], np.uint32)
    argb[:] = (0xFF << 24) | (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    h, w = argb.shape
    qimg = QImage(argb.tobytes(), w, h, 4 * w, QImage.Format.Format_RGB32)
    return qimg.copy()                                      # own the pixels (the bytes object is temporary)


def cache_static_parts(plot: pg.PlotWidget) -> None:
    """Axes and title replay a QPicture of tick labels on every paint (0.5 ms each, about eight
    per animation frame); as device-coordinate cached items they are blitted unless they change."""
    item = plot.getPlotItem()
    for name in ("left", "bottom", "top", "right"):
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    item.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class BackdropPlotWidget(pg.PlotWidget):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._backdrop: tuple[QImage, QRectF] | None = None
        cache_static_parts(self)
        self.getViewBox().sigTransformChanged.connect(lambda *_: self._invalidate())

    def set_backdrop(self, img: np.ndarray | None, rect: QRectF | None = None, lut: np.ndarray | None = None) -> None:
        """Show `img` (values in [0, 1] over data rectangle `rect`) behind every item; None clears it."""
        if img is None:
            self._backdrop = None
        else:
            self._backdrop = (density_qimage(img, faint_lut() if lut is None else lut), QRectF(rect))
        self._invalidate()

    def backdrop(self):
        return self._backdrop

    def _invalidate(self) -> None:
        self.resetCachedContent()
        self.viewport().update()

    def drawBackground(self, painter, rect) -> None:
        super().drawBackground(painter, rect)
        if self._backdrop is None:
            return
        img, data_rect = self._backdrop
        vb = self.getViewBox()
        target = vb.mapViewToScene(data_rect).boundingRect()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)   # once per cache fill
        painter.setClipRect(vb.sceneBoundingRect())
        painter.drawImage(target, img)
        painter.restore()
