"""One error path for the whole window: a failure is one banner line, its traceback goes to the log.

Every place that must not let an exception escape into Qt's event loop (a button's slot, a worker
thread's job, a paint-time overlay) runs its code inside `reported(what, show)`: on any exception
`show` gets one line, "what: reason", and the traceback is written to the log file in the state
folder (formats.session.state_dir), never to the user's screen. `show` is services.notify on the
GUI thread, or a worker's `failed` signal in another thread (queued to the GUI, then the banner).
"""
from __future__ import annotations

import logging
import logging.handlers
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

LOG = logging.getLogger("playground.app")
LOG_NAME = "errors.log"
LOG_BYTES = 1 << 20            # one file of at most 1 MB, one older file kept
_OPEN_LOCK = threading.Lock()


def _log() -> logging.Logger:
    """The app's logger, writing to a small rotating file in the current state folder (reopened when
    that folder changes), never to the console."""
    from playground.formats.session import state_dir
    path = state_dir() / LOG_NAME
    with _OPEN_LOCK:                          # workers report from their own threads
        if getattr(LOG, "_path", None) != path:
            _open(path)
    return LOG


def _open(path) -> None:
    """Close the old file (if any) and log to `path`; a NullHandler when it cannot be written."""
    for old in list(LOG.handlers):
        LOG.removeHandler(old)
        old.close()
    LOG.propagate = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=1,
                                                                        encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(message)s"))
    except OSError:
        handler = logging.NullHandler()        # no writable state folder: the banner line is all
    LOG.addHandler(handler)
    LOG._path = path


class Refusal(Exception):
    """A refusal whose text is the whole banner line (bad input, nothing to do): no prefix, no traceback."""


def one_line(what: str, exc: BaseException) -> str:
    """"what: reason" on one line (the exception's own words, or its type when it has none)."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"{what}: {reason}" if what and not isinstance(exc, Refusal) else reason


def report(what: str, exc: BaseException) -> str:
    """Log the traceback (not for a Refusal) and return the banner line."""
    if not isinstance(exc, Refusal):
        _log().error("%s", what or "error", exc_info=(type(exc), exc, exc.__traceback__))
    return one_line(what, exc)


class Outcome:
    """What a reported block did: `failed` is the banner line when it raised, else None."""
    failed: str | None = None

    def __bool__(self) -> bool:
        return self.failed is None


@contextmanager
def reported(what: str, show: Callable[[str], object] | None = None) -> Iterator[Outcome]:
    """Run the block; any exception becomes one line for `show` (and the log) and is not raised."""
    outcome = Outcome()
    try:
        yield outcome
    except Exception as exc:  # noqa: BLE001 - the one place the window turns failures into messages
        outcome.failed = report(what, exc)
        if show is not None:
            show(outcome.failed)


def guarded(what: str, show: Callable[[str], object], fn: Callable, *args, default=None):
    """fn(*args), or `default` after one reported line when it raises."""
    with reported(what, show):
        return fn(*args)
    return default
