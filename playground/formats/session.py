"""Session files: the whole playground state in one zip archive, and where autosaves live.

A session is `session.json` (target, every control setting, trainer config and step, feature
panels' parts) plus `weights.pt`, a torch.save of plain tensors (model, EMA, optimiser state,
loss history) that `torch.load(weights_only=True)` reads, so opening a file from elsewhere
cannot run code. Reading checks everything before anything is applied: a caller either gets a
complete, consistent `Session` or a `SessionError` with one line for the user.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from playground.formats.io_utils import atomic_path
from playground.formats.presets import Preset, PresetError, preset_from_json
from playground.formats.settings import DEVICES, FIELDS, SettingsError, known

FORMAT = "diffusion-playground/session"
VERSION = 1
SUFFIX = ".dpsession"
JSON_MEMBER = "session.json"
WEIGHTS_MEMBER = "weights.pt"
MAX_JSON_BYTES = 64 * 1024 * 1024
STATE_DIR_ENV = "DIFFUSION_PLAYGROUND_STATE_DIR"
WEIGHT_KEYS = ("model", "ema", "optimizer")


class SessionError(ValueError):
    """A session file that cannot be opened; the message is meant for the user."""


@dataclass
class Session:
    preset: Preset
    preset_key: str | None = None
    settings: dict = field(default_factory=dict)       # controls-panel values by name
    trainer: dict | None = None                         # {"config": ..., "step": ..., "lr": ...}
    weights: dict = field(default_factory=dict)         # model / ema / optimizer / losses tensors
    parts: dict = field(default_factory=dict)           # feature panels' JSON states
    path: str | None = None                             # the file it was read from

    def trainer_state(self) -> dict | None:
        """The dict Trainer.load_state_dict takes (None when the session had no model)."""
        if self.trainer is None:
            return None
        return {**{k: self.weights[k] for k in WEIGHT_KEYS}, "step": self.trainer["step"],
                "lr": self.trainer["lr"]}


# ----- settings: what each control may hold (formats/settings.py states it once) -----------------

def _positive_float(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def check_settings(settings) -> dict:
    """Known settings, each checked against its range; unknown keys (a newer version's) are dropped."""
    if not isinstance(settings, dict):
        raise SessionError("session.json: 'settings' must be an object")
    try:
        return known(settings)
    except SettingsError as exc:
        raise SessionError(f"session.json: {exc}") from None


# ----- writing ---------------------------------------------------------------------------------------

def session_json(preset: Preset, settings: dict, trainer: dict | None, parts: dict,
                 preset_key: str | None = None) -> dict:
    return {"format": FORMAT, "version": VERSION, "preset": preset.to_json(), "preset_key": preset_key,
            "settings": settings, "trainer": trainer, "parts": parts}


def weights_bytes(weights: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(weights, buf)
    return buf.getvalue()


def write_session(path, meta: dict, weights: dict) -> None:
    """One zip with session.json and weights.pt, written beside `path` and renamed over it."""
    text = json.dumps(meta, indent=1)
    blob = weights_bytes(weights)
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(JSON_MEMBER, text)
            z.writestr(WEIGHTS_MEMBER, blob)


# ----- reading ---------------------------------------------------------------------------------------

def read_session(path) -> Session:
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise SessionError(f"{path}: no such session file")
    try:
        with zipfile.ZipFile(path) as z:
            members = set(z.namelist())
            for m in (JSON_MEMBER, WEIGHTS_MEMBER):
                if m not in members:
                    raise SessionError(f"{name}: not a session file (no {m} inside)")
            if z.getinfo(JSON_MEMBER).file_size > MAX_JSON_BYTES:
                raise SessionError(f"{name}: session.json is implausibly large")
            raw = z.read(JSON_MEMBER)
            blob = z.read(WEIGHTS_MEMBER)
    except SessionError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        raise SessionError(f"{name}: not a readable session file (not a zip archive, or truncated: "
                           f"{type(exc).__name__})") from None
    meta = _parse_json(raw, name)
    preset = _parse_preset(meta, name)
    settings = check_settings(meta.get("settings", {}))
    parts = meta.get("parts") or {}
    if not isinstance(parts, dict):
        raise SessionError(f"{name}: session.json: 'parts' must be an object")
    key = meta.get("preset_key")
    if key is not None and not isinstance(key, str):
        raise SessionError(f"{name}: session.json: 'preset_key' must be a string")
    trainer = meta.get("trainer")
    weights = _load_weights(blob, name)
    if trainer is not None:
        _check_trainer(trainer, weights, name)
    return Session(preset, key, settings, trainer, weights, parts, str(path))


def _parse_json(raw: bytes, name: str) -> dict:
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionError(f"{name}: session.json is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SessionError(f"{name}: not a diffusion-playground session (format field missing or wrong)")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SessionError(f"{name}: session.json has no valid version number")
    if version > VERSION:
        raise SessionError(f"{name}: written by a newer version (session format {version}); "
                           f"this version reads format {VERSION}")
    if version < VERSION:
        raise SessionError(f"{name}: session format {version} is no longer supported (this version reads {VERSION})")
    return meta


def _parse_preset(meta: dict, name: str) -> Preset:
    try:
        return preset_from_json(meta.get("preset"), name="session")
    except PresetError as exc:
        raise SessionError(f"{name}: invalid target: {exc}") from None


def _load_weights(blob: bytes, name: str) -> dict:
    try:
        weights = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise SessionError(f"{name}: refused: weights.pt holds pickled Python objects, not only weights") from None
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError/EOFError/zip errors for broken data
        raise SessionError(f"{name}: weights.pt is not readable ({type(exc).__name__})") from None
    if not isinstance(weights, dict):
        raise SessionError(f"{name}: weights.pt must hold a dict of tensors")
    return weights


def _check_trainer(trainer, weights: dict, name: str) -> None:
    """The weights must fit the stored config: build the model and optimiser and load them."""
    from playground.learning.model import build_model
    from playground.learning.trainer import TrainConfig, make_optimizer
    if not isinstance(trainer, dict) or not isinstance(trainer.get("config"), dict):
        raise SessionError(f"{name}: session.json: 'trainer' must be an object with a config")
    step, lr = trainer.get("step"), trainer.get("lr")
    if not (isinstance(step, int) and not isinstance(step, bool) and step >= 0):
        raise SessionError(f"{name}: session.json: trainer.step must be a non-negative integer")
    if not _positive_float(lr):
        raise SessionError(f"{name}: session.json: trainer.lr must be a positive number")
    for key in WEIGHT_KEYS:
        if not isinstance(weights.get(key), dict):
            raise SessionError(f"{name}: weights.pt has no '{key}' state")
    if "losses" in weights and not (isinstance(weights["losses"], torch.Tensor) and weights["losses"].dim() == 1):
        raise SessionError(f"{name}: weights.pt: 'losses' must be a 1-D tensor")
    _check_config(trainer["config"], name)
    _check_finite(weights, name)
    try:
        config = TrainConfig.from_dict(trainer["config"])
        model = build_model(config.model)
        model.load_state_dict(weights["model"])
        model.load_state_dict(weights["ema"])
        opt = make_optimizer(model.parameters(), float(lr))
        opt.load_state_dict(weights["optimizer"])
    except Exception as exc:  # noqa: BLE001 - size mismatch, missing keys, bad config values
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise SessionError(f"{name}: the weights do not fit the stored model config ({first})") from None


# Sizes the window could have made (its spin boxes) or a little beyond; checked before building a model.
CONFIG_LIMITS = {"model.hidden": (1, FIELDS["hidden"].hi), "model.depth": (1, 8), "model.noise_freqs": (0, 64),
                 "model.x_freqs": (0, 32), "model.n_classes": (0, 10_000), "batch": (1, FIELDS["batch"].hi),
                 "warmup": (0, 10**9), "seed": (0, 2**63 - 1)}


def _check_config(config: dict, name: str) -> None:
    """Device names and sizes before anything is built: a bad file costs no memory and no time."""
    model = config.get("model", {})
    if not isinstance(model, dict):
        raise SessionError(f"{name}: session.json: trainer.config.model must be an object")
    if config.get("device", "auto") not in DEVICES:
        raise SessionError(f"{name}: session.json: trainer.config.device must be one of {', '.join(DEVICES)}, "
                           f"got {str(config.get('device'))[:40]!r}")
    for key, (lo, hi) in CONFIG_LIMITS.items():
        part, field_name = (model, key[6:]) if key.startswith("model.") else (config, key)
        if field_name not in part:
            continue
        v = part[field_name]
        if not (isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi):
            raise SessionError(f"{name}: session.json: trainer.config.{key} must be an integer in [{lo}, {hi}]")
    size = config.get("dataset_size")
    if size is not None and not (isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 10_000_000):
        raise SessionError(f"{name}: session.json: trainer.config.dataset_size must be empty or in [1, 10000000]")
    for key in ("lr", "ema", "weight_decay", "grad_clip", "p_mean", "p_std", "label_dropout"):
        v = config.get(key, 0.0)
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)):
            raise SessionError(f"{name}: session.json: trainer.config.{key} must be a finite number")


def _check_finite(weights: dict, name: str) -> None:
    for key in ("model", "ema"):
        for pname, t in weights[key].items():
            if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise SessionError(f"{name}: weights.pt: {key}.{pname} holds NaN or infinite values")


# ----- where autosaves live ---------------------------------------------------------------------------

def state_dir() -> Path:
    """$DIFFUSION_PLAYGROUND_STATE_DIR, else $XDG_STATE_HOME/diffusion-playground, else ~/.local/state/..."""
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "diffusion-playground"


def autosave_path() -> Path:
    return state_dir() / f"autosave{SUFFIX}"


def marker_path() -> Path:
    return state_dir() / "running.marker"
