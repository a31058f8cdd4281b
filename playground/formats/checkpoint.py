"""Checkpoints: a plain dict of tensors and numbers, readable with torch.load(weights_only=True).

weights_only refuses pickled objects, so opening a file from elsewhere cannot run code; saves go
through a temporary file and one rename, so an interrupted save never leaves half a file.
The model's objective ("dsm" or "fm") is in config["model"] (rebuilding the right network) and,
for readers, at the top level; a file without it predates flow matching and is score matching.
A reflowed model also records `reflowed` (1 for 2-rectified, ...) and `base` (its base's file).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch

from playground.formats.io_utils import atomic_path
from playground.learning.model import Denoiser, build_model


class CheckpointError(ValueError):
    pass


def save_checkpoint(trainer, path, extra: dict | None = None) -> None:
    state = trainer.state_dict()
    state["format"] = "diffusion-playground/checkpoint/1"
    state["objective"] = trainer.model.config.objective
    if extra:
        state.update(extra)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def read_checkpoint(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    with open(path, "rb") as fh:
        if fh.read(4) != b"PK\x03\x04":   # torch.save writes a zip archive
            raise CheckpointError(f"{path.name}: not a checkpoint file (not a torch archive)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path.name}: refused: it holds pickled Python objects, not only weights") from None
    except Exception as e:  # torch raises RuntimeError/EOFError/zipfile errors for broken files
        raise CheckpointError(f"{path.name}: not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or "ema" not in state or "config" not in state:
        raise CheckpointError(f"{path.name}: not a diffusion-playground checkpoint (no weights or config)")
    return state


def load_model(path, ema: bool = True, device="cpu") -> Denoiser:
    """The denoiser stored in a checkpoint (EMA weights by default)."""
    return model_from_state(read_checkpoint(path), Path(path).name, ema=ema, device=device)


def model_from_state(state: dict, name: str = "checkpoint", ema: bool = True, device="cpu") -> Denoiser:
    """Rebuild the network a read_checkpoint() dict describes (no objective stored: dsm)."""
    try:
        model = build_model(state["config"].get("model", {}))
        model.load_state_dict(state["ema" if ema else "model"])
    except (RuntimeError, TypeError, KeyError, AttributeError) as e:
        raise CheckpointError(f"{name}: weights do not fit the stored config ({type(e).__name__})") from None
    except ValueError as e:      # an objective this version does not know
        raise CheckpointError(f"{name}: {e}") from None
    return model.to(device).eval()


def model_info(state: dict) -> dict:
    """What UIs show about a checkpoint: objective, how many times reflowed, and from which base.
    A reflowed model learned its base's coupling, not the target's: it has no exact counterpart."""
    objective = state.get("objective") or state.get("config", {}).get("model", {}).get("objective", "dsm")
    reflowed = int(state.get("reflowed", 0) or 0)
    return {"objective": objective, "reflowed": reflowed, "base": state.get("base") if reflowed else None,
            "exact_counterpart": reflowed == 0}
