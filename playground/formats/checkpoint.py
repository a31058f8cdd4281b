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
    state["objective"] = state.get("config", {}).get("model", {}).get("objective", "dsm")
    if extra:
        state.update(extra)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _read_archive(path) -> dict:
    """The dict inside a torch archive, loaded weights-only; CheckpointError for anything else."""
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
    if not isinstance(state, dict):
        raise CheckpointError(f"{path.name}: not a diffusion-playground checkpoint")
    return state


def read_checkpoint(path) -> dict:
    state = _read_archive(path)
    if "ema" not in state or "config" not in state:
        if state.get("format") == CLASSIFIER_FORMAT:
            raise CheckpointError(f"{Path(path).name}: is a classifier checkpoint, not a denoiser")
        raise CheckpointError(f"{Path(path).name}: not a diffusion-playground checkpoint (no weights or config)")
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


CLASSIFIER_FORMAT = "diffusion-playground/classifier/1"


def save_classifier(trainer, path, extra: dict | None = None) -> None:
    """A noisy classifier's weights, config and class names (weights-only loadable)."""
    state = {"format": CLASSIFIER_FORMAT, "config": trainer.config.to_dict(), "weights": trainer.model.state_dict(),
             "class_names": list(trainer.target.group_names), "step": trainer.step}
    state.update(extra or {})
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_classifier(path, device="cpu"):
    """(NoisyClassifier, class names) from a classifier checkpoint."""
    from playground.learning.classifier import ClassifierConfig, NoisyClassifier
    state = _read_archive(path)
    if state.get("format") != CLASSIFIER_FORMAT:
        raise CheckpointError(f"{Path(path).name}: not a classifier checkpoint (train one with train-classifier)")
    try:
        model = NoisyClassifier(ClassifierConfig.from_dict(state["config"]))
        model.load_state_dict(state["weights"])
        names = [str(n) for n in state["class_names"]]
    except (RuntimeError, TypeError, KeyError, AttributeError, ValueError) as e:
        raise CheckpointError(f"{Path(path).name}: weights do not fit the stored config ({type(e).__name__})") from None
    return model.to(device).eval(), names
def model_info(state: dict) -> dict:
    """What UIs show about a checkpoint: objective, how many times reflowed, and from which base.
    A reflowed model learned its base's coupling, not the target's: it has no exact counterpart."""
    objective = state.get("objective") or state.get("config", {}).get("model", {}).get("objective", "dsm")
    reflowed = int(state.get("reflowed", 0) or 0)
    return {"objective": objective, "reflowed": reflowed, "base": state.get("base") if reflowed else None,
            "exact_counterpart": reflowed == 0}
