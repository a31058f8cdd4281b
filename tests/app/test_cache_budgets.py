"""The window's own caches keep to their budgets: x̂₀ frames of a run, target density images."""
import types

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from playground.formats.presets import load_preset                         # noqa: E402
from playground.maths.budgets import DENSITY_IMAGE_BYTES                  # noqa: E402
from playground.maths.denoised import denoised_at                         # noqa: E402
from playground.maths.samplers.record import record_run                   # noqa: E402
from playground.maths.sources import ExactSource                          # noqa: E402
from playground.app.core.threads import TaskRunner                        # noqa: E402
from playground.app.features.overlays.denoised_frames import DenoisedFrames   # noqa: E402
from playground.app.widgets import particle_item                          # noqa: E402


def test_denoised_frames_keep_at_most_their_budget_and_stay_right(qtbot):
    target = load_preset("loaded_dice").target
    source = ExactSource(target)
    run = record_run("ode-euler", source, 400, seed=1, steps=20)
    frame = 400 * 2 * 4
    services = types.SimpleNamespace(tasks=lambda name, parent: TaskRunner(name, parent))
    frames = DenoisedFrames(services, max_bytes=5 * frame)
    try:
        for k in list(range(len(run))) * 2:            # playback, twice round
            got = []          # computed here, or in the background when the first timing was slow
            qtbot.waitUntil(lambda: got.append(frames.get(run, k, source, "exact")) or got[-1] is not None,
                            timeout=10_000)
            assert frames.nbytes <= 5 * frame
            np.testing.assert_allclose(got[-1], denoised_at(source, run.x[k], run.alpha[k], run.sigma[k]))
        assert frames.nbytes == 5 * frame
    finally:
        frames.runner.shutdown()


def test_density_images_of_many_targets_keep_to_their_budget(qtbot):
    view = {"xlim": [-4.0, 4.0], "ylim": [-4.0, 4.0]}
    for name in ("loaded_dice", "fair_dice", "eight_gaussians", "two_moons", "twin_peaks"):
        target = load_preset(name).target
        for res in (32, 64, 128):
            img, _ = particle_item.density_image(target, view, res)
            assert img.shape == (res, res)
            assert particle_item.density_cache_bytes() <= DENSITY_IMAGE_BYTES
