"""Edit mode on the particle view: draw the target with a brush, erase it, place and shape Gaussians.

The drawing itself is a `SketchDocument` (GUI-free, with undo); this module only turns mouse and
key events into document edits and draws the overlay (points, 2-sigma ellipses, handles). A drag
updates the overlay only; the target is recompiled and handed to the window (warm start) once per
completed edit, so training keeps going from its current weights.

Mouse events are taken in an event filter on both the PlotWidget and its viewport and consumed
while editing, so the ViewBox neither pans nor zooms. The pressed state is tracked here because a
synthetic move may carry no buttons.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QButtonGroup, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
                               QPushButton)

from playground.formats.drawing import DEFAULT_STD, MAX_SKETCH_POINTS, BrushStroke, SketchDocument
from .controls import named

HIT_PX = 9                  # how close (pixels) a press must be to a handle to grab it
ROTATE_OFFSET_PX = 22       # rotation handle sits this far past the end of the major axis
MAX_HANDLE_GAUSSIANS = 32   # with more Gaussians only the selected one gets handles
MIN_STD = 0.01
WHEEL_STEP = 1.15           # weight factor per wheel notch
PRESET_KEY = "sketch"
PRESET_NAME = "Sketch"
ELLIPSE_SEGMENTS = 48

_MOUSE = {QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
          QEvent.Type.MouseButtonRelease, QEvent.Type.Wheel}


def _reported(fn):
    """Run an editor slot; show any exception in the window's banner instead of raising."""
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - user input must never crash the event loop
            self.ui.show_message(f"edit: {exc}", error=True)
            return None
    return wrapper


@dataclass
class Handle:
    kind: str                  # "centre" | "axis" | "rotate"
    index: int                 # which Gaussian
    pos: np.ndarray            # data coordinates
    axis: int = -1             # for "axis": 0 major, 1 minor


@dataclass
class Drag:
    kind: str                  # "brush" | "erase" | "move" | "axis" | "rotate"
    index: int = -1
    last: np.ndarray | None = None
    offset: np.ndarray = field(default_factory=lambda: np.zeros(2))
    axes: tuple = (0.0, 0.0, 0.0)   # (std_u, std_v, angle) when the drag started
    axis: int = -1
    grab_angle: float = 0.0
    stroke: BrushStroke | None = None


class TargetEditor(QObject):
    """The "Draw / edit" section, Edit-menu actions and the particle-view editing logic."""

    def __init__(self, state, services, ui):
        super().__init__()
        self.state, self.services, self.ui = state, services, ui
        self.view = ui.views["particles"]
        self.vb = self.view.getPlotItem().vb
        self.doc = SketchDocument()
        self.selected: int | None = None
        self.drag: Drag | None = None
        self.applied = None           # the last Preset this editor handed to the window
        self._stroke_seed = 0
        self._build_section()
        self._build_actions()
        self._build_overlay()
        for obj in (self.view, self.view.viewport()):
            obj.installEventFilter(self)
        state.presetChanged.connect(lambda *_: self._on_preset_switched())
        services.parts.register("target_editor", self.get_state, self.set_state)
        self._sync_widgets()

    # ===================================================================== construction
    def _build_section(self) -> None:
        box = QGroupBox("Draw / edit")
        box.setObjectName("drawEditBox")
        lay = QFormLayout(box)
        self.edit_button = named(QPushButton("Edit mode"), "editModeButton",
                                  "Draw on the particle view: brush points, erase, place and shape Gaussians. "
                                  "Training continues from the current weights after each edit.")
        self.edit_button.setCheckable(True)
        self.edit_button.toggled.connect(self.set_edit_mode)
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

        def spin(name, tip, lo, hi, value, step, decimals, suffix=""):
            s = named(QDoubleSpinBox(), name, tip)
            s.setRange(lo, hi)
            s.setDecimals(decimals)
            s.setSingleStep(step)
            s.setValue(value)
            s.setSuffix(suffix)
            return s

        self.radius_spin = spin("brushRadiusSpin", "Brush and eraser radius (data units)", 0.02, 4.0, 0.25, 0.05, 2)
        self.density_spin = spin("brushDensitySpin", "Points sprayed per unit of stroke length", 1.0, 500.0,
                                 40.0, 5.0, 1, " /unit")
        self.bandwidth_spin = spin("bandwidthSpin", "Std of the Gaussian on each drawn point (KDE bandwidth)",
                                   0.01, 2.0, 0.15, 0.01, 3)
        self.weight_spin = spin("weightSpin", "Weight of the selected Gaussian (relative to the drawn points, "
                                "which weigh 1 together)", 0.001, 1000.0, 1.0, 0.1, 3)
        self.bandwidth_spin.valueChanged.connect(self._on_bandwidth)
        self.weight_spin.valueChanged.connect(self._on_weight)
        lay.addRow("Brush radius", self.radius_spin)
        lay.addRow("Brush density", self.density_spin)
        lay.addRow("Bandwidth", self.bandwidth_spin)
        lay.addRow("Gaussian weight", self.weight_spin)

        grid = QGridLayout()
        self.delete_button = named(QPushButton("Delete"), "deleteButton", "Delete the selected Gaussian (Delete)")
        self.clear_button = named(QPushButton("Clear"), "clearButton", "Remove every point and Gaussian (undoable)")
        self.undo_button = named(QPushButton("Undo"), "undoButton", "Undo the last edit (Ctrl+Z)")
        self.redo_button = named(QPushButton("Redo"), "redoButton", "Redo the undone edit (Ctrl+Shift+Z)")
        self.delete_button.clicked.connect(lambda *_: self.delete_selected())
        self.clear_button.clicked.connect(lambda *_: self.clear())
        self.undo_button.clicked.connect(lambda *_: self.undo())
        self.redo_button.clicked.connect(lambda *_: self.redo())
        for k, b in enumerate((self.delete_button, self.clear_button, self.undo_button, self.redo_button)):
            grid.addWidget(b, k // 2, k % 2)
        lay.addRow(grid)
        self.box = box
        self.ui.add_section(box)

    def _build_actions(self) -> None:
        menu = self.ui.menu("edit")
        self.actions = {}
        for key, text, shortcut, tip, slot in (
                ("undo", "&Undo edit", "Ctrl+Z", "Undo the last edit of the drawn target", self.undo),
                ("redo", "&Redo edit", "Ctrl+Shift+Z", "Redo the undone edit", self.redo),
                ("delete", "&Delete Gaussian", "Delete", "Delete the selected Gaussian", self.delete_selected)):
            self.actions[key] = self.ui.add_action("edit", text, f"{key}EditAction", tip, slot, QKeySequence(shortcut))
        menu.insertAction(self.actions["undo"], self.edit_action())

    def edit_action(self) -> QAction:
        act = QAction("Edit &target on the particle view", self)
        act.setObjectName("editModeAction")
        act.setCheckable(True)
        act.setToolTip(self.edit_button.toolTip())
        act.toggled.connect(self.edit_button.setChecked)
        self.edit_button.toggled.connect(lambda on: act.setChecked(on) if act.isChecked() != on else None)
        return act

    def _build_overlay(self) -> None:
        z = 30
        self.points_item = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(255, 170, 60, 200))
        self.ellipse_item = pg.PlotCurveItem(pen=pg.mkPen((110, 210, 255), width=1.5), connect="finite")
        self.selected_item = pg.PlotCurveItem(pen=pg.mkPen((255, 230, 70), width=3), connect="finite")
        self.handle_item = pg.ScatterPlotItem(pxMode=True)
        self.brush_item = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 150), width=1, style=Qt.PenStyle.DashLine))
        self.overlay = [self.points_item, self.ellipse_item, self.selected_item, self.handle_item, self.brush_item]
        for k, item in enumerate(self.overlay):
            item.setZValue(z + k)
            item.setVisible(False)
            self.view.addItem(item)

    # ===================================================================== state
    @property
    def edit_mode(self) -> bool:
        return self.edit_button.isChecked()

    @property
    def tool(self) -> str:
        return next(k for k, b in self.tool_buttons.items() if b.isChecked())

    def set_tool(self, key: str) -> None:
        self.tool_buttons[key].setChecked(True)

    def get_state(self) -> dict:
        return {"tool": self.tool, "radius": self.radius_spin.value(), "density": self.density_spin.value()}

    def set_state(self, state: dict) -> None:
        if state.get("tool") in self.tool_buttons:
            self.set_tool(state["tool"])
        for key, s in (("radius", self.radius_spin), ("density", self.density_spin)):
            if isinstance(state.get(key), (int, float)):
                s.setValue(float(state[key]))

    @_reported
    def set_edit_mode(self, on: bool) -> None:
        """Entering loads the current target as a drawing (kept as is if it is this editor's own);
        leaving hands the mouse back to pan and zoom."""
        if self.edit_button.isChecked() != bool(on):
            self.edit_button.setChecked(bool(on))          # re-enters through the toggled signal
            return
        self._finish_drag()
        if on:
            current = self.state.preset
            if current is None or current is not self.applied:
                self._load(current)
            self.view.viewport().setCursor(Qt.CursorShape.CrossCursor)
            self.ui.show_message("Edit mode: draw on the particle view; Ctrl+Z undoes an edit")
        else:
            self.view.viewport().unsetCursor()
            self.ui.hide_message()
        for item in self.overlay:
            item.setVisible(bool(on))
        self.brush_item.setVisible(False)
        self.refresh_overlay()
        self._sync_widgets()

    def _load(self, preset) -> None:
        self.doc = SketchDocument.from_preset(preset)
        self.selected = None
        self._set_spin(self.bandwidth_spin, self.doc.bandwidth)

    def _on_preset_switched(self) -> None:
        """Another target picked while editing: edit that one from now on."""
        current = self.state.preset
        if self.edit_mode and current is not self.applied and current is not None:
            self._finish_drag()
            try:
                self._load(current)
            except Exception as exc:  # noqa: BLE001
                self.ui.show_message(f"edit: cannot edit this target: {exc}", error=True)
                return
            self.refresh_overlay()
            self._sync_widgets()

    # ===================================================================== edits
    def apply(self) -> None:
        """Hand the drawing to the window: the target changes, training continues (warm start)."""
        preset = self.doc.to_preset(PRESET_NAME)
        self.applied = preset
        self.services.presets.apply(preset, key=PRESET_KEY)
        if preset.is_empty:
            self.ui.show_message("The canvas is empty: draw points or place Gaussians to make a target "
                                     "(training and sampling need one)", error=True)
        self.refresh_overlay()
        self._sync_widgets()

    def _ours(self) -> bool:
        current = self.state.preset
        return self.edit_mode or (current is not None and current is self.applied)

    @_reported
    def undo(self) -> None:
        if self.drag is None and self._ours() and self.doc.undo():
            self._clamp_selection()
            self.apply()

    @_reported
    def redo(self) -> None:
        if self.drag is None and self._ours() and self.doc.redo():
            self._clamp_selection()
            self.apply()

    @_reported
    def delete_selected(self) -> None:
        if self.edit_mode and self.drag is None and self.selected is not None:
            self.doc.delete_gaussian(self.selected)
            self.selected = None
            self.apply()

    @_reported
    def clear(self) -> None:
        """Empty the canvas (enters edit mode first, so the cleared drawing is the one on screen)."""
        if self.drag is not None:
            return
        if not self.edit_mode:
            self.edit_button.setChecked(True)
        if not self.doc.is_empty:
            self.doc.clear()
            self.selected = None
            self.apply()

    @_reported
    def _on_bandwidth(self, h: float) -> None:
        if self.edit_mode and self.drag is None and h != self.doc.bandwidth:
            self.doc.set_bandwidth(h)
            if len(self.doc.points):
                self.apply()

    @_reported
    def _on_weight(self, w: float) -> None:
        if self.edit_mode and self.drag is None and self.selected is not None:
            if w != self.doc.gaussians[self.selected].weight:
                self.doc.set_weight(self.selected, w)
                self.apply()

    def _clamp_selection(self) -> None:
        if self.selected is not None and self.selected >= len(self.doc.gaussians):
            self.selected = None

    # ===================================================================== mouse
    def eventFilter(self, obj, event) -> bool:
        et = event.type()
        if not self.edit_mode or (obj is not self.view and obj is not self.view.viewport()):
            return False
        try:
            if et in _MOUSE:
                self._mouse(obj, event)
                return True
            if et == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.delete_selected()
                return True
            if et == QEvent.Type.Leave:
                self.brush_item.setVisible(False)
        except Exception as exc:  # noqa: BLE001 - a bad event must not escape into Qt
            self.drag = None
            self.ui.show_message(f"edit: {exc}", error=True)
            return True
        return False

    def _data_pos(self, obj, event) -> np.ndarray:
        """Event position -> data coordinates (the widget's own pixels are its viewport's, up to the frame)."""
        pos = event.position().toPoint()
        if obj is self.view:
            pos = self.view.viewport().mapFrom(self.view, pos)
        p = self.vb.mapSceneToView(self.view.mapToScene(pos))
        return np.array([p.x(), p.y()], dtype=np.float64)

    def _mouse(self, obj, event) -> None:
        et = event.type()
        p = self._data_pos(obj, event)
        if et == QEvent.Type.Wheel:
            self._wheel(p, event.angleDelta().y())
        elif et in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            if event.button() == Qt.MouseButton.LeftButton and self.drag is None:
                self._press(p)
        elif et == QEvent.Type.MouseMove:
            if self.drag is not None:
                self._drag_to(p)
            else:
                self._hover(p)
        elif et == QEvent.Type.MouseButtonRelease:
            if event.button() == Qt.MouseButton.LeftButton and self.drag is not None:
                self._drag_to(p)
                self._finish_drag()

    def _press(self, p: np.ndarray) -> None:
        tool = self.tool
        self.doc.begin()            # the whole gesture is one undo step
        if tool == "brush":
            if len(self.doc.points) >= MAX_SKETCH_POINTS:
                self.ui.show_message(f"the sketch holds at most {MAX_SKETCH_POINTS} points: erase some first",
                                         error=True)
            self._stroke_seed += 1
            stroke = BrushStroke(self.doc, self.radius_spin.value(), self.density_spin.value(), self._stroke_seed)
            stroke.to(p)
            self.drag = Drag("brush", stroke=stroke)
        elif tool == "eraser":
            self.drag = Drag("erase", last=p)
            self.doc.erase(p, self.radius_spin.value())
        else:
            self.drag = self._gaussian_press(p)
        self.refresh_overlay()
        self._sync_widgets()

    def _gaussian_press(self, p: np.ndarray) -> Drag:
        hit = self.hit_test(p)
        if hit is None:
            self.selected = self.doc.add_gaussian(p, DEFAULT_STD, weight=1.0)
            return Drag("move", self.selected)
        self.selected = hit.index
        g = self.doc.gaussians[hit.index]
        axes = g.axes()
        if hit.kind == "axis":
            return Drag("axis", hit.index, axes=axes, axis=hit.axis)
        if hit.kind == "rotate":
            d = p - np.array(g.mean)
            return Drag("rotate", hit.index, axes=axes, grab_angle=math.atan2(d[1], d[0]))
        return Drag("move", hit.index, offset=np.array(g.mean) - p)

    def _drag_to(self, p: np.ndarray) -> None:
        d = self.drag
        if d.kind == "brush":
            d.stroke.to(p)
        elif d.kind == "erase":
            r = self.radius_spin.value()
            n = max(1, int(math.ceil(np.linalg.norm(p - d.last) / (0.5 * r))))
            for t in np.linspace(0, 1, n + 1)[1:]:           # no gaps when the mouse jumps
                self.doc.erase(d.last + t * (p - d.last), r)
            d.last = p
        elif d.kind == "move":
            self.doc.move_gaussian(d.index, p + d.offset)
        else:
            g = self.doc.gaussians[d.index]
            su, sv, angle = d.axes
            rel = p - np.array(g.mean)
            if d.kind == "axis":
                u = np.array([math.cos(angle), math.sin(angle)]) if d.axis == 0 else \
                    np.array([-math.sin(angle), math.cos(angle)])
                std = max(MIN_STD, abs(float(rel @ u)) / 2)       # the handle sits at 2 sigma
                su, sv = (std, sv) if d.axis == 0 else (su, std)
                self.doc.set_gaussian_shape(d.index, su, sv, angle)
            elif np.linalg.norm(rel) > 0:
                turn = math.atan2(rel[1], rel[0]) - d.grab_angle
                self.doc.set_gaussian_shape(d.index, su, sv, angle + turn)
        self.refresh_overlay()

    def _finish_drag(self) -> None:
        """Close the gesture: one undo step, and the target is recompiled once."""
        d, self.drag = self.drag, None
        if d is None:
            return
        if d.kind == "brush":
            d.stroke.finish()
        if self.doc.end():
            self.apply()
        else:
            self.refresh_overlay()
            self._sync_widgets()

    def _wheel(self, p: np.ndarray, delta: int) -> None:
        """Wheel over a Gaussian (the selected one first) scales its weight."""
        if self.drag is not None or not delta:
            return
        i = self._gaussian_under(p, limit=2.0)
        if i is None:
            return
        self.selected = i
        w = self.doc.gaussians[i].weight * WHEEL_STEP ** (delta / 120.0)
        self.doc.set_weight(i, min(max(w, self.weight_spin.minimum()), self.weight_spin.maximum()))
        self.apply()

    def _hover(self, p: np.ndarray) -> None:
        if self.tool in ("brush", "eraser"):
            self.brush_item.setData(*self._circle(p, self.radius_spin.value()))
            self.brush_item.setVisible(True)
            return
        self.brush_item.setVisible(False)
        hit = self.hit_test(p)
        shape = {None: Qt.CursorShape.CrossCursor, "centre": Qt.CursorShape.SizeAllCursor,
                 "axis": Qt.CursorShape.SizeHorCursor, "rotate": Qt.CursorShape.PointingHandCursor}
        self.view.viewport().setCursor(shape[None if hit is None else hit.kind])

    # ===================================================================== geometry
    def _px(self) -> float:
        """Data units per screen pixel (the view's aspect is locked, so one number)."""
        try:
            px = float(max(self.vb.viewPixelSize()))
        except Exception:  # noqa: BLE001 - not laid out yet
            px = 0.0
        if not (px > 0 and math.isfinite(px)):
            (x0, x1), _ = self.vb.viewRange()
            px = (x1 - x0) / 500
        return px

    def _with_handles(self) -> list[int]:
        n = len(self.doc.gaussians)
        if n <= MAX_HANDLE_GAUSSIANS:
            return list(range(n))
        return [] if self.selected is None else [self.selected]

    def handles(self, i: int) -> list[Handle]:
        """Centre, both ends of both principal axes (at 2 sigma) and the rotation handle of Gaussian i."""
        g = self.doc.gaussians[i]
        su, sv, angle = g.axes()
        m = np.array(g.mean)
        u = np.array([math.cos(angle), math.sin(angle)])
        v = np.array([-u[1], u[0]])
        return [Handle("centre", i, m),
                Handle("axis", i, m + 2 * su * u, 0), Handle("axis", i, m - 2 * su * u, 0),
                Handle("axis", i, m + 2 * sv * v, 1), Handle("axis", i, m - 2 * sv * v, 1),
                Handle("rotate", i, m + (2 * su + ROTATE_OFFSET_PX * self._px()) * u)]

    def hit_test(self, p: np.ndarray) -> Handle | None:
        """The handle within HIT_PX of p (nearest; the centre wins ties), else the Gaussian whose
        1-sigma ellipse contains p (as its centre), else None."""
        px = self._px()
        order = self._with_handles()
        if self.selected in order:
            order.remove(self.selected)
            order.insert(0, self.selected)
        best, best_d = None, float(HIT_PX)
        for i in order:
            for h in self.handles(i):
                if h.kind == "rotate" and i != self.selected:     # only the selection shows one
                    continue
                d = float(np.linalg.norm(h.pos - p)) / px - (0.5 if h.kind == "centre" else 0.0)
                if d < best_d:
                    best, best_d = h, d
        if best is not None:
            return best
        i = self._gaussian_under(p, limit=1.0)
        return None if i is None else Handle("centre", i, np.array(self.doc.gaussians[i].mean))

    def _gaussian_under(self, p: np.ndarray, limit: float) -> int | None:
        """The Gaussian with p inside its `limit`-sigma ellipse (the selected one first, else the nearest)."""
        gs = self.doc.gaussians
        if not gs:
            return None
        if self.selected is not None and gs[self.selected].mahalanobis(p)[0] <= limit:
            return self.selected
        if len(gs) > 2000:
            return None
        d = np.array([g.mahalanobis(p)[0] for g in gs])
        i = int(np.argmin(d))
        return i if d[i] <= limit else None

    @staticmethod
    def _circle(c, r, n=64):
        t = np.linspace(0, 2 * math.pi, n)
        return c[0] + r * np.cos(t), c[1] + r * np.sin(t)

    @staticmethod
    def _ellipses(gs) -> tuple[np.ndarray, np.ndarray]:
        """2-sigma ellipses of all Gaussians as one NaN-separated polyline (one item, any count)."""
        if not gs:
            return np.zeros(0), np.zeros(0)
        t = np.append(np.linspace(0, 2 * math.pi, ELLIPSE_SEGMENTS + 1), np.nan)
        unit = np.stack([np.cos(t), np.sin(t)], 1)                            # (T, 2)
        means = np.array([g.mean for g in gs])
        chol = np.linalg.cholesky(np.array([g.cov for g in gs]))              # x = m + 2 L z, |z| = 1
        xy = means[:, None, :] + 2 * np.einsum("kij,tj->kti", chol, unit)
        xy = xy.reshape(-1, 2)
        return xy[:, 0], xy[:, 1]

    # ===================================================================== drawing
    def refresh_overlay(self) -> None:
        """Points, ellipses and handles from the document (cheap: called on every drag move)."""
        if not self.edit_mode:
            return
        pts = self.doc.points
        self.points_item.setData(pos=pts if len(pts) else np.zeros((0, 2)))
        gs = self.doc.gaussians
        self.ellipse_item.setData(*self._ellipses(gs))
        if self.selected is not None and self.selected < len(gs):
            sel = gs[self.selected]
            x, y = self._ellipses([sel])
            hs = self.handles(self.selected)
            tip, base = hs[5].pos, hs[1].pos           # a stalk from the major axis end to the rotation handle
            x = np.concatenate([x, [base[0], tip[0]]])
            y = np.concatenate([y, [base[1], tip[1]]])
            self.selected_item.setData(x, y)
        else:
            self.selected_item.setData([], [])
        spots = []
        style = {"centre": ("o", 10, (255, 255, 255)), "axis": ("s", 8, (110, 210, 255)),
                 "rotate": ("o", 9, (255, 120, 200))}
        for i in self._with_handles():
            for h in self.handles(i):
                sym, size, rgb = style[h.kind]
                if i == self.selected and h.kind != "rotate":
                    rgb = (255, 230, 70)
                if h.kind == "rotate" and i != self.selected:
                    continue
                spots.append({"pos": tuple(h.pos), "symbol": sym, "size": size,
                              "brush": pg.mkBrush(*rgb), "pen": pg.mkPen((20, 20, 20), width=1)})
        self.handle_item.setData(spots)

    def _set_spin(self, spin, value: float) -> None:
        spin.blockSignals(True)
        spin.setValue(value)
        spin.blockSignals(False)

    def _sync_widgets(self) -> None:
        on = self.edit_mode
        sel = on and self.selected is not None and self.selected < len(self.doc.gaussians)
        self.weight_spin.setEnabled(bool(sel))
        self.bandwidth_spin.setEnabled(on)            # it edits the drawing, so only while editing
        if sel:
            self._set_spin(self.weight_spin, self.doc.gaussians[self.selected].weight)
        self.delete_button.setEnabled(bool(sel))
        self.actions["delete"].setEnabled(bool(sel))
        self.clear_button.setEnabled(not (on and self.doc.is_empty))
        ours = self._ours()
        for key, button, ok in (("undo", self.undo_button, self.doc.can_undo),
                                ("redo", self.redo_button, self.doc.can_redo)):
            button.setEnabled(bool(ours and ok))
            self.actions[key].setEnabled(bool(ours and ok))


def install(state, services, ui) -> "TargetEditor":
    return TargetEditor(state, services, ui)
