"""Sampling off the GUI thread, recorded frame by frame so the GUI can replay and scrub it.

The sampler generator runs in a worker thread on a frozen snapshot of the model; every step is
stored as float32 numpy (positions plus alpha, sigma, level and NFE). The GUI then plays the
stored frames with a timer, so animation speed never depends on how fast the sampler is.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from ..samplers import SAMPLERS, sample_steps
from .threads import release_worker

MAX_FRAME_BYTES = 512 * 1024 * 1024   # beyond this, keep every k-th frame (always the first and last)


@dataclass
class SamplingJob:
    job_id: int
    sampler: str
    source: object
    n: int
    steps: int
    schedule: str
    seed: int = 0


@dataclass
class Frames:
    """A recorded sampler run: x[k] is the state shown at slider position k."""
    sampler: str
    schedule: str
    x: list = field(default_factory=list)          # list of (n, 2) float32 arrays
    step: list = field(default_factory=list)       # sampler step index of each stored frame
    alpha: list = field(default_factory=list)
    sigma: list = field(default_factory=list)
    level: list = field(default_factory=list)
    nfe: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.x)

    def smallest_positive(self) -> tuple[float, float]:
        """(alpha, sigma) of the lowest non-zero noise level visited: where the score still exists."""
        best = None
        for a, s in zip(self.alpha, self.sigma):
            if s > 0 and a > 0 and (best is None or s / a < best[1] / best[0]):
                best = (a, s)
        return best or (1.0, 1e-3)


class SamplingWorker(QObject):
    progress = Signal(int, int, int)      # job id, steps done, steps planned
    finished = Signal(int, object)        # job id, Frames
    failed = Signal(int, str)

    def __init__(self):
        super().__init__()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Thread-safe: the running job stops at its next step."""
        self._cancel.set()

    @Slot(object)
    def run(self, job: SamplingJob) -> None:
        self._cancel.clear()
        torch.set_num_threads(1)
        try:
            frames = self._record(job)
        except Exception as exc:  # noqa: BLE001 - shown in the banner
            self.failed.emit(job.job_id, f"{job.sampler} failed: {exc}")
            return
        if frames is not None:
            self.finished.emit(job.job_id, frames)

    def _record(self, job: SamplingJob) -> Frames | None:
        if job.source is None:
            raise ValueError("no model yet: build or train one first")
        frames = Frames(job.sampler, job.schedule)
        per_frame = job.n * 2 * 4
        keep_every = max(1, int(np.ceil(per_frame * (job.steps + 1) / MAX_FRAME_BYTES)))
        job.source.nfe = 0
        pending = None
        planned = job.steps
        with torch.no_grad():
            for st in sample_steps(job.sampler, job.source, job.n, job.seed, steps=job.steps,
                                   schedule=job.schedule):
                if self._cancel.is_set():
                    return None
                planned = max(planned, st.i)
                if st.i % keep_every == 0:
                    self._append(frames, st)
                    pending = None
                else:
                    pending = st
                if st.i % 5 == 0:
                    self.progress.emit(job.job_id, st.i, planned)
        if pending is not None:
            self._append(frames, pending)
        return frames

    @staticmethod
    def _append(frames: Frames, st) -> None:
        frames.x.append(st.x.detach().float().cpu().numpy().astype(np.float32, copy=True))
        frames.step.append(int(st.i))
        frames.alpha.append(float(st.alpha))
        frames.sigma.append(float(st.sigma))
        frames.level.append(float(st.level))
        frames.nfe.append(int(st.nfe))

    @Slot()
    def shutdown(self) -> None:
        release_worker(self)


def sampler_tooltip(name: str) -> str:
    info = SAMPLERS[name]
    kind = "stochastic" if info.stochastic else "deterministic"
    return f"{info.label} ({kind})\n{info.rule}"
