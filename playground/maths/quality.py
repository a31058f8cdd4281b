"""Quality against number of steps: SW2 to fresh exact samples for each sampler and score source.

With the exact score the curve shows the sampler's discretisation error alone (it falls with steps
until it is within the noise floor band); with the learned model it flattens at the model's own error. The two together
separate "the model is wrong" from "the sampler is under-stepped".
"""
from __future__ import annotations

from typing import Callable

import torch

from playground.maths.metrics import FLOOR_DRAWS, noise_floor_band, sliced_w2
from playground.maths.samplers import SAMPLERS
from playground.maths.samplers.record import KEEP_LAST, record_run
from playground.maths.progress import Cancelled
from playground.maths.sources import Source


def quality_vs_steps(target, samplers: list[str], steps: list[int], sources: dict[str, Callable[[], Source]],
                     n: int = 2000, seed: int = 0, progress: Callable[[float], bool] | None = None,
                     row_fields: dict[str, dict] | None = None, options: dict[str, dict] | None = None) -> dict:
    """{"steps", "floor", "floor_p90", "floor_draws", "n", "results": [{"sampler", "score", "sw2": [...]}, ...]}
    as the CLI writes it; "floor" is the median two-sample SW2 over floor_draws pairs (noise_floor_band).

    `sources` maps "exact"/"model" to a factory of fresh sources; `progress(fraction)`, called
    after every sampler step (the fraction counts steps, so long runs move it too), may return
    False to cancel. row_fields[key], where given, replaces a source's row fields (several models:
    {"score": "model", "model": "base.pt"}). options[sampler]: that sampler's own options (gamma, mu).
    """
    for s in samplers:
        if s not in SAMPLERS:
            raise ValueError(f"unknown sampler {s!r} (one of {', '.join(SAMPLERS)})")
    if not steps or any(k < 1 for k in steps):
        raise ValueError("steps must be positive whole numbers")
    ref = target.sample(n, seed=seed + 50_000)
    results, total, done = [], len(samplers) * len(sources) * sum(steps), 0
    for name in samplers:
        for score, make in sources.items():
            row = []
            for k in steps:
                def watch(st, base=done):
                    if st.i > 0 and progress is not None and progress(min(1.0, (base + st.i) / total)) is False:
                        raise Cancelled()
                run = record_run(name, make(), n, seed, k, options=(options or {}).get(name, {}), keep=KEEP_LAST,
                                 on_step=watch)
                done += k
                row.append(sliced_w2(torch.from_numpy(run.samples), ref))
            results.append({"sampler": name, "score": score, "sw2": row, **(row_fields or {}).get(score, {})})
    floor, floor_p90 = noise_floor_band(target, n, seed=seed)
    return {"steps": list(steps), "floor": floor, "floor_p90": floor_p90, "floor_draws": FLOOR_DRAWS, "n": n,
            "results": results}
