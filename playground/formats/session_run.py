"""The last sampler run inside a session: its frames as one (F, N, 2) float32 tensor (the `run.pt`
member) and each frame's step, alpha, sigma, level and NFE in session.json.

A run may be far larger than the model (200k particles over 1000 steps is 1.6 GB), so at most
MAX_RUN_BYTES of frames are kept: evenly spaced ones, always the first (the initial noise) and the
last (the samples), so a reopened session still shows where the run began and where it ended.
Everything read back is checked (shape, finiteness, known sampler and schedule, one number per
frame) before anything is shown; a bad run raises SessionCheckError naming the field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from playground.formats.session_checks import SessionCheckError, _is_int, _is_num
from playground.formats.settings import FIELDS

MAX_RUN_BYTES = 32 * 1024 * 1024     # frame data kept in a session (float32 positions)
MAX_RUN_FRAMES = 100_000
RUN_KEYS = ("step", "alpha", "sigma", "level", "nfe")


@dataclass
class SavedRun:
    sampler: str
    schedule: str
    x: torch.Tensor                                   # (F, N, 2) float32
    step: list = field(default_factory=list)
    alpha: list = field(default_factory=list)
    sigma: list = field(default_factory=list)
    level: list = field(default_factory=list)        # math.inf where alpha = 0
    nfe: list = field(default_factory=list)
    total: int = 0                                    # frames the run had before thinning

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to_json(self) -> dict:
        """session.json's `run` block (an infinite level is written as null: JSON has no infinity)."""
        return {"sampler": self.sampler, "schedule": self.schedule, "frames_total": self.total,
                "step": list(self.step), "alpha": list(self.alpha), "sigma": list(self.sigma),
                "level": [v if math.isfinite(v) else None for v in self.level], "nfe": list(self.nfe)}


def kept_frames(total: int, particles: int, max_bytes: int = MAX_RUN_BYTES) -> list[int]:
    """Indices of the frames to keep: all when they fit, else evenly spaced ones with the first and the last."""
    fits = max(1, max_bytes // max(1, particles * 2 * 4))
    if total <= fits:
        return list(range(total))
    if fits == 1:
        return [total - 1]                           # a single frame is over the bound: keep the samples
    return sorted({int(round(v)) for v in np.linspace(0, total - 1, fits)})


def pack_run(frames, max_bytes: int | None = None) -> SavedRun | None:
    """A SavedRun of a recorded run (anything with Frames' fields), at most max_bytes (default
    MAX_RUN_BYTES) of frames; None for an empty one."""
    if frames is None or not len(frames.x):
        return None
    keep = kept_frames(len(frames.x), len(frames.x[0]), MAX_RUN_BYTES if max_bytes is None else max_bytes)
    x = torch.from_numpy(np.stack([np.asarray(frames.x[i], dtype=np.float32) for i in keep]))
    pick = {key: [getattr(frames, key)[i] for i in keep] for key in RUN_KEYS}
    return SavedRun(frames.sampler, frames.schedule, x,
                    step=[int(v) for v in pick["step"]], alpha=[float(v) for v in pick["alpha"]],
                    sigma=[float(v) for v in pick["sigma"]], level=[float(v) for v in pick["level"]],
                    nfe=[int(v) for v in pick["nfe"]], total=len(frames.x))


def parse_run(meta, tensors) -> SavedRun:
    """session.json's run block and run.pt's dict, both checked, as a SavedRun."""
    from playground.maths.samplers import SAMPLERS
    from playground.maths.schedules import SCHEDULES
    if not isinstance(meta, dict):
        raise SessionCheckError("'run' must be an object")
    if meta.get("sampler") not in SAMPLERS:
        raise SessionCheckError(f"run.sampler must be one of {', '.join(SAMPLERS)}")
    if meta.get("schedule") not in SCHEDULES:
        raise SessionCheckError(f"run.schedule must be one of {', '.join(SCHEDULES)}")
    x = tensors.get("x") if isinstance(tensors, dict) else None
    if not (isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.dim() == 3 and x.shape[2] == 2
            and x.shape[0] >= 1 and x.shape[1] >= 1):
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise SessionCheckError(f"run.pt: 'x' must be a float32 tensor of shape (frames, particles, 2), got {got}")
    n_frames = int(x.shape[0])
    if x.shape[1] > FIELDS["particles"].hi:
        raise SessionCheckError(f"run.pt: {x.shape[1]:,} particles; the most a run has is {FIELDS['particles'].hi:,}")
    if n_frames > MAX_RUN_FRAMES or x.numel() * 4 > MAX_RUN_BYTES:
        raise SessionCheckError(f"run.pt: {n_frames} frames of {x.shape[1]} particles exceed the limit "
                                f"({MAX_RUN_FRAMES:,} frames, {MAX_RUN_BYTES:,} bytes)")
    if not bool(torch.isfinite(x).all()):
        raise SessionCheckError("run.pt: the frames hold NaN or infinite values")
    total = meta.get("frames_total", n_frames)
    if not (_is_int(total) and n_frames <= total <= 10**9):
        raise SessionCheckError("run.frames_total must be an integer, at least the number of frames stored")
    rules = {"step": _count, "nfe": _count, "alpha": _non_negative, "sigma": _non_negative,
             "level": lambda v: v is None or _non_negative(v)}
    for key, ok in rules.items():
        values = meta.get(key)
        if not (isinstance(values, list) and len(values) == n_frames and all(ok(v) for v in values)):
            raise SessionCheckError(f"run.{key} must hold one {'integer' if key in ('step', 'nfe') else 'number'} "
                                    f"≥ 0 per frame ({n_frames})")
    return SavedRun(meta["sampler"], meta["schedule"], x.contiguous(), step=list(meta["step"]),
                    alpha=[float(v) for v in meta["alpha"]], sigma=[float(v) for v in meta["sigma"]],
                    level=[math.inf if v is None else float(v) for v in meta["level"]],
                    nfe=list(meta["nfe"]), total=total)


def _count(v) -> bool:
    return _is_int(v) and 0 <= v <= 10**9


def _non_negative(v) -> bool:
    return _is_num(v) and v >= 0
