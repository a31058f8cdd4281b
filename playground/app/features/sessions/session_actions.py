"""Sessions in the window: File > Save / Open session, autosave, and the offer to restore after a crash.

The file format and its validation live in formats/session.py (no Qt) and formats/settings.py.
Opening is all-or-nothing: the file is read and checked whole, then its settings against the
controls' ranges, its target and its trainer state, and only then is anything changed; a bad file
gives one message and leaves the current state as it was. The trainer is rebuilt in the training
worker's thread (services.model.load_state), and a save reads the trainer's state under the
worker's lock, so neither ever sees half an optimiser step. Autosaves are written by a TaskRunner.
"""
from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog

from playground.formats.presets import PresetError, builtin_names, load_preset
from playground.formats.session import (SUFFIX, Session, SessionError, autosave_path, read_session, session_json,
                                        split_trainer_state, state_dir, write_session)
from playground.formats import session_run
from playground.formats.session_run import pack_run
from playground.maths.samplers.record import Run
from playground.formats.settings import Settings, SettingsError
from playground.learning.trainer import TrainConfig
from playground.app.features.sessions.crash_recovery import RECOVERED_NAME, mark_closed, mark_running, previous_run_crashed, restore_bar
from playground.app.core.threads import wait_events
from playground.app.core.errors import Refusal, reported

__all__ = ["SessionManager", "install", "previous_run_crashed"]

AUTOSAVE_MS = 3 * 60 * 1000
AUTOSAVE_WAIT_S = 20
FILE_FILTER = f"Sessions (*{SUFFIX});;All files (*)"


class SessionManager(QObject):
    def __init__(self, state, services, ui):
        super().__init__(services)          # lives and dies with the window
        self.state, self.services, self.ui = state, services, ui
        self.runner = services.tasks("autosaveThread", self)
        self.runner.finished.connect(lambda *_: self._autosave_done(None))
        self.runner.failed.connect(self._autosave_done)
        self.runner.cancelled.connect(lambda: self._autosave_done("cancelled"))
        self._autosaving = False
        self.last_autosave_error: str | None = None
        self.token = uuid.uuid4().hex
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(lambda: self.autosave(wait=False))
        self.restore_bar = None
        self.recovered_path: Path | None = None

    # ----- what a session holds ------------------------------------------------------------------
    def snapshot(self) -> tuple[dict, dict, Run | None, list[str]]:
        """(session.json dict, weights dict, the run on screen (thinned to the size bound) or None,
        names of parts that could not be saved)."""
        preset = self.state.preset
        if preset is None:
            raise ValueError("nothing to save yet: no target")
        state = self.services.model.read_state()
        trainer, weights = split_trainer_state(state) if state is not None else (None, {})
        parts, skipped = {}, []
        for name, (get_state, _) in self.services.parts.items():
            with reported(name) as outcome:        # one broken panel must not lose the whole session
                parts[name] = json.loads(json.dumps(get_state()))     # JSON-able, and a copy
            if not outcome:
                skipped.append(name)
        settings = self.state.settings.to_json()
        run = pack_run(self.state.run)
        return session_json(preset, settings, trainer, parts, self.state.preset_key), weights, run, skipped

    # ----- save / open ----------------------------------------------------------------------------------
    def save(self, path) -> bool:
        path = Path(path)
        with reported(f"could not save the session to {path.name}", self.ui.error) as outcome:
            meta, weights, run, skipped = self.snapshot()
            write_session(path, meta, weights, run)         # atomic: the old file stays intact
        if not outcome:
            return False
        note = f" (could not save: {', '.join(skipped)})" if skipped else ""
        if run is not None and len(run) < run.total:
            note += (f"; the run keeps {len(run)} of its {run.total} frames, evenly spaced "
                     f"(at most {session_run.MAX_RUN_BYTES / 2**20:g} MB of frames)")
        self.ui.show_message(f"saved session {path.name}{note}", error=bool(skipped))
        return True

    def open(self, source) -> bool:
        """Restore a session file (or an already read Session); on any problem keep the current state."""
        if self.services.closed:
            return False
        with reported("could not open the session", self.ui.error) as outcome:
            try:
                session = source if isinstance(source, Session) else read_session(source)
                settings = Settings.from_json(session.settings, base=self.state.settings)
                config = TrainConfig.from_dict(session.trainer["config"]) if session.trainer else None
                if config is not None:   # the saved network's objective wins over an older settings block
                    settings = settings.with_(objective=config.model.objective)
            except (SessionError, SettingsError) as exc:
                raise Refusal(str(exc)) from None         # the checks' own sentence, whole
        if not outcome:
            return False
        name = Path(session.path).name if session.path else "session"
        with reported(f"could not fully restore {name}", self.ui.error) as outcome:
            self.services.model.set_running(False)
            self.state.replace_settings(settings.with_(preset=self.state.settings.preset), origin="session")
            self._apply_target(session)
            ignored = self._apply_parts(session.parts)
            self._load_trainer(session, config)
            if session.run is not None:
                self.services.sampling.restore(session.run)
        if not outcome:                            # the file was valid; a window-side failure is a message
            return False
        step = f" at step {session.trainer['step']}" if session.trainer else ""
        note = f"; ignored parts: {', '.join(ignored)}" if ignored else ""
        self.ui.show_message(f"opened {name}{step} (training paused){note}")
        return True

    def _apply_target(self, session: Session) -> None:
        key = session.preset_key
        if key and key in builtin_names():
            try:
                same = _normal(load_preset(key).to_json()) == _normal(session.preset.to_json())
            except PresetError:
                same = False
            if same:
                self.services.presets.select(key)
                return
        custom = key.split(":", 1)[1] if key and key.startswith("custom:") else "session"
        self.services.presets.apply(session.preset, key=custom)

    def _apply_parts(self, parts: dict) -> list[str]:
        ignored = []
        for name, state in parts.items():
            entry = self.services.parts.get(name)
            if entry is None:
                ignored.append(name)           # a panel this version does not have
                continue
            with reported("") as outcome:
                entry[1](state)
            if not outcome:
                ignored.append(f"{name} ({outcome.failed})")
        return ignored

    def _load_trainer(self, session: Session, config: TrainConfig | None) -> None:
        if not self.state.has_target():
            return
        model = self.services.model
        if config is not None:
            self.state.set_flags(dataset_size=config.dataset_size)
        model.reset()                          # a new generation: stale snapshots and losses are dropped
        state = session.trainer_state()
        if state is None:
            return
        state["losses"] = session.weights.get("losses")
        # Queued after the reset above, so the worker builds the fresh trainer and then loads this;
        # it returns once the weights are in place, so a caller can use the restored model at once.
        model.load_state(self.state.preset.target, config, state)

    # ----- autosave and crash recovery -----------------------------------------------------------------
    def autosave(self, wait: bool = True) -> bool:
        """Write the autosave file: the state is read here, the file written by the task runner."""
        if self._autosaving:
            if not wait:
                return False               # the previous one is still writing
            self._wait_autosave()
        with reported("") as outcome:
            meta, weights, run, _ = self.snapshot()
        if not outcome:
            self.last_autosave_error = outcome.failed
            return False
        path = autosave_path()
        self._autosaving = True
        self.runner.start(lambda progress, stop: write_session(path, meta, weights, run))
        if wait:
            self._wait_autosave()
            return self.last_autosave_error is None
        return True

    def _wait_autosave(self) -> None:
        """A close waits for the autosave, but never forever: a stuck disk must not hang the window."""
        if not wait_events(lambda: not self._autosaving or self.runner.closed, AUTOSAVE_WAIT_S):
            self.last_autosave_error = f"the autosave was still writing after {AUTOSAVE_WAIT_S} s"

    def _autosave_done(self, error) -> None:
        self._autosaving = False
        self.last_autosave_error = error   # a full disk must not take the window down: it is only noted

    def start(self) -> None:
        """On window start: offer the autosave if the last run crashed, then mark this one as running."""
        if previous_run_crashed() and autosave_path().is_file():
            try:
                self.recovered_path = state_dir() / RECOVERED_NAME     # later autosaves must not clobber it
                shutil.copy2(autosave_path(), self.recovered_path)
                self.restore_bar = restore_bar(self.recovered_path, self.restore_recovered, self.ui.dialog_parent())
                self.ui.add_toolbar(self.restore_bar)
            except OSError as exc:
                self.ui.show_message(f"could not keep the crashed session's autosave: {exc}", error=True)
        mark_running(self.token)
        self.timer.start()

    def shutdown(self) -> None:
        """A clean close: last autosave, then remove this window's marker. Never raises: it runs
        inside the window's shutdown, which must go on to stop the worker threads."""
        with reported("autosave on close"):        # e.g. widgets already deleted at interpreter exit
            self.timer.stop()
            self.autosave(wait=True)
        mark_closed(self.token)

    def restore_recovered(self) -> bool:
        if self.recovered_path is None:
            return False
        ok = self.open(self.recovered_path)
        if ok and self.restore_bar is not None:
            self.restore_bar.hide()
        return ok

    # ----- menu -----------------------------------------------------------------------------------------------
    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.ui.dialog_parent(), "Save session", f"playground{SUFFIX}",
                                              FILE_FILTER)
        if path:
            p = Path(path)
            self.save(p if p.suffix else p.with_suffix(SUFFIX))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.ui.dialog_parent(), "Open session", "", FILE_FILTER)
        if path:
            self.open(path)

    def open_autosave(self) -> None:
        path = self.recovered_path if self.recovered_path is not None else autosave_path()
        if not path.is_file():
            self.ui.show_message(f"no autosave yet ({path})", error=True)
            return
        self.open(path)


def _normal(obj):
    """JSON round trip: tuples become lists and ints stay ints, so two specs compare by value."""
    return json.loads(json.dumps(obj, sort_keys=True))


def install(state, services, ui) -> SessionManager:
    mgr = SessionManager(state, services, ui)
    ui.menu("file").setToolTipsVisible(True)
    for text, name, keys, tip, fn in (
            ("&Save session…", "saveSessionAction", QKeySequence("Ctrl+S"),
             "Save target, settings, weights, EMA, optimiser and panels to one file", mgr.save_dialog),
            ("&Open session…", "openSessionAction", QKeySequence("Ctrl+Shift+O"),
             "Open a saved session (training stays paused)", mgr.open_dialog),
            ("Open last &autosave", "openAutosaveAction", None,
             f"Open the session autosaved every {AUTOSAVE_MS // 60000} minutes and on close", mgr.open_autosave)):
        ui.add_action("file", text, name, tip, fn, keys)
    ui.menu("file").addSeparator()
    services.on_shutdown(mgr.shutdown)
    mgr.start()
    return mgr
