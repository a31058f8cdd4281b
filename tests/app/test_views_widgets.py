"""The watch-it-move views paint what they are given: flow-time heatmap and paths, commitment
curves, x̂₀ overlay and mesh (pytest-qt, real painting counted on grab())."""
import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from playground import load_preset
from playground.app.features.run_views.commit_view import CommitView
from playground.app.features.run_views.flow_time_view import MAX_PATHS, FlowTimeView
from playground.app.widgets.overlay_items import DenoisedOverlayItem, MeshItem
from playground.maths.commitment import commitment
from playground.maths.projection import direction, project, projected_density
from playground.maths.samplers import sample_steps
from playground.maths.sources import ExactSource
from tests.helpers import WAIT_MS, show_widget, wait_painted


def grab_array(widget) -> np.ndarray:
    """The widget as painted now, (height, width, 3) int16 RGB."""
    from PySide6.QtGui import QImage
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    rows = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return rows[:, :img.width() * 4].reshape(img.height(), img.width(), 4)[..., 2::-1].astype(np.int16)


def changed(a, b, tol=30) -> int:
    return int((np.abs(a - b).max(-1) > tol).sum())


@pytest.fixture(scope="module")
def dice_run():
    p = load_preset("loaded_dice")
    frames = list(sample_steps("ddim", ExactSource(p.target), 600, 0, steps=25))
    return p, [f.alpha for f in frames], [f.sigma for f in frames], [f.x.numpy() for f in frames]


def test_flow_time_view_shows_the_density_alone_then_the_runs_paths(qtbot, dice_run):
    p, alphas, sigmas, states = dice_run
    v = show_widget(qtbot, FlowTimeView(), (640, 420))
    assert v.objectName() == "flowTimeView"
    blank = grab_array(v.plot)
    v.set_target(p.target, "edm", p.view)
    wait_painted(qtbot, v.plot)
    density_only = grab_array(v.plot)
    assert changed(blank, density_only) > 20_000          # the heatmap fills the plot
    assert not v.has_run() and v.paths.segment_count() == 0
    clean = v.density_image()[0]                            # the t = 0 column: the clean target's projection
    z = np.linspace(-v._extent(direction(0)), v._extent(direction(0)), len(clean))
    expect = projected_density(p.target.mixture, direction(0), [1.0], [0.0], z)[0]
    np.testing.assert_allclose(clean, expect / expect.max(), atol=1e-9)

    v.set_run(alphas, sigmas, states)
    wait_painted(qtbot, v.plot)
    with_paths = grab_array(v.plot)
    assert changed(density_only, with_paths) > 2_000
    seg = v.paths.segments()
    assert len(seg) == MAX_PATHS * (len(states) - 1)
    np.testing.assert_allclose(seg[:MAX_PATHS, 3], project(states[1][:MAX_PATHS], direction(0)), atol=1e-9)

    v.set_angle(90.0)                                       # y: another picture of the same run
    wait_painted(qtbot, v.plot)
    assert v.direction_combo.currentText() == "y"
    assert changed(with_paths, grab_array(v.plot)) > 5_000
    v.clear_run()
    assert v.paths.segment_count() == 0


def test_commit_view_draws_one_line_per_class_and_the_committed_fraction(qtbot, dice_run):
    p, alphas, sigmas, states = dice_run
    v = show_widget(qtbot, CommitView(), (640, 420))
    assert v.objectName() == "commitView"
    v.set_target(p.target)
    wait_painted(qtbot, v.plot)
    before = grab_array(v.plot)
    assert "Run a sampler" in v.note.text()
    v.set_run(alphas, sigmas, states)
    wait_painted(qtbot, v.plot)
    after = grab_array(v.plot)
    assert changed(before, after) > 1_500
    assert len(v._curves) == p.target.n_groups + 1
    expect = commitment(p.target, states, alphas, sigmas)
    np.testing.assert_allclose(v.commitment().committed, expect.committed)
    x, y = v._curves[-1].getData()
    assert y[0] < 0.05 and y[-1] > 0.95                    # nobody at the start, everybody at the end


def test_commit_view_says_so_for_a_one_class_target(qtbot):
    spiral = load_preset("spiral").target
    frames = list(sample_steps("ddim", ExactSource(spiral), 50, 0, steps=4))
    v = show_widget(qtbot, CommitView(), (640, 420))
    v.set_target(spiral)
    v.set_run([f.alpha for f in frames], [f.sigma for f in frames], [f.x.numpy() for f in frames])
    assert "one class" in v.note.text() and v.commitment() is None and v._curves == []


def plot_with(qtbot, item):
    """A 500 px plot of [-4, 4]² holding item, painted until its layout (axis widths) has settled."""
    w = show_widget(qtbot, pg.PlotWidget(), (500, 500))
    w.setXRange(-4, 4, padding=0)
    w.setYRange(-4, 4, padding=0)
    w.addItem(item)
    last = []

    def settled():                    # two grabs in a row, with the event loop run between, agree
        now = grab_array(w)
        same = bool(last) and changed(last[0], now) == 0
        last[:] = [now]
        return same
    try:
        qtbot.waitUntil(settled, timeout=WAIT_MS)
    except qtbot.TimeoutError:
        raise AssertionError("the plot kept changing with nothing to draw") from None
    return w


def box(img, w, centre, half=0.25):
    """The pixels of a data-space box around centre."""
    vb = w.getPlotItem().vb
    a = w.mapFromScene(vb.mapViewToScene(QPointF(centre[0] - half, centre[1] + half)))
    b = w.mapFromScene(vb.mapViewToScene(QPointF(centre[0] + half, centre[1] - half)))
    return img[a.y():b.y(), a.x():b.x()]


def test_denoised_overlay_draws_a_line_from_each_particle_to_its_estimate(qtbot):
    item = DenoisedOverlayItem()
    w = plot_with(qtbot, item)
    empty = grab_array(w)
    x = np.array([[-3.0, 2.0], [-3.0, -2.0]])
    item.set_frame(x, np.array([[3.0, 2.0], [3.0, -2.0]]))
    wait_painted(qtbot, w)
    drawn = grab_array(w)
    for on_line in [(0.0, 2.0), (0.0, -2.0), (-1.5, 2.0), (1.5, -2.0)]:
        assert changed(box(empty, w, on_line), box(drawn, w, on_line), tol=10) >= 5
    for off_line in [(0.0, 0.0), (0.0, 3.2), (-3.5, 0.0)]:
        assert changed(box(empty, w, off_line), box(drawn, w, off_line), tol=10) == 0
    assert item.segment_count() == 2 and item.point_count() == 2
    item.set_frame(np.array([[np.nan, 0.0], [1.0, 1.0]]), np.array([[0.0, 0.0], [2.0, 2.0]]))
    assert item.segment_count() == 1               # a non-finite particle is skipped, not drawn to the origin


def test_mesh_item_joins_neighbouring_grid_points(qtbot):
    item = MeshItem()
    w = plot_with(qtbot, item)
    empty = grab_array(w)
    g = np.linspace(-3, 3, 3)
    states = np.stack(np.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)
    item.set_mesh(states, 3)
    wait_painted(qtbot, w)
    drawn = grab_array(w)
    assert item.segment_count() == 12
    for on_edge in [(-1.5, -3.0), (1.5, 0.0), (0.0, 1.5), (3.0, -1.5)]:
        assert changed(box(empty, w, on_edge), box(drawn, w, on_edge), tol=10) >= 5
    for in_cell in [(-1.5, -1.5), (1.5, 1.5)]:
        assert changed(box(empty, w, in_cell), box(drawn, w, in_cell), tol=10) == 0
    with pytest.raises(ValueError):
        item.set_mesh(states, 4)


def test_the_pt_exact_backdrop_is_the_noised_density_and_follows_the_frame(qtbot):
    import torch
    from playground.app.widgets.backdrop import BackdropPlotWidget
    from playground.app.widgets.pt_backdrop import PtBackdrop
    from playground.maths.likelihood import grid_points
    p = load_preset("loaded_dice")
    backdrops = PtBackdrop()
    early, late = (0.9, 1.2), (1.0, 0.0)
    img, rect, note = backdrops.image_for("exact", p.target, p.view, *early)
    lp = p.target.log_prob(torch.as_tensor(grid_points(p.view, img.shape[0])), *early).numpy()
    np.testing.assert_allclose(img.ravel(), np.exp(lp - lp.max()), atol=1e-6)
    assert "p_t" in note and rect.width() == 8.0
    w = show_widget(qtbot, BackdropPlotWidget(), (400, 400))
    w.setXRange(-4, 4, padding=0)
    w.setYRange(-4, 4, padding=0)
    w.set_backdrop(img, rect)
    wait_painted(qtbot, w)
    first = grab_array(w)
    w.set_backdrop(*backdrops.image_for("exact", p.target, p.view, *late)[:2])
    wait_painted(qtbot, w)
    assert changed(first, grab_array(w), tol=20) > 5_000     # blurred blob early, six sharp faces at the end
    assert backdrops.image_for("off", p.target, p.view, *late)[0] is None


def test_the_learned_backdrop_is_absent_until_its_ode_solve_is_done(qtbot):
    from playground.app.widgets.pt_backdrop import PtBackdrop
    from playground.maths.grids.noised import exact_pt_grid, grid_image
    p = load_preset("loaded_dice")
    source = ExactSource(p.target)              # any score source; the exact one has a known answer
    backdrops = PtBackdrop(learned_res=4)
    assert "absent" in backdrops.image_for("learned", p.target, p.view, 1.0, 0.5, None)[2]
    with qtbot.waitSignal(backdrops.learnedReady, timeout=120_000):
        img, rect, note = backdrops.image_for("learned", p.target, p.view, 1.0, 0.5, source)
        assert img is None and "absent" in note
    img, rect, note = backdrops.image_for("learned", p.target, p.view, 1.0, 0.5, source)
    np.testing.assert_allclose(img, grid_image(exact_pt_grid(p.target, 1.0, 0.5, p.view, 4)), atol=0.03)
    backdrops.shutdown()

    hurried = PtBackdrop(learned_res=4, budget_s=0.0)
    with qtbot.waitSignal(hurried.learnedReady, timeout=60_000):
        hurried.image_for("learned", p.target, p.view, 1.0, 0.3, source)
    img, _, note = hurried.image_for("learned", p.target, p.view, 1.0, 0.3, source)
    assert img is None and "more than 0 s" in note
    hurried.shutdown()


def test_start_colours_follow_the_noise_not_where_its_cloud_is_centred():
    """Two runs from the same noise around different sources' means colour each particle alike."""
    from playground.app.widgets.particle_item import start_colour_bins
    eps = np.random.default_rng(0).normal(size=(2000, 2)) * 80
    a, colours = start_colour_bins(eps + [0.3, -0.2])
    b, _ = start_colour_bins(eps + [-4.0, 2.5])
    assert np.array_equal(a, b) and len(set(a.tolist())) == len(colours)
    assert start_colour_bins(np.zeros((0, 2)))[0].shape == (0,)
    bad = eps.copy()
    bad[5] = np.nan                                    # one bad row spoils only itself
    c, _ = start_colour_bins(bad)
    assert np.array_equal(np.delete(c, 5), start_colour_bins(np.delete(eps, 5, axis=0))[0]) and c[5] >= 0
