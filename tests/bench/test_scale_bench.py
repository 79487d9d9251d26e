"""make bench's synthetic data and table (the benchmark itself is not run here)."""

import json

import numpy as np
import pytest
import shapely

from bench import scale
from bench.synthetic import JINAN_CENTRE, synthetic_venues, write_data_dir
from layers.catalogue.entries import get_layer
from layers.catalogue.validate import validate_collection
from layers.geo.crs import to_metric
from layers.stores.layers import LayerStore

AREA = shapely.box(116.95, 36.65, 116.98, 36.69)


def test_synthetic_venues_are_reproducible_and_valid():
    a = synthetic_venues(3000, AREA, seed=3)
    assert a == synthetic_venues(3000, AREA, seed=3)
    assert a != synthetic_venues(3000, AREA, seed=4)
    assert len(a["features"]) == 3000
    assert len({f["id"] for f in a["features"]}) == 3000
    valid, problems = validate_collection(get_layer("venues"), a, "venues.geojson",
                                          to_metric(AREA))
    assert problems == [] and len(valid) == 3000


def test_synthetic_venues_come_after_the_shipped_ones(tmp_path):
    data = write_data_dir(tmp_path / "data", 1000, extent="jinan")
    shipped = json.loads((scale.ROOT / "geodata" / "venues.geojson").read_text("utf-8"))
    written = json.loads((data / "venues.geojson").read_text("utf-8"))["features"]
    assert written[:len(shipped["features"])] == shipped["features"]
    store = LayerStore.from_directory(data)  # the real loader accepts the directory
    venues = store.get("venues")
    assert len(venues) == 1000
    minx, miny, maxx, maxy = venues.bbox
    assert JINAN_CENTRE[0] <= minx and maxx <= JINAN_CENTRE[2]
    assert JINAN_CENTRE[1] <= miny and maxy <= JINAN_CENTRE[3]
    # Spread over the city, not only the sub-district.
    assert maxx - minx > 0.3 and maxy - miny > 0.1


def test_view_bbox_spans_the_viewport_at_its_zoom():
    minx, miny, maxx, maxy = scale.view_bbox(117.0, 36.66, 16)
    assert abs((maxx - minx) - 1280 * 360 / (256 * 2 ** 16)) < 1e-5
    assert abs((minx + maxx) / 2 - 117.0) < 1e-6 and abs((miny + maxy) / 2 - 36.66) < 1e-6
    assert (maxy - miny) < (maxx - minx) * 860 / 1280  # latitude degrees shrink less


def test_table_formatting():
    table = scale.markdown_table(["venues", "1k", "1M"], [["nearby", "0.1", "0.9"]])
    lines = table.splitlines()
    assert lines[1] == "| --- | ---: | ---: |"
    assert all(line.count("|") == 4 for line in lines)
    assert scale.latency([1.0] * 99 + [50.0]) == "1.00 / 1.49"
    assert scale.fmt_ratio(300.0, 0.5) == "600×" and scale.fmt_ratio(1.5, 1.0) == "1.5×"
    assert scale.fmt_ratio(None, 1.0) == "—"
    assert scale.fmt_bytes(25_300) == "25.3 kB" and scale.fmt_bytes(3.9e8, True) == "~390.0 MB"
    assert [scale.size_label(n) for n in (1000, 100_000, 1_000_000, 1500)] == \
        ["1k", "100k", "1M", "1500"]


def test_the_in_process_measures_run_and_agree_with_the_naive_way(tmp_path):
    """bench/scale.py's in-process part on 1,000 venues: every query kind answers, and the
    naive full scan finds the same nearest venues (naive_nearby asserts it)."""
    data = write_data_dir(tmp_path / "data", 1000, extent="jinan")
    got = scale.measure_in_process(data, queries=20)
    assert [len(got[k]) for k in ("nearby", "bbox", "clusters", "naive_nearby")] == [20] * 4
    assert got["load_s"] > 0 and got["rss_mb"] > 0 and got["within_1km"] > 0


def test_the_growth_queries_ask_for_the_same_result_size_at_every_size(tmp_path):
    """The growth rows compare like with like: the bbox, radius and tile zoom shrink as
    the venues grow denser, so that each holds about as many at 1k as at 1M."""
    assert scale.growth_zoom(1_000_000) == 16 and scale.growth_zoom(1000) == 11
    lon, lat = 117.0, 36.66
    for size in (1000, 100_000):
        minx, miny, maxx, maxy = scale.growth_bbox(lon, lat, size)
        side_km = (maxx - minx) * 111.32 * 0.8025
        assert abs(side_km ** 2 * size / scale.city_km2() - scale.GROWTH_FEATURES) < 1
    assert scale.growth_radius_m(1_000_000) * 10 == pytest.approx(
        scale.growth_radius_m(10_000), rel=0.01)
    data = write_data_dir(tmp_path / "data", 20_000, extent="jinan")
    venues = LayerStore.from_directory(data).get("venues")
    counts = [len(venues.in_bbox(scale.growth_bbox(lon, lat, 20_000)))
              for lon, lat in scale.query_points(200)]
    assert abs(sum(counts) / len(counts) - scale.GROWTH_FEATURES) < 6
    paths = scale.growth_paths(scale.query_points(3), 20_000)
    assert set(paths) == {kind for kind, _ in scale.GROWTH_ROWS}
    assert all(len(v) == 3 for v in paths.values())


def test_the_growth_table_gives_the_ratio_of_the_largest_size_to_the_smallest():
    def result(size, ms):
        http = {kind: [ms] * 10 for kind, _ in scale.GROWTH_ROWS}
        http["ogc_page_crs84"] = [ms / 2] * 10
        http["wrk_ogc_bbox"] = [1234.0]
        http["ogc_page_html_bytes"] = [52_000.0]
        return scale.Result(size, {}, http, {})

    rows = scale.growth_rows([result(1000, 2.0), result(1_000_000, 3.0)])
    first = rows[0]
    assert first[1:] == ["2.00", "3.00", "1.50×"]
    assert ["→ OGC page: EPSG:4548 / CRS84", "2.00×", "2.00×", ""] in rows
    assert rows[-1][1:3] == ["1,234", "1,234"]


def test_the_tiles_timed_hold_as_many_venues_as_a_zoom_16_tile_at_1m():
    """At 1k the tiles at the query points are mostly cut by the city's edge; the tiles
    timed are those holding about as many venues as a zoom-16 tile at 1M (~380)."""
    rng = np.random.default_rng(3)
    lon0, lat0, lon1, lat1 = JINAN_CENTRE
    venues = rng.uniform((lon0, lat0), (lon1, lat1), size=(1000, 2))
    points = scale.query_points(50)
    paths = scale.growth_tile_paths(points, 1000, venues)
    assert len(paths) == 50
    counts = scale.tile_counts(venues, 11)
    assert sum(counts.values()) == 1000
    for path in set(paths):
        z, y, x = map(int, path.rsplit("/", 3)[1:])
        assert z == 11 and abs(counts[(z, y, x)] - 380) <= 0.25 * 380 + 5
    at_points = [counts.get(t, 0) for t in {scale.tile_of(*p, 11) for p in points}]
    assert min(at_points) < 0.75 * 380  # what the tiles at the points alone would time
