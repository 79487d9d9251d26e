"""GCJ-02 / BD-09 conversions: known offsets and round trips under 1 m."""

import numpy as np
import pytest
from pyproj import Geod

from layers.geo import chinacoords as cc

GEOD = Geod(ellps="WGS84")
OFFICE = (116.9640, 36.6620)  # in the sub-district


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def test_forward_formulas_give_the_published_values():
    # The example of the widely used coordtransform library (wandergis/coordtransform,
    # test/app.js) at (116.404, 39.915): a round trip alone would pass a wrong formula.
    assert cc.wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-12)
    assert cc.gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-12)
    # Its inverses are one-step approximations (here within centimetres of our exact ones).
    assert metres(cc.bd09_to_gcj02(116.404, 39.915), (116.39762729119315, 39.90865673957631)) < 1
    assert metres(cc.gcj02_to_wgs84(116.404, 39.915), (116.39775550083061, 39.91359571849836)) < 1


def test_gcj02_offset_is_hundreds_of_metres_in_jinan():
    shifted = cc.wgs84_to_gcj02(*OFFICE)
    assert 100 < metres(OFFICE, shifted) < 1000
    assert shifted[0] > OFFICE[0]  # in Jinan GCJ-02 lies east of WGS84


def test_bd09_is_further_offset_from_gcj02():
    gcj = cc.wgs84_to_gcj02(*OFFICE)
    bd = cc.gcj02_to_bd09(*gcj)
    assert 500 < metres(gcj, bd) < 1500


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_is_under_a_millimetre(system):
    rng = np.random.default_rng(1)
    lons = rng.uniform(116.2, 117.8, 200)
    lats = rng.uniform(36.0, 37.6, 200)
    there = cc.from_wgs84(lons, lats, system)
    back_lon, back_lat = cc.to_wgs84(there[0], there[1], system)
    errors = GEOD.inv(lons, lats, back_lon, back_lat)[2]
    assert errors.max() < 0.001


def test_scalars_stay_scalars():
    lon, lat = cc.gcj02_to_wgs84(*cc.wgs84_to_gcj02(*OFFICE))
    assert isinstance(lon, float) and isinstance(lat, float)
    assert metres(OFFICE, (lon, lat)) < 0.001


def test_outside_china_nothing_moves():
    assert cc.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


def test_unknown_system_is_a_value_error():
    with pytest.raises(ValueError, match="gcj02"):
        cc.to_wgs84(117.0, 36.6, "mars")
