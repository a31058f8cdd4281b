"""The coloured frame around the widget a tour stop talks about.

A frameless child of the main window, drawn above the docks and transparent to the mouse, that
follows its widget (moves, resizes, tab changes) with a short timer rather than hooks into every
panel. `reveal` makes the widget visible first: its dock shown and raised, its scroll area scrolled.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QPainter, QPen
from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget

from playground.app.widgets.section import Section

COLOUR = QColor(255, 170, 0)
WIDTH = 3
FOLLOW_MS = 150


def reveal(widget) -> None:
    """Show the dock that holds `widget` (raising it above its tabs) and open the section holding
    it, then scroll it into view."""
    if not isinstance(widget, QWidget):
        return
    chain, w = [], widget
    while w is not None:
        chain.append(w)
        w = w.parentWidget()
    for w in reversed(chain):
        if isinstance(w, Section):            # a folded section of the controls opens
            w.set_open(True)
        if isinstance(w, QDockWidget):
            w.show()
            w.raise_()
    for w in chain:
        if isinstance(w, QScrollArea) and w.widget() is not None and w.widget().isAncestorOf(widget):
            w.ensureWidgetVisible(widget, 10, 10)


def _clipped(widget: QWidget, window: QWidget) -> QRect:
    """The widget's rectangle in window coordinates, cut to every ancestor's (scroll viewports, docks)."""
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        rect = rect.intersected(QRect(parent.mapTo(window, QPoint(0, 0)), parent.size()))
        parent = parent.parentWidget()
    return rect


class Highlight(QWidget):
    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setObjectName("tourHighlight")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.target: QWidget | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(FOLLOW_MS)
        self.timer.timeout.connect(self.follow)
        self.hide()

    def point_at(self, widget) -> None:
        """Frame `widget` (None: no frame). An action is framed by nothing: its menu is closed."""
        self.target = widget if isinstance(widget, QWidget) and not isinstance(widget, QAction) else None
        if self.target is None:
            self.timer.stop()
            self.hide()
            return
        reveal(self.target)
        self.follow()
        self.timer.start()

    def follow(self) -> None:
        t, window = self.target, self.parentWidget()
        try:
            visible = t is not None and t.isVisible() and window is not None
        except RuntimeError:            # the widget was deleted
            visible, self.target = False, None
        if not visible:
            self.hide()
            return
        shown = _clipped(t, window)          # the part no scroll area or dock clips away
        if shown.isEmpty():
            self.hide()
            return
        rect = shown.adjusted(-WIDTH, -WIDTH, WIDTH, WIDTH).intersected(window.rect())
        if rect != self.geometry():
            self.setGeometry(rect)
        self.show()
        self.raise_()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setPen(QPen(COLOUR, WIDTH))
        p.drawRect(self.rect().adjusted(WIDTH // 2, WIDTH // 2, -(WIDTH + 1) // 2, -(WIDTH + 1) // 2))
        p.end()

    def stop(self) -> None:
        self.point_at(None)

