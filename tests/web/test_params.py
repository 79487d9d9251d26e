"""The query-parameter parsers every blueprint uses: values, bounds, Chinese-first 400s."""

import datetime as dt
import math
import re

import pytest

from layers.errors import BadRequest
from layers.web import params

CHINESE_FIRST = re.compile(r"^[^\x00-\x7f]|^[a-z_-]+ [^\x00-\x7f]")


def message(call, *args, **kwargs) -> str:
    with pytest.raises(BadRequest) as raised:
        call(*args, **kwargs)
    assert raised.value.status == 400
    text = raised.value.message
    assert CHINESE_FIRST.match(text), text
    return text


def test_number_bounds_defaults_and_messages():
    assert params.number("2.5", "x") == 2.5
    assert params.number(None, "x", default=7) == 7
    assert params.number("  ", "x", default=7) == 7
    assert params.number("10", "d", minimum=10, maximum=1000) == 10
    assert "d is missing (metres)" in message(params.number, None, "d", hint="metres")
    assert "d='far' is not a number" in message(params.number, "far", "d")
    assert "d must be a finite number" in message(params.number, "inf", "d")
    for text in ("nan", "inf", "9", "1001"):
        assert "between 10 and 1000 metres" in message(
            params.number, text, "d", minimum=10, maximum=1000, unit="metres")
    assert "more than 0" in message(params.number, "0", "r", above=0)
    assert "r must not exceed 5 metres; got 6" in message(
        params.number, "6", "r", maximum=5, unit="metres")


def test_integer_is_whole_and_within_bounds():
    assert params.integer("3", "n") == 3
    assert params.integer("3.0", "n") == 3
    assert params.integer(None, "n", default=10) == 10
    assert params.integer("-4", "n", minimum=None) == -4
    assert message(params.integer, "-1", "offset").startswith(
        "起始位置 offset 须为不小于 0 的整数 (")
    assert "n must be at least 1" in message(params.integer, "0", "n", minimum=1)
    assert "whole number" in message(params.integer, "2.5", "n")
    assert "n must be an integer" in message(params.integer, "ten", "n")
    assert "n must not exceed 5; got 6" in message(params.integer, "6", "n", maximum=5)
    assert "n is missing" in message(params.integer, "", "n")


def test_bbox_in_lon_lat_and_for_the_ogc_api():
    assert params.bbox("116.9,36.6,117,36.7") == (116.9, 36.6, 117.0, 36.7)
    assert "four numbers" in message(params.bbox, "1,2,3")
    assert "four numbers" in message(params.bbox, "1,2,3,4,5,6")  # no heights in lon/lat
    assert "out of range" in message(params.bbox, "36.6,116.9,36.7,117.0")
    assert "min must not exceed max" in message(params.bbox, "117,36.7,116.9,36.6")
    assert "finite" in message(params.bbox, "1,2,3,nan")
    assert "not a number" in message(params.bbox, "a,b,c,d")
    # The OGC API: any CRS's axis order, heights dropped, the antimeridian crossed.
    assert params.bbox("1e6,4e6,1.1e6,4.1e6", lonlat=False) == (1e6, 4e6, 1.1e6, 4.1e6)
    assert params.bbox("1,2,0,3,4,9", lonlat=False) == (1.0, 2.0, 3.0, 4.0)
    assert params.bbox("170,-10,-170,10", lonlat=False) == (170, -10, -170, 10)
    assert "bbox must be 4 numbers" in message(params.bbox, "1,2,3", lonlat=False)
    assert "must not exceed the fourth" in message(params.bbox, "1,5,3,2", lonlat=False)


def test_day_is_an_rfc_3339_date_or_date_time_in_utc():
    assert params.day("2022-03-11", "d") == dt.date(2022, 3, 11)
    assert params.day("2022-03-11T23:30:00-02:00", "d") == dt.date(2022, 3, 12)
    assert params.day("2022-03-11t08:00:00z", "d") == dt.date(2022, 3, 11)
    assert "RFC 3339" in message(params.day, "2022-03-11T08:00:00", "d")  # no time zone
    assert "'2022-13-01' is not an RFC 3339 date" in message(params.day, "2022-13-01", "d")


def test_lon_lat_choice_and_boolean():
    assert params.lon_lat({"lon": "116.96", "lat": "36.66"}) == (116.96, 36.66)
    assert "lat is missing" in message(params.lon_lat, {"lon": "116.96"})
    assert math.isclose(params.lon_lat({"lon": "1e-3", "lat": "0"})[0], 0.001)
    assert params.choice(None, "f", ("json", "html"), "json") == "json"
    assert "f must be one of json, html, not 'xml'" in message(
        params.choice, "xml", "f", ("json", "html"))
    assert params.boolean("true", "b") is True and params.boolean("false", "b") is False
    assert "must be true or false" in message(params.boolean, "yes", "b")
