"""One run, one pipeline: every run is a Run made by record_run and owned by the sampling service,
so live samples take the options a Sample press takes, and what overlays and purity score is the
source of the run on screen."""
import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QCheckBox, QPushButton    # noqa: E402

from playground.formats.presets import load_preset      # noqa: E402
from playground.maths.guidance import ExactGuidedSource   # noqa: E402
from playground.maths.samplers import sample            # noqa: E402
from playground.maths.samplers.record import KEEP_LAST, Provenance, RunRequest, provenance_of, record_run  # noqa: E402
from playground.maths.sources import ExactSource        # noqa: E402
from tests.helpers import child, click                  # noqa: E402

TARGET = load_preset("eight_gaussians").target


# ----- the record ---------------------------------------------------------------------------------------

def test_record_run_keeps_every_frame_or_the_last_and_both_end_on_the_same_samples():
    whole = record_run("ddim", ExactSource(TARGET), 300, 4, 12, "edm")
    last = record_run("ddim", ExactSource(TARGET), 300, 4, 12, "edm", keep=KEEP_LAST)
    assert len(whole) == 13 and whole.step == list(range(13)) and whole.total == 13
    assert len(last) == 1 and last.total == 13 and last.step == [12] and last.nfe == whole.nfe[-1:]
    np.testing.assert_array_equal(whole.samples, last.samples)
    np.testing.assert_array_equal(torch.from_numpy(whole.samples), sample("ddim", ExactSource(TARGET), 300, 4, steps=12))
    assert whole.frames().shape == (13, 300, 2) and whole.provenance == Provenance("exact")


def test_a_frame_budget_keeps_the_first_and_the_last_frame():
    run = record_run("ode-euler", ExactSource(TARGET), 100, 0, 40, "edm", max_bytes=100 * 2 * 4 * 8)
    assert run.step[0] == 0 and run.step[-1] == 40 and 2 < len(run) <= 9 and run.total == 41


def test_provenance_says_which_score_and_guidance_made_the_run():
    prov = provenance_of(ExactGuidedSource(TARGET, 2, 3.0))
    assert prov == Provenance("exact", guidance="cfg", label=2, weight=3.0)
    assert "cfg class 3" in prov.describe() and Provenance.from_json(prov.to_json()) == prov
    assert Provenance.from_json({"score": 5, "step": "x", "weight": float("nan")}) == Provenance()


def test_sampler_options_change_the_run():
    """Gradient estimation with gamma = 3 and gamma = 1 differ on the same noise; gamma = 1 is DDIM."""
    runs = {g: RunRequest("gradient-estimation", 400, 8, "edm", 1, {"gamma": g}).record(ExactSource(TARGET))
            for g in (1.0, 3.0)}
    ddim = RunRequest("ddim", 400, 8, "edm", 1).record(ExactSource(TARGET))
    assert not np.allclose(runs[1.0].samples, runs[3.0].samples, atol=1e-3)
    np.testing.assert_allclose(runs[1.0].samples, ddim.samples, atol=1e-4)
    assert runs[3.0].options == {"gamma": 3.0}


# ----- the window: the bugs the one pipeline fixes ----------------------------------------------------------

def start_live(qtbot, w):
    click(qtbot, child(w, QCheckBox, "liveSamplesCheck"))
    click(qtbot, child(w, QPushButton, "trainButton"))
    live = w.features["live_samples"]
    count = live.count
    qtbot.waitUntil(lambda: live.count >= count + 2, timeout=90_000)


def test_live_samples_use_the_sampler_options_a_sample_press_would(qtbot, make_window):
    w = make_window()
    w.set_preset("eight_gaussians")
    w.state.update_settings(particles=400, steps=8, sampler="gradient-estimation", gamma=3.0)
    start_live(qtbot, w)
    click(qtbot, child(w, QPushButton, "trainButton"))          # pause: the snapshot stays as it is
    qtbot.waitUntil(lambda: not w.features["live_samples"].in_flight, timeout=30_000)
    run = w.state.run
    assert len(run) == 1 and run.options == {"gamma": 3.0, "mu": 0.0}
    again = {g: RunRequest("gradient-estimation", 400, 8, run.schedule, run.seed, {"gamma": g, "mu": 0.0},
                           keep=KEEP_LAST).record(run.source).samples for g in (1.0, 3.0)}
    np.testing.assert_allclose(run.samples, again[3.0], atol=1e-4)       # the live picture is the gamma = 3 run
    assert not np.allclose(again[1.0], again[3.0], atol=1e-3)             # which gamma = 1 is not


def test_overlays_and_purity_read_the_source_of_the_run_on_screen(qtbot, make_window):
    """A guided run, then live pictures: overlays and purity always use the source of the run shown."""
    w = make_window()
    w.set_preset("loaded_dice")
    w.state.update_settings(particles=300, steps=10)
    panel, overlays = w.features["guidance_panel"], w.features["frame_overlays"]
    panel.exact_check.setChecked(True)
    panel.guidance_slider.setValue(30)
    panel.guided_sample()
    qtbot.waitUntil(lambda: w.state.run is not None and isinstance(w.state.run.source, ExactGuidedSource),
                    timeout=60_000)
    guided = w.state.run
    assert overlays.score_source()[0] is guided.source
    assert "in class" in panel.result_label.text() and guided.provenance.guidance == "cfg"
    start_live(qtbot, w)                                          # live pictures land after the guided run
    run = w.state.run
    assert run is not guided and len(run) == 1 and run.provenance.score == "learned"
    assert run.provenance.guidance is None                        # an exact guided press leaves live plain
    assert overlays.score_source()[0] is run.source               # not the guided run's source
    assert panel.last_result["scale"] == 3.0                      # purity was scored for the guided run only
    click(qtbot, child(w, QPushButton, "trainButton"))
