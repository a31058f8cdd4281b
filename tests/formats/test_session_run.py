"""Sessions keep the trainer's random stream and guard, so training resumed from a file takes the
very steps it would have taken without saving, and the last sampler run, so a reopened window
shows the same run (issue 17, deliverable 8; the window's side is in tests/app/features/test_session_window.py)."""
import json
import math
import zipfile
from array import array

import numpy as np
import pytest
import torch

from playground.formats.presets import load_preset
from playground.formats.session import SessionError, read_session, session_json, split_trainer_state, write_session
from playground.formats.session_run import pack_run
from playground.maths.samplers.record import Provenance, Run, kept_frames
from playground.learning.model import ModelConfig
from playground.learning.trainer import TrainConfig, Trainer
from tests.helpers import torch_bytes

TARGET = load_preset("loaded_dice").target


def new_trainer(**config):
    model = ModelConfig(hidden=16, objective=config.pop("objective", "dsm"))
    return Trainer(TARGET, TrainConfig(batch=64, device="cpu", model=model, **config))


def save(trainer, path, run=None):
    state = trainer.state_dict()
    state["losses"] = torch.tensor(trainer.losses, dtype=torch.float32)
    meta_trainer, weights = split_trainer_state(state)
    write_session(path, session_json(load_preset("loaded_dice"), {}, meta_trainer, {}, "loaded_dice"), weights, run)


def resume(path, drop=()):
    s = read_session(path)
    trainer = Trainer(TARGET, TrainConfig.from_dict(s.trainer["config"]))
    state = {k: v for k, v in s.trainer_state().items() if k not in drop}
    trainer.load_state_dict(state)
    trainer.losses.extend(s.weights["losses"].tolist())
    return trainer


def same_weights(a, b) -> bool:
    pairs = [*zip(a.model.parameters(), b.model.parameters()), *zip(a.ema_model.parameters(), b.ema_model.parameters())]
    return all(torch.equal(p, q) for p, q in pairs)


# ----- training resumed from a file = training never interrupted ----------------------------------------

@pytest.mark.parametrize("config", [{}, {"dataset_size": 300, "conditional": True, "objective": "fm"}],
                         ids=["dsm-fresh-samples", "fm-dataset-conditional"])
def test_resumed_training_matches_never_having_saved(tmp_path, config):
    k, m = 55, 20                                  # past the guard's settling (50 steps) before the save
    steady, saved = new_trainer(**dict(config)), new_trainer(**dict(config))
    steady.train(k)
    saved.train(k)
    path = tmp_path / "mid.dpsession"
    save(saved, path)
    resumed = resume(path)
    assert resumed.guard_state() == steady.guard_state() and resumed.guard_state()["loss_best"] is not None
    assert resumed.train(m) == steady.train(m)
    assert resumed.losses == steady.losses and resumed.step == steady.step == k + m
    assert same_weights(resumed, steady)
    assert resumed.guard_state() == steady.guard_state()
    # without the generator state the batches, noise levels and noise differ from the uninterrupted run
    no_rng = resume(path, drop=("rng",))
    assert array("f", no_rng.train(m)) != resumed.losses[k:]      # float32 both sides
    assert not same_weights(no_rng, steady)


def test_a_session_without_rng_or_guard_still_opens_and_trains(tmp_path):
    trainer = new_trainer()
    trainer.train(5)
    path = tmp_path / "old.dpsession"
    state = trainer.state_dict()
    meta_trainer, weights = split_trainer_state({**state, "losses": torch.tensor(trainer.losses)})
    del meta_trainer["guard"], weights["rng"]                  # as older versions wrote it
    write_session(path, session_json(load_preset("loaded_dice"), {}, meta_trainer, {}, "loaded_dice"), weights)
    s = read_session(path)
    assert s.run is None and s.trainer_state()["rng"] is None
    again = resume(path)
    assert again.step == 5 and len(again.train(3)) == 3


# ----- the run: thinning and round trip ---------------------------------------------------------------------

def fake_run(frames=11, n=50):
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((n, 2)).astype(np.float32) for _ in range(frames)]
    sigma = list(np.linspace(80, 0, frames))
    return Run("gradient-estimation", "edm", {"gamma": 3.0, "mu": 0.25}, 7, x=x, step=list(range(frames)),
               alpha=[1.0] * frames, sigma=[float(v) for v in sigma], level=[float(v) for v in sigma],
               nfe=[2 * i for i in range(frames)], total=frames,
               provenance=Provenance("learned", generation=3, step=1200, objective="fm", guidance="cfg", label=2,
                                     weight=2.5))


def test_large_runs_keep_evenly_spaced_frames_with_the_first_and_the_last(tmp_path):
    assert kept_frames(11, 50, 10**6) == list(range(11))
    keep = kept_frames(1001, 1000, 8000 * 21)                   # room for 21 frames of 1000 particles
    assert keep[0] == 0 and keep[-1] == 1000 and len(keep) == 21 and set(np.diff(keep)) == {50}
    assert kept_frames(10, 10**7, 10**6) == [9]                  # not even one frame fits: the samples
    frames = fake_run()
    run = pack_run(frames, max_bytes=50 * 8 * 4)
    assert len(run) == 4 and run.total == 11 and run.step == [0, 3, 7, 10]
    assert np.array_equal(run.x[-1], frames.x[-1])
    path = tmp_path / "run.dpsession"
    save(new_trainer(), path, run)
    back = read_session(path).run
    assert back.total == 11 and back.step == run.step and back.nfe == run.nfe
    assert np.array_equal(back.frames(), run.frames())
    # what made the run comes back with it (its live source does not: nothing saved can run code)
    assert (back.sampler, back.options, back.seed, back.provenance) == (run.sampler, run.options, 7, run.provenance)
    assert back.source is None


def test_an_infinite_noise_level_survives_json(tmp_path):
    frames = fake_run(3)
    frames.alpha[0], frames.level[0] = 0.0, math.inf             # a flow run starts at alpha = 0
    path = tmp_path / "flow.dpsession"
    save(new_trainer(), path, pack_run(frames))
    assert read_session(path).run.level == [math.inf, frames.level[1], frames.level[2]]


# ----- hostile files: one line, nothing applied --------------------------------------------------------------

def damaged(tmp_path, damage):
    trainer = new_trainer()
    trainer.train(3)
    path = tmp_path / "good.dpsession"
    save(trainer, path, pack_run(fake_run()))
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("session.json"))
        weights = torch.load(z.open("weights.pt"), weights_only=True)
        run = torch.load(z.open("run.pt"), weights_only=True)
    kind, change = damage
    if kind == "weights":
        change(weights)
    elif kind == "run":
        change(run)
    else:
        change(meta)
    bad = tmp_path / "bad.dpsession"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("session.json", json.dumps(meta))
        z.writestr("weights.pt", torch_bytes(weights))
        if run is not None and "x" in run:
            z.writestr("run.pt", torch_bytes(run))
    return bad


HOSTILE = {
    "rng-float": (("weights", lambda w: w.update(rng=w["rng"].float())), "rng"),
    "rng-short": (("weights", lambda w: w.update(rng=w["rng"][:100])), "rng"),
    "rng-2d": (("weights", lambda w: w.update(rng=w["rng"].reshape(2, -1))), "rng"),
    "rng-garbage": (("weights", lambda w: w.update(rng=torch.zeros_like(w["rng"]))), "not a valid generator state"),
    "guard-spikes": (("meta", lambda m: m["trainer"]["guard"].update(spikes=-1)), "trainer.guard.spikes"),
    "guard-mean": (("meta", lambda m: m["trainer"]["guard"].update(loss_mean="low")), "trainer.guard.loss_mean"),
    "guard-stalled": (("meta", lambda m: m["trainer"]["guard"].update(stalled=1)), "trainer.guard.stalled"),
    "nan-frames": (("run", lambda r: r["x"].__setitem__((2, 5, 0), float("nan"))), "NaN"),
    "frames-3d": (("run", lambda r: r.update(x=torch.zeros(11, 50, 3))), "shape"),
    "frames-float64": (("run", lambda r: r.update(x=r["x"].double())), "float32"),
    "frames-missing": (("run", lambda r: r.pop("x")), "run.pt is missing"),
    "frames-count": (("meta", lambda m: m["run"]["sigma"].pop()), "run.sigma"),
    "sampler": (("meta", lambda m: m["run"].update(sampler="rm -rf")), "run.sampler"),
    "schedule": (("meta", lambda m: m["run"].update(schedule=None)), "run.schedule"),
    "negative-nfe": (("meta", lambda m: m["run"]["nfe"].__setitem__(0, -2)), "run.nfe"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_rng_guard_or_run_is_refused_in_one_line(tmp_path, name):
    damage, words = HOSTILE[name]
    with pytest.raises(SessionError) as info:
        read_session(damaged(tmp_path, damage))
    text = str(info.value)
    assert words in text and "\n" not in text and text.startswith("bad.dpsession: ")
