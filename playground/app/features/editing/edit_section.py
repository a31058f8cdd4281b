"""The "Draw / edit" controls section: edit mode, the three tools, brush and Gaussian settings,
delete / clear / undo / redo. Widgets only; target_editor.py gives them their behaviour."""
from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QPushButton

from playground.app.widgets.controls import named, spin_box


def set_quietly(spin, value: float) -> None:
    """Show a value without emitting valueChanged (the document already holds it)."""
    spin.blockSignals(True)
    spin.setValue(value)
    spin.blockSignals(False)


class EditSection(QGroupBox):
    def __init__(self):
        super().__init__("Draw / edit")
        self.setObjectName("drawEditBox")
        lay = QFormLayout(self)
        self.edit_button = named(QPushButton("Edit mode"), "editModeButton",
                                  "Draw on the particle view: brush points, erase, place and shape Gaussians. "
                                  "Training continues from the current weights after each edit.")
        self.edit_button.setCheckable(True)
        lay.addRow(self.edit_button)

        tools = QHBoxLayout()
        self.tool_group = QButtonGroup(self)
        self.tool_group.setExclusive(True)
        self.tool_buttons = {}
        for key, text, name, tip in (
                ("brush", "Brush", "brushToolButton", "Drag to spray points along the path (radius and density below)"),
                ("eraser", "Eraser", "eraserToolButton", "Drag to remove drawn points within the brush radius"),
                ("gaussian", "Gaussian", "gaussianToolButton",
                 "Click empty space to place a Gaussian; drag its centre to move it, the square handles to "
                 "stretch an axis, the round outer handle to rotate; wheel over it changes its weight")):
            b = named(QPushButton(text), name, tip)
            b.setCheckable(True)
            self.tool_group.addButton(b)
            self.tool_buttons[key] = b
            tools.addWidget(b)
        self.tool_buttons["brush"].setChecked(True)
        lay.addRow(tools)

        self.radius_spin = spin_box("brushRadiusSpin", "Brush and eraser radius (data units)", 0.02, 4.0, 0.25, 0.05, 2)
        self.density_spin = spin_box("brushDensitySpin", "Points sprayed per unit of stroke length", 1.0, 500.0,
                                 40.0, 5.0, 1, " /unit")
        self.bandwidth_spin = spin_box("bandwidthSpin", "Std of the Gaussian on each drawn point (KDE bandwidth)",
                                   0.01, 2.0, 0.15, 0.01, 3)
        self.weight_spin = spin_box("weightSpin", "Weight of the selected Gaussian (relative to the drawn points, "
                                "which weigh 1 together)", 0.001, 1000.0, 1.0, 0.1, 3)
        lay.addRow("Brush radius", self.radius_spin)
        lay.addRow("Brush density", self.density_spin)
        lay.addRow("Bandwidth", self.bandwidth_spin)
        lay.addRow("Gaussian weight", self.weight_spin)

        grid = QGridLayout()
        self.delete_button = named(QPushButton("Delete"), "deleteButton", "Delete the selected Gaussian (Delete)")
        self.clear_button = named(QPushButton("Clear"), "clearButton", "Remove every point and Gaussian (undoable)")
        self.undo_button = named(QPushButton("Undo"), "undoButton", "Undo the last edit (Ctrl+Z)")
        self.redo_button = named(QPushButton("Redo"), "redoButton", "Redo the undone edit (Ctrl+Shift+Z)")
        for k, b in enumerate((self.delete_button, self.clear_button, self.undo_button, self.redo_button)):
            grid.addWidget(b, k // 2, k % 2)
        lay.addRow(grid)

    def tool(self) -> str:
        return next(k for k, b in self.tool_buttons.items() if b.isChecked())

    def get_state(self) -> dict:
        return {"tool": self.tool(), "radius": self.radius_spin.value(), "density": self.density_spin.value()}

    def set_state(self, state: dict) -> None:
        if state.get("tool") in self.tool_buttons:
            self.tool_buttons[state["tool"]].setChecked(True)
        for key, s in (("radius", self.radius_spin), ("density", self.density_spin)):
            if isinstance(state.get(key), (int, float)):
                s.setValue(float(state[key]))
