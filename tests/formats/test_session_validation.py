"""Opening a session is all-or-nothing: every number, device and size is checked before anything
changes (issue 18), against the same ranges the controls use (formats/settings.py)."""
import math

import pytest
import torch

from playground.formats.session import SessionError, read_session, write_session
from tests.helpers import session_parts_of, small_trainer


@pytest.mark.parametrize("where,key,value,message", [
    ("settings", "seed", 2**40, "settings.seed"),
    ("settings", "steps", 100_000, "settings.steps"),
    ("settings", "device", "tpu:7", "settings.device"),
    ("config", "device", "tpu:7", "trainer.config.device"),
    ("config", "batch", 0, "trainer.config.batch"),
    ("model", "hidden", 20_000, "trainer.config.model.hidden"),
    ("config", "lr", 1e9, "trainer.config.lr"),
    ("config", "lr", math.inf, "Infinity is not allowed"),
])
def test_out_of_range_values_are_refused_before_any_model_is_built(tmp_path, where, key, value, message):
    meta, weights = session_parts_of(small_trainer())
    target = {"settings": meta["settings"], "config": meta["trainer"]["config"],
              "model": meta["trainer"]["config"]["model"]}[where]
    target[key] = value
    path = tmp_path / "bad.dpsession"
    write_session(path, meta, weights)
    with pytest.raises(SessionError, match=message.replace(".", r"\.")):
        read_session(path)


def test_non_finite_weights_are_refused(tmp_path):
    meta, weights = session_parts_of(small_trainer())
    first = next(iter(weights["ema"]))
    weights["ema"][first] = torch.full_like(weights["ema"][first], float("nan"))
    path = tmp_path / "nan.dpsession"
    write_session(path, meta, weights)
    with pytest.raises(SessionError, match="NaN"):
        read_session(path)
