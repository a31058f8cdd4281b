"""Guided tours as data: one JSON file per tour in formats/tours/, checked whole when read.

A tour is a title and 4-8 stops. A stop sets up the window (preset, a shipped model, settings,
widget values by objectName, the dock to show), may act (sample, press a button), then shows the
frame it names, highlights one widget and says in 1-4 sentences what to look at; it may ask a
question whose answer the next stop gives. Setups add up: a stop keeps what the stops before it set
unless it says otherwise, so any stop can be rebuilt from the file alone (Back, Close).
No Qt here: the names this module cannot know (widgets, docks) are checked by the app's player
(app/features/tours) against the real window; presets, settings and models are checked here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

from playground.formats.builtin import builtin_names
from playground.formats.settings import FIELDS, SettingsError, check

TOUR_DIR = resources.files("playground.formats") / "tours"
MODEL_DIR = TOUR_DIR / "models"
MIN_STOPS, MAX_STOPS = 4, 8
MIN_CHOICES, MAX_CHOICES = 2, 4
MAX_TEXT = 700                       # characters of a stop's text: 1-4 sentences
ACTIONS = {                          # what a stop may do, besides pressing a button ({"click": name})
    "sample": "a Sample press: the current model, the current sampler settings",
    "sample_exact": "the same run with the exact score of the target (no model needed)",
}
# Settings a stop may set. The model's own (objective, width, learning rate, batch, device, coupling)
# come with the stop's "model", so the picture never depends on a half-trained network.
TOUR_SETTINGS = ("schedule", "sampler", "steps", "gamma", "mu", "particles", "seed", "speed", "density", "exact",
                 "error", "velocity")
STOP_KEYS = {"text", "preset", "model", "settings", "widgets", "after", "show", "act", "frame", "highlight", "question"}
TOUR_KEYS = {"title", "order", "stops"}


class TourError(ValueError):
    """A tour file that breaks the rules; the message names the tour, the stop and the field."""


@dataclass(frozen=True)
class Question:
    prompt: str
    choices: tuple[str, ...]
    answer: int                      # index into choices


@dataclass(frozen=True)
class Stop:
    text: str
    preset: str | None = None
    model: str | None = None         # a shipped model's name, "original" (the window's own), None: keep
    settings: dict = field(default_factory=dict)
    widgets: dict = field(default_factory=dict)      # objectName -> value, set before acting (they add up)
    after: dict = field(default_factory=dict)        # objectName -> value, set after acting (this stop only)
    show: str | None = None                          # a dock to show and raise
    act: tuple = ()                                  # action names and {"click": objectName}
    frame: object = "last"                           # "first" | "last" | an index | {"fraction": f}
    highlight: str | None = None
    question: Question | None = None


@dataclass(frozen=True)
class Tour:
    name: str
    title: str
    order: int
    stops: tuple[Stop, ...]

    @property
    def questions(self) -> int:
        return sum(s.question is not None for s in self.stops)

    def set_names(self) -> set[str]:
        """The objectNames whose values the tour sets (kept, and given back when it closes)."""
        return {name for s in self.stops for name in (*s.widgets, *s.after)}


def tour_names() -> list[str]:
    """Names of the shipped tours, in their menu order (a file's "order"; checked when it is read)."""
    def order(name: str):
        try:
            value = json.loads((TOUR_DIR / f"{name}.json").read_text(encoding="utf-8")).get("order", 100)
        except (ValueError, AttributeError):
            value = 100
        return (value if isinstance(value, int) else 100, name)
    return sorted(_stems(), key=order)


def _stems() -> list[str]:
    return sorted(p.name[:-5] for p in TOUR_DIR.iterdir() if p.name.endswith(".json"))


def read_tour(name: str) -> Tour:
    """A shipped tour by name; TourError if there is none or it breaks the rules."""
    f = TOUR_DIR / f"{name}.json"
    if not isinstance(name, str) or "/" in name or not f.is_file():
        known = ", ".join(_stems())
        raise TourError(f"unknown tour {name!r} (tours: {known})")
    return parse_tour(name, f.read_text(encoding="utf-8"))


def model_names() -> list[str]:
    return sorted(p.name[:-3] for p in MODEL_DIR.iterdir() if p.name.endswith(".pt")) if MODEL_DIR.is_dir() else []


def model_file(name: str):
    """The shipped checkpoint of a tour model (a Traversable readable with read_bytes)."""
    return MODEL_DIR / f"{name}.pt"


def parse_tour(name: str, text: str) -> Tour:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TourError(f"tour {name}: not valid JSON ({exc})") from None
    where = f"tour {name}"
    if not isinstance(data, dict):
        raise TourError(f"{where}: must be a JSON object")
    _keys(data, TOUR_KEYS, where)
    title = _text(data.get("title"), f"{where}: title", 120)
    order = data.get("order", 100)
    if isinstance(order, bool) or not isinstance(order, int):
        raise TourError(f"{where}: order must be an integer")
    stops = data.get("stops")
    if not isinstance(stops, list) or not MIN_STOPS <= len(stops) <= MAX_STOPS:
        raise TourError(f"{where}: stops must be a list of {MIN_STOPS} to {MAX_STOPS} stops")
    parsed = tuple(_stop(s, f"{where}, stop {i + 1}") for i, s in enumerate(stops))
    if parsed[0].preset is None:
        raise TourError(f"{where}, stop 1: must name a preset (a tour starts from a known target)")
    if parsed[-1].question is not None:
        raise TourError(f"{where}, stop {len(parsed)}: the last stop cannot ask a question (its answer comes on Next)")
    return Tour(name, title, order, parsed)


def _stop(data, where: str) -> Stop:
    if not isinstance(data, dict):
        raise TourError(f"{where}: must be a JSON object")
    _keys(data, STOP_KEYS, where)
    preset = data.get("preset")
    if preset is not None and preset not in builtin_names():
        raise TourError(f"{where}: unknown preset {preset!r}")
    model = data.get("model")
    if model is not None and model != "original" and model not in model_names():
        raise TourError(f"{where}: unknown model {model!r} (shipped: {', '.join(model_names()) or 'none'})")
    settings = _dict(data.get("settings", {}), f"{where}: settings")
    for key, value in settings.items():
        if key not in FIELDS:
            raise TourError(f"{where}: unknown setting {key!r}")
        if key not in TOUR_SETTINGS:
            raise TourError(f"{where}: setting {key!r} comes with the stop's model, not from a tour")
        try:
            settings[key] = check(key, value)
        except SettingsError as exc:
            raise TourError(f"{where}: {exc}") from None
    act = data.get("act", [])
    if not isinstance(act, list):
        raise TourError(f"{where}: act must be a list")
    for a in act:
        ok = a in ACTIONS if isinstance(a, str) else (isinstance(a, dict) and set(a) == {"click"}
                                                     and isinstance(a["click"], str))
        if not ok:
            raise TourError(f"{where}: unknown action {a!r} (actions: {', '.join(ACTIONS)} or {{\"click\": name}})")
    return Stop(text=_text(data.get("text"), f"{where}: text", MAX_TEXT), preset=preset, model=model,
                settings=settings, widgets=_values(data.get("widgets", {}), f"{where}: widgets"),
                after=_values(data.get("after", {}), f"{where}: after"),
                show=_name(data.get("show"), f"{where}: show"), act=tuple(act),
                frame=_frame(data.get("frame", "last"), where), highlight=_name(data.get("highlight"), f"{where}: highlight"),
                question=_question(data.get("question"), where))


def _question(data, where: str) -> Question | None:
    if data is None:
        return None
    where = f"{where}: question"
    if not isinstance(data, dict):
        raise TourError(f"{where}: must be a JSON object")
    _keys(data, {"prompt", "choices", "answer"}, where)
    choices = data.get("choices")
    if not isinstance(choices, list) or not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        raise TourError(f"{where}: choices must be a list of {MIN_CHOICES} to {MAX_CHOICES} answers")
    answer = data.get("answer")
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise TourError(f"{where}: answer must be the index of one of the choices (0 to {len(choices) - 1})")
    return Question(_text(data.get("prompt"), f"{where}: prompt", 300),
                    tuple(_text(c, f"{where}: choice", 160) for c in choices), answer)


def _frame(value, where: str):
    if value in ("first", "last"):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, dict) and set(value) == {"fraction"}:
        f = value["fraction"]
        if isinstance(f, (int, float)) and not isinstance(f, bool) and 0 <= f <= 1:
            return {"fraction": float(f)}
    raise TourError(f"{where}: frame must be \"first\", \"last\", a frame index or {{\"fraction\": 0..1}}")


def _values(data, where: str) -> dict:
    data = _dict(data, where)
    for key, value in data.items():
        if not (isinstance(value, (bool, int, float, str)) or
                (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            raise TourError(f"{where}: {key} must be a boolean, a number, a text or a list of texts")
    return data


def _dict(data, where: str) -> dict:
    if not isinstance(data, dict):
        raise TourError(f"{where}: must be a JSON object")
    return dict(data)


def _keys(data: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise TourError(f"{where}: unknown field {unknown[0]!r}")


def _text(value, where: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TourError(f"{where}: must be a non-empty text")
    if len(value) > limit:
        raise TourError(f"{where}: longer than {limit} characters")
    return value.strip()


def _name(value, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TourError(f"{where}: must be an objectName")
    return value


def read_tour_model(name: str) -> tuple[dict, dict]:
    """(TrainConfig dict, trainer state) of a shipped tour model: its EMA weights stand for both the
    weights and their average, so the window's trainer holds exactly the network the tour shows."""
    from playground.formats.checkpoint import CheckpointError, read_checkpoint
    if name not in model_names():
        raise TourError(f"unknown tour model {name!r}")
    with resources.as_file(model_file(name)) as path:
        try:
            state = read_checkpoint(path)
        except CheckpointError as exc:
            raise TourError(f"tour model {name}: {exc}") from None
    ema = state["ema"]
    return dict(state["config"]), {"model": ema, "ema": ema, "step": int(state.get("step", 0))}
