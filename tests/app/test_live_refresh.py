"""Live pictures while training and what keeps them cheap: refreshed particle-view pictures counted
without a Sample press, the x̂₀ of dear frames computed off the GUI thread (same values), and the
denoiser's one-level fast path (same values as per-point levels)."""
import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt                           # noqa: E402
from PySide6.QtGui import QImage                        # noqa: E402
from PySide6.QtWidgets import QCheckBox, QPushButton    # noqa: E402

from playground.formats.presets import load_preset      # noqa: E402
from playground.learning.model import ModelConfig      # noqa: E402
from playground.learning.trainer import TrainConfig, Trainer   # noqa: E402
from playground.maths.denoised import denoised_at       # noqa: E402
from tests.helpers import child, shown_window           # noqa: E402


def pixels(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).copy()


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())


def test_live_samples_show_several_new_pictures_while_training_without_a_sample_press(qtbot):
    w = shown_window(qtbot)
    w.set_preset("eight_gaussians")
    w.state.update_settings(particles=600, steps=10)          # the default sampler (ode-heun)
    live = w.features["live_samples"]
    pictures = []
    live.refreshed.connect(lambda *_: pictures.append(pixels(w.particle_view)))
    click(qtbot, child(w, QCheckBox, "liveSamplesCheck"))
    click(qtbot, child(w, QPushButton, "trainButton"))
    qtbot.waitUntil(lambda: len(pictures) >= 7, timeout=90000)
    changed = sum(not np.array_equal(a, b) for a, b in zip(pictures, pictures[1:]))
    assert changed >= 5                                        # each refresh drew a newer model's samples
    assert w.state.last_sampling_source is None                # Sample was never pressed
    click(qtbot, child(w, QPushButton, "trainButton"))


def test_dear_denoised_frames_come_from_a_thread_with_the_same_values(qtbot, monkeypatch):
    from playground.app import denoised_frames
    monkeypatch.setattr(denoised_frames, "SYNC_MS", 0.0)       # every frame counts as dear
    w = shown_window(qtbot)
    w.set_preset("loaded_dice")
    w.state.update_settings(particles=300, steps=6, sampler="ode-euler")
    click(qtbot, child(w, QPushButton, "sampleButton"))
    qtbot.waitUntil(lambda: w.state.frames is not None and len(w.state.frames) == 7, timeout=30000)
    w.set_playing(False)
    w.show_frame(3)
    overlays = w.features["frame_overlays"]
    before = pixels(w.particle_view)
    click(qtbot, child(w, QCheckBox, "denoisedCheck"))
    qtbot.waitUntil(lambda: overlays.denoised_item.isVisible(), timeout=30000)
    assert overlays.denoised_item.segment_count() == 300
    assert np.count_nonzero(pixels(w.particle_view) != before) > 200
    f, source = w.state.frames, w.state.last_sampling_source
    for k in range(len(f)):                                    # the job went on from frame 3: all cached
        got = overlays.denoised.get(f, k, source, "learned")
        if got is not None:
            np.testing.assert_allclose(got, denoised_at(source, f.x[k], f.alpha[k], f.sigma[k]), atol=1e-6)
    assert overlays.denoised.get(f, 3, source, "learned") is not None


@pytest.mark.parametrize("objective", ["dsm", "fm"])
def test_one_noise_level_for_the_batch_gives_the_per_point_answer(objective):
    target = load_preset("two_moons").target
    trainer = Trainer(target, TrainConfig(seed=0, model=ModelConfig(objective=objective)))
    trainer.train(30)
    model = trainer.model.eval()
    x = torch.randn(257, 2, generator=torch.Generator().manual_seed(1)) * 2
    for level in (0.02, 0.7, 9.0):
        with torch.no_grad():
            one = model(x, level)
            per_point = model(x, torch.full((257, 1), level))
        torch.testing.assert_close(one, per_point, rtol=1e-5, atol=1e-5)


def test_the_sampling_process_gives_the_same_samples_as_a_run_in_this_process():
    """Live runs of a CPU model go to a child process (its own core and GIL): same noise, same
    network, same sampler, so the same samples; a cancelled job's late answer is never returned
    for the next job, and the process ends on close."""
    import threading

    from playground.app.features.live.live_samples import live_frames
    from playground.learning.sample_process import SampleProcess
    trainer = Trainer(load_preset("two_moons").target, TrainConfig(seed=0))
    trainer.train(30)
    source = trainer.source()
    here = live_frames("ode-heun", source, 400, 3, 12, "edm")
    process = SampleProcess()
    try:
        cancelled = threading.Event()
        cancelled.set()
        assert process.run(source.model, "ode-heun", 400, 9, 12, "edm", cancelled) is None
        out = process.run(source.model, "ode-heun", 400, 3, 12, "edm", threading.Event())
        assert np.allclose(out["x"], here.x[0], atol=1e-5)
        assert out["nfe"] == here.nfe[0] and out["step"] == here.step[0]
        with pytest.raises(RuntimeError, match="warp"):
            process.run(source.model, "warp-drive", 10, 0, 3, "edm", threading.Event())
        # A cancelled job whose answer (9000 particles) overflows the pipe, then a job too big for
        # one pipe buffer (a 256-wide network): the answer is drained first, so neither side blocks.
        wide = Trainer(load_preset("two_moons").target,
                       TrainConfig(seed=0, model=ModelConfig(hidden=256))).source().model
        assert process.run(wide, "ode-euler", 9000, 0, 3, "edm", cancelled) is None
        out = process.run(wide, "ode-euler", 9000, 1, 3, "edm", threading.Event())
        assert out["x"].shape == (9000, 2)
    finally:
        proc = process._proc
        process.close()
    assert proc is not None and proc.poll() is not None


def test_a_sampling_process_that_cannot_start_says_so_in_one_error():
    import threading

    from playground.learning.sample_process import SampleProcess
    trainer = Trainer(load_preset("two_moons").target, TrainConfig(seed=0))
    process = SampleProcess()
    process.MAX_STARTS = 0
    with pytest.raises(RuntimeError, match="sampling here instead"):
        process.run(trainer.source().model, "ode-euler", 10, 0, 2, "edm", threading.Event())
    process.close()
