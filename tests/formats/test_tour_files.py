"""Guided tours are data: every shipped tour passes its checks, covers its idea, and a tour file that
names an unknown preset, setting, model or action is refused with a message naming it."""
import json

import pytest

from playground.formats.tour_files import (MAX_STOPS, MIN_STOPS, TourError, model_names, parse_tour, read_tour,
                                           read_tour_model, tour_names)

# The ideas the issue asks the tours to cover, each by words of the title that names it.
IDEAS = {"loaded die": ("loaded die",), "forward process": ("forward process",), "denoiser": ("denoiser",),
         "langevin": ("langevin", "annealed"), "small steps": ("steps", "euler"),
         "stochastic vs deterministic": ("stochastic", "deterministic"), "mode commitment": ("coarse", "commit"),
         "flow matching": ("flow matching",), "rectified flow": ("rectified", "reflow"),
         "gradient estimation": ("gradient-estimation",), "guidance": ("classifier", "classifier-free"),
         "likelihood": ("nll", "elbo")}


def good_tour(**stop_changes) -> dict:
    stops = [{"preset": "loaded_dice", "text": "one", "act": ["sample_exact"]},
             {"text": "two", "settings": {"steps": 5}, "question": {"prompt": "?", "choices": ["a", "b"], "answer": 1}},
             {"text": "three"}, {"text": "four"}]
    stops[1].update(stop_changes)
    return {"title": "A tour", "order": 1, "stops": stops}


def test_at_least_ten_tours_each_of_four_to_eight_stops_most_with_a_question():
    names = tour_names()
    assert len(names) >= 10
    tours = [read_tour(n) for n in names]
    assert all(MIN_STOPS <= len(t.stops) <= MAX_STOPS for t in tours)
    assert sum(t.questions > 0 for t in tours) > len(tours) / 2
    assert len({t.title for t in tours}) == len(tours)
    assert [t.order for t in tours] == sorted(t.order for t in tours)


def test_the_titles_cover_every_idea_of_the_issue():
    titles = [read_tour(n).title.lower() for n in tour_names()]
    for idea, words in IDEAS.items():
        assert any(all(w in t for w in words) for t in titles), idea


def test_every_stop_says_what_to_look_at_in_one_to_four_sentences():
    for name in tour_names():
        for i, stop in enumerate(read_tour(name).stops, 1):
            sentences = [s for s in stop.text.replace("e.g.", "eg").split(". ") if s.strip()]
            assert 1 <= len(sentences) <= 4, (name, i, stop.text)


def test_the_models_tours_name_are_shipped_small_and_load():
    used = {s.model for n in tour_names() for s in read_tour(n).stops} - {None, "original"}
    assert used <= set(model_names())
    for name in used:
        config, state = read_tour_model(name)
        assert config["model"]["objective"] in ("dsm", "fm")
        assert state["model"] is state["ema"] and state["step"] > 0


def test_a_good_tour_parses_and_counts_its_questions():
    tour = parse_tour("t", json.dumps(good_tour()))
    assert len(tour.stops) == 4 and tour.questions == 1
    assert tour.stops[1].settings == {"steps": 5}


@pytest.mark.parametrize("change, words", [
    ({"preset": "no_such_preset"}, "unknown preset"),
    ({"settings": {"no_such_setting": 1}}, "unknown setting 'no_such_setting'"),
    ({"settings": {"lr": 0.01}}, "setting 'lr' comes with the stop's model"),
    ({"settings": {"steps": 0}}, "settings.steps"),
    ({"model": "no_such_model"}, "unknown model"),
    ({"act": ["dance"]}, "unknown action"),
    ({"act": [{"press": "sampleButton"}]}, "unknown action"),
    ({"frame": "middle"}, "frame must be"),
    ({"question": {"prompt": "?", "choices": ["only one"], "answer": 0}}, "choices"),
    ({"question": {"prompt": "?", "choices": ["a", "b"], "answer": 2}}, "answer must be"),
    ({"colour": "red"}, "unknown field 'colour'"),
    ({"widgets": {"sampleButton": {"x": 1}}}, "widgets: sampleButton"),
    ({"text": ""}, "text: must be a non-empty text"),
])
def test_a_stop_that_names_something_unknown_is_refused_naming_it(change, words):
    with pytest.raises(TourError, match="stop 2") as err:
        parse_tour("bad", json.dumps(good_tour(**change)))
    assert words in str(err.value)


def test_whole_tour_rules():
    data = good_tour()
    data["stops"] = data["stops"][:3]
    with pytest.raises(TourError, match="4 to 8 stops"):
        parse_tour("short", json.dumps(data))
    data = good_tour()
    del data["stops"][0]["preset"]
    with pytest.raises(TourError, match="stop 1: must name a preset"):
        parse_tour("nopreset", json.dumps(data))
    data = good_tour()
    data["stops"][-1]["question"] = {"prompt": "?", "choices": ["a", "b"], "answer": 0}
    with pytest.raises(TourError, match="last stop cannot ask"):
        parse_tour("lastq", json.dumps(data))
    with pytest.raises(TourError, match="not valid JSON"):
        parse_tour("broken", "{")
    with pytest.raises(TourError, match="unknown tour 'nope'"):
        read_tour("nope")
