"""Crash detection for sessions: a marker file (pid + a per-window token) is written on start and
removed on a clean shutdown. A marker left by a process that is gone (or by a window of this
process that never shut down) means the last run ended unexpectedly: the window then offers the
autosave in a non-modal bar (restore_bar)."""
from __future__ import annotations

import json
import os
import sys
import time

from PySide6.QtWidgets import QLabel, QPushButton, QToolBar

from playground.formats.io_utils import atomic_write_text
from playground.formats.session import SUFFIX, marker_path

RECOVERED_NAME = f"recovered{SUFFIX}"
_LIVE_TOKENS: set[str] = set()       # windows of this process that have not shut down yet


def mark_running(token: str) -> None:
    _LIVE_TOKENS.add(token)
    try:
        atomic_write_text(marker_path(), json.dumps({"pid": os.getpid(), "token": token, "started": time.time()}))
    except OSError:
        pass                                   # a read-only home: no crash detection, the app still works


def mark_closed(token: str) -> None:
    _LIVE_TOKENS.discard(token)
    try:
        if json.loads(marker_path().read_text(encoding="utf-8")).get("token") == token:
            marker_path().unlink()
    except (OSError, ValueError, AttributeError):
        pass


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


def restore_bar(path, on_restore, parent) -> QToolBar:
    """The non-modal offer: Restore opens `path` (on_restore()), Dismiss hides the bar."""
    bar = QToolBar("Restore session", parent)
    bar.setObjectName("restoreSessionBar")
    bar.setMovable(False)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
    label = QLabel(f"  The last session ended unexpectedly. Restore its autosave from {when}?  ")
    label.setObjectName("restoreSessionLabel")
    restore = QPushButton("Restore", objectName="restoreSessionButton")
    restore.setToolTip(f"Open the autosaved session ({path})")
    dismiss = QPushButton("Dismiss", objectName="dismissRestoreButton")
    dismiss.setToolTip("Hide this offer (the autosave stays in the state folder)")
    restore.clicked.connect(lambda *_: on_restore())
    dismiss.clicked.connect(lambda *_: bar.hide())
    for widget in (label, restore, dismiss):
        bar.addWidget(widget)
    return bar
