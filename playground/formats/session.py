"""Session files: the whole playground state in one zip archive, and where autosaves live.

A session is `session.json` (target, every control setting, trainer config, step and divergence
guard, feature panels' parts, the last run's per-frame numbers) plus `weights.pt`, a torch.save of
plain tensors (model, EMA, optimiser state, loss history, the trainer's generator state) and, when
a run was on screen, `run.pt` (its frames, see session_run.py); `torch.load(weights_only=True)`
reads both, so opening a file from elsewhere cannot run code. Reading checks everything before anything is applied: a caller either gets a
complete, consistent `Session` or a `SessionError` with one line for the user.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from playground.formats import session_checks
from playground.formats.io_utils import atomic_path
from playground.formats.presets import Preset, PresetError, preset_from_json
from playground.formats.session_checks import SessionCheckError
from playground.formats.session_run import MAX_RUN_BYTES, parse_run, run_json, run_tensors
from playground.maths.samplers.record import Run
from playground.formats.settings import SettingsError, known
from playground.formats.validate import parse_json

FORMAT = "diffusion-playground/session"
VERSION = 1
SUFFIX = ".dpsession"
JSON_MEMBER = "session.json"
WEIGHTS_MEMBER = "weights.pt"
RUN_MEMBER = "run.pt"
MAX_RUN_MEMBER_BYTES = MAX_RUN_BYTES + 1024 * 1024    # the frames plus torch's archive around them
MAX_JSON_BYTES = 32 * 1024 * 1024          # session.json, inflated
MAX_WEIGHTS_BYTES = 128 * 1024 * 1024      # weights.pt, inflated: 4 copies of MAX_PARAMETERS float32 fit
MAX_MEMBERS = 16
MAX_LOSSES = 10_000_000                    # loss history entries
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
    run: Run | None = None                         # the last sampler run (None: nothing sampled)

    def trainer_state(self) -> dict | None:
        """The dict Trainer.load_state_dict takes (None when the session had no model); older
        sessions have no rng or guard, and the trainer then keeps its fresh ones."""
        if self.trainer is None:
            return None
        return {**{k: self.weights[k] for k in WEIGHT_KEYS}, "step": self.trainer["step"],
                "lr": self.trainer["lr"], "rng": self.weights.get("rng"), "guard": self.trainer.get("guard")}


def check_settings(settings) -> dict:
    """Known settings, each checked against its range (formats/settings.py); unknown keys (a newer
    version's) are dropped."""
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


def split_trainer_state(state: dict) -> tuple[dict, dict]:
    """Trainer.state_dict() (plus `losses`) as session.json's trainer block and weights.pt's
    tensors; Session.trainer_state() puts them back together."""
    trainer = {"config": state["config"], "step": int(state["step"]), "lr": float(state["lr"]),
               "guard": state.get("guard")}
    weights = {k: state[k] for k in (*WEIGHT_KEYS, "losses", "rng") if state.get(k) is not None}
    return trainer, weights


def weights_bytes(weights: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(weights, buf)
    return buf.getvalue()


def write_session(path, meta: dict, weights: dict, run: Run | None = None) -> None:
    """One zip with session.json, weights.pt and (given a run) run.pt, written beside `path` and
    renamed over it. The frames are stored, not deflated: noise-like floats do not compress."""
    if run is not None:
        meta = {**meta, "run": run_json(run)}
    text = json.dumps(meta, indent=1)
    blob = weights_bytes(weights)
    frames = weights_bytes(run_tensors(run)) if run is not None else None
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(JSON_MEMBER, text)
            z.writestr(WEIGHTS_MEMBER, blob)
            if frames is not None:
                z.writestr(RUN_MEMBER, frames, compress_type=zipfile.ZIP_STORED)


# ----- reading ---------------------------------------------------------------------------------------

def _read_member(z: zipfile.ZipFile, member: str, limit: int, name: str) -> bytes:
    """A member's bytes, its size checked from the zip directory first and capped again while
    inflating (a directory can lie; the cap cannot)."""
    info = z.getinfo(member)
    if info.file_size > limit:
        raise SessionError(f"{name}: {member} would inflate to {info.file_size:,} bytes; "
                           f"the limit is {limit:,}")
    out, left = [], limit + 1
    with z.open(info) as fh:
        while left > 0:
            chunk = fh.read(min(1 << 20, left))
            if not chunk:
                break
            out.append(chunk)
            left -= len(chunk)
    if left <= 0:
        raise SessionError(f"{name}: {member} inflates past the limit of {limit:,} bytes")
    return b"".join(out)


def read_session(path) -> Session:
    """A fully validated Session (target, settings, trainer config, weights) or a SessionError
    naming the problem; nothing is applied by reading, so a caller can apply it all or nothing."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise SessionError(f"{path}: no such session file")
    try:
        with zipfile.ZipFile(path) as z:
            members = z.namelist()
            if len(members) > MAX_MEMBERS:
                raise SessionError(f"{name}: not a session file ({len(members)} members inside)")
            for m in (JSON_MEMBER, WEIGHTS_MEMBER):
                if m not in members:
                    raise SessionError(f"{name}: not a session file (no {m} inside)")
            raw = _read_member(z, JSON_MEMBER, MAX_JSON_BYTES, name)
            blob = _read_member(z, WEIGHTS_MEMBER, MAX_WEIGHTS_BYTES, name)
            run_blob = _read_member(z, RUN_MEMBER, MAX_RUN_MEMBER_BYTES, name) if RUN_MEMBER in members else None
    except SessionError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error, NotImplementedError) as exc:
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
    if trainer is not None:
        _check_trainer_meta(trainer, name)
    weights = _load_weights(blob, name)
    try:
        rng = weights.pop("rng", None)        # uint8, which check_tensors refuses anywhere else
        session_checks.check_tensors(weights, "weights.pt")
        if rng is not None:
            session_checks.check_rng(rng)
            weights["rng"] = rng
        run = _parse_run(meta.get("run"), run_blob, name)
    except SessionCheckError as exc:
        raise SessionError(f"{name}: {exc}") from None
    if trainer is not None:
        _check_trainer(trainer, weights, name)
    return Session(preset, key, settings, trainer, weights, parts, str(path), run)


def _parse_run(meta, blob: bytes | None, name: str) -> Run | None:
    """The saved run, or None when the session has none; its JSON block and run.pt come together."""
    if meta is None and blob is None:
        return None
    if meta is None or blob is None:
        raise SessionCheckError(f"the run is incomplete: {'run.pt' if blob is None else 'session.json run'} is missing")
    return parse_run(meta, _load_weights(blob, name, RUN_MEMBER, MAX_RUN_MEMBER_BYTES))


def _parse_json(raw: bytes, name: str) -> dict:
    try:
        meta = parse_json(raw.decode("utf-8"), "session.json")
    except UnicodeDecodeError as exc:
        raise SessionError(f"{name}: session.json is not valid JSON ({exc})") from None
    except PresetError as exc:
        raise SessionError(f"{name}: {exc}") from None
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


def _load_weights(blob: bytes, name: str, member: str = WEIGHTS_MEMBER, limit: int = MAX_WEIGHTS_BYTES) -> dict:
    try:   # torch's own archive: its members' sizes are checked like the outer ones
        inner = zipfile.ZipFile(io.BytesIO(blob)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        inner = []      # not a zip at all: torch.load refuses it below
    if sum(i.file_size for i in inner) > limit:
        raise SessionError(f"{name}: {member} would inflate past the limit of {limit:,} bytes")
    try:
        weights = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise SessionError(f"{name}: refused: {member} holds pickled Python objects, not only weights") from None
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError/EOFError/zip errors for broken data
        raise SessionError(f"{name}: {member} is not readable ({type(exc).__name__})") from None
    if not isinstance(weights, dict):
        raise SessionError(f"{name}: {member} must hold a dict of tensors")
    return weights


def _check_trainer_meta(trainer, name: str) -> None:
    """session.json's trainer part alone: config values and model size, before any weight is read."""
    if not isinstance(trainer, dict) or not isinstance(trainer.get("config"), dict):
        raise SessionError(f"{name}: session.json: 'trainer' must be an object with a config")
    step, lr = trainer.get("step"), trainer.get("lr")
    if not (isinstance(step, int) and not isinstance(step, bool) and 0 <= step <= 10**12):
        raise SessionError(f"{name}: session.json: trainer.step must be a non-negative integer")
    if not session_checks.num_in(0, 100.0, open_low=True)(lr):
        raise SessionError(f"{name}: session.json: trainer.lr must be a positive number up to 100")
    try:
        session_checks.check_trainer_config(trainer["config"])
        if trainer.get("guard") is not None:
            session_checks.check_guard(trainer["guard"])
    except SessionCheckError as exc:
        raise SessionError(f"{name}: session.json: {exc}") from None


def _check_trainer(trainer: dict, weights: dict, name: str) -> None:
    """The weights must fit the stored config: build the (size-checked) model and optimiser and load them."""
    from playground.learning.devices import make_optimizer
    from playground.learning.model import build_model
    from playground.learning.trainer import TrainConfig
    for key in WEIGHT_KEYS:
        if not isinstance(weights.get(key), dict):
            raise SessionError(f"{name}: weights.pt has no '{key}' state")
    losses = weights.get("losses")
    if losses is not None and not (isinstance(losses, torch.Tensor) and losses.dim() == 1
                                   and len(losses) <= MAX_LOSSES):
        raise SessionError(f"{name}: weights.pt: 'losses' must be a 1-D tensor of at most {MAX_LOSSES:,} values")
    try:
        config = TrainConfig.from_dict(trainer["config"])
        model = build_model(config.model)
        model.load_state_dict(weights["model"])
        model.load_state_dict(weights["ema"])
        opt = make_optimizer(model.parameters(), float(trainer["lr"]))
        opt.load_state_dict(weights["optimizer"])
    except Exception as exc:  # noqa: BLE001 - size mismatch, missing keys, bad config values
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise SessionError(f"{name}: the weights do not fit the stored model config ({first})") from None


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
