"""A sampler run as one record: whoever shows, saves, scores or compares a run gets this, made by
`record_run` alone.

A Run holds the frames (one (N, 2) float32 array per kept step, in the schedule's frame: frame 0 is
the initial noise, the last frame the samples), each frame's step, alpha, sigma, level and NFE,
what made it (sampler, options, schedule, seed) and where its score came from (Provenance, plus
the live source object itself while the run is in memory). Overlays, metrics and purity read the
source off the run they draw, so a picture and the score behind it can never come from two runs.
"""
from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from playground.maths.progress import Cancelled

KEEP_ALL, KEEP_LAST = "all", "last"


@dataclass(frozen=True)
class Provenance:
    """Where a run's denoiser came from: the exact target, or a model snapshot (its generation,
    trainer step and objective), possibly guided towards one class."""
    score: str = "exact"                 # "exact" | "learned"
    generation: int | None = None        # of the window's model (None outside the window)
    step: int | None = None              # the trainer's step when the snapshot was taken
    objective: str | None = None         # "dsm" | "fm" for a learned score
    guidance: str | None = None          # None | "cfg" | "classifier"
    label: int | None = None             # guided class, 0-based
    weight: float | None = None          # guidance weight w

    def describe(self) -> str:
        """One line for notes and status bars, e.g. "learned (fm, step 1200), cfg class 3, w = 2"."""
        text = self.score
        if self.score == "learned":
            bits = [b for b in (self.objective, None if self.step is None else f"step {self.step}") if b]
            text += f" ({', '.join(bits)})" if bits else ""
        if self.guidance:
            text += f", {self.guidance} class {self.label + 1}, w = {self.weight:g}"
        return text

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data) -> "Provenance":
        """A saved block back; unknown or malformed fields are dropped (provenance is a note, not data)."""
        if not isinstance(data, dict):
            return cls()
        kinds = {"score": str, "generation": int, "step": int, "objective": str, "guidance": str, "label": int,
                 "weight": (int, float)}
        ok = {k: data[k] for k, t in kinds.items()
              if k in data and isinstance(data[k], t) and not isinstance(data[k], bool)}
        if isinstance(ok.get("weight"), (int, float)):
            ok["weight"] = float(ok["weight"]) if math.isfinite(ok["weight"]) else None
        return cls(**ok)


def provenance_of(source) -> Provenance:
    """Read a source's provenance: guided sources wrap a base, model sources carry their snapshot's
    generation and step (set by whoever took the snapshot)."""
    from playground.maths.classifier_guidance import ClassifierGuidedSource
    from playground.maths.guidance import ExactGuidedSource, GuidedSource
    guidance = None
    if isinstance(source, (GuidedSource, ExactGuidedSource)):
        guidance = ("cfg", int(source.label), float(source.scale))
    elif isinstance(source, ClassifierGuidedSource):
        guidance = ("classifier", int(source.label), float(source.scale))
    base = getattr(source, "base", None) if guidance else source
    model = getattr(base, "model", None)
    if model is None:
        prov = Provenance("exact")
    else:
        prov = Provenance("learned", getattr(base, "generation", None), getattr(base, "step", None),
                          getattr(getattr(model, "config", None), "objective", None))
    if guidance is None:
        return prov
    return replace(prov, guidance=guidance[0], label=guidance[1], weight=guidance[2])


@dataclass
class Run:
    """One sampler run: x[k] is the state shown at slider position k (see the module docstring)."""
    sampler: str
    schedule: str
    options: dict = field(default_factory=dict)
    seed: int = 0
    x: list = field(default_factory=list)          # (N, 2) float32 arrays, one per kept frame
    step: list = field(default_factory=list)       # sampler step index of each kept frame
    alpha: list = field(default_factory=list)
    sigma: list = field(default_factory=list)
    level: list = field(default_factory=list)      # sigma/alpha (inf where alpha = 0)
    nfe: list = field(default_factory=list)
    total: int = 0                                 # frames the run had before any were dropped
    provenance: Provenance = field(default_factory=Provenance)
    source: object = field(default=None, repr=False, compare=False)   # the live source (never saved)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def n(self) -> int:
        return int(len(self.x[0])) if self.x else 0

    @property
    def samples(self) -> np.ndarray:
        """The last frame: the run's samples (or the last state a thinned run kept)."""
        return self.x[-1]

    def frames(self) -> np.ndarray:
        """All kept frames as one (F, N, 2) float32 array (a copy)."""
        return np.stack([np.asarray(f, dtype=np.float32) for f in self.x])

    def append(self, st) -> None:
        """Keep one sampler Step (a float32 CPU copy of its state)."""
        self.x.append(st.x.detach().float().cpu().numpy().astype(np.float32, copy=True))
        self.step.append(int(st.i))
        self.alpha.append(float(st.alpha))
        self.sigma.append(float(st.sigma))
        self.level.append(float(st.level))
        self.nfe.append(int(st.nfe))

    def smallest_positive(self) -> tuple[float, float]:
        """(alpha, sigma) of the lowest non-zero noise level visited: where the score still exists."""
        best = None
        for a, s in zip(self.alpha, self.sigma):
            if s > 0 and a > 0 and (best is None or s / a < best[1] / best[0]):
                best = (a, s)
        return best or (1.0, 1e-3)

    def thinned(self, max_bytes: int) -> "Run":
        """At most max_bytes of frames: evenly spaced ones, always the first and the last (a copy of
        the record; the frame arrays are shared)."""
        keep = kept_frames(len(self), self.n, max_bytes)
        pick = lambda values: [values[i] for i in keep]          # noqa: E731
        return replace(self, x=pick(self.x), step=pick(self.step), alpha=pick(self.alpha), sigma=pick(self.sigma),
                       level=pick(self.level), nfe=pick(self.nfe), total=self.total or len(self))


def kept_frames(total: int, particles: int, max_bytes: int) -> list[int]:
    """Indices of the frames to keep: all when they fit, else evenly spaced ones with the first and the last."""
    fits = max(1, max_bytes // max(1, particles * 2 * 4))
    if total <= fits:
        return list(range(total))
    if fits == 1:
        return [total - 1]                           # a single frame is over the bound: keep the samples
    return sorted({int(round(v)) for v in np.linspace(0, total - 1, fits)})


def record_run(sampler: str, source, n: int, seed: int = 0, steps: int | None = None, schedule=None,
               options: dict | None = None, keep: str = KEEP_ALL, max_bytes: int | None = None,
               stop: threading.Event | None = None, on_step: Callable[[object], object] | None = None,
               provenance: Provenance | None = None, **kw) -> Run:
    """Run a sampler to its last step and record it: every frame (every k-th one, so the record stays
    under max_bytes, always with the first and the last) or the last only (keep="last").

    stop: set it to abandon the run (Cancelled is raised at the next step); on_step(step) is called
    with every sampler Step (progress, or a GIF frame drawn as the run goes). kw go to sample_steps (eta, brownian_path, start). The source's NFE counter
    starts from zero.
    """
    from playground.maths.samplers import DEFAULT_STEPS, sample_steps
    from playground.maths.schedules import DEFAULT_SCHEDULE
    steps = DEFAULT_STEPS if steps is None else int(steps)
    schedule = DEFAULT_SCHEDULE if schedule is None else schedule
    options = dict(options or {})
    name = schedule if isinstance(schedule, str) else getattr(schedule, "name", str(schedule))
    run = Run(sampler, name, options, int(seed), provenance=provenance or provenance_of(source), source=source)
    every = 1 if max_bytes is None else max(1, int(np.ceil(n * 2 * 4 * (steps + 1) / max_bytes)))
    pending = None
    source.nfe = 0
    with torch.no_grad():
        for st in sample_steps(sampler, source, n, seed, steps=steps, schedule=schedule, **kw, **options):
            if stop is not None and stop.is_set():
                raise Cancelled()
            run.total += 1
            if keep == KEEP_ALL and st.i % every == 0:
                run.append(st)
                pending = None
            else:
                pending = st
            if on_step is not None:
                on_step(st)
    if pending is not None:
        run.append(pending)
    return run


@dataclass(frozen=True)
class RunRequest:
    """What to run, apart from the source: the one description a Sample press, live samples, a
    Compare panel and the sampling process share (plain data: it crosses threads and pipes)."""
    sampler: str
    n: int
    steps: int
    schedule: str
    seed: int = 0
    options: dict = field(default_factory=dict)
    brownian_path: bool = False          # stochastic steps share one Brownian motion across step counts
    keep: str = KEEP_ALL
    max_bytes: int | None = None

    def record(self, source, stop: threading.Event | None = None, on_step=None) -> Run:
        return record_run(self.sampler, source, self.n, self.seed, self.steps, self.schedule, self.options,
                          keep=self.keep, max_bytes=self.max_bytes, stop=stop, on_step=on_step,
                          brownian_path=self.brownian_path)


def final_sample(sampler: str, source, n: int, seed: int = 0, **kw) -> torch.Tensor:
    """The samples of a run (float32 (n, 2) CPU tensor): record_run keeping the last frame only."""
    return torch.from_numpy(record_run(sampler, source, n, seed, keep=KEEP_LAST, **kw).samples)
