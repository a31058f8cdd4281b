"""What the loss-by-level and memorisation views need from the learning side: the trainer's own
weighting of noise levels, and the sweep of copy rates over training-set sizes.

The trainer's loss is a weighted average over levels of the denoising error mse(s) (see trainer):
  dsm: log s ~ N(p_mean + log sigma_data, p_std^2), error scaled by 1 / c_out(s)^2;
  fm:  t = s/(1+s) uniform (or logit t = log s ~ N(0, 1)), velocity error = (D - x0)/t, over c_v^2.
level_weights gives that weight per unit log s, so weighted_mean(levels, mse, w) is the loss the
trainer would report for a denoiser with those mse(s) (over the grid's range), and the same of the
floor is the lowest loss any network could reach.
"""
from __future__ import annotations

import math
import threading
from typing import Callable

import numpy as np

from playground.learning.dataset import training_set
from playground.maths.diagnostics.loss_by_level import LossByLevel, weighted_mean
from playground.maths.diagnostics.memorisation import Memorisation, memorisation
from playground.maths.progress import Cancelled

SWEEP_SIZES = (8, 32, 128, 512, 2048)


def _normal_pdf(z):
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def level_weights(levels, train_config, model_config) -> np.ndarray:
    """The trainer's weight of mse(s) per unit log s at each level (train_config: a TrainConfig,
    model_config: the ModelConfig of the network it trains, sigma_data set)."""
    s = np.asarray(levels, dtype=np.float64)
    sd = float(model_config.sigma_data)
    if model_config.objective == "fm":
        c_v2 = 1.0 + sd * sd
        t = s / (1.0 + s)
        density = _normal_pdf(np.log(s)) if train_config.t_sampling == "logit-normal" else s / (1.0 + s) ** 2
        return density / (t * t) / c_v2
    c_out2 = (s * sd) ** 2 / (s * s + sd * sd)
    mu, std = train_config.p_mean + math.log(sd), train_config.p_std
    return _normal_pdf((np.log(s) - mu) / std) / std / c_out2


def trainer_floor_and_excess(result: LossByLevel, trainer) -> tuple[float, float | None]:
    """(the lowest loss the trainer could report, how far the scored model is above it), both under
    the trainer's own weighting of levels; the excess is None when result has no model row."""
    w = level_weights(result.levels, trainer.config, trainer.model.config)
    floor = weighted_mean(result.levels, result.floor_mse, w)
    return floor, None if result.excess is None else weighted_mean(result.levels, result.excess, w)


def memorisation_sweep(target, sizes=SWEEP_SIZES, n: int = 1000, seed: int = 0,
                       model_for: Callable[[int, object], object] | None = None,
                       stop: threading.Event | None = None,
                       progress: Callable[[float], object] | None = None) -> list[Memorisation]:
    """Copy rates per training-set size N: the empirical-exact denoiser of the set a Trainer with
    dataset_size=N and this seed trains on, fresh exact samples, and, when model_for(N, dataset) is
    given and returns a Source (e.g. a model trained with dataset_size=N), that model. progress(f)
    returning False, or stop set, raise Cancelled; the work per N grows with N."""
    sizes = [int(k) for k in sizes]
    total, done, out = float(sum(sizes)) or 1.0, 0, []
    for k in sizes:
        if (stop is not None and stop.is_set()) or (progress is not None and progress(done / total) is False):
            raise Cancelled()
        dataset = training_set(target, k, seed)[0]
        source = model_for(k, dataset) if model_for is not None else None
        out.append(memorisation(target, dataset, n=n, seed=seed, source=source, stop=stop))
        done += k
    if progress is not None:
        progress(1.0)
    return out
