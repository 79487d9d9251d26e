"""make bench's synthetic data and table (the benchmark itself is not run here)."""

import json

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
