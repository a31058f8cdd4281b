"""File > Export: views as PNG/SVG, the stored run as GIF, samples, trajectories, the checkpoint and
the quality table, all through window.exporter on a real window and a real sampler run."""
import csv
import importlib.util
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtGui import QImage  # noqa: E402

from tests.helpers import sample_and_wait  # noqa: E402

pytestmark = pytest.mark.window(size=(1200, 800), preset="loaded_dice")


def run_sampler(qtbot, w, particles=400, steps=9):
    w.controls.particles.setValue(particles)
    w.controls.steps.setValue(steps)
    w.controls.seed.setValue(3)
    qtbot.waitUntil(lambda: w.train_worker.trainer is not None, timeout=10_000)
    sample_and_wait(qtbot, w)
    w.set_playing(False)
    return w.current_frames()


def test_gif_has_one_frame_per_stored_frame(qtbot, window, tmp_path):
    import imageio.v3 as iio
    frames = run_sampler(qtbot, window)
    path = tmp_path / "run.gif"
    assert window.exporter.export_gif(path, fps=12) == path
    movie = iio.imread(path, index=None)
    assert movie.shape[0] == len(frames) == 10 and movie.shape[1:3] == (256, 256)
    # the first frame is wide noise, the last the dice: the pictures differ
    assert np.abs(movie[0].astype(int) - movie[-1].astype(int)).mean() > 1.0


def test_gif_in_the_background_reports_when_done(qtbot, window, tmp_path):
    import imageio.v3 as iio
    frames = run_sampler(qtbot, window, steps=5)
    path = tmp_path / "bg.gif"
    with qtbot.waitSignal(window.exporter.exportFinished, timeout=30_000) as blocker:
        assert window.exporter.export_gif(path, fps=5, wait=False) is None
    assert blocker.args == [str(path)]
    assert iio.imread(path, index=None).shape[0] == len(frames)


def test_views_export_as_png_and_svg(qtbot, window, tmp_path):
    from PySide6.QtSvg import QSvgRenderer
    run_sampler(qtbot, window)
    assert {"particles", "field", "loss"} <= set(window.exporter.views())
    for name in ("particles", "field", "loss"):
        png, svg = tmp_path / f"{name}.png", tmp_path / f"{name}.svg"
        assert window.exporter.export_view(name, png) == png
        image = QImage(str(png))
        assert not image.isNull() and image.width() > 100 and image.height() > 100
        assert window.exporter.export_view(name, svg) == svg
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg")
        assert QSvgRenderer(str(svg)).isValid()
    # objectNames work as view names too; a bad name or suffix is a message and writes nothing
    assert window.exporter.export_view("particleView", tmp_path / "pv.png") is not None
    assert window.exporter.export_view("nope", tmp_path / "x.png") is None and "no view named" in window.banner.text()
    assert window.exporter.export_view("loss", tmp_path / "x.bmp") is None and ".png or .svg" in window.banner.text()
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.bmp").exists()


def test_samples_and_trajectories(qtbot, window, tmp_path):
    frames = run_sampler(qtbot, window)
    window.show_frame(4)
    e = window.exporter
    assert e.export_samples(tmp_path / "s.npy") and e.export_samples(tmp_path / "s.csv")
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), frames.x[4])
    with open(tmp_path / "s.csv") as fh:
        assert fh.readline().strip() == "x,y"
    np.testing.assert_allclose(np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1), frames.x[4], rtol=1e-6)
    assert e.export_trajectories(tmp_path / "t.npy") and e.export_trajectories(tmp_path / "t.csv")
    traj = np.load(tmp_path / "t.npy")
    assert traj.shape == (len(frames), 400, 2)
    np.testing.assert_array_equal(traj, np.stack(frames.x))
    rows = np.loadtxt(tmp_path / "t.csv", delimiter=",", skiprows=1)
    assert rows.shape == (len(frames) * 400, 5)
    k = 7 * 400 + 123                     # frame 7, particle 123
    assert rows[k, 0] == 7 and rows[k, 1] == frames.step[7] and rows[k, 2] == 123
    np.testing.assert_allclose(rows[k, 3:], frames.x[7][123], rtol=1e-6)


def test_checkpoint_reproduces_the_window_samples(qtbot, window, tmp_path):
    from playground.formats.checkpoint import load_model, read_checkpoint
    from playground.maths.samplers import sample
    from playground.maths.sources import ModelSource
    frames = run_sampler(qtbot, window)
    path = tmp_path / "m.pt"
    assert window.exporter.export_checkpoint(path) == path
    state = read_checkpoint(path)                     # weights_only load
    assert state["preset"]["name"] == "Loaded dice"
    c = window.controls
    x = sample(c.sampler.currentData(), ModelSource(load_model(path)), 400, seed=3, steps=9,
               schedule=c.schedule.currentData())
    np.testing.assert_allclose(x.numpy(), frames.x[-1], atol=1e-5)
    assert window.exporter.export_checkpoint(tmp_path / "m.txt") is None


def test_metrics_table_and_missing_inputs(qtbot, window, tmp_path):
    e = window.exporter
    assert e.export_gif(tmp_path / "none.gif") is None and "press Sample" in window.banner.text()
    assert e.export_samples(tmp_path / "none.csv") is None
    assert e.export_metrics(tmp_path / "q.csv") is None and "no quality result" in window.banner.text()
    window.state.set_quality({"steps": [1, 5], "floor": 0.01, "results": [
        {"sampler": "ode-euler", "score": "exact", "sw2": [0.5, 0.1]},
        {"sampler": "ddpm", "score": "model", "sw2": [0.9, 0.2]}]})
    assert e.export_metrics(tmp_path / "q.csv")
    with open(tmp_path / "q.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    assert rows[3] == {"sampler": "ddpm", "score": "model", "steps": "5", "sw2": "0.2", "floor": "0.01"}
    assert not any(p.name.startswith("none") for p in tmp_path.iterdir())


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is not None, reason="imageio-ffmpeg is installed")
def test_mp4_without_ffmpeg_says_what_to_install(qtbot, window, tmp_path):
    run_sampler(qtbot, window, steps=3)
    assert window.exporter.export_mp4(tmp_path / "run.mp4") is None
    assert "pip install imageio-ffmpeg" in window.banner.text()
    assert not (tmp_path / "run.mp4").exists()
