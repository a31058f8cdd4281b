"""The loss plot's log axis labels several ticks over narrow and wide loss ranges."""
import numpy as np
import pyqtgraph as pg
import pytest

from tests.helpers import WAIT_MS, child, show_widget


@pytest.mark.parametrize("lo, hi", [(1.9, 2.3), (0.05, 5.0), (0.9, 1.05), (1e-4, 50.0)])
def test_loss_axis_labels_several_ticks(qtbot, lo, hi):
    from playground.app.shell.views import loss_plot
    plot, _raw, _smooth = loss_plot()
    show_widget(qtbot, plot, (400, 240))
    axis = plot.getAxis("left")
    assert axis.logMode
    x = np.arange(1, 101, dtype=float)
    plot.plot(x, np.geomspace(lo, hi, 100))
    plot.getViewBox().setYRange(np.log10(lo), np.log10(hi), padding=0)
    qtbot.waitUntil(lambda: np.allclose(axis.range, [np.log10(lo), np.log10(hi)]), timeout=WAIT_MS)   # the axis follows
    vmin, vmax = axis.range
    levels = axis.tickValues(vmin, vmax, axis.height())
    values = [v for _, vals in levels for v in vals]
    strings = axis.tickStrings(values, 1.0, None)
    assert len(values) >= 3, (lo, hi, values)
    assert len(set(strings)) == len(strings) and all(s.strip() for s in strings), strings
    shown = sorted(float(s) for s in strings)
    assert shown[0] >= lo * 0.9 and shown[-1] <= hi * 1.1
    plot.grab()                                       # paints without errors


def test_window_loss_plot_uses_the_log_axis(make_window):
    from playground.app.widgets.log_axis import LogLossAxis
    w = make_window()
    assert isinstance(child(w, pg.PlotWidget, "lossPlot").getAxis("left"), LogLossAxis)


def test_a_long_training_history_hands_the_plot_a_bounded_curve(qtbot, make_window):
    """An hour of training is ~10^6 steps: the plot gets block means, not every step (pyqtgraph kept
    ~50 bytes a step of them), and still spans the whole run."""
    from playground.learning.loss_history import PLOT_POINTS
    w = make_window()
    n = 300_000
    w.state.add_losses(np.linspace(2.0, 1.0, n, dtype=np.float32), n, 100.0)
    curves = child(w, pg.PlotWidget, "lossPlot").getPlotItem().listDataItems()
    qtbot.waitUntil(lambda: all(c.getOriginalDataset()[0] is not None and len(c.getOriginalDataset()[0]) > 1000
                                for c in curves), timeout=WAIT_MS)
    for c in curves:
        x, y = c.getOriginalDataset()
        assert len(x) <= PLOT_POINTS and x[-1] > n - n / PLOT_POINTS and x[0] < n / PLOT_POINTS
    child(w, pg.PlotWidget, "lossPlot").grab()
