"""The window's fixed widgets: particle and field views, the loss plot, the banner and the
playback bar. Built here, wired in main_window; objectNames are part of the outside contract."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QSlider, QWidget

from playground.app.widgets.backdrop import BackdropPlotWidget
from playground.app.widgets.log_axis import LogLossAxis
from playground.app.widgets.particle_item import ParticleItem

BANNER_ERROR = "background:#5a1e1e; color:#ffd7d7; padding:4px; border-radius:3px;"
BANNER_INFO = "background:#1e3a5a; color:#d7e9ff; padding:4px; border-radius:3px;"


class Banner(QLabel):
    """The one-line message above the particles: red for errors, blue for information."""

    def __init__(self):
        super().__init__(objectName="banner")
        self.setWordWrap(True)
        self.setVisible(False)

    def show_text(self, text: str, error: bool) -> None:
        self.setText(text)
        self.setStyleSheet(BANNER_ERROR if error else BANNER_INFO)
        self.setVisible(True)


def follow_square(leader, follower) -> None:
    """Give follower (x linked to leader's) the y range that makes its pixels square, centred on
    leader's y centre: both views show the same place at the same scale whatever their shapes."""
    def fit(*_):
        (x0, x1), (y0, y1) = leader.viewRange()
        w, h = follower.width(), follower.height()
        if w <= 1 or h <= 1 or not x1 > x0:
            return
        half, mid = 0.5 * (x1 - x0) * h / w, 0.5 * (y0 + y1)
        (f0, f1) = follower.viewRange()[1]
        if abs(f0 - (mid - half)) + abs(f1 - (mid + half)) > 1e-6 * (x1 - x0):
            follower.setYRange(mid - half, mid + half, padding=0)
    leader.sigRangeChanged.connect(fit)
    follower.sigRangeChanged.connect(fit)
    follower.sigResized.connect(fit)


def plot_views() -> tuple[BackdropPlotWidget, BackdropPlotWidget, pg.ImageItem, ParticleItem]:
    """The particle view (aspect locked, holds the particles and the density histogram) and the
    field view linked to it on both axes."""
    pg.setConfigOptions(antialias=False)
    particle_view, field_view = BackdropPlotWidget(), BackdropPlotWidget()
    particle_view.setObjectName("particleView")
    field_view.setObjectName("fieldView")
    for w, title in ((particle_view, "Particles"), (field_view, "Score field")):
        w.getViewBox().disableAutoRange()     # the preset's view sets the axes, not the data
        w.showGrid(x=False, y=False)
        w.setTitle(title)
        w.setMinimumHeight(280)
    # Both keep square pixels (score arrows point where they point), so they cannot share both
    # ranges when their shapes differ: x is linked, the particle view locks its aspect, and the field
    # view takes the y range of square pixels about the particle view's centre. (Linked in y,
    # pyqtgraph lines the views up on screen, and a banner above the particles moved the field.)
    particle_view.setAspectLocked(True)
    field_view.setXLink(particle_view)
    follow_square(particle_view.getViewBox(), field_view.getViewBox())
    hist_image = pg.ImageItem(axisOrder="col-major")
    hist_image.setLookupTable(pg.colormap.get("inferno").getLookupTable(nPts=256))
    hist_image.setZValue(-4)
    hist_image.setVisible(False)
    particle_view.addItem(hist_image)
    particles = ParticleItem()
    particle_view.addItem(particles)
    return particle_view, field_view, hist_image, particles


def loss_plot() -> tuple[pg.PlotWidget, object, object]:
    """The loss plot (log y) with the raw curve and its smoothed curve."""
    plot = pg.PlotWidget(axisItems={"left": LogLossAxis("left")})
    plot.setObjectName("lossPlot")
    plot.setLogMode(x=False, y=True)
    plot.setLabel("bottom", "training step")
    plot.setLabel("left", "loss")
    plot.showGrid(x=True, y=True, alpha=0.2)
    raw = plot.plot(pen=pg.mkPen((120, 160, 220, 110), width=1))
    smooth = plot.plot(pen=pg.mkPen((255, 200, 60), width=2))
    for c in (raw, smooth):
        c.setDownsampling(auto=True, method="mean")
        c.setClipToView(True)
    return plot, raw, smooth


class PlaybackBar(QWidget):
    """Play/pause, one frame back/forward, the time slider and the frame label."""

    def __init__(self):
        super().__init__()
        self.play = QPushButton("Play", objectName="playButton", checkable=True)
        self.play.setToolTip("Play / pause the recorded sampler run (Space)")
        self.back = QPushButton("◀", objectName="backButton")
        self.back.setToolTip("One frame back (Left)")
        self.forward = QPushButton("▶", objectName="forwardButton")
        self.forward.setToolTip("One frame forward (Right)")
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="timeSlider")
        self.slider.setToolTip("Scrub through the stored sampler steps")
        self.slider.setRange(0, 0)
        self.slider.setMinimumWidth(60)
        self.label = QLabel("no run yet", objectName="frameLabel")
        self.label.setMinimumWidth(120)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.play, self.back, self.forward):
            w.setMaximumWidth(48)
            bar.addWidget(w)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.label)

    def set_range(self, last: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, int(last)))
        self.slider.blockSignals(False)

    def set_position(self, i: int) -> None:
        if self.slider.value() != i:
            self.slider.blockSignals(True)
            self.slider.setValue(i)
            self.slider.blockSignals(False)


def toggle_bar(*widgets) -> QHBoxLayout:
    """The row under the field view (its toggles, then its info label taking what is left): as tall
    as the playback bar, so the particle and field plots line up."""
    bar = QHBoxLayout()
    for w in widgets[:-1]:
        bar.addWidget(w)
    bar.addWidget(widgets[-1], 1)
    return bar


def scrolled(widget: QWidget, max_width: int) -> QScrollArea:
    """The controls column: scrolls vertically, never sideways, at most max_width wide."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMaximumWidth(max_width)
    return scroll
