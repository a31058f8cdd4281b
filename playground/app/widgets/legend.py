"""A legend beside a plot's data, not on it.

pyqtgraph's addLegend floats the legend over the view box, where it hides the curves it names
(the commitment plot's legend covered the class curves on two-class targets). This one sits in
the plot's own layout, right of the data, and named curves still add themselves to it."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

LEGEND_COLUMN = 3          # the PlotItem's grid: axis, view box, right axis, then the legend


def legend_beside(plot, label_size: str = "8pt") -> pg.LegendItem:
    """A legend in column LEGEND_COLUMN of the plot's layout (a PlotWidget or a PlotItem)."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    legend = pg.LegendItem(labelTextSize=label_size, verSpacing=-4)
    legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)   # its rows never stretch
    item.layout.addItem(legend, 2, LEGEND_COLUMN)
    item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop)
    item.legend = legend              # PlotItem.addItem adds named items to .legend
    return legend
