"""Sessions: one zip file that brings the whole playground back, refuses anything unsafe or broken
before touching the window, autosaves, and offers to restore after a crash."""
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from tests.helpers import shown_window  # noqa: E402
from playground.formats.presets import load_preset
from playground.formats.session import (FORMAT, VERSION, SessionError, autosave_path, marker_path, read_session,
                                session_json, write_session)
from playground.learning.trainer import TrainConfig, Trainer
from playground.learning.model import ModelConfig


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """Autosaves and crash markers go to a per-test folder, never to the real home directory."""
    d = tmp_path / "state"
    monkeypatch.setenv("DIFFUSION_PLAYGROUND_STATE_DIR", str(d))
    return d


def small_trainer(preset="loaded_dice", hidden=16, steps=5):
    trainer = Trainer(load_preset(preset).target, TrainConfig(batch=64, device="cpu", model=ModelConfig(hidden=hidden)))
    trainer.train(steps)
    return trainer


def session_parts_of(trainer, preset="loaded_dice", **overrides):
    state = trainer.state_dict()
    meta = session_json(load_preset(preset), {"sampler": "ddim", "steps": 12, "seed": 3},
                        {"config": state["config"], "step": state["step"], "lr": state["lr"]},
                        {"guidance": {"scale": 2.5}}, preset)
    meta.update(overrides)
    weights = {"model": state["model"], "ema": state["ema"], "optimizer": state["optimizer"],
               "losses": torch.tensor(trainer.losses)}
    return meta, weights


def write_raw(path, meta, weights_blob):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("session.json", meta if isinstance(meta, str) else json.dumps(meta))
        z.writestr("weights.pt", weights_blob)


def torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


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


class Payload:
    """Unpickling this would run a shell command that creates a file."""

    def __init__(self, flag):
        self.flag = flag

    def __reduce__(self):
        return (os.system, (f"touch {self.flag}",))


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


# ----- the window ----------------------------------------------------------------------------------------

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QPushButton  # noqa: E402


@pytest.fixture
def window(qtbot):
    w = shown_window(qtbot, size=(1200, 800))
    yield w
    w.close()


def click(qtbot, w, name):
    button = w.findChild(QPushButton, name)
    assert button is not None, name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def sample(qtbot, w):
    before = w.current_frames()
    click(qtbot, w, "sampleButton")
    qtbot.waitUntil(lambda: w.current_frames() is not None and w.current_frames() is not before, timeout=30_000)
    return w.current_frames()


def train(qtbot, w, steps):
    click(qtbot, w, "trainButton")
    qtbot.waitUntil(lambda: len(w.losses()) >= steps, timeout=60_000)
    click(qtbot, w, "trainButton")
    assert not w.train_button.isChecked()
    qtbot.wait(100)                       # the chunk in flight finishes


def test_save_open_reproduces_the_same_samples(qtbot, window, tmp_path):
    w, c = window, window.controls
    w.set_preset("loaded_dice")
    c.particles.setValue(600)
    c.steps.setValue(12)
    c.seed.setValue(7)
    c.sampler.setCurrentIndex(c.sampler.findData("ode-heun"))
    train(qtbot, w, 300)
    before = sample(qtbot, w).x[-1].copy()
    path = tmp_path / "run.dpsession"
    assert w.save_session(path)
    step_saved = read_session(path).trainer["step"]
    assert step_saved >= 300

    # change everything: another target, fresh weights, other settings
    w.set_preset("eight_gaussians")
    c.seed.setValue(99)
    c.steps.setValue(30)
    c.sampler.setCurrentIndex(c.sampler.findData("ddpm"))
    w.reset_training()
    train(qtbot, w, 20)

    assert w.open_session(path)
    restored = w.train_worker.read_state()              # in place as soon as open_session returns
    saved = read_session(path).weights
    assert restored["step"] == step_saved
    for part in ("model", "ema"):
        for k, v in saved[part].items():
            assert torch.equal(restored[part][k], v), (part, k)
    assert w.current_preset().name == "Loaded dice"
    assert (c.seed.value(), c.steps.value(), c.particles.value(), c.sampler.currentData()) == (7, 12, 600, "ode-heun")
    assert not w.train_button.isChecked()
    after = sample(qtbot, w).x[-1]
    assert np.array_equal(before, after)
    qtbot.waitUntil(lambda: w.status_labels["rate"].text() == f"step {step_saved}", timeout=5000)
    assert len(w.losses()) == step_saved                       # the loss curve came back too
    qtbot.wait(300)
    assert not w.train_button.isChecked()                      # still paused


def test_custom_targets_and_feature_parts_round_trip(qtbot, window, tmp_path):
    w = window
    from PySide6.QtGui import QAction, QKeySequence
    shortcuts = {a.objectName(): a.shortcut() for a in w.menus["file"].actions()}
    assert shortcuts["saveSessionAction"] == QKeySequence("Ctrl+S")
    assert shortcuts["openSessionAction"] == QKeySequence("Ctrl+Shift+O")
    assert all(a.toolTip() for a in w.menus["file"].findChildren(QAction) if a.objectName().endswith("SessionAction"))
    got = []
    w.register_session_part("demo", lambda: {"scale": 1.5, "labels": ["a", "b"]}, got.append)
    custom = load_preset("eight_gaussians")
    custom.name = "My gaussians"
    w.apply_preset(custom, key="drawn")
    path = tmp_path / "custom.dpsession"
    assert w.save_session(path)
    meta = read_session(path)
    assert meta.preset_key == "custom:drawn" and meta.parts["demo"] == {"scale": 1.5, "labels": ["a", "b"]}
    # a session from a newer build may carry panels this one lacks: they are skipped with a note
    with zipfile.ZipFile(path) as z:
        data, blob = json.loads(z.read("session.json")), z.read("weights.pt")
    data["parts"]["future_panel"] = {"x": 1}
    write_raw(path, data, blob)
    w.set_preset("loaded_dice")
    assert w.open_session(path)
    assert w.current_preset().name == "My gaussians"
    assert w.current_preset().to_json()["target"] == custom.to_json()["target"]
    assert got == [{"scale": 1.5, "labels": ["a", "b"]}]
    assert "future_panel" in w.banner.text()


def test_bad_session_in_the_window_shows_a_message_and_keeps_everything(qtbot, window, tmp_path):
    w, c = window, window.controls
    w.set_preset("eight_gaussians")
    c.seed.setValue(42)
    train(qtbot, w, 30)
    good = tmp_path / "good.dpsession"
    assert w.save_session(good)
    truncated = tmp_path / "truncated.dpsession"
    truncated.write_bytes(good.read_bytes()[:1000])
    evil = tmp_path / "evil.dpsession"
    flag = tmp_path / "pwned"
    with zipfile.ZipFile(good) as z:
        meta = json.loads(z.read("session.json"))
    write_raw(evil, meta, torch_bytes({"model": {"x": Payload(flag)}, "ema": {}, "optimizer": {}}))
    state_before = w.train_worker.read_state()
    for bad, words in ((truncated, "truncated"), (evil, "pickled"), (tmp_path / "missing.dpsession", "no such")):
        assert w.open_session(bad) is False
        assert w.banner.isVisible() and words in w.banner.text()
        assert w.current_preset().name == load_preset("eight_gaussians").name and c.seed.value() == 42
    assert not flag.exists()
    state_after = w.train_worker.read_state()
    assert state_after["step"] == state_before["step"]
    for k, v in state_before["ema"].items():
        assert torch.equal(v, state_after["ema"][k])
    # saving somewhere impossible is a message too, and never an exception
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert w.save_session(blocker / "sub" / "x.dpsession") is False
    assert "could not save" in w.banner.text()


def test_crash_marker_offers_the_autosave_on_next_start(qtbot, tmp_path, state_dir):
    from playground.app import MainWindow
    first = MainWindow()
    qtbot.addWidget(first)
    assert marker_path().is_file()                  # this run is marked as running
    first.set_preset("eight_gaussians")
    assert first.sessions.autosave()
    assert autosave_path().is_file()
    assert first.findChild(QPushButton, "restoreSessionButton") is None
    marker = marker_path().read_text()
    first.shutdown()                                # a clean close removes the marker ...
    assert not marker_path().exists()
    marker_path().write_text(marker)                # ... so put it back, as a crash would leave it

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    button = second.findChild(QPushButton, "restoreSessionButton")
    assert button is not None and button.isVisible()
    assert second.preset_combo.currentData() != "eight_gaussians"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert second.preset_combo.currentData() == "eight_gaussians"
    assert not button.isVisible()
    second.close()
    assert not marker_path().exists()

    third = MainWindow()                            # after a clean close there is nothing to offer
    qtbot.addWidget(third)
    assert third.findChild(QPushButton, "restoreSessionButton") is None
    third.shutdown()


def test_autosave_on_close_and_marker_of_a_live_process_is_not_a_crash(qtbot, state_dir):
    from playground.app import MainWindow
    from playground.app.features.sessions.session_actions import previous_run_crashed
    state_dir.mkdir(parents=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        marker_path().write_text(json.dumps({"pid": other.pid, "token": "other"}))   # another app still running
        assert not previous_run_crashed()
    finally:
        other.kill()
        other.wait()
    marker_path().write_text(json.dumps({"pid": 2**22 + 12345, "token": "gone"}))   # no such process
    assert previous_run_crashed()
    marker_path().unlink()
    w = MainWindow()
    qtbot.addWidget(w)
    w.set_preset("eight_gaussians")
    assert not autosave_path().exists()
    w.set_training(True)                              # the state is read between training chunks
    qtbot.waitUntil(lambda: len(w.losses()) >= 20, timeout=30_000)
    assert w.sessions.autosave()
    assert read_session(autosave_path()).trainer["step"] >= 20
    w.close()
    saved = read_session(autosave_path())
    assert saved.preset_key == "eight_gaussians" and saved.trainer["step"] >= 20


def test_gui_session_command_line(qapp, tmp_path, capsys, window):
    from playground.tools.cli import main
    window.set_preset("eight_gaussians")
    good = tmp_path / "good.dpsession"
    assert window.save_session(good)
    bad = tmp_path / "bad.dpsession"
    bad.write_bytes(good.read_bytes()[:500])
    assert main(["gui", "--session", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "truncated" in err and len(err.splitlines()) == 1
    shot = tmp_path / "shot.png"
    assert main(["gui", "--session", str(good), "--device", "cpu", "--screenshot", str(shot), "--after", "1.5"]) == 0
    assert shot.is_file() and shot.stat().st_size > 10_000
