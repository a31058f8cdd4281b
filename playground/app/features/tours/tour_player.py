"""Guided tours in the window: the Tours menu, the tour panel, and the player that walks the stops.

A stop is rebuilt from the tour file alone (formats/tour_files.py: setups add up from stop 1), so
Back shows exactly what the previous stop showed. The run a stop shows comes from the last stop at or
before it that acts; it is run again only when what is on screen is not that run. Work goes step by
step (target, model, settings, widgets, actions, frame), each step waiting until every background
job it started has finished (services.busy), so a press of Next mid-way simply starts the next stop.
Closing, at any stop, gives back the window as it was (window_memory.py).
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QDockWidget

from playground.formats.session import state_dir
from playground.formats.settings import Settings
from playground.formats.tour_files import TOUR_SETTINGS, TourError, read_tour, read_tour_model, tour_names
from playground.learning.trainer import TrainConfig
from playground.maths.sources import ExactSource
from playground.app.core.errors import Refusal, reported
from playground.app.features.tours import widget_values
from playground.app.features.tours.highlight import Highlight
from playground.app.features.tours.tour_panel import TourPanel
from playground.app.features.tours.window_memory import WindowMemory

POLL_MS = 40
SETTLE_S = 0.2                 # after widgets change: debounced panels (the forward view: 150 ms) catch up
STEP_LIMIT_S = 60.0            # a step whose job never reports is given up on, never waited for forever
OFFER_MARK = "tours-offered"   # in the state folder: the first-run banner offers the first tour once


PANEL_SHARE = 0.45         # of the left column's height: the whole stop text and its buttons on a laptop


def place_panel(ui, factory):
    """The tour panel's dock: on the left, under the controls (the one place that says where)."""
    handle = ui.add_dock("tour", "Tour", factory, area="left", below="controls", shown=False, share=PANEL_SHARE)
    handle.dock.setObjectName("tourPanel")
    handle.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                            | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    return handle.dock


class TourPlayer(QObject):
    stopReady = Signal(int)          # 0-based index of the stop whose window is now set up
    closed = Signal()

    def __init__(self, state, services, ui):
        super().__init__(services)
        self.state, self.services, self.ui = state, services, ui
        self.tours = {}
        for name in tour_names():
            with reported(f"tour {name}", ui.error):
                self.tours[name] = read_tour(name)
        self.tour = None
        self.index = -1
        self.ready = False
        self.memory: WindowMemory | None = None
        self.stop_seconds: list[float] = []
        self._token = 0
        self._queue: list = []
        self._ran = None                   # index of the stop whose actions made the run on screen
        self._run = None                   # that run
        self._model = "original"
        self._picked = -1
        self._step_began = self._stop_began = self._hold = 0.0
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self._poll)
        self.panel = TourPanel()
        self.dock = place_panel(ui, lambda: self.panel)
        self.highlight = Highlight(ui.dialog_parent())
        self.panel.next.clicked.connect(lambda *_: self.next())
        self.panel.back.clicked.connect(lambda *_: self.back())
        self.panel.close.clicked.connect(lambda *_: self.close())
        ui.add_menubar_menu("tours", "T&ours", "toursMenu")
        for name, tour in self.tours.items():
            ui.add_action("tours", tour.title, f"tour_{name}", f"Guided tour ({len(tour.stops)} stops): {tour.title}",
                          lambda n=name: self.start_guarded(n))
        state.runChanged.connect(self._on_run)
        services.on_shutdown(self.shutdown)

    # ----- starting and checking ------------------------------------------------------------------------
    def widgets(self, tour) -> dict:
        """objectName -> widget for every name the tour uses; Refusal naming the first problem."""
        found = {}
        for i, stop in enumerate(tour.stops, 1):
            where = f"tour {tour.name}, stop {i}"
            clicks = [a["click"] for a in stop.act if isinstance(a, dict)]
            for name in [*stop.widgets, *stop.after, *clicks, *([stop.highlight] if stop.highlight else [])]:
                if name not in found:
                    found[name] = self.ui.find(name)
                if found[name] is None:
                    raise Refusal(f"{where}: no widget or action named {name!r} in this window")
            for name, value in list(stop.widgets.items()) + list(stop.after.items()):
                why = widget_values.problem(found[name], value)
                if why:
                    raise Refusal(f"{where}: {name} {why}")
            for a in stop.act:
                if isinstance(a, dict) and not widget_values.pressable(found[a["click"]]):
                    raise Refusal(f"{where}: {a['click']} is not a button or an action")
            if stop.show is not None and stop.show not in self.ui.docks:
                raise Refusal(f"{where}: no dock named {stop.show!r} (docks: {', '.join(self.ui.docks)})")
        return found

    def start_guarded(self, name: str) -> bool:
        with reported("tour", self.ui.error) as outcome:
            self.start(name)
        return not outcome.failed

    def start(self, name: str) -> None:
        """Play tour `name` from its first stop (a tour already playing is closed first)."""
        if name not in self.tours:
            raise Refusal(f"unknown tour {name!r}")
        if self.tour is not None:
            self.close()
        tour = self.tours[name]
        found = self.widgets(tour)
        self.memory = WindowMemory(self.state, self.services, self.ui, {n: found[n] for n in tour.set_names()})
        self.tour, self._ran, self._run, self._model = tour, None, None, "original"
        self.stop_seconds = []
        self.dock.show()
        self.dock.raise_()
        self.ui.hide_message()
        self.go(0)

    @property
    def playing(self) -> bool:
        return self.tour is not None

    # ----- moving -------------------------------------------------------------------------------------------
    def next(self) -> None:
        if self.tour is not None and self.index < len(self.tour.stops) - 1:
            self._picked = self.panel.chosen()
            self.go(self.index + 1)

    def back(self) -> None:
        if self.tour is not None and self.index > 0:
            self._picked = -1
            self.go(self.index - 1)

    def go(self, k: int) -> None:
        """Show stop k: its words at once, then its window, one step at a time."""
        tour = self.tour
        self._token += 1
        self.index, self.ready = k, False
        stop = tour.stops[k]
        self.panel.show_stop(tour.title, k + 1, len(tour.stops), stop.text, self._answer(k))
        q = stop.question
        self.panel.ask(q.prompt if q else "", q.choices if q else ())
        self.panel.set_preparing(True)
        self.highlight.stop()
        self.services.sampling.cancel()
        self.services.sampling.cancel_compare()
        src = max((i for i in range(k + 1) if tour.stops[i].act), default=None)
        steps = []                # (what to do, seconds to let the panels' own timers follow at least)
        if src is not None and (self._ran != src or self.state.run is not self._run):
            steps.append((lambda: self._setup(src), SETTLE_S))
            steps += [(lambda a=a: self._act(a), 0.0) for a in tour.stops[src].act]
            steps.append((lambda: self._mark_run(src), 0.0))
        steps += [(lambda: self._setup(k), SETTLE_S), (lambda: self._after(stop), SETTLE_S),
                  (lambda: self._frame(stop), SETTLE_S), (lambda: self._done(k), 0.0)]
        self._queue = steps
        self._stop_began = time.perf_counter()
        self._next_step(self._token)

    def _answer(self, k: int) -> str:
        q = self.tour.stops[k - 1].question if k > 0 else None
        if q is None:
            return ""
        right = q.choices[q.answer]
        if self._picked < 0:
            return f"Answer: {right}"
        verdict = "right" if self._picked == q.answer else "not quite"
        return f"You picked “{q.choices[self._picked]}”: {verdict}. Answer: {right}"

    def _next_step(self, token: int) -> None:
        if token != self._token or not self._queue:
            return
        step, self._hold = self._queue.pop(0)
        with reported("tour", self.ui.error):
            step()
        if token != self._token:
            return
        self._step_began = time.perf_counter()
        self.poll.start()

    def _poll(self) -> None:
        waited = time.perf_counter() - self._step_began
        if (self.services.busy() or waited < self._hold) and waited < STEP_LIMIT_S:
            return
        self.poll.stop()
        self._next_step(self._token)

    # ----- what a stop does -----------------------------------------------------------------------------------
    def _effective(self, i: int) -> dict:
        """What stop i's setup is: the first stop's, then each later stop's changes on top."""
        base = Settings()
        setup = {"preset": None, "model": "original", "show": None,
                 "settings": {k: getattr(base, k) for k in TOUR_SETTINGS},
                 "widgets": {n: v for n, (_, v) in self.memory.widgets.items()}}
        for stop in self.tour.stops[:i + 1]:
            for key in ("preset", "model", "show"):
                if getattr(stop, key) is not None:
                    setup[key] = getattr(stop, key)
            setup["settings"].update(stop.settings)
            setup["widgets"].update(stop.widgets)
        return setup

    def _setup(self, i: int) -> None:
        setup = self._effective(i)
        if setup["preset"] != self.state.preset_key:
            self.services.presets.select(setup["preset"])
            self._model = None                 # a new target: the model is warm-started on it, no longer the tour's
        if setup["model"] != self._model:
            self._load_model(setup["model"])
        self.state.update_settings(origin="tour", **setup["settings"])
        for name, value in setup["widgets"].items():
            w = self.memory.widgets[name][0]
            widget_values.write(w, value)
        if setup["show"] is not None:
            self.ui.show_dock(setup["show"])

    def _load_model(self, name: str) -> None:
        model = self.services.model
        if name == "original":
            self.memory.restore_model()
            config = self.memory.config()
        else:
            data, trainer_state = read_tour_model(name)
            config = TrainConfig.from_dict(data)
            config.device = self.state.settings.device
            model.set_running(False)
            self.state.set_flags(conditional=config.conditional, dataset_size=config.dataset_size)
            model.reset()
            if not model.load_state(self.state.preset.target, config, trainer_state):
                raise Refusal(f"the tour's model {name} could not be loaded in time")
        if config is not None:
            self.state.update_settings(origin="tour", objective=config.model.objective, hidden=config.model.hidden)
        self._model = name

    def _act(self, action) -> None:
        if isinstance(action, dict):
            widget_values.press(self.ui.find(action["click"]))
        elif action == "sample":
            self.services.sampling.sample()
        elif action == "sample_exact":
            self.services.sampling.run(ExactSource(self.state.preset.target))

    def _on_run(self, run) -> None:
        """A run made while a stop is being set up is not played: the stop shows the frame it names."""
        if self.tour is not None and not self.ready and run is not None:
            self._pause()

    def _pause(self) -> None:
        play = self.ui.find("playButton")
        if play is not None:
            widget_values.write(play, False)

    def _mark_run(self, src: int) -> None:
        self._ran, self._run = src, self.state.run

    def _after(self, stop) -> None:
        for name, value in stop.after.items():
            widget_values.write(self.memory.widgets[name][0], value)

    def _frame(self, stop) -> None:
        run = self.state.run
        self._pause()
        if run is None or not len(run):
            return
        last, f = len(run) - 1, stop.frame
        i = {"first": 0, "last": last}.get(f) if isinstance(f, str) else (
            round(f["fraction"] * last) if isinstance(f, dict) else min(int(f), last))
        self.state.show_frame(i)

    def _done(self, k: int) -> None:
        stop = self.tour.stops[k]
        self.highlight.point_at(self.ui.find(stop.highlight) if stop.highlight else None)
        self.panel.set_preparing(False)
        self.ready = True
        seconds = time.perf_counter() - self._stop_began
        if len(self.stop_seconds) <= k:
            self.stop_seconds += [0.0] * (k + 1 - len(self.stop_seconds))
        self.stop_seconds[k] = seconds
        self.stopReady.emit(k)

    # ----- closing ----------------------------------------------------------------------------------------------
    def close(self) -> None:
        """End the tour at any stop: the window as it was before it."""
        if self.tour is None:
            return
        self._token += 1
        self._queue = []
        self.poll.stop()
        self.highlight.stop()
        self.tour, self.index, self.ready = None, -1, False
        memory, self.memory = self.memory, None
        memory.restore()
        self.dock.hide()
        self.closed.emit()

    def shutdown(self) -> None:
        self._token += 1
        self.poll.stop()
        self.highlight.stop()

    # ----- the first run ------------------------------------------------------------------------------------------
    def offer_first_tour(self) -> None:
        """On the very first start, the banner offers the first tour (once: a mark in the state folder)."""
        if not self.tours:
            return
        mark = Path(state_dir()) / OFFER_MARK
        if mark.exists():
            return
        name = next(iter(self.tours))
        self.ui.show_offer(f'New here? <a href="tour:{name}">Take a guided tour: {self.tours[name].title}</a> '
                           '(all tours are in the Tours menu)',
                           lambda link: link.startswith("tour:") and self.start_guarded(link[len("tour:"):]))
        try:
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.write_text("the first-run banner offered the first guided tour\n", encoding="utf-8")
        except OSError:
            pass                         # a read-only home: the offer comes again next time, nothing worse


def install(state, services, ui) -> TourPlayer:
    return TourPlayer(state, services, ui)        # the `gui` command calls offer_first_tour (shell/launch)


__all__ = ["TourPlayer", "TourError", "install"]
