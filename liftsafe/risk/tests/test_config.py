"""The score model as configuration: band edges (table), validation errors naming the field, the matrix."""
from __future__ import annotations

import copy
import tomllib

import pytest
from django.core.exceptions import ValidationError

from liftsafe.risk.config import MODEL_PATH, model, parse, validate

BASE = tomllib.loads(MODEL_PATH.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def english():
    """Messages are checked in English (pages are zh-Hans by default; the zh-Hans texts are in the .po)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _errors(mutate) -> dict:
    data = copy.deepcopy(BASE)
    mutate(data)
    with pytest.raises(ValidationError) as exc:
        validate(data)
    return exc.value.message_dict


def test_shipped_model_validates():
    m = model()
    assert [b.colour for b in m.bands] == ["blue", "yellow", "orange", "red"]
    assert m.total_weight == 120
    assert m.replacement_age_years == 20


@pytest.mark.parametrize("score,colour", [
    (-5, "blue"), (0, "blue"), (0.001, "blue"), (19.999, "blue"), (20, "yellow"), (20.0001, "yellow"),
    (39.9999, "yellow"), (40, "orange"), (59.99, "orange"), (60, "red"), (60.0, "red"), (120, "red"), (1e9, "red"),
])
def test_band_edges_are_half_open(score, colour):
    assert model().colour(score) == colour


def test_every_score_matches_exactly_one_band():
    m = model()
    for i in range(0, 13001):
        s = i / 100
        hits = [b for b in m.bands if b.lower <= s and (b.upper is None or s < b.upper)]
        assert len(hits) == 1, s


def test_negative_weight_refused_naming_the_factor():
    errs = _errors(lambda d: d["factors"][2].__setitem__("weight", -1))
    assert "factors[2].weight" in errs and "negative" in errs["factors[2].weight"][0]


def test_gap_between_bands_refused():
    errs = _errors(lambda d: d["bands"][1].__setitem__("from", 30))
    assert "gap" in errs["bands[1].from"][0]


def test_overlapping_bands_refused():
    errs = _errors(lambda d: d["bands"][2].__setitem__("from", 35))
    assert "overlap" in errs["bands[2].from"][0]


def test_first_band_must_start_at_zero_and_last_is_open():
    errs = _errors(lambda d: (d["bands"][0].__setitem__("from", 5), d["bands"][3].__setitem__("to", 200)))
    assert "bands[0].from" in errs and "bands[3].to" in errs


def test_band_with_to_not_above_from_and_colour_twice():
    errs = _errors(lambda d: (d["bands"][1].__setitem__("to", 20), d["bands"][2].__setitem__("colour", "yellow")))
    assert "bands[1].to" in errs and "bands[2].colour" in errs


def test_colours_must_rise():
    def swap(d):
        d["bands"][0]["colour"], d["bands"][1]["colour"] = "yellow", "blue"
    assert "bands" in _errors(swap)


def test_unknown_factor_duplicate_transform_and_steps():
    def bad(d):
        d["factors"][0]["steps"] = [[1, 0.0], [0, 2]]
        d["factors"][1]["key"] = "age"
        d["factors"][2]["transform"] = "log"
        d["factors"][3]["key"] = "horoscope"
        d["factors"][4]["cap"] = 0
        del d["factors"][5]["source"]
    errs = _errors(bad)
    assert {"factors[0].steps", "factors[1].key", "factors[2].transform", "factors[3].key", "factors[4].cap",
            "factors[5].source"} <= set(errs)


def test_all_zero_weights_and_bad_replacement_and_window():
    def bad(d):
        for f in d["factors"]:
            f["weight"] = 0
        d["replacement"]["age_years"] = 0
        d["window_days"] = 0
    errs = _errors(bad)
    assert {"factors", "replacement.age_years", "window_days"} <= set(errs)


def test_toml_syntax_error_named():
    with pytest.raises(ValidationError) as exc:
        parse("bands = [")
    assert "model" in exc.value.message_dict


def test_matrix_table_and_its_validation():
    m = model()
    assert m.matrix_colour("1", "A") == ("I", "red")
    assert m.matrix_colour("4", "F") == ("III", "blue")
    with pytest.raises(ValidationError) as exc:
        m.matrix_colour("9", "A")
    assert "severity" in exc.value.message_dict
    errs = _errors(lambda d: d["matrix"]["cells"].__setitem__("2", ["I", "II"]))
    assert "matrix.cells.2" in errs
    errs = _errors(lambda d: d["matrix"]["cells"].__setitem__("3", ["I", "II", "II", "III", "III", "IV"]))
    assert "matrix.cells.3" in errs
    errs = _errors(lambda d: d["matrix"]["groups"].__setitem__("I", "purple"))
    assert "matrix.groups" in errs


def test_factor_transforms():
    m = model()
    f = {x.key: x for x in m.factors}
    assert [f["age"].value(y) for y in (0, 4, 5, 14, 15, 19, 20, 40)] == [0, 0, .2, .2, .6, .6, 1, 1]
    assert f["entrapments"].value(0) == 0 and f["entrapments"].value(1) == pytest.approx(1 / 3) and f["entrapments"].value(9) == 1
    assert f["inspection"].value("failed") == 1 and f["inspection"].value("weird") is None and f["inspection"].value(None) is None
    assert f["crowded_place"].value(True) == 1 and f["crowded_place"].value(False) == 0
