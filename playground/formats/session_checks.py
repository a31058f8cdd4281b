"""What a session may hold, checked before anything is built or applied.

Settings must fit the window's own controls (a seed the seed box cannot show is refused, not
clamped); the trainer config must describe a model of bounded size (counted from the config,
before a single tensor is allocated); weights must be finite tensors. Every check raises
SessionCheckError with the field named; session.py adds the file name.
"""
from __future__ import annotations

import math
import re

import torch

from playground.formats.validate import MAX_COMPONENTS

MAX_PARAMETERS = 5_000_000        # one copy of the model; a session holds four (model, EMA, two Adam moments)
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d{1,2})?)$")


class SessionCheckError(ValueError):
    pass


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def int_in(lo, hi):
    return lambda v: _is_int(v) and lo <= v <= hi


def num_in(lo, hi, open_low=False):
    return lambda v: _is_num(v) and (lo < v if open_low else lo <= v) and v <= hi


def one_of(names):
    return lambda v: isinstance(v, str) and v in names


def is_device(v) -> bool:
    return isinstance(v, str) and bool(DEVICE_PATTERN.match(v))


def is_bool(v) -> bool:
    return isinstance(v, bool)


def is_point_or_none(v) -> bool:
    """None or [x, y], two finite numbers of at most 1e6 in size (a model's data_mean)."""
    return v is None or (isinstance(v, list) and len(v) == 2 and all(num_in(-1e6, 1e6)(u) for u in v))


TRAIN_RULES = {"lr": num_in(0, 100.0, open_low=True), "batch": int_in(1, 65536), "ema": num_in(0, 1),
               "weight_decay": num_in(0, 1), "warmup": int_in(0, 10**7), "grad_clip": num_in(0, 1e6, open_low=True),
               "p_mean": num_in(-10, 10), "p_std": num_in(0, 10, open_low=True), "seed": int_in(0, 2**32),
               "device": is_device, "dataset_size": lambda v: v is None or int_in(1, 2_000_000)(v),
               "conditional": is_bool, "label_dropout": num_in(0, 1)}
MODEL_RULES = {"hidden": int_in(1, 4096), "depth": int_in(1, 8), "noise_freqs": int_in(1, 64),
               "x_freqs": int_in(0, 12), "sigma_data": num_in(0, 1e6, open_low=True),
               "n_classes": int_in(0, MAX_COMPONENTS), "data_mean": is_point_or_none}


def parameter_count(model: dict) -> int:
    """Weights of the Denoiser this config builds (learning/model.py), counted without building it."""
    from playground.learning.model import ModelConfig
    c = {**ModelConfig().to_dict(), **model}
    width_in = 2 + 4 * c["x_freqs"] + 2 * c["noise_freqs"]
    h, d = c["hidden"], c["depth"]
    hidden_layers = (width_in + 1) * h + (d - 1) * (h + 1) * h
    label = (c["n_classes"] + 1) * h if c["n_classes"] > 0 else 0
    return hidden_layers + (h + 1) * 2 + label


def _check_rules(values: dict, rules: dict, where: str) -> None:
    """Each key present must pass its rule; keys a newer version adds are ignored."""
    for key, ok in rules.items():
        if key in values and not ok(values[key]):
            raise SessionCheckError(f"{where}.{key} has an invalid value {_short(values[key])}")


def check_trainer_config(config) -> None:
    if not isinstance(config, dict):
        raise SessionCheckError("trainer.config must be an object")
    _check_rules(config, TRAIN_RULES, "trainer.config")
    model = config.get("model", {})
    if not isinstance(model, dict):
        raise SessionCheckError("trainer.config.model must be an object")
    _check_rules(model, MODEL_RULES, "trainer.config.model")
    n = parameter_count({k: model[k] for k in MODEL_RULES if k in model})
    if n > MAX_PARAMETERS:
        raise SessionCheckError(f"trainer.config.model describes {n:,} weights; the limit is {MAX_PARAMETERS:,}")


RNG_STATE_BYTES = torch.Generator(device="cpu").get_state().numel()    # mt19937 plus torch's own fields
GUARD_RULES = {"loss_mean": lambda v: v is None or _is_num(v), "loss_best": lambda v: v is None or _is_num(v),
               "spikes": int_in(0, 10**6), "since_reset": int_in(0, 10**12), "stalled": is_bool,
               "lr_scale": num_in(0, 100.0, open_low=True)}


def check_rng(rng) -> None:
    """A CPU generator's state: 1-D uint8 of its exact size, and one torch accepts (a trial set_state),
    so restoring it later cannot fail halfway through an open."""
    if not (isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8 and rng.dim() == 1
            and rng.numel() == RNG_STATE_BYTES):
        shape = f"{rng.dtype} {tuple(rng.shape)}" if isinstance(rng, torch.Tensor) else type(rng).__name__
        raise SessionCheckError(f"'rng' must be a 1-D uint8 tensor of {RNG_STATE_BYTES} bytes, got {shape}")
    try:
        torch.Generator(device="cpu").set_state(rng)
    except RuntimeError as exc:
        raise SessionCheckError(f"'rng' is not a valid generator state ({str(exc).strip()[:80]})") from None


def check_guard(guard) -> None:
    """The divergence guard's scalars (Trainer.guard_state); keys a newer version adds are ignored."""
    if not isinstance(guard, dict):
        raise SessionCheckError("trainer.guard must be an object")
    _check_rules(guard, GUARD_RULES, "trainer.guard")


def check_tensors(obj, where: str, depth: int = 0) -> None:
    """Every tensor in a (nested) state dict is real and finite; anything else is a plain number."""
    if depth > 8:
        raise SessionCheckError(f"{where}: nested too deeply")
    if isinstance(obj, torch.Tensor):
        if obj.is_complex() or not (obj.is_floating_point() or obj.dtype in (torch.int64, torch.int32, torch.bool)):
            raise SessionCheckError(f"{where}: unexpected tensor type {obj.dtype}")
        if obj.is_floating_point() and not bool(torch.isfinite(obj).all()):
            raise SessionCheckError(f"{where}: holds NaN or infinite values")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_tensors(v, f"{where}.{k}", depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_tensors(v, f"{where}[{i}]", depth + 1)
    elif not (obj is None or isinstance(obj, (bool, int, str)) or _is_num(obj)):
        raise SessionCheckError(f"{where}: unexpected value {_short(obj)}")


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
