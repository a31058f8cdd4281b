"""Guided tours in the real window: the Tours menu starts them, every tour plays to its end with a new
picture at each stop and its highlighted widget on screen, Back then Next shows the same picture, and
Close at any stop gives the window back as it was."""
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QPushButton

from playground.formats.tour_files import parse_tour, read_tour, tour_names
from playground.app.core.errors import Refusal
from tests.helpers import WAIT_MS, child

pytestmark = pytest.mark.window(size=(1100, 720))
STOP_MS = 60_000          # one stop: well under 10 s on two free cores; generous for a loaded CI machine


def picture(widget) -> QImage:
    return widget.grab().toImage()


def wait_ready(qtbot, player):
    qtbot.waitUntil(lambda: player.ready, timeout=STOP_MS)


def start_from_menu(qtbot, w, name):
    menu = w.findChild(QMenu, "toursMenu")
    action = next(a for a in menu.actions() if a.text() == read_tour(name).title)
    action.trigger()
    wait_ready(qtbot, w.tours)
    return w.findChild(QDockWidget, "tourPanel")


def test_the_tours_menu_lists_every_tour_and_each_validates_against_this_window(window):
    menu = window.findChild(QMenu, "toursMenu")
    assert [a.text() for a in menu.actions()] == [read_tour(n).title for n in tour_names()]
    for name in tour_names():
        assert window.tours.widgets(read_tour(name))          # every widget named exists and takes its value


@pytest.mark.parametrize("stop, words", [
    ({"text": "x", "highlight": "noSuchWidget"}, "no widget or action named 'noSuchWidget'"),
    ({"text": "x", "act": [{"click": "noSuchButton"}]}, "noSuchButton"),
    ({"text": "x", "act": [{"click": "tourText"}]}, "is not a button"),
    ({"text": "x", "widgets": {"stepsSpin": "many"}}, "stepsSpin takes an integer"),
    ({"text": "x", "widgets": {"samplerCombo": "no-such-sampler"}}, "has no item"),
    ({"text": "x", "show": "noSuchDock"}, "no dock named"),
])
def test_a_tour_naming_an_unknown_widget_or_action_is_refused_before_it_plays(window, stop, words):
    import json
    stops = [{"preset": "loaded_dice", "text": "a"}, stop, {"text": "c"}, {"text": "d"}]
    tour = parse_tour("bad", json.dumps({"title": "Bad", "stops": stops}))
    with pytest.raises(Refusal, match="stop 2") as err:
        window.tours.widgets(tour)
    assert words in str(err.value)


def test_every_tour_plays_to_its_end_with_a_new_picture_and_its_widget_on_screen_at_each_stop(qtbot, window):
    player = window.tours
    for name in tour_names():
        dock = start_from_menu(qtbot, window, name)
        assert dock.isVisible()
        view_changed, before = False, None
        n = len(player.tour.stops)
        for k in range(n):
            if k:
                window.findChild(QPushButton, "tourNextButton").click()
                wait_ready(qtbot, player)
            assert child(window, QLabel, "tourStepLabel").text() == f"{k + 1} / {n}"
            assert child(window, QLabel, "tourText").text() == player.tour.stops[k].text
            target = player.tour.stops[k].highlight
            if target:
                assert window.tours.ui.find(target).isVisible(), (name, k + 1, target)
                qtbot.waitUntil(player.highlight.isVisible, timeout=WAIT_MS)
            shot, view = picture(window), picture(window.particle_view)
            if before is not None:
                assert shot != before[0], (name, k + 1)
                view_changed |= view != before[1]
            before = (shot, view)
        assert view_changed, name                      # the particle view follows the tour
        assert not window.findChild(QPushButton, "tourNextButton").isEnabled()
        window.findChild(QPushButton, "tourCloseButton").click()
        assert not dock.isVisible() and not player.playing


def test_closing_midway_restores_preset_settings_model_and_run(qtbot, window):
    window.set_preset("two_moons")
    window.state.update_settings(sampler="ddpm", steps=17, particles=900, seed=5, density=True)
    window.start_sampling()
    qtbot.waitUntil(lambda: window.current_frames() is not None, timeout=WAIT_MS)
    run, settings, step = window.current_frames(), window.state.settings, window.state.training.step
    start_from_menu(qtbot, window, "loaded-die")
    for _ in range(2):
        window.findChild(QPushButton, "tourNextButton").click()
        wait_ready(qtbot, window.tours)
    assert window.current_preset().name != "two_moons" and window.state.settings != settings
    window.findChild(QPushButton, "tourCloseButton").click()
    assert window.state.preset_key == "two_moons" and window.state.settings == settings
    assert window.current_frames() is run and window.state.training.step == step
    assert not window.findChild(QDockWidget, "tourPanel").isVisible()


def test_back_then_next_shows_the_same_picture(qtbot, window):
    player = window.tours
    start_from_menu(qtbot, window, "small-steps")
    nxt, back = (window.findChild(QPushButton, n) for n in ("tourNextButton", "tourBackButton"))
    for _ in range(2):
        nxt.click()
        wait_ready(qtbot, player)
    third = picture(window.particle_view)
    back.click()
    wait_ready(qtbot, player)
    assert child(window, QLabel, "tourStepLabel").text().startswith("2 /")
    assert picture(window.particle_view) != third
    nxt.click()
    wait_ready(qtbot, player)
    assert picture(window.particle_view) == third
    player.close()


def test_the_first_run_banner_offers_the_first_tour(qtbot, make_window, state_dir):
    from playground.app.shell.launch import offer_first_tour
    w = make_window()
    assert not w.banner.isVisible()                  # a window a script builds: no offer
    offer_first_tour(w)                              # what the gui command does
    first = tour_names()[0]
    assert w.banner.isVisible() and f"tour:{first}" in w.banner.text()
    w.banner.linkActivated.emit(f"tour:{first}")
    wait_ready(qtbot, w.tours)
    assert w.tours.tour.name == first
    w.tours.close()
    again = make_window()
    offer_first_tour(again)
    assert "tour:" not in again.banner.text()         # offered once


def test_the_offer_waits_for_deferred_features(qtbot, make_window, state_dir):
    """The gui command asks before the panels exist: the offer comes when the last one is installed."""
    from playground.app.shell.launch import offer_first_tour
    w = make_window(defer_features=True, shown=False)
    assert not w.features_ready()                    # the panels come after the first paint, one a turn
    offer_first_tour(w)
    assert "tour:" not in w.banner.text()            # nothing to offer yet: the tours panel is not there
    w.show()
    qtbot.waitUntil(lambda: w.features_ready() and "tour:" in w.banner.text(), timeout=20_000)
    assert w.banner.isVisible()
