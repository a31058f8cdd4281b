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

import torch

from playground.formats.session_checks import SessionCheckError, _is_int, _is_num
from playground.formats.settings import FIELDS
from playground.maths.samplers.record import Provenance, Run

MAX_RUN_BYTES = 32 * 1024 * 1024     # frame data kept in a session (float32 positions)
MAX_RUN_FRAMES = 100_000


def pack_run(run: Run | None, max_bytes: int | None = None) -> Run | None:
    """The run as a session keeps it: at most max_bytes (default MAX_RUN_BYTES) of frames; None for none."""
    if run is None or not len(run):
        return None
    return run.thinned(MAX_RUN_BYTES if max_bytes is None else max_bytes)


def run_json(run: Run) -> dict:
    """session.json's `run` block (an infinite level is written as null: JSON has no infinity)."""
    return {"sampler": run.sampler, "schedule": run.schedule, "frames_total": run.total or len(run),
            "options": dict(run.options), "seed": run.seed, "provenance": run.provenance.to_json(),
            "step": list(run.step), "alpha": list(run.alpha), "sigma": list(run.sigma),
            "level": [v if math.isfinite(v) else None for v in run.level], "nfe": list(run.nfe)}


def run_tensors(run: Run) -> dict:
    """run.pt's dict: the kept frames as one (F, N, 2) float32 tensor."""
    return {"x": torch.from_numpy(run.frames())}


def parse_run(meta, tensors) -> Run:
    """session.json's run block and run.pt's dict, both checked, as a Run (no live source)."""
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
    options = meta.get("options", {})
    if not (isinstance(options, dict) and all(isinstance(k, str) and _is_num(v) for k, v in options.items())):
        raise SessionCheckError("run.options must map option names to numbers")
    seed = meta.get("seed", 0)
    if not _count(seed):
        raise SessionCheckError("run.seed must be a whole number ≥ 0")
    return Run(meta["sampler"], meta["schedule"], dict(options), int(seed), x=list(x.contiguous().numpy()),
               step=list(meta["step"]), alpha=[float(v) for v in meta["alpha"]], sigma=[float(v) for v in meta["sigma"]],
               level=[math.inf if v is None else float(v) for v in meta["level"]], nfe=list(meta["nfe"]),
               total=total, provenance=Provenance.from_json(meta.get("provenance")))


def _count(v) -> bool:
    return _is_int(v) and 0 <= v <= 10**9


def _non_negative(v) -> bool:
    return _is_num(v) and v >= 0
