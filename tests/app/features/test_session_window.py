"""Sessions in the window: save and open bring the whole playground back (the same samples, the loss
curve, custom targets and feature panels), a bad file changes nothing and says why, autosave on
close, the offer to restore after a crash, `gui --session`, the last sampler run shown again on
reopening, and a refused session leaving the window as it was. The file format itself is tested in
tests/formats (test_session.py, test_session_run.py, test_session_validation.py)."""
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QPushButton  # noqa: E402

from playground.formats.presets import load_preset  # noqa: E402
from playground.formats.session import autosave_path, marker_path, read_session, write_session  # noqa: E402
from tests.formats.test_session_run import HOSTILE, damaged  # noqa: E402  (the formats file's damaged runs)
from tests.helpers import (Payload, sample_and_wait, session_parts_of, small_trainer, torch_bytes,  # noqa: E402
                           train_until, write_raw)

pytestmark = pytest.mark.window(size=(1200, 800))


def test_save_open_reproduces_the_same_samples(qtbot, window, tmp_path):
    w, c = window, window.controls
    w.set_preset("loaded_dice")
    c.particles.setValue(600)
    c.steps.setValue(12)
    c.seed.setValue(7)
    c.sampler.setCurrentIndex(c.sampler.findData("ode-heun"))
    train_until(qtbot, w, 300, pause=True)
    before = sample_and_wait(qtbot, w).x[-1].copy()
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
    train_until(qtbot, w, 20, pause=True)

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
    after = sample_and_wait(qtbot, w).x[-1]
    assert np.array_equal(before, after)
    qtbot.waitUntil(lambda: w.status_labels["rate"].text() == f"step {step_saved}", timeout=5000)
    assert len(w.losses()) == step_saved                       # the loss curve came back too
    qtbot.wait(300)     # negative check, nothing to wait for: opening a session never starts training
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
    train_until(qtbot, w, 30, pause=True)
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


def test_crash_marker_offers_the_autosave_on_next_start(qtbot, tmp_path, state_dir, make_window):
    first = make_window(shown=False, size=None)
    assert marker_path().is_file()                  # this run is marked as running
    first.set_preset("eight_gaussians")
    assert first.sessions.autosave()
    assert autosave_path().is_file()
    assert first.findChild(QPushButton, "restoreSessionButton") is None
    marker = marker_path().read_text()
    first.shutdown()                                # a clean close removes the marker ...
    assert not marker_path().exists()
    marker_path().write_text(marker)                # ... so put it back, as a crash would leave it

    second = make_window(size=None)
    button = second.findChild(QPushButton, "restoreSessionButton")
    assert button is not None and button.isVisible()
    assert second.preset_combo.currentData() != "eight_gaussians"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert second.preset_combo.currentData() == "eight_gaussians"
    assert not button.isVisible()
    second.close()
    assert not marker_path().exists()

    third = make_window(shown=False, size=None)     # after a clean close there is nothing to offer
    assert third.findChild(QPushButton, "restoreSessionButton") is None
    third.shutdown()


def test_autosave_on_close_and_marker_of_a_live_process_is_not_a_crash(qtbot, state_dir, make_window):
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
    w = make_window(shown=False, size=None)
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


# ----- the last sampler run (from test_session_run.py) ---------------------------------------------------

def test_reopened_window_shows_the_saved_run_and_refuses_a_bad_one(qtbot, tmp_path, monkeypatch, make_window):
    from playground.formats import session_run
    first = make_window(size=(1100, 750))
    c = first.controls
    first.set_preset("loaded_dice")
    c.particles.setValue(300)
    c.steps.setValue(10)
    c.sampler.setCurrentIndex(c.sampler.findData("ddim"))
    qtbot.waitUntil(lambda: first.train_worker.trainer is not None, timeout=30_000)
    frames = sample_and_wait(qtbot, first)
    path = tmp_path / "run.dpsession"
    assert first.save_session(path) and "frames" not in first.banner.text()   # 11 small frames: all kept
    monkeypatch.setattr(session_run, "MAX_RUN_BYTES", 300 * 8 * 4)            # room for 4 frames
    assert first.save_session(tmp_path / "thin.dpsession")
    assert f"keeps 4 of its {len(frames)} frames" in first.banner.text()
    monkeypatch.undo()
    first.close()

    second = make_window(size=(1100, 750))
    assert second.current_frames() is None
    assert second.open_session(path)
    shown = second.current_frames()
    assert len(shown) == len(frames) == 11 and (shown.sampler, shown.schedule) == ("ddim", frames.schedule)
    for a, b in zip(shown.x, frames.x):
        np.testing.assert_array_equal(a, b)
    assert (shown.step, shown.nfe) == (frames.step, frames.nfe)
    assert shown.sigma == frames.sigma and shown.alpha == frames.alpha
    assert second.time_slider.maximum() == len(frames) - 1 == second.time_slider.value()
    assert second.current_frame_index() == len(frames) - 1 and not second.is_playing()
    qtbot.wait(200)     # negative check, nothing to wait for: paused, the play timer never moves the frame
    assert second.current_frame_index() == len(frames) - 1
    np.testing.assert_array_equal(second.particles.drawn_positions(), frames.x[-1].astype(np.float64))
    # a hostile run is refused whole: the run on screen and the trainer stay as they were
    trainer_before = second.train_worker.trainer
    bad = damaged(tmp_path, HOSTILE["nan-frames"][0])
    assert not second.open_session(bad)
    assert "NaN" in second.banner.text()
    assert second.current_frames() is shown and second.train_worker.trainer is trainer_before
    second.close()


# ----- all or nothing (from test_session_validation.py) -------------------------------------------------------

def test_a_refused_session_leaves_the_window_as_it_was(qtbot, tmp_path, make_window):
    w = make_window()
    qtbot.waitUntil(lambda: w.train_worker.trainer is not None, timeout=30_000)
    meta, weights = session_parts_of(small_trainer(), preset="two_moons")
    meta["settings"]["seed"] = 2**40
    path = tmp_path / "bad.dpsession"
    write_session(path, meta, weights)
    before = (w.current_preset(), w._generation, w.state.settings, w.train_worker.trainer)
    assert not w.open_session(path)
    assert "settings.seed" in w.banner.text()
    assert (w.current_preset(), w._generation, w.state.settings, w.train_worker.trainer) == before
    w.close()
