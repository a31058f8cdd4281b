"""Issue 18's hostile session files, each once: a damaged field is refused naming it, a zip bomb is refused
from the zip directory without inflating anything, and a good session still reads (moved here from
tests/cli/test_hostile_inputs.py, which keeps the command-line cases)."""
import json
import math
import zipfile

import pytest
import torch

from playground.formats.session import SessionError, read_session, session_json, write_session


@pytest.fixture(scope="module")
def good_session():
    from playground.formats.presets import load_preset
    from playground.learning.model import ModelConfig
    from playground.learning.trainer import TrainConfig, Trainer
    trainer = Trainer(load_preset("loaded_dice").target, TrainConfig(batch=16, device="cpu", model=ModelConfig(hidden=8)))
    trainer.train(2)
    state = trainer.state_dict()
    meta = session_json(load_preset("loaded_dice"), {"seed": 3, "device": "cpu"},
                        {"config": state["config"], "step": state["step"], "lr": state["lr"]}, {}, "loaded_dice")
    weights = {k: state[k] for k in ("model", "ema", "optimizer")}
    weights["losses"] = torch.tensor(trainer.losses)
    return meta, weights


def _damaged(meta, weights, damage):
    meta, weights = json.loads(json.dumps(meta)), dict(weights)
    if damage == "tpu":
        meta["trainer"]["config"]["device"] = "tpu:7"
    elif damage == "seed_2_40":
        meta["settings"]["seed"] = 2**40
    elif damage == "batch_0":
        meta["trainer"]["config"]["batch"] = 0
    elif damage == "hidden_20000":
        meta["trainer"]["config"]["model"]["hidden"] = 20000
    elif damage == "nan_weights":
        weights["model"] = {k: torch.full_like(v, float("nan")) for k, v in weights["model"].items()}
    elif damage == "nan_losses":
        weights["losses"] = torch.tensor([1.0, float("nan")])
    elif damage == "settings_device":
        meta["settings"]["device"] = {"a": 1}
    return meta, weights


@pytest.mark.parametrize("damage, word", [("tpu", "device"), ("seed_2_40", "settings.seed"), ("batch_0", "batch"),
                                          ("hidden_20000", "hidden"), ("nan_weights", "NaN"),
                                          ("nan_losses", "losses"), ("settings_device", "settings.device")])
def test_damaged_sessions_are_refused_naming_the_field(tmp_path, good_session, damage, word):
    meta, weights = _damaged(*good_session, damage)
    write_session(tmp_path / "s.dpsession", meta, weights)
    with pytest.raises(SessionError, match=word):
        read_session(tmp_path / "s.dpsession")


def test_a_zip_bomb_is_refused_from_the_directory_without_inflating(tmp_path, good_session):
    meta, _ = good_session
    path = tmp_path / "bomb.dpsession"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("session.json", json.dumps(meta))
        with z.open("weights.pt", "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(200):            # 200 MB of zeros, about 200 KB on disk
                fh.write(block)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(SessionError, match="limit"):
        read_session(path)


def test_a_good_session_still_reads(tmp_path, good_session):
    write_session(tmp_path / "ok.dpsession", *good_session)
    s = read_session(tmp_path / "ok.dpsession")
    assert s.settings == {"seed": 3, "device": "cpu"} and s.trainer["step"] == 2
    assert math.isfinite(float(s.weights["losses"].sum()))
