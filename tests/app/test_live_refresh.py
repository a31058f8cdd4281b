"""Live pictures while training and what keeps them cheap: refreshed particle-view pictures counted
without a Sample press, and the x̂₀ of dear frames computed off the GUI thread (same values). The
denoiser's one-level fast path and the sampling child process are tested in
tests/learning/test_sample_process.py."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QCheckBox, QPushButton    # noqa: E402

from playground.maths.denoised import denoised_at       # noqa: E402
from tests.helpers import child, click, pixels          # noqa: E402


def test_live_samples_show_several_new_pictures_while_training_without_a_sample_press(qtbot, make_window):
    w = make_window()
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
    run = w.state.run                                          # Sample was never pressed: a live picture,
    assert len(run) == 1 and run.provenance.score == "learned"  # which carries the snapshot it came from
    assert run.source is not None and run.provenance.generation == w.state.generation and run.provenance.step > 0
    click(qtbot, child(w, QPushButton, "trainButton"))


def test_dear_denoised_frames_come_from_a_thread_with_the_same_values(qtbot, monkeypatch, make_window):
    from playground.app.features.overlays import denoised_frames
    monkeypatch.setattr(denoised_frames, "SYNC_MS", 0.0)       # every frame counts as dear
    w = make_window()
    w.set_preset("loaded_dice")
    w.state.update_settings(particles=300, steps=6, sampler="ode-euler")
    click(qtbot, child(w, QPushButton, "sampleButton"))
    qtbot.waitUntil(lambda: w.state.run is not None and len(w.state.run) == 7, timeout=30000)
    w.set_playing(False)
    w.show_frame(3)
    overlays = w.features["frame_overlays"]
    before = pixels(w.particle_view)
    click(qtbot, child(w, QCheckBox, "denoisedCheck"))
    qtbot.waitUntil(lambda: overlays.denoised_item.isVisible(), timeout=30000)
    assert overlays.denoised_item.segment_count() == 300
    assert np.count_nonzero(pixels(w.particle_view) != before) > 200
    f, source = w.state.run, w.state.run_source
    for k in range(len(f)):                                    # the job went on from frame 3: all cached
        got = overlays.denoised.get(f, k, source, "learned")
        if got is not None:
            np.testing.assert_allclose(got, denoised_at(source, f.x[k], f.alpha[k], f.sigma[k]), atol=1e-6)
    assert overlays.denoised.get(f, 3, source, "learned") is not None
