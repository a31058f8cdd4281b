"""Edit mode on the particle view: draw the target with a brush, erase it, place and shape Gaussians.

The drawing itself is a `SketchDocument` (GUI-free, with undo); this module only turns mouse and
key events into document edits and draws the overlay (points, 2-sigma ellipses, handles). A drag
updates the overlay only; a completed edit repaints the target density at once and the compiled
target follows off the GUI thread (edit_preview), handed on as a warm start, so training keeps
going from its current weights.

Mouse events are filtered on the PlotWidget and its viewport and consumed while editing (no pan or
zoom); the pressed state is tracked here, as a synthetic move may carry no buttons.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from playground.formats.brush import BrushStroke
from playground.formats.drawing import MAX_SKETCH_POINTS, SketchDocument
from playground.app.features.editing.edit_preview import EditApplier
from playground.app.features.editing.edit_section import EditSection, set_quietly
from playground.app.features.editing.edit_geometry import (Drag, Handle, circle, drag_gaussian, gaussian_under, handles, hit_test, press_gaussian,
                            with_handles)
from playground.app.features.editing.edit_overlay import EditOverlay, view_px
from playground.app.core.errors import reported

WHEEL_STEP = 1.15           # weight factor per wheel notch
PRESET_KEY = "sketch"
PRESET_NAME = "Sketch"

_MOUSE = {QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
          QEvent.Type.MouseButtonRelease, QEvent.Type.Wheel}


def _reported(fn):
    """Run an editor slot; show any exception in the window's banner instead of raising."""
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        with reported("edit", self.ui.error):     # user input must never crash the event loop
            return fn(self, *args, **kwargs)
        return None
    return wrapper


class TargetEditor(QObject):
    """The "Draw / edit" section, Edit-menu actions and the particle-view editing logic."""

    def __init__(self, state, services, ui):
        super().__init__(services)          # lives and dies with the window
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
        self.applier = EditApplier(services, self.view, PRESET_NAME, self)
        self.applier.compiled.connect(self._on_compiled)
        self.applier.failed.connect(lambda msg: self.ui.show_message(f"edit: {msg}", error=True))
        ui.filter_events(self, self.view, self.view.viewport())
        state.presetChanged.connect(lambda *_: self._on_preset_switched())
        services.parts.register("target_editor", self.box.get_state, self.box.set_state)
        self._sync_widgets()

    # ===================================================================== construction
    def _build_section(self) -> None:
        sec = EditSection()
        for name in ("edit_button", "tool_group", "tool_buttons", "radius_spin", "density_spin", "bandwidth_spin",
                     "weight_spin", "delete_button", "clear_button", "undo_button", "redo_button"):
            setattr(self, name, getattr(sec, name))
        self.edit_button.toggled.connect(self.set_edit_mode)
        self.bandwidth_spin.valueChanged.connect(self._on_bandwidth)
        self.weight_spin.valueChanged.connect(self._on_weight)
        self.delete_button.clicked.connect(lambda *_: self.delete_selected())
        self.clear_button.clicked.connect(lambda *_: self.clear())
        self.undo_button.clicked.connect(lambda *_: self.undo())
        self.redo_button.clicked.connect(lambda *_: self.redo())
        self.box = sec
        self.ui.add_section(sec)

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
        self.overlay_items = EditOverlay()
        o = self.overlay_items
        self.overlay = o.items
        self.points_item, self.ellipse_item, self.selected_item, self.handle_item, self.brush_item = o.items
        for item in self.overlay:
            self.ui.add_overlay(item, "particles")

    # ===================================================================== state
    @property
    def edit_mode(self) -> bool:
        return self.edit_button.isChecked()

    @property
    def tool(self) -> str:
        return self.box.tool()

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
        set_quietly(self.bandwidth_spin, self.doc.bandwidth)

    def _on_preset_switched(self) -> None:
        """Another target picked while editing: edit that one from now on."""
        current = self.state.preset
        if current is not self.applied:
            self.applier.cancel()                 # a drawing still compiling must not replace it
        if self.edit_mode and current is not self.applied and current is not None:
            self._finish_drag()
            with reported("edit: cannot edit this target", self.ui.error) as outcome:
                self._load(current)
            if not outcome:
                return
            self.refresh_overlay()
            self._sync_widgets()

    # ===================================================================== edits
    def apply(self) -> None:
        """Show the edit now; the compiled drawing becomes the window's target when it is ready."""
        cur = self.state.preset        # a backdrop to redraw, or a blank one about to get one
        self.applier.submit(self.doc, preview=self.view.backdrop() is not None or cur is None or cur.is_empty)
        self.refresh_overlay()
        self._sync_widgets()

    def _on_compiled(self, preset) -> None:
        """The target changes, training continues (warm start)."""
        self.applied = preset
        self.services.presets.apply(preset, key=PRESET_KEY)
        if preset.is_empty:
            self.ui.show_message("The canvas is empty: draw points or place Gaussians to make a target "
                                     "(training and sampling need one)", error=True)
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
        with reported("edit", self.ui.error) as outcome:     # a bad event must not escape into Qt
            if et in _MOUSE:
                self._mouse(obj, event)
                return True
            if et == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.delete_selected()
                return True
            if et == QEvent.Type.Leave:
                self.brush_item.setVisible(False)
        if not outcome:
            self.drag = None
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
                self._drag_to(p, refresh=False)       # _finish_drag redraws the overlay
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
        drag = press_gaussian(self.doc, self.hit_test(p), p)
        self.selected = drag.index
        return drag

    def _drag_to(self, p: np.ndarray, refresh: bool = True) -> None:
        d = self.drag
        if d.kind == "brush":
            d.stroke.to(p)
        elif d.kind == "erase":
            r = self.radius_spin.value()
            n = max(1, int(math.ceil(np.linalg.norm(p - d.last) / (0.5 * r))))
            for t in np.linspace(0, 1, n + 1)[1:]:           # no gaps when the mouse jumps
                self.doc.erase(d.last + t * (p - d.last), r)
            d.last = p
        else:
            drag_gaussian(self.doc, d, p)
        if refresh:
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
            self.brush_item.setData(*circle(p, self.radius_spin.value()))
            self.brush_item.setVisible(True)
            return
        self.brush_item.setVisible(False)
        hit = self.hit_test(p)
        shape = {None: Qt.CursorShape.CrossCursor, "centre": Qt.CursorShape.SizeAllCursor,
                 "axis": Qt.CursorShape.SizeHorCursor, "rotate": Qt.CursorShape.PointingHandCursor}
        self.view.viewport().setCursor(shape[None if hit is None else hit.kind])

    # ===================================================================== geometry
    def _px(self) -> float:
        return view_px(self.vb)

    def _with_handles(self) -> list[int]:
        return with_handles(self.doc, self.selected)

    def handles(self, i: int) -> list[Handle]:
        return handles(self.doc, i, self._px())

    def hit_test(self, p: np.ndarray) -> Handle | None:
        return hit_test(self.doc, self.selected, p, self._px())

    def _gaussian_under(self, p: np.ndarray, limit: float) -> int | None:
        return gaussian_under(self.doc, self.selected, p, limit)

    # ===================================================================== drawing
    def refresh_overlay(self) -> None:
        """Points, ellipses and handles from the document (cheap: called on every drag move)."""
        if self.edit_mode:
            self.overlay_items.draw(self.doc, self.selected, self._with_handles(), self._px())

    def _sync_widgets(self) -> None:
        on = self.edit_mode
        sel = on and self.selected is not None and self.selected < len(self.doc.gaussians)
        self.weight_spin.setEnabled(bool(sel))
        self.bandwidth_spin.setEnabled(on)            # it edits the drawing, so only while editing
        if sel:
            set_quietly(self.weight_spin, self.doc.gaussians[self.selected].weight)
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
