"""A sampler run in a child process, for pictures redrawn while training goes on.

A small network's sampler run is mostly Python overhead between short torch calls, and that
overhead holds the GIL: in a thread of the window's process it takes turns with the training
thread and the GUI (measured: the whole app used about one core of two, and training fell to 57%
of its solo speed with live samples on). A child process has its own interpreter and core. Jobs go
in as plain data (the network's config and weights, a RunRequest) and the run comes back as the
same Run record every run is (maths/samplers/record.py). The child is a fresh
`python -m playground.learning.sample_process` talking pickles over its stdin and stdout (not multiprocessing, whose "spawn" re-imports the
parent's __main__: under `python -m playground gui` that would start a second window).
"""
from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

_HEADER = struct.Struct("<Q")


MAX_MESSAGE = 1 << 30          # a length header above this is not ours: the pipe is out of step


def _write(stream, obj) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:                  # a raw pipe may take part of it
        data = data[stream.write(data):]


def _read_exactly(stream, size: int) -> bytes:
    """size bytes from a raw (unbuffered) stream: nothing is read ahead, so select() on its file
    descriptor always tells whether another message is waiting."""
    parts, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _read(stream):
    """One message; EOFError when the other side has closed."""
    size = _HEADER.unpack(_read_exactly(stream, _HEADER.size))[0]
    if size > MAX_MESSAGE:
        raise EOFError
    return pickle.loads(_read_exactly(stream, size))


def _serve(inp, out) -> None:
    """The child's loop: one job in, one answer out, until None or the pipe closes.

    The network is built once per config and only its weights are loaded per job; it runs under
    inference_mode with in-place activations (nothing here needs gradients): about a quarter less
    CPU per live picture than the autograd-ready module (70 ms instead of 92 ms, 2k x Heun 50)."""
    import torch
    torch.set_num_threads(1)
    from playground.learning.model import build_model
    from playground.maths.sources import ModelSource
    built = None                        # (config dict, model)
    while True:
        try:
            job = _read(inp)
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            if built is None or built[0] != job["config"]:
                built = (job["config"], _inference_model(build_model(job["config"])))
            model = built[1]
            model.load_state_dict(job["weights"])
            with torch.inference_mode():
                run = job["request"].record(ModelSource(model, copy_weights=False))
            run.source = None                  # the parent attaches its own snapshot
            _write(out, (job["id"], "ok", run))
        except Exception as exc:  # noqa: BLE001 - the parent shows it as one line
            built = None
            _write(out, (job["id"], "error", f"{type(exc).__name__}: {exc}"))


def _inference_model(model):
    """The model for sampling only: activations overwrite their input instead of allocating."""
    for module in model.modules():
        if hasattr(module, "inplace") and isinstance(getattr(module, "inplace"), bool):
            module.inplace = True
    return model.eval()


class SampleProcess:
    """One child process that runs sampler jobs one at a time. run() is called from one thread
    (a task runner); close() from any thread. A child that dies is started again on the next job,
    at most MAX_STARTS times in all (then run() raises and the caller samples in its own thread).

    Every answer is read, also a cancelled job's (before the next job is written): a child blocked
    writing an answer nobody reads while the parent is blocked writing a job it does not read
    would stop both for good."""
    MAX_STARTS = 3

    def __init__(self, timeout_s: float = 120.0):
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._closed = False
        self._ids = 0
        self._unread = 0                 # answers the child owes for jobs already sent
        self._starts = 0
        self.timeout_s = timeout_s

    def start(self) -> subprocess.Popen | None:
        """The running child (started now if needed; its imports take a few seconds); None once closed."""
        with self._lock:
            if self._closed:
                return None
            if self._proc is not None and self._proc.poll() is None:
                return self._proc
            if self._starts >= self.MAX_STARTS:
                raise RuntimeError("the sampling process keeps ending; sampling here instead")
            self._starts += 1
            self._unread = 0
            root = Path(__file__).resolve().parents[2]     # -m imports this very package, not one in the cwd
            self._proc = subprocess.Popen([sys.executable, "-m", "playground.learning.sample_process"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                                          stderr=subprocess.DEVNULL, cwd=str(root),
                                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
            return self._proc

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before it starts and once it ends)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _answer(self, proc, stop: threading.Event, deadline: float):
        """The next answer; None when cancelled or closed meanwhile."""
        while True:
            if stop.is_set() or self._proc is not proc:
                return None
            if select.select([proc.stdout], [], [], 0.02)[0]:
                answer = _read(proc.stdout)
                self._unread -= 1
                return answer
            if proc.poll() is not None:
                raise EOFError
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the sampling process gave no answer in {self.timeout_s:.0f} s")

    def run(self, model, request, stop: threading.Event):
        """The Run that `request` (a RunRequest) records with `model` in the child, without a source;
        None once `stop` is set or the process was closed."""
        proc = self.start()
        if proc is None:
            return None
        self._ids += 1
        job_id = self._ids
        job = {"id": job_id, "config": model.config.to_dict(),
               "weights": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "request": request}
        deadline = time.monotonic() + self.timeout_s
        try:
            while self._unread > 0:          # cancelled jobs' answers first: then the child reads ours
                if self._answer(proc, stop, deadline) is None:
                    return None
            _write(proc.stdin, job)
            self._unread += 1
            while True:
                got = self._answer(proc, stop, deadline)
                if got is None:
                    return None
                answer_id, status, answer = got
                if answer_id != job_id:
                    continue
                if status != "ok":
                    raise ValueError(answer)
                return answer
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            if self._proc is not proc:
                return None
            if isinstance(exc, ValueError):
                raise RuntimeError(str(exc)) from None
            raise RuntimeError("the sampling process ended unexpectedly") from None

    def close(self) -> None:
        """End the child at once (it keeps no state): no polite message that a busy child would
        not read, and a child blocked writing an answer is freed by it."""
        with self._lock:
            self._closed = True
            proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:
            pass
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


if __name__ == "__main__":
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)                   # anything a library prints goes where stderr goes, not into the pipe
    _serve(os.fdopen(0, "rb", buffering=0), protocol)
