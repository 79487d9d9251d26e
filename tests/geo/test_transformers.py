"""Transformers are built once per process and shared safely by threads (layers/geo/crs.py)."""

import threading

import numpy as np
import pytest
from pyproj import CRS, Transformer

from layers.geo import crs as crsmod
from layers.ogc.features import CRS84, SUPPORTED_CRS

LON = np.linspace(116.95, 116.99, 50)
LAT = np.linspace(36.64, 36.68, 50)


@pytest.mark.parametrize("uri", [u for u in SUPPORTED_CRS if u != CRS84])
def test_the_shared_transformer_agrees_with_pyproj_both_ways(uri):
    target = SUPPORTED_CRS[uri][0]
    storage = SUPPORTED_CRS[CRS84][0]
    forward = crsmod.transformer(storage, target)
    expected = Transformer.from_crs(storage, target).transform(LON, LAT)
    np.testing.assert_allclose(forward.transform(LON, LAT), expected, rtol=0, atol=1e-9)
    back = crsmod.transformer(target, storage)
    lon, lat = back.transform(*expected)
    np.testing.assert_allclose(lon, LON, atol=1e-9)
    np.testing.assert_allclose(lat, LAT, atol=1e-9)
    # It still knows its CRSs, which transform_bounds needs.
    bounds = forward.transform_bounds(116.95, 36.64, 116.99, 36.68)
    assert all(np.isfinite(bounds))
    assert bounds == pytest.approx(Transformer.from_crs(storage, target).transform_bounds(
        116.95, 36.64, 116.99, 36.68))


def test_a_transformer_is_searched_for_once_whatever_the_threads(monkeypatch):
    searches = []
    real = Transformer.from_crs

    def counting(*args, **kwargs):
        searches.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(crsmod, "_TRANSFORMERS", {})
    monkeypatch.setattr(Transformer, "from_crs", staticmethod(counting))
    source, target = CRS.from_epsg(4490), CRS.from_epsg(4548)
    results: list[tuple[Transformer, tuple[float, float]]] = []
    start = threading.Barrier(8)

    def work():
        start.wait()
        shared = crsmod.transformer(source, target, always_xy=True)
        results.append((shared, shared.transform(117.0, 36.6)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(searches) == 1
    assert len({id(shared) for shared, _ in results}) == 1
    assert all(xy == pytest.approx((500000.0, 4052121.4151), abs=1e-3) for _, xy in results)
    # Another pair, or the same pair with the other axis order, is another transformer.
    assert crsmod.transformer(source, target) is not results[0][0]
    assert len(searches) == 2


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(crsmod, "_TRANSFORMERS", {})
    monkeypatch.setattr(crsmod, "_MAX_TRANSFORMERS", 2)
    for code in (4548, 4549, 4547):
        crsmod.transformer("EPSG:4326", f"EPSG:{code}")
    assert len(crsmod._TRANSFORMERS) == 2


def test_metric_and_lonlat_round_trip():
    x, y = crsmod.lonlat_to_metric(116.97, 36.66)
    expected = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True).transform(
        116.97, 36.66)
    assert (x, y) == pytest.approx(expected, abs=1e-6)
    assert crsmod.metric_to_lonlat(x, y) == pytest.approx((116.97, 36.66), abs=1e-9)
    lon, lat = crsmod.metric_to_lonlat_arrays(np.array([x, x + 100]), np.array([y, y]))
    assert lon[0] == pytest.approx(116.97, abs=1e-9) and lon[1] > lon[0]
