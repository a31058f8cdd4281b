"""Sessions: one zip file that brings the whole playground back and refuses anything unsafe or broken
before touching the window. Saving, opening, autosave and crash recovery in the window are tested
in tests/app/features/test_session_window.py."""
import io
import json
import pickle
import zipfile

import pytest
import torch

from playground.formats.presets import load_preset
from playground.formats.session import FORMAT, VERSION, SessionError, read_session, write_session
from playground.learning.trainer import TrainConfig, Trainer
from tests.helpers import Payload, session_parts_of, small_trainer, torch_bytes, write_raw


# ----- the file format, no window -----------------------------------------------------------------------

def test_round_trip_keeps_weights_optimiser_settings_and_parts(tmp_path):
    trainer = small_trainer()
    meta, weights = session_parts_of(trainer)
    path = tmp_path / "a.dpsession"
    write_session(path, meta, weights)
    assert zipfile.ZipFile(path).namelist() == ["session.json", "weights.pt"]
    s = read_session(path)
    assert s.preset.to_json() == load_preset("loaded_dice").to_json()
    assert s.settings == {"sampler": "ddim", "steps": 12, "seed": 3} and s.parts == {"guidance": {"scale": 2.5}}
    state = s.trainer_state()
    assert state["step"] == 5
    fresh = Trainer(load_preset("loaded_dice").target, TrainConfig.from_dict(s.trainer["config"]))
    fresh.load_state_dict(state)
    for a, b in zip(fresh.ema_model.parameters(), trainer.ema_model.parameters()):
        assert torch.equal(a, b)
    # the optimiser moments came back too: one more step from both gives the same weights
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    for t in (trainer, fresh):
        t.opt.zero_grad()
        t.model(x, 0.5).pow(2).sum().backward()
        t.opt.step()
    for a, b in zip(fresh.model.parameters(), trainer.model.parameters()):
        assert torch.equal(a, b)
    # weights.pt alone is a plain tensor dict: torch.load(weights_only=True) reads it
    blob = zipfile.ZipFile(path).read("weights.pt")
    assert set(torch.load(io.BytesIO(blob), weights_only=True)) == {"model", "ema", "optimizer", "losses"}


@pytest.mark.parametrize("damage, message", [
    ("truncate", "truncated"),
    ("not_zip", "not a zip"),
    ("no_weights", "no weights.pt"),
    ("newer", "newer version"),
    ("older", "no longer supported"),
    ("bad_json", "not valid JSON"),
    ("bad_preset", "invalid target"),
    ("bad_setting", "settings.sampler"),
    ("shape", "do not fit"),
    ("no_optimizer", "no 'optimizer'"),
])
def test_broken_session_files_are_refused_with_a_reason(tmp_path, damage, message):
    trainer = small_trainer()
    meta, weights = session_parts_of(trainer)
    path = tmp_path / "bad.dpsession"
    if damage == "truncate":
        write_session(path, meta, weights)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "not_zip":
        path.write_text("hello")
    elif damage == "no_weights":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("session.json", json.dumps(meta))
    elif damage in ("newer", "older"):
        meta["version"] = VERSION + 1 if damage == "newer" else VERSION - 1
        write_session(path, meta, weights)
    elif damage == "bad_json":
        write_raw(path, '{"format": "' + FORMAT + '", "version": 1,', torch_bytes(weights))
    elif damage == "bad_preset":
        meta["preset"]["target"] = {"kind": "mixture", "components": [{"weight": -1, "mean": [0, 0],
                                                                       "cov": [[1, 0], [0, 1]]}]}
        write_session(path, meta, weights)
    elif damage == "bad_setting":
        meta["settings"]["sampler"] = "no-such-sampler"
        write_session(path, meta, weights)
    elif damage == "shape":
        meta["trainer"]["config"]["model"]["hidden"] = 32          # the weights are 16 wide
        write_session(path, meta, weights)
    elif damage == "no_optimizer":
        del weights["optimizer"]
        write_session(path, meta, weights)
    with pytest.raises(SessionError, match=message):
        read_session(path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_objects_in_the_weights_are_refused_and_never_run(tmp_path):
    meta, weights = session_parts_of(small_trainer())
    flag = tmp_path / "pwned"
    weights["model"] = {"w": torch.zeros(2), "evil": Payload(flag)}
    path = tmp_path / "evil.dpsession"
    write_raw(path, meta, torch_bytes(weights))
    with pytest.raises(SessionError, match="pickled Python objects"):
        read_session(path)
    assert not flag.exists()
    # a plain pickle in place of the torch file is refused the same way
    write_raw(path, meta, pickle.dumps(Payload(flag)))
    with pytest.raises(SessionError):
        read_session(path)
    assert not flag.exists()


def test_a_failed_save_leaves_the_old_file_intact(tmp_path):
    meta, weights = session_parts_of(small_trainer())
    path = tmp_path / "keep.dpsession"
    write_session(path, meta, weights)
    before = path.read_bytes()
    with pytest.raises(Exception):
        write_session(path, meta, {**weights, "bad": lambda: 0})     # torch.save cannot pickle a lambda
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.dpsession"]   # no temporary left over
