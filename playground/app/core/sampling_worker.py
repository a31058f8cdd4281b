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
from playground.maths.samplers import sample_steps
from playground.app.core.threads import JobWorker

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
    options: dict = field(default_factory=dict)    # the sampler's own options (gradient estimation: gamma, mu)


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


def append_step(frames: Frames, st) -> None:
    frames.x.append(st.x.detach().float().cpu().numpy().astype(np.float32, copy=True))
    frames.step.append(int(st.i))
    frames.alpha.append(float(st.alpha))
    frames.sigma.append(float(st.sigma))
    frames.level.append(float(st.level))
    frames.nfe.append(int(st.nfe))


def record_frames(sampler: str, source, n: int, seed: int, steps: int, schedule: str, max_bytes: int,
                  cancel: threading.Event, on_step=None, **kw) -> Frames | None:
    """Run a sampler to the end and keep its states as Frames: every k-th step so the record stays
    under max_bytes, and always the first and the last. None once `cancel` is set; on_step(i) is
    called every 5 steps (for progress)."""
    frames = Frames(sampler, schedule)
    keep_every = max(1, int(np.ceil(n * 2 * 4 * (steps + 1) / max_bytes)))
    pending = None
    with torch.no_grad():
        for st in sample_steps(sampler, source, n, seed, steps=steps, schedule=schedule, **kw):
            if cancel.is_set():
                return None
            if st.i % keep_every == 0:
                append_step(frames, st)
                pending = None
            else:
                pending = st
            if on_step is not None and st.i % 5 == 0:
                on_step(st.i)
    if pending is not None:
        append_step(frames, pending)
    return frames


class SamplingWorker(JobWorker):
    """Records one sampler run (finished carries its Frames)."""

    def _what(self, job: SamplingJob) -> str:
        return job.sampler

    def _work(self, job: SamplingJob) -> Frames | None:
        return self._record(job)

    def _record(self, job: SamplingJob) -> Frames | None:
        if job.source is None:
            raise ValueError("no model yet: build or train one first")
        job.source.nfe = 0
        return record_frames(job.sampler, job.source, job.n, job.seed, job.steps, job.schedule, MAX_FRAME_BYTES,
                             self._cancel, lambda i: self.progress.emit(job.job_id, i, max(job.steps, i)),
                             **job.options)

