"""The playground's settings (model, training, sampling, display), written once.

One `Settings` value is what the controls show, what a session stores under "settings" and what
`gui` starts from; FIELDS states each setting's type and range, so the spin boxes, the session
check and the defaults cannot disagree. No Qt here: sessions and tests use it without a window.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

DEVICES = ("auto", "cpu", "cuda")


class SettingsError(ValueError):
    """A setting outside its type or range; `key` names it, the message is for the user."""

    def __init__(self, key: str, value, expected: str):
        self.key, self.value = key, value
        where = f"settings.{key}" if key else "settings"
        super().__init__(f"{where} has an invalid value {_short(value)} (expected {expected})")


@dataclass(frozen=True)
class Field:
    """What one setting may hold: kind 'int' | 'float' | 'bool' | 'choice' | 'str', with its range."""
    kind: str
    lo: float | None = None
    hi: float | None = None
    choices: str | None = None       # name of the registry: 'devices' | 'samplers' | 'schedules' | 'objectives'


FIELDS: dict[str, Field] = {
    "preset": Field("str"),
    "device": Field("choice", choices="devices"),
    "schedule": Field("choice", choices="schedules"),
    "objective": Field("choice", choices="objectives"),
    "coupling": Field("choice", choices="couplings"),     # how fm pairs noise with data (learning/couplings.py)
    "hidden": Field("int", 8, 1024),
    "lr": Field("float", 1e-5, 100.0),
    "batch": Field("int", 16, 65536),
    "sampler": Field("choice", choices="samplers"),
    "steps": Field("int", 1, 1000),
    "gamma": Field("float", 0.0, 10.0),      # gradient-estimation's options (samplers/denoising.py)
    "mu": Field("float", 0.0, 0.99),         # mu < 1: s' = (s_next / s^mu)^(1/(1-mu))
    "particles": Field("int", 1, 200_000),
    "seed": Field("int", 0, 2**31 - 1),
    "speed": Field("int", 1, 120),
    "density": Field("bool"),
    "exact": Field("bool"),
    "error": Field("bool"),
    "velocity": Field("bool"),
}


def choices(key: str) -> tuple[str, ...]:
    """The allowed names of a choice setting (imported lazily: the registries pull in torch)."""
    which = FIELDS[key].choices
    if which == "devices":
        return DEVICES
    if which == "couplings":
        from playground.learning.couplings import COUPLINGS
        return tuple(COUPLINGS)
    if which == "objectives":
        from playground.learning.model import OBJECTIVES
        return tuple(OBJECTIVES)
    if which == "samplers":
        from playground.maths.samplers import SAMPLERS
        return tuple(SAMPLERS)
    from playground.maths.schedules import SCHEDULES
    return tuple(SCHEDULES)


def check(key: str, value):
    """The value if it fits FIELDS[key], else SettingsError naming the key and what was expected."""
    f = FIELDS[key]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if f.kind == "int":
        if not (isinstance(value, int) and not isinstance(value, bool) and f.lo <= value <= f.hi):
            raise SettingsError(key, value, f"an integer in [{f.lo}, {f.hi}]")
    elif f.kind == "float":
        if not (number and math.isfinite(value) and f.lo <= value <= f.hi):
            raise SettingsError(key, value, f"a number in [{f.lo:g}, {f.hi:g}]")
        value = float(value)
    elif f.kind == "bool":
        if not isinstance(value, bool):
            raise SettingsError(key, value, "true or false")
    elif f.kind == "choice":
        allowed = choices(key)
        if not (isinstance(value, str) and value in allowed):
            raise SettingsError(key, value, "one of " + ", ".join(allowed))
    elif not isinstance(value, str) or len(value) > 4096:
        raise SettingsError(key, value, "a string")
    return value


def _default_hidden() -> int:
    from playground.learning.model import ModelConfig
    return ModelConfig.hidden


def _default_lr() -> float:
    from playground.learning.trainer import TrainConfig
    return TrainConfig.lr


def _default_schedule() -> str:
    from playground.maths.schedules import DEFAULT_SCHEDULE
    return DEFAULT_SCHEDULE


@dataclass(frozen=True)
class Settings:
    """Every user setting with its default. Immutable: change one with `settings.with_(key=value)`."""
    preset: str = "loaded_dice"
    device: str = "auto"
    schedule: str = ""          # "" -> the default schedule (resolved in __post_init__)
    objective: str = "dsm"      # training objective of a fresh model: "dsm" | "fm" (a change is a reset)
    coupling: str = "independent"   # fm only: how each batch pairs noise with data (applies live)
    hidden: int = 0             # 0 -> ModelConfig.hidden
    lr: float = 0.0             # 0 -> TrainConfig.lr
    batch: int = 1024
    sampler: str = "ode-heun"
    steps: int = 50
    gamma: float = 2.0          # = samplers.denoising.GAMMA, MU (checked by a test: no torch import here)
    mu: float = 0.0
    particles: int = 2000
    seed: int = 0
    speed: int = 30
    density: bool = False
    exact: bool = False
    error: bool = False
    velocity: bool = False      # the field view shows the schedule's probability-flow velocity, not the score

    def __post_init__(self):
        for key, default in (("schedule", _default_schedule), ("hidden", _default_hidden), ("lr", _default_lr)):
            if getattr(self, key) in ("", 0, 0.0):
                object.__setattr__(self, key, default())
        for key in FIELDS:
            object.__setattr__(self, key, check(key, getattr(self, key)))

    def with_(self, **changes) -> "Settings":
        """A copy with some settings changed (each checked); unknown keys raise SettingsError."""
        for key in changes:
            if key not in FIELDS:
                raise SettingsError(key, changes[key], "a known setting")
        return replace(self, **changes)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data, base: "Settings | None" = None) -> "Settings":
        """Settings from a JSON object: missing keys keep `base` (or the defaults), unknown keys (a
        newer version's) are ignored, a bad value raises SettingsError."""
        if not isinstance(data, dict):
            raise SettingsError("", data, "an object")
        return (base or cls()).with_(**known(data))

    def diff(self, other: "Settings") -> set[str]:
        """Names of the settings that differ from `other`."""
        return {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}


def sampler_options(settings: Settings, sampler: str) -> dict:
    """The options `sampler` takes that are settings (gradient-estimation: gamma, mu), with their values."""
    from playground.maths.samplers import SAMPLERS
    return {k: getattr(settings, k) for k in SAMPLERS[sampler].options if k in FIELDS}


def known(data: dict) -> dict:
    """The keys of `data` that are settings, each checked (a partial dict, for older sessions)."""
    return {key: check(key, data[key]) for key in FIELDS if key in data}


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
