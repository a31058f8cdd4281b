"""The Qt pin is proven by painting: PySide6 6.12.0 with pyqtgraph 0.14 aborts while painting an axis."""
import numpy as np
import pyqtgraph as pg


def test_a_plot_with_axes_paints(qtbot):
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(300, 200)
    w.plot(np.arange(10.0), np.arange(10.0) ** 2, pen="r")
    w.setLogMode(y=True)
    w.show()
    qtbot.waitExposed(w)
    img = w.grab().toImage()
    assert img.width() == 300
    colours = {img.pixelColor(x, y).name() for x in range(0, 300, 7) for y in range(0, 200, 7)}
    assert len(colours) > 2      # axes, ticks and the curve were drawn, not a blank surface
