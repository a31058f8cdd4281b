"""Reflow (rectified flow, Liu et al. 2022): straighten a trained model's paths by retraining on them.

Step 1, couplings: draw noise z and integrate the base model's probability-flow ODE from it
(ode-heun, `ode_steps` Karras-spaced levels) to its sample x = ODE(z). z is the samplers' own
initial noise eps: the ODE starts at level 80 from y = m + 80 z (t = 80/81 on the flow path, where
x_t = 0.988 z + 0.012 m, m the model's data mean), and the stretch from t = 1 it skips moves a particle
by ~1% of its offset from that mean.
Step 2: train a new flow-matching model on the straight lines between the coupled pairs,
x_t = (1-t) x + t z with target z - x. Paths of the base cross (two particles may pass one point
heading different ways), so its velocity field averages them and the ODE bends; the coupled lines
cross far less, so the new field is nearly constant along each line and one Euler step follows it.
The new model learns the base's coupling, not the target's: it has no exact counterpart.
Repeating (2-, 3-rectified) straightens further at the cost of the base's errors compounding.

Warm start: from an fm base the new model starts from its weights (the field it already is, one
regression away from the straightened one); a dsm base's network predicts something else, so the
new model starts fresh.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

import torch

from playground.learning.model import Denoiser, ModelConfig
from playground.learning.train_loop import train_for
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.metrics import sliced_w2
from playground.maths.paths import path_summary
from playground.maths.samplers import initial_noise, sample_steps
from playground.maths.samplers.record import final_sample, record_run
from playground.maths.sources import ModelSource

DEFAULT_PAIRS = 20_000
DEFAULT_ODE_STEPS = 100
COUPLING_CHUNK = 5_000          # particles integrated at once (progress and memory granularity)


@dataclass
class ReflowProgress:
    phase: str                  # "couple": integrating the base ODE; "train": fitting the new model
    done: int                   # ODE steps (couple) or training steps (train) so far
    total: int | None           # None while training to a time budget
    loss: float | None = None   # mean loss of the last chunk (train); None when it was skipped
    skipped: bool = False       # train: the trainer skipped every step of the chunk (loss spikes)


def unconditional_weights(model: Denoiser) -> dict:
    """The base's weights as an unconditional network: a conditional model asked without a label
    adds its null embedding to the first layer, which is folded into that layer's bias (exactly)."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if not k.startswith("label_embedding")}
    if model.config.n_classes > 0:
        state["net.0.bias"] += model.label_embedding.weight[model.null_label].detach()
    return state


class Reflow:
    """Couple, then train; drive it with `run` (a generator: stop iterating to cancel).

    base: the trained model (either objective); its EMA weights from a checkpoint, say.
    base_reflowed: how many times the base itself was reflowed (the new model records one more).
    """

    def __init__(self, target, base: Denoiser, pairs: int = DEFAULT_PAIRS, ode_steps: int = DEFAULT_ODE_STEPS,
                 seed: int = 0, base_name: str = "", base_reflowed: int = 0, config: TrainConfig | None = None,
                 device: str = "auto"):
        if pairs < 1 or ode_steps < 1:
            raise ValueError("reflow needs at least one pair and one ODE step")
        self.target, self.pairs, self.ode_steps, self.seed = target, int(pairs), int(ode_steps), int(seed)
        self.base = base.eval()
        self.base_name, self.reflowed = base_name, int(base_reflowed) + 1
        self.config = config or TrainConfig(seed=self.seed, device=device)
        self.config.conditional = False
        self.config.model = ModelConfig(**{**base.config.to_dict(), "objective": "fm", "n_classes": 0})
        self.noise = self.x0 = None
        self.trainer: Trainer | None = None
        self.couple_seconds = 0.0

    def couple(self) -> Iterator[ReflowProgress]:
        """Integrate the base ODE from the noise, chunk by chunk; sets self.noise and self.x0 (CPU)."""
        t0 = time.perf_counter()
        source = ModelSource(self.base, copy_weights=False)
        noise = initial_noise(self.pairs, self.seed)
        chunks, out, done = math.ceil(self.pairs / COUPLING_CHUNK), [], 0
        total = chunks * self.ode_steps
        for c in range(chunks):
            z = noise[c * COUPLING_CHUNK:(c + 1) * COUPLING_CHUNK]
            last = None
            for last in sample_steps("ode-heun", source, len(z), seed=self.seed, steps=self.ode_steps, start=z):
                if last.i > 0:
                    done += 1
                    yield ReflowProgress("couple", done, total)
            out.append(last.x.float().cpu())
        x0 = torch.cat(out)
        keep = torch.isfinite(x0).all(1)
        if not bool(keep.any()):
            raise ValueError("the base model's ODE diverged on every pair: nothing to reflow")
        self.noise, self.x0 = noise[keep], x0[keep]
        self.couple_seconds = time.perf_counter() - t0

    def make_trainer(self) -> Trainer:
        """The new fm model on the couplings, warm-started from an fm base."""
        trainer = Trainer(self.target, self.config)
        if self.base.config.objective == "fm":
            trainer.warm_start(unconditional_weights(self.base))
        trainer.set_couplings(self.x0, self.noise)
        self.trainer = trainer
        return trainer

    def run(self, steps: int | None = None, seconds: float | None = None, chunk: int = 25) -> Iterator[ReflowProgress]:
        """Couplings, then training until `steps` optimiser steps or `seconds` in all (couplings
        included) have passed; the learning rate ends on a cosine tail over the budget."""
        if (steps is None) == (seconds is None):
            raise ValueError("give exactly one of steps or seconds")
        t0 = time.perf_counter()
        yield from self.couple()
        for p in train_for(self.make_trainer(), steps, seconds, chunk, clock_start=t0):
            yield ReflowProgress("train", p.step, steps, p.loss, p.skipped)

    def checkpoint_extra(self) -> dict:
        return {"reflowed": self.reflowed, "base": self.base_name, "pairs": int(len(self.x0)),
                "ode_steps": self.ode_steps}


def flow_report(model: Denoiser, target, n: int = 2000, seed: int = 0, path_steps: int = 50) -> dict:
    """On the flow schedule: mean straightness of ode-euler paths (path_steps steps) and the
    one-step sample's SW2 to fresh exact samples, the two numbers reflow should improve."""
    r = few_step_report(model, target, (1,), n, seed, path_steps)
    report = {"straightness": r["straightness"], "sw2_1step": r["sw2"][1]}
    return {k: (v if math.isfinite(v) else None) for k, v in report.items()}     # None: diverged


def few_step_report(model: Denoiser, target, steps=(1, 2, 4), n: int = 2000, seed: int = 0,
                    path_steps: int = 50) -> dict:
    """Straightness of the path_steps-step ode-euler paths and the SW2 of the k-step ode-euler sample
    for each k in `steps` (flow schedule, the same noise for every k): base against reflowed."""
    source = ModelSource(model, copy_weights=False)
    paths = record_run("ode-euler", source, n, seed, path_steps, "flow")
    ref = target.sample(n, seed=seed + 50_000)
    sw2 = {int(k): sliced_w2(final_sample("ode-euler", source, n, seed, steps=int(k), schedule="flow"), ref)
           for k in steps}
    return {"straightness": path_summary(paths.frames())["straightness"], "sw2": sw2}
