"""Where the docks go, how much room a view gets when it comes to the front, and the layout a user
made, remembered between runs.

The default: Controls on the left, full height; the particles in the middle, full height; on the
right one tab group, the score field in front and every analysis view behind it (training loss,
metrics, flow in time, Compare ...). A view brought to the front of that group gets at least its
share of the width beside the particles (Compare, with up to four plots, gets more). There is no
strip under the particles: at 1366×768 such a strip left 108 px for its plots.

`layout.json` in the state folder keeps Qt's dock state and which control sections are open; a
file that cannot be read, or one from another version, is ignored (the default stays, one note in
the status bar). View > Reset layout replays the default.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QTabBar

from playground.formats.io_utils import atomic_write_text

LAYOUT_VERSION = 4           # bump when the default changes: an older saved layout is then ignored
LAYOUT_FILE = "layout.json"
VIEW_SHARE = 0.5             # of the width right of the controls, for a view in front of the right group
WIDE_SHARE = 0.64            # for views with several plots side by side (Compare)
MIN_PARTICLE_SHARE = 0.4     # the particles keep at least this much of it beside any other view
AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical


@dataclass
class Placement:
    dock: QDockWidget
    area: str                  # "left", "right" or "bottom"
    tab_with: str | None       # a dock name: tabbed behind it
    split_from: str | None     # a dock name: beside it (right of it, or below it for "left")
    share: float               # room when shown: of the width beside the particles (right group), of the
                               # column's height (a dock split below another on the left); 0: none
    shown: bool                # visible in the default layout


def make_dock(window, title: str, widget, name: str) -> QDockWidget:
    """One of the window's own docks (features make theirs through UiHost)."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    return dock


class WholeTabTitles(QObject):
    """Tab bars of dock groups show whole titles and scroll: Qt's default elides fourteen titles
    beside the particles to "S…", "T…", which says nothing. The window makes its tab bars as
    groups form (and sets their elide mode itself), so they are set up once the window has
    finished adding children."""

    def __init__(self, window):
        super().__init__(window)
        self._window, self._due = window, False
        window.installEventFilter(self)

    def restyle(self) -> None:
        self._due = False
        for bar in self._window.findChildren(QTabBar):
            if bar.elideMode() != Qt.TextElideMode.ElideNone:
                bar.setElideMode(Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.ChildAdded and not self._due:
            self._due = True
            QTimer.singleShot(0, self.restyle)
        return False


class DockLayout:
    """The window's docks by name, their default places and the room they get."""

    def __init__(self, window, state_dir):
        self._window = window
        self._state_dir = state_dir          # a callable returning the folder (tests move it)
        self.places: dict[str, Placement] = {}
        self.sections: dict = {}             # objectName -> a collapsible Section (controls)
        self._saved_sections: dict = {}      # open or not, as saved: sections added later follow it
        self._default_front = "field"
        self._front: str | None = None       # the right group's view last brought to the front
        self.restored = False                # a saved layout was applied (its widths stand)
        self._tabs = WholeTabTitles(window)

    # ----- building -------------------------------------------------------------------------------
    def place(self, name: str, dock: QDockWidget, area: str = "right", tab_with: str | None = None,
              split_from: str | None = None, share: float = 0.0, shown: bool = True) -> None:
        """Put a dock at its default place now and remember the place for Reset layout."""
        self.places[name] = Placement(dock, area, tab_with, split_from, share, shown)
        self._put(self.places[name])
        if share:
            dock.visibilityChanged.connect(lambda on, n=name: on and self._to_front(n))
        self._window.restoreDockWidget(dock)     # a dock added after restore_saved: its saved place

    def _put(self, p: Placement) -> None:
        w = self._window
        p.dock.setFloating(False)
        w.addDockWidget(AREAS[p.area], p.dock)
        if p.split_from in self.places:
            w.splitDockWidget(self.places[p.split_from].dock, p.dock, V if p.area == "left" else H)
        if p.tab_with in self.places:
            w.tabifyDockWidget(self.places[p.tab_with].dock, p.dock)
        p.dock.setVisible(p.shown)

    def add_section(self, name: str, section) -> None:
        """A collapsible section of the controls: open or closed as it was saved."""
        self.sections[name] = section
        if isinstance(self._saved_sections.get(name), bool):
            section.set_open(self._saved_sections[name])

    def arrange_default(self) -> None:
        """Every dock back at its default place, the score field in front, default widths, the
        sections open or closed as they start."""
        for p in self.places.values():       # out first: re-adding a dock where it already sits in a
            self._window.removeDockWidget(p.dock)   # tab group left stray tab bars over other docks
        for p in self.places.values():
            self._put(p)
        front = self.places.get(self._default_front)
        if front is not None:
            front.dock.raise_()
        for section in self.sections.values():
            section.set_open(section.default_open)
        self._front = None
        QTimer.singleShot(0, self._window, self.fit_widths)    # once the docks are laid out again

    def fit_widths(self) -> None:
        """Particles and the right group share the width beside the controls evenly."""
        w, places = self._window, self.places
        if not {"particle", "field", "controls"} <= places.keys():
            return
        rest = max(400, w.width() - places["controls"].dock.width())
        w.resizeDocks([places["particle"].dock, places["field"].dock], [rest // 2, rest - rest // 2], H)
        if self._front in places:           # a view brought forward before this keeps its room
            self.make_room(self._front)

    # ----- room for the view in front ---------------------------------------------------------------
    def _to_front(self, name: str) -> None:
        self._front = name
        QTimer.singleShot(0, self._window, lambda: self.make_room(name))   # once the raised tab is laid out

    def make_room(self, name: str) -> None:
        """The dock `name`, just brought to the front beside the particles, gets at least its share of
        the width they have together, and the particles keep MIN_PARTICLE_SHARE of it (between the
        two, a width the user chose stays). Elsewhere (floating, moved by the user to another area)
        it is left as it is."""
        p, top = self.places.get(name), self.places.get("particle")
        w = self._window
        if p is not None and p.area == "left" and p.split_from in self.places:
            self._room_below(p, self.places[p.split_from].dock)
            return
        if p is None or top is None or not w.isVisible() or p.dock.isFloating() or not top.dock.isVisible():
            return
        beside = self.places.get("field")
        if beside is None or (p is not beside and beside.dock not in w.tabifiedDockWidgets(p.dock)):
            return                          # moved out of the group beside the particles
        total = top.dock.width() + p.dock.width()
        lo, hi = p.share * total, max(p.share, 1 - MIN_PARTICLE_SHARE) * total
        want = int(min(max(p.dock.width(), lo), hi))
        if abs(p.dock.width() - want) > 4:
            w.resizeDocks([top.dock, p.dock], [total - want, want], H)

    def _room_below(self, p: Placement, above: QDockWidget) -> None:
        """A dock split off below another in the left column (the tour panel under the controls) gets
        at least its share of their height while it is shown."""
        w = self._window
        if not w.isVisible() or p.dock.isFloating() or w.dockWidgetArea(p.dock) != AREAS["left"]:
            return
        total = above.height() + p.dock.height()
        want = int(p.share * total)
        if p.dock.height() < want - 4:
            w.resizeDocks([above, p.dock], [total - want, want], V)

    # ----- remembered between runs ------------------------------------------------------------------
    def _path(self):
        return self._state_dir() / LAYOUT_FILE

    def save(self) -> None:
        """Write the layout (called on close); a folder that cannot be written costs nothing. Docks
        hidden by default (the tour panel) are saved hidden: the next start has no tour running."""
        for p in self.places.values():
            if not p.shown:
                p.dock.hide()
        data = {"version": LAYOUT_VERSION,
                "docks": base64.b64encode(bytes(self._window.saveState(LAYOUT_VERSION))).decode("ascii"),
                "sections": {name: s.is_open() for name, s in self.sections.items()}}
        try:
            atomic_write_text(self._path(), json.dumps(data))
        except OSError:
            pass

    def restore_saved(self) -> str | None:
        """Apply the saved layout. Returns None when there was none or it applied, else one sentence
        saying it was ignored (the default stays)."""
        try:
            path = self._path()
            if not path.exists():
                return None
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or data.get("version") != LAYOUT_VERSION:
                return "the saved window layout is from another version: the default layout is used"
            docks = QByteArray(base64.b64decode(str(data.get("docks", "")), validate=True))
            sections = data.get("sections", {})
            if not isinstance(sections, dict):
                raise ValueError("sections")
        except (OSError, ValueError, TypeError):        # json and base64 errors are ValueErrors
            return "the saved window layout could not be read: the default layout is used"
        if not self._window.restoreState(docks, LAYOUT_VERSION):
            self.arrange_default()
            return "the saved window layout could not be applied: the default layout is used"
        self._saved_sections = sections
        self.restored = True
        for name, on in sections.items():
            if name in self.sections and isinstance(on, bool):
                self.sections[name].set_open(on)
        return None

    def add_reset_action(self, menu) -> None:
        """View > Reset layout."""
        action = menu.addAction("Reset layout", self.reset)
        action.setObjectName("resetLayoutAction")
        action.setToolTip("Every panel back at its default place and size, the control sections as they start")
        action.setStatusTip(action.toolTip())
        menu.addSeparator()

    def reset(self) -> None:
        """View > Reset layout: the default, and the saved layout forgotten."""
        self.arrange_default()
        try:
            self._path().unlink(missing_ok=True)
        except OSError:
            pass
