"""A collapsible section of the controls column: a header that folds its body away.

Rarely used settings live in closed sections, so the everyday controls (preset, Train, Sample,
sampler, steps, live samples) fit a 1366×768 screen without scrolling. Whether a section is open
is part of the layout the window remembers (shell/dock_layout.py)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QSizePolicy, QToolButton, QVBoxLayout, QWidget


class Section(QWidget):
    toggled = Signal(bool)

    def __init__(self, title: str, name: str, body: QWidget, open_: bool = True, tip: str = ""):
        super().__init__(objectName=name)
        self.default_open = open_
        self.body = body
        self.header = QToolButton(objectName=f"{name}Header", text=title, checkable=True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.header.setStyleSheet("QToolButton { border: none; font-weight: bold; text-align: left; }")
        self.header.setToolTip(tip or f"Show or hide {title.lower()}")
        if isinstance(body, QGroupBox):          # the header is its title
            body.setTitle("")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(body)
        self.header.toggled.connect(self._on_toggled)
        self.header.setChecked(open_)
        self._on_toggled(open_)

    def _on_toggled(self, on: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)
        self.toggled.emit(on)

    def set_open(self, on: bool) -> None:
        self.header.setChecked(bool(on))

    def is_open(self) -> bool:
        return self.header.isChecked()
