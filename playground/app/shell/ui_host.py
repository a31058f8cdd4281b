"""UiHost: the part of the window a feature may use to put itself on screen.

A feature adds controls sections, menu actions, docks/tabs and overlays here and shows messages;
it never holds the window itself. Docks can be lazy: their contents are built by a factory the
first time the dock is shown (or asked for), so hidden tabs cost nothing at start-up.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QLabel, QScrollArea, QWidget


from playground.app.shell.dock_layout import VIEW_SHARE, WIDE_SHARE


class Fill(QWidget):
    """A panel's holder inside its dock's scroll area, without height-for-width. A scroll area lays
    out a height-for-width panel (any word-wrapped label) at its *preferred* height, so its plots
    were drawn 480 px tall in a 300 px tab and scrolled; held here, the panel fills the tab and
    only scrolls below its minimum size."""

    def __init__(self, panel: QWidget):
        super().__init__()
        self.panel = panel
        panel.setParent(self)

    def sizeHint(self):
        return self.panel.sizeHint()

    def minimumSizeHint(self):
        return self.panel.minimumSizeHint().expandedTo(self.panel.minimumSize())

    def resizeEvent(self, event) -> None:
        self.panel.setGeometry(self.rect())


class DockHandle:
    """A feature's dock; `widget()` builds lazy contents on first use."""

    def __init__(self, dock: QDockWidget, factory, lazy: bool):
        self.dock, self._factory, self._widget = dock, factory, None
        if lazy:
            dock.setWidget(QLabel("…"))
            dock.visibilityChanged.connect(self._on_visible)
        else:
            self.widget()

    def widget(self) -> QWidget:
        if self._widget is None:
            self._widget = self._factory()
            # In a scroll area, so no feature's contents can force the whole window's minimum size.
            scroll = QScrollArea()
            scroll.setWidget(Fill(self._widget))
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            self.dock.setWidget(scroll)
        return self._widget

    def built(self) -> bool:
        return self._widget is not None

    def _on_visible(self, visible: bool) -> None:
        if visible:
            self.widget()

    def raise_(self) -> None:
        self.dock.raise_()


class UiHost:
    def __init__(self, window, controls, menus: dict, banner, views: dict, layout):
        self._window = window            # a QMainWindow: parent of docks, dialogs and toolbars
        self._controls = controls
        self._menus = menus
        self._banner = banner
        self._layout = layout            # shell/dock_layout.DockLayout: places, room, saved layout
        self.views = dict(views)         # "particles" / "field" / "loss": the pyqtgraph PlotWidgets
        self.docks: dict[str, QDockWidget] = {name: p.dock for name, p in layout.places.items()}
        self._filters: list = []             # (widget, filter) pairs installed through filter_events
        for section in controls.sections:
            layout.add_section(section.objectName(), section)
        self._handles: dict[str, DockHandle] = {}
        self._on_banner_link = None
        banner.linkActivated.connect(lambda link: self._on_banner_link and self._on_banner_link(link))

    # ----- messages --------------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        """Status bar plus the non-modal banner above the particles (never a dialog)."""
        self._banner.show_text(text, error)
        self._window.statusBar().showMessage(text, 15000)

    def error(self, text: str) -> None:
        """One error line in the banner (what errors.reported calls)."""
        self.show_message(text, True)

    def hide_message(self) -> None:
        self._banner.setVisible(False)

    def show_offer(self, html: str, on_link) -> None:
        """An information line with links in the banner; clicking one calls on_link(href)."""
        self._on_banner_link = on_link
        self._banner.show_text(html, False)

    def status(self, text: str, ms: int = 8000) -> None:
        self._window.statusBar().showMessage(text, ms)

    # ----- controls, menus, docks --------------------------------------------------------------------
    def add_section(self, widget: QWidget, first: bool = False, open_: bool = True) -> None:
        """A group box in the controls panel (editing, guidance ...), in a section that folds away; with
        the everyday controls if `first`. The window remembers whether it is open."""
        section = self._controls.add_section(widget, first=first, open_=open_)
        self._layout.add_section(section.objectName(), section)

    def menu(self, key: str):
        """The "file", "edit", "view" or "tools" menu."""
        return self._menus[key]

    def add_action(self, menu: str, text: str, name: str, tip: str, fn, shortcut=None) -> QAction:
        """A menu entry with its objectName, tooltip and status-bar tip; triggering it calls fn()."""
        act = QAction(text, self._window)
        act.setObjectName(name)
        act.setToolTip(tip)
        act.setStatusTip(tip)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.triggered.connect(lambda *_: fn())
        self._menus[menu].addAction(act)
        return act

    def add_menu(self, parent: str, key: str, title: str):
        """A submenu of menu `parent`, reachable as menu(key) and add_action(key, ...)."""
        menu = self._menus[parent].addMenu(title)
        menu.setToolTipsVisible(True)
        self._menus[key] = menu
        return menu

    def add_menubar_menu(self, key: str, title: str, name: str):
        """A menu of its own on the menu bar (after Tools), reachable as menu(key)."""
        menu = self._window.menuBar().addMenu(title)
        menu.setObjectName(name)
        menu.setToolTipsVisible(True)
        self._menus[key] = menu
        return menu

    def add_dock(self, name: str, title: str, factory, area: str = "right", tabify_with: str | None = None,
                 lazy: bool = False, front: bool = False, shown: bool = True, below: str | None = None,
                 share: float = 0.0) -> DockHandle:
        """A dock (listed in the View menu) whose contents come from factory(); tabbed behind the dock
        named `tabify_with` ("particle", "field", "loss" or a feature dock), in front only if asked,
        or split off below the dock named `below` ("controls": the left column), taking `share` of the
        column's height whenever it is shown."""
        dock = QDockWidget(title, self._window)
        dock.setObjectName(f"{name}Dock")
        handle = DockHandle(dock, factory, lazy)
        self._handles[name] = handle
        self._layout.place(name, dock, area, tab_with=tabify_with, split_from=below, shown=shown, share=share)
        if tabify_with is not None and not front:
            self.docks[tabify_with].raise_()
        self._menus["view"].addAction(dock.toggleViewAction())
        self.docks[name] = dock
        return handle

    def add_tab(self, name: str, title: str, factory, lazy: bool = True, wide: bool = False) -> DockHandle:
        """An analysis view in the tab group beside the particles, built when first shown; brought to
        the front, it gets at least half the width right of the controls (`wide`: more, for views of
        several plots side by side)."""
        return self.add_dock(name, title, factory, "right", tabify_with="field", lazy=lazy,
                             share=WIDE_SHARE if wide else VIEW_SHARE)

    def show_dock(self, name: str) -> bool:
        """Show and raise the dock of that name (a link in a panel's text); False when there is none."""
        dock = self.docks.get(name)
        if dock is None:
            return False
        dock.show()
        dock.raise_()
        return True

    def find(self, name: str):
        """The widget, dock or action of that objectName anywhere in the window (lazy docks are built
        first when it is not found), or None: how a guided tour reaches what it talks about."""
        found = self._find(name)
        if found is None:
            for handle in self._handles.values():
                if not handle.built():
                    handle.widget()
            found = self._find(name)
        return found

    def _find(self, name: str):
        from PySide6.QtCore import QObject
        hits = [o for o in self._window.findChildren(QObject, name) if isinstance(o, (QWidget, QAction))]
        return hits[0] if hits else None

    def link_label(self, html: str, name: str):
        """A label whose links (<a href="dockName">) show that dock: how one panel points to another."""
        label = QLabel(html, objectName=name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.linkActivated.connect(self.show_dock)
        return label

    def add_overlay(self, item, view: str = "particles") -> None:
        """A pyqtgraph item drawn on the particle (or field) view, in data coordinates."""
        self.views[view].addItem(item)

    def add_toolbar(self, bar) -> None:
        self._window.addToolBar(bar)

    def accept_drops(self, event_filter) -> None:
        """Drops on the window reach event_filter.eventFilter (file imports)."""
        self._window.setAcceptDrops(True)
        self.filter_events(event_filter, self._window)

    def filter_events(self, event_filter, *widgets) -> None:
        """event_filter.eventFilter sees the widgets' events until the window closes (release_filters)."""
        for widget in widgets:
            widget.installEventFilter(event_filter)
            self._filters.append((widget, event_filter))

    def release_filters(self) -> None:
        """On close: Python filters stop seeing events, so none runs while Qt destroys the widgets at
        exit (a filter that raises then, its objects half gone, crashes shiboken: found by the monkey)."""
        for widget, event_filter in self._filters:
            widget.removeEventFilter(event_filter)
        self._filters.clear()

    def dialog_parent(self) -> QWidget:
        return self._window

    def plots(self) -> list:
        """Every pyqtgraph PlotWidget in the window (exports)."""
        import pyqtgraph as pg
        return self._window.findChildren(pg.PlotWidget)
