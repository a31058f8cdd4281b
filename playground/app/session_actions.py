"""Sessions in the window: File > Save / Open session, autosave, and the offer to restore after a crash.

The file format and all validation live in playground/session.py (no Qt); this module only
collects the window's state and puts a read session back. Opening reads and checks the whole
file first, so a bad file changes nothing. The trainer is rebuilt in the training worker's
thread (a queued slot), and its state is read under the worker's lock, so neither a save nor an
open ever sees half an optimiser step.

Crash detection: a marker file (pid + a per-window token) is written on start and removed on a
clean shutdown. A marker left by a process that is gone (or by a window of this process that
never shut down) means the last run ended unexpectedly: the window offers its autosave in a
non-modal bar.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QToolBar

from playground.formats.io_utils import atomic_write_text
from playground.formats.presets import PresetError, builtin_names, load_preset
from playground.formats.session import (SUFFIX, Session, SessionError, autosave_path, marker_path, read_session, session_json,
                       state_dir, write_session)
from playground.learning.trainer import TrainConfig
from .features import add_menu_action

AUTOSAVE_MS = 3 * 60 * 1000
LOAD_WAIT_S = 10.0
RECOVERED_NAME = f"recovered{SUFFIX}"
FILE_FILTER = f"Sessions (*{SUFFIX});;All files (*)"
# Controls that would rebuild or reconfigure the trainer when changed: set silently on open,
# because the session's own trainer state is loaded right after.
QUIET_SETTINGS = ("device", "hidden", "lr", "batch")

_LIVE_TOKENS: set[str] = set()       # windows of this process that have not shut down yet


class SessionManager(QObject):
    """window.sessions: save / open / autosave, and the restore offer."""

    _sigLoad = Signal(object, object, object, int)     # target, TrainConfig, state, generation -> worker

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._sigLoad.connect(window.train_worker.load_state)
        self._autosave_thread: threading.Thread | None = None
        self.last_autosave_error: str | None = None
        self.token = uuid.uuid4().hex
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(lambda: self.autosave(wait=False))
        self.restore_bar: QToolBar | None = None
        self.recovered_path: Path | None = None

    # ----- what a session holds ------------------------------------------------------------------
    def settings(self) -> dict:
        w, c = self.window, self.window.controls
        return {"preset": w.preset_combo.currentData(), "device": c.device.currentText(),
                "schedule": c.schedule.currentData(), "hidden": int(c.hidden.value()), "lr": float(c.lr.value()),
                "batch": int(c.batch.value()), "sampler": c.sampler.currentData(), "steps": int(c.steps.value()),
                "particles": int(c.particles.value()), "seed": int(c.seed.value()), "speed": int(c.speed.value()),
                "density": c.density.isChecked(), "exact": c.exact.isChecked(), "error": c.error.isChecked()}

    def snapshot(self) -> tuple[dict, dict, list[str]]:
        """(session.json dict, weights dict, names of parts that could not be saved)."""
        w = self.window
        preset = w.current_preset()
        if preset is None:
            raise ValueError("nothing to save yet: no target")
        state = w.train_worker.read_state()
        trainer, weights = None, {}
        if state is not None:
            trainer = {"config": state["config"], "step": int(state["step"]), "lr": float(state["lr"])}
            weights = {"model": state["model"], "ema": state["ema"], "optimizer": state["optimizer"],
                       "losses": state["losses"]}
        parts, skipped = {}, []
        for name, (get_state, _) in list(w.session_parts.items()):
            try:
                parts[name] = json.loads(json.dumps(get_state()))     # JSON-able, and a copy
            except Exception:  # noqa: BLE001 - one broken panel must not lose the whole session
                skipped.append(name)
        settings = self.settings()
        return session_json(preset, settings, trainer, parts, settings["preset"]), weights, skipped

    # ----- save / open ----------------------------------------------------------------------------------
    def save(self, path) -> bool:
        path = Path(path)
        try:
            meta, weights, skipped = self.snapshot()
            write_session(path, meta, weights)
        except Exception as exc:  # noqa: BLE001 - shown in the banner; the old file stays intact
            self.window.show_message(f"could not save the session to {path.name}: {exc}", error=True)
            return False
        note = f" (could not save: {', '.join(skipped)})" if skipped else ""
        self.window.show_message(f"saved session {path.name}{note}", error=bool(skipped))
        return True

    def open(self, source) -> bool:
        """Restore a session file (or an already read Session); on any problem keep the current state."""
        w = self.window
        if getattr(w, "_closed", False):
            return False
        try:
            session = source if isinstance(source, Session) else read_session(source)
        except SessionError as exc:
            w.show_message(str(exc), error=True)
            return False
        except Exception as exc:  # noqa: BLE001 - an unexpected failure still must not raise into Qt
            w.show_message(f"could not open the session: {exc}", error=True)
            return False
        name = Path(session.path).name if session.path else "session"
        try:
            w.set_training(False)
            self._apply_settings(session.settings)
            self._apply_target(session)
            ignored = self._apply_parts(session.parts)
            self._load_trainer(session)
        except Exception as exc:  # noqa: BLE001 - the file was valid; a window-side failure is still a message
            w.show_message(f"could not fully restore {name}: {exc}", error=True)
            return False
        step = f" at step {session.trainer['step']}" if session.trainer else ""
        note = f"; ignored parts: {', '.join(ignored)}" if ignored else ""
        w.show_message(f"opened {name}{step} (training paused){note}")
        return True

    def _apply_settings(self, s: dict) -> None:
        c = self.window.controls
        setters = {
            "device": lambda v: c.device.setCurrentIndex(max(0, c.device.findText(v))),
            "hidden": c.hidden.setValue, "lr": c.lr.setValue, "batch": c.batch.setValue,
            "schedule": lambda v: _select_data(c.schedule, v), "sampler": lambda v: _select_data(c.sampler, v),
            "steps": c.steps.setValue, "particles": c.particles.setValue, "seed": c.seed.setValue,
            "speed": c.speed.setValue, "density": c.density.setChecked, "exact": c.exact.setChecked,
            "error": c.error.setChecked,
        }
        for key, setter in setters.items():
            if key not in s:
                continue                       # an older session without this setting: keep the current one
            widget = getattr(c, key)
            if key in QUIET_SETTINGS:
                widget.blockSignals(True)
            try:
                setter(s[key])
            finally:
                widget.blockSignals(False)
        self.window.rebuild_timer.stop()

    def _apply_target(self, session: Session) -> None:
        w, key = self.window, session.preset_key
        if key and key in builtin_names():
            try:
                same = _normal(load_preset(key).to_json()) == _normal(session.preset.to_json())
            except PresetError:
                same = False
            if same:
                w.set_preset(key)
                return
        custom = key.split(":", 1)[1] if key and key.startswith("custom:") else "session"
        w.apply_preset(session.preset, key=custom)

    def _apply_parts(self, parts: dict) -> list[str]:
        ignored = []
        for name, state in parts.items():
            entry = self.window.session_parts.get(name)
            if entry is None:
                ignored.append(name)           # a panel this version does not have
                continue
            try:
                entry[1](state)
            except Exception as exc:  # noqa: BLE001
                ignored.append(f"{name} ({exc})")
        return ignored

    def _load_trainer(self, session: Session) -> None:
        w = self.window
        preset = w.current_preset()
        if preset is None or preset.is_empty:
            return
        if session.trainer is not None and hasattr(w, "dataset_size"):
            w.dataset_size = session.trainer["config"].get("dataset_size")
        w.reset_training()                     # a new generation: stale snapshots and losses are dropped
        state = session.trainer_state()
        if state is None:
            return
        state["losses"] = session.weights.get("losses")
        config = TrainConfig.from_dict(session.trainer["config"])
        # Queued after the reset above, so the worker builds the fresh trainer and then loads this.
        worker = w.train_worker
        target_count = worker.loads_done + 1
        self._sigLoad.emit(preset.target, config, state, w._generation)
        # Return once the weights are in place (a chunk plus a model build: tens of ms), painting
        # meanwhile, so a caller of open_session can use the restored model straight away.
        deadline = time.monotonic() + LOAD_WAIT_S
        while worker.loads_done < target_count and time.monotonic() < deadline and not w._closed:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)

    # ----- autosave and crash recovery -----------------------------------------------------------------
    def autosave(self, wait: bool = True) -> bool:
        """Write the autosave file; the state is read here, the file written on a plain thread."""
        if self._autosave_thread is not None and self._autosave_thread.is_alive():
            if not wait:
                return False               # the previous one is still writing
            self._autosave_thread.join()
        try:
            meta, weights, _ = self.snapshot()
        except Exception as exc:  # noqa: BLE001
            self.last_autosave_error = str(exc)
            return False
        path = autosave_path()

        def write():
            try:
                write_session(path, meta, weights)
                self.last_autosave_error = None
            except Exception as exc:  # noqa: BLE001 - a full disk must not take the window down
                self.last_autosave_error = str(exc)

        self._autosave_thread = threading.Thread(target=write, name="autosave", daemon=True)
        self._autosave_thread.start()
        if wait:
            self._autosave_thread.join()
            return self.last_autosave_error is None
        return True

    def start(self) -> None:
        """On window start: offer the autosave if the last run crashed, then mark this one as running."""
        if previous_run_crashed() and autosave_path().is_file():
            try:
                self.recovered_path = state_dir() / RECOVERED_NAME     # later autosaves must not clobber it
                shutil.copy2(autosave_path(), self.recovered_path)
                self._offer_restore()
            except OSError as exc:
                self.window.show_message(f"could not keep the crashed session's autosave: {exc}", error=True)
        _LIVE_TOKENS.add(self.token)
        try:
            atomic_write_text(marker_path(), json.dumps({"pid": os.getpid(), "token": self.token,
                                                         "started": time.time()}))
        except OSError:
            pass                                   # a read-only home: no crash detection, the app still works
        self.timer.start()

    def shutdown(self) -> None:
        """A clean close: last autosave, then remove this window's marker. Never raises: it runs
        inside the window's shutdown, which must go on to stop the worker threads."""
        try:
            self.timer.stop()
            self.autosave(wait=True)
        except Exception:  # noqa: BLE001 - e.g. widgets already deleted at interpreter exit
            pass
        finally:
            _LIVE_TOKENS.discard(self.token)
            try:
                if json.loads(marker_path().read_text(encoding="utf-8")).get("token") == self.token:
                    marker_path().unlink()
            except (OSError, ValueError, AttributeError):
                pass

    def _offer_restore(self) -> None:
        bar = QToolBar("Restore session", self.window)
        bar.setObjectName("restoreSessionBar")
        bar.setMovable(False)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.recovered_path.stat().st_mtime))
        label = QLabel(f"  The last session ended unexpectedly. Restore its autosave from {when}?  ")
        label.setObjectName("restoreSessionLabel")
        restore = QPushButton("Restore", objectName="restoreSessionButton")
        restore.setToolTip(f"Open the autosaved session ({self.recovered_path})")
        dismiss = QPushButton("Dismiss", objectName="dismissRestoreButton")
        dismiss.setToolTip("Hide this offer (the autosave stays in the state folder)")
        restore.clicked.connect(self.restore_recovered)
        dismiss.clicked.connect(lambda *_: bar.hide())
        for widget in (label, restore, dismiss):
            bar.addWidget(widget)
        self.window.addToolBar(bar)
        self.restore_bar = bar

    def restore_recovered(self) -> bool:
        if self.recovered_path is None:
            return False
        ok = self.open(self.recovered_path)
        if ok and self.restore_bar is not None:
            self.restore_bar.hide()
        return ok

    # ----- menu -----------------------------------------------------------------------------------------------
    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", f"playground{SUFFIX}", FILE_FILTER)
        if path:
            p = Path(path)
            self.save(p if p.suffix else p.with_suffix(SUFFIX))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", "", FILE_FILTER)
        if path:
            self.open(path)

    def open_autosave(self) -> None:
        path = self.recovered_path if self.recovered_path is not None else autosave_path()
        if not path.is_file():
            self.window.show_message(f"no autosave yet ({path})", error=True)
            return
        self.open(path)


def previous_run_crashed() -> bool:
    """A marker whose process is gone, or whose window in this process never shut down cleanly."""
    try:
        data = json.loads(marker_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True                                # an unreadable marker: not a clean exit either
    if not isinstance(data, dict):
        return True
    pid, token = data.get("pid"), data.get("token")
    if pid == os.getpid():
        return token not in _LIVE_TOKENS
    return not _pid_alive(pid)


def _pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0 or sys.platform == "win32":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                                # alive, owned by someone else
    except OSError:
        return False
    return True


def _select_data(combo, value) -> None:
    i = combo.findData(value)
    if i >= 0:
        combo.setCurrentIndex(i)


def _normal(obj):
    """JSON round trip: tuples become lists and ints stay ints, so two specs compare by value."""
    return json.loads(json.dumps(obj, sort_keys=True))


def install(window) -> None:
    mgr = SessionManager(window)
    window.sessions = mgr
    menu = window.menus["file"]
    menu.setToolTipsVisible(True)
    for text, name, keys, tip, fn in (
            ("&Save session…", "saveSessionAction", QKeySequence("Ctrl+S"),
             "Save target, settings, weights, EMA, optimiser and panels to one file", mgr.save_dialog),
            ("&Open session…", "openSessionAction", QKeySequence("Ctrl+Shift+O"),
             "Open a saved session (training stays paused)", mgr.open_dialog),
            ("Open last &autosave", "openAutosaveAction", None,
             f"Open the session autosaved every {AUTOSAVE_MS // 60000} minutes and on close", mgr.open_autosave)):
        add_menu_action(window, menu, text, name, tip, fn, keys)
    menu.addSeparator()
    hooks = getattr(window, "shutdown_hooks", None)
    if hooks is not None:
        hooks.append(mgr.shutdown)
    mgr.start()
