"""Read and set a widget's value the way a learner would (so every panel reacts as to a click).

A tour names widgets by objectName and gives JSON values: a boolean for check boxes, checkable
buttons and actions; a number for spin boxes and sliders; a text for combo boxes (an item's data or
text), line edits and labels; a list of texts for a checkable list (the items to tick).
`problem` says why a value cannot go on a widget, so a tour file is refused before it plays.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QComboBox, QDoubleSpinBox, QLineEdit, QListWidget,
                               QSpinBox)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _combo_index(w: QComboBox, v) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v if 0 <= v < w.count() else -1
    i = w.findData(v)
    return i if i >= 0 else w.findText(v)


def _list_item_names(item) -> set:
    return {item.text(), item.data(Qt.ItemDataRole.UserRole)}


def problem(w, v) -> str | None:
    """None if value v can be set on widget w, else what is wrong (for the tour's error message)."""
    if isinstance(w, (QAction, QAbstractButton)):
        if not w.isCheckable():
            return "is a button: press it with act {\"click\": ...}"
        return None if isinstance(v, bool) else "takes true or false"
    if isinstance(w, (QSpinBox, QAbstractSlider)):
        if not (isinstance(v, int) and not isinstance(v, bool)):
            return "takes an integer"
        return None if w.minimum() <= v <= w.maximum() else f"takes {w.minimum()} to {w.maximum()}"
    if isinstance(w, QDoubleSpinBox):
        if not _is_number(v):
            return "takes a number"
        return None if w.minimum() <= v <= w.maximum() else f"takes {w.minimum():g} to {w.maximum():g}"
    if isinstance(w, QComboBox):
        return None if isinstance(v, (str, int)) and not isinstance(v, bool) and _combo_index(w, v) >= 0 else \
            f"has no item {v!r}"
    if isinstance(w, QLineEdit):
        return None if isinstance(v, str) else "takes a text"
    if isinstance(w, QListWidget):
        names = set().union(*(_list_item_names(w.item(i)) for i in range(w.count())))
        if not isinstance(v, list) or any(x not in names for x in v):
            return "takes a list of its items' names"
        return None
    return f"is a {type(w).__name__}, which a tour cannot set"


def read(w):
    """The widget's value in the form `write` takes (to put it back when the tour closes)."""
    if isinstance(w, (QAction, QAbstractButton)):
        return w.isChecked()
    if isinstance(w, (QSpinBox, QAbstractSlider, QDoubleSpinBox)):
        return w.value()
    if isinstance(w, QComboBox):
        return w.currentIndex()
    if isinstance(w, QLineEdit):
        return w.text()
    if isinstance(w, QListWidget):
        return [w.item(i).data(Qt.ItemDataRole.UserRole) or w.item(i).text() for i in range(w.count())
                if w.item(i).checkState() == Qt.CheckState.Checked]
    return None


def write(w, v) -> None:
    """Set the value as a user would: the widget's own signals fire and the panels follow."""
    if read(w) == v:
        return
    if isinstance(w, (QAction, QAbstractButton)):
        w.setChecked(bool(v))
    elif isinstance(w, (QSpinBox, QAbstractSlider, QDoubleSpinBox)):
        w.setValue(v)
    elif isinstance(w, QComboBox):
        w.setCurrentIndex(_combo_index(w, v))
    elif isinstance(w, QLineEdit):
        w.setText(v)
        w.editingFinished.emit()
    elif isinstance(w, QListWidget):
        for i in range(w.count()):
            item = w.item(i)
            on = bool(_list_item_names(item) & set(v))
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)


def press(w) -> None:
    """Click a button or trigger an action."""
    if isinstance(w, QAction):
        w.trigger()
    else:
        w.click()


def pressable(w) -> bool:
    return isinstance(w, (QAction, QAbstractButton))
