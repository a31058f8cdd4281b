"""`tour`: the list, one tour played offscreen into numbered pictures that differ stop to stop, and one
error line (exit 2) for a tour that does not exist."""
import json

from PySide6.QtGui import QImage

from playground.formats.tour_files import read_tour, tour_names
from tests.helpers import run


def test_tour_list_prints_each_name_then_its_title():
    r = run("tour", "--list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert [line.split(None, 1)[0] for line in lines] == tour_names()
    assert all(line.split(None, 1)[1] == read_tour(line.split()[0]).title for line in lines)


def test_an_unknown_tour_or_size_is_one_error_line_and_exit_2(tmp_path):
    for args in (("tour", "no-such-tour", "--screenshots", tmp_path), ("tour", "langevin", "--screenshots", tmp_path,
                                                                           "--size", "huge")):
        r = run(*args)
        assert r.returncode == 2 and r.stdout == ""
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error:")
    assert not list(tmp_path.iterdir())


def test_a_tour_plays_offscreen_into_one_picture_per_stop(qapp, tmp_path):
    r = run("tour", "coarse-first", "--screenshots", tmp_path / "shots", "--size", "1024x700")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.splitlines()[-1])
    tour = read_tour("coarse-first")
    assert result["tour"] == "coarse-first" and result["stops"] == len(tour.stops)
    assert result["questions"] == tour.questions and result["seconds"] > 0
    files = sorted((tmp_path / "shots").iterdir())
    assert [f.name for f in files] == [f"{k:02d}.png" for k in range(1, len(tour.stops) + 1)]
    images = [QImage(str(f)) for f in files]
    assert all(im.size() == images[0].size() and im.width() >= 1024 for im in images)   # never below the window minimum
    assert all(a != b for a, b in zip(images, images[1:]))
