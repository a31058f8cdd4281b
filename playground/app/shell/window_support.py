"""Stateless helpers of the main window: script-facing aliases, the optimiser import paid after
the first paint, a shutdown that tolerates an already deleted C++ side, and the column layout."""
from __future__ import annotations

import functools

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget
from playground.app.core.errors import reported


def warm_optimiser_imports() -> None:
    """torch.optim imports torch._dynamo (~1.3 s, holding the GIL) on the first optimiser step.
    Paid once right after the first paint, so the window appears first and a later press of
    Train does not freeze the animation."""
    with reported("warm the optimiser's imports"):        # an optional speed-up only
        import torch._dynamo  # noqa: F401


def alias(path: str) -> property:
    """A read-only attribute that reads `path` (dotted) from the window: names scripts already use."""
    return property(lambda self: functools.reduce(getattr, path.split("."), self))


def column(*items) -> QWidget:
    """A widget stacking widgets and layouts vertically; (widget, stretch) pairs stretch."""
    panel = QWidget()
    lay = QVBoxLayout(panel)
    lay.setContentsMargins(2, 2, 2, 2)
    for item in items:
        widget, stretch = item if isinstance(item, tuple) else (item, 0)
        if isinstance(widget, QWidget):
            lay.addWidget(widget, stretch)
        else:
            lay.addLayout(widget)
    return panel


def quiet_shutdown(window) -> None:
    try:
        window.shutdown()
    except RuntimeError:          # the C++ side is already gone: its threads went with it
        pass


class AfterFirstPaint(QObject):
    """Calls fn on the next event-loop turn after `widget` is first painted (then forgets it):
    work deferred this way cannot run before the window is on screen."""

    def __init__(self, widget: QWidget, fn):
        super().__init__(widget)
        self.fn = fn
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint and self.fn is not None:
            fn, self.fn = self.fn, None
            obj.removeEventFilter(self)
            QTimer.singleShot(0, fn)
        return False
