"""Spatial summaries, measures, choropleth and coverage (layers/planners/analysis/)."""

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import mapping, shape

from layers.catalogue.entries import COMMUNITIES, JINAN_BOUNDS
from layers.errors import ApiError, BadRequest
from layers.geo.crs import M2_PER_MU, to_metric
from layers.planners import analysis
from layers.planners.analysis import equal_interval_classes, read_geometry
from layers.records.inspections import STATUSES

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def statuses(app, store):
    from layers.web.context import live_properties

    with app.app_context():
        return live_properties(store.get("venues"))


def box(minx, miny, maxx, maxy):
    return mapping(shapely.box(minx, miny, maxx, maxy))


def whole(store):
    return shapely.union_all(store.get("boundary").metric)


# --- reading geometries --------------------------------------------------------------


def test_read_geometry_accepts_a_geometry_a_feature_or_a_wrapper():
    g = box(116.96, 36.665, 116.966, 36.672)
    for data in (g, {"type": "Feature", "properties": {}, "geometry": g}, {"geometry": g}):
        area = read_geometry(data)
        assert area.geometry.equals(shape(g))
        assert area.metric.area == pytest.approx(to_metric(shape(g)).area)


BOWTIE = {"type": "Polygon", "coordinates": [[[116.960, 36.665], [116.966, 36.672],
                                              [116.966, 36.665], [116.960, 36.672],
                                              [116.960, 36.665]]]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "GeoJSON"),
        ([1, 2], "GeoJSON"),
        ({"type": 3}, "GeoJSON"),
        ({"type": "Point", "coordinates": [116.96, 36.67]}, "不支持的几何类型"),
        ({"type": "Polygon", "coordinates": "nope"}, "无法读取"),
        ({"type": "Polygon", "coordinates": [[[116.96, 36.66], [116.97, 36.66]]]}, "无法读取"),
        ({"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4], ["a", "b"]]]},
         "无法读取"),
        ({"type": "Polygon", "coordinates": []}, "为空"),
        ({"type": "Polygon", "coordinates": [[[116.96, 36.66], [float("nan"), 36.67],
                                              [116.97, 36.67], [116.96, 36.66]]]}, "有限数值"),
        (box(0, 0, 1, 1), "超出济南市"),
        (box(36.66, 116.96, 36.67, 116.97), "超出济南市"),  # lat/lon swapped
        (BOWTIE, "自相交"),
        (box(116.5, 36.5, 116.7, 36.7), "范围过大"),
    ],
)
def test_read_geometry_rejects_what_cannot_be_used(data, message):
    with pytest.raises(BadRequest) as e:
        read_geometry(data)
    assert message in e.value.message


def test_read_geometry_limits_vertices():
    ring = shapely.Point(116.963, 36.668).buffer(0.002, quad_segs=analysis.MAX_VERTICES // 4 + 1)
    with pytest.raises(BadRequest, match="顶点过多"):
        read_geometry(mapping(ring))


def test_jinan_bounds_are_the_catalogue_ones():
    west, south, east, north = JINAN_BOUNDS
    read_geometry(box(west, south, west + 0.01, south + 0.01))


# --- measures ---------------------------------------------------------------------------


def test_measure_line_matches_the_geodesic_length():
    line = {"type": "LineString", "coordinates": [[116.955, 36.662], [116.972, 36.675]]}
    result = analysis.measure(read_geometry(line, analysis.LINE_TYPES))
    _, _, geodesic = GEOD.inv(116.955, 36.662, 116.972, 36.675)
    assert result["length_m"] == pytest.approx(geodesic, rel=0.001)
    assert "area_m2" not in result


def test_measure_polygon_matches_the_geodesic_area_in_m2_and_mu():
    g = box(116.960, 36.665, 116.966, 36.672)
    result = analysis.measure(read_geometry(g))
    area, perimeter = GEOD.geometry_area_perimeter(shape(g))
    assert result["area_m2"] == pytest.approx(abs(area), rel=0.002)
    assert result["perimeter_m"] == pytest.approx(perimeter, rel=0.002)
    assert result["area_mu"] == pytest.approx(result["area_m2"] / M2_PER_MU, abs=0.01)
    assert result["area_km2"] == pytest.approx(result["area_m2"] / 1e6, abs=1e-4)


# --- summaries ----------------------------------------------------------------------------


def test_summary_of_the_whole_sub_district_counts_everything(store, statuses):
    s = analysis.summarize(store, whole(store), statuses)
    venues = store.get("venues")
    assert s["venues"]["count"] == len(venues) == 353
    assert s["venues"]["nine_small"] == 320
    assert sum(k["count"] for k in s["venues"]["by_kind"]) == 353
    assert [r["status"] for r in s["venues"]["by_status"]] == list(STATUSES)
    assert sum(r["count"] for r in s["venues"]["by_status"]) == 353
    assert s["venues"]["open_hazards"] == sum(v["open_hazards"] for v in statuses.values())
    assert s["garbage"]["points"] == 108
    assert s["garbage"]["bins"] == 1320 == sum(k["bins"] for k in s["garbage"]["by_kind"])
    parking = store.get("parking")
    assert s["parking"]["lots"] == len(parking)
    assert s["parking"]["spaces"] == sum(f["properties"]["spaces"] for f in parking.features)
    parcels = store.get("parcels")
    assert s["parcels"]["count"] == len(parcels)
    assert s["parcels"]["area_m2"] == pytest.approx(sum(m.area for m in parcels.metric), abs=1)
    assert s["parcels"]["area_mu"] == pytest.approx(s["parcels"]["area_m2"] / M2_PER_MU, abs=0.01)
    assert s["projects"]["count"] == len(store.get("projects"))
    assert s["area_m2"] == pytest.approx(1.64e6, rel=0.01)


def test_communities_partition_the_counts_and_agree_with_the_community_property(store, statuses):
    total = analysis.summarize(store, whole(store), statuses)
    summaries = {}
    for name in COMMUNITIES:
        position = analysis.community_position(store, name)
        summaries[name] = analysis.community_summary(store, position, statuses)
        assert summaries[name]["community"]["name"] == name
    for key, sub in [("venues", "count"), ("garbage", "points"), ("garbage", "bins"),
                     ("parking", "spaces"), ("projects", "count")]:
        assert sum(s[key][sub] for s in summaries.values()) == total[key][sub], (key, sub)
    for name, s in summaries.items():
        venues = [f for f in store.get("venues").features if f["properties"]["community"] == name]
        assert s["venues"]["count"] == len(venues)
        bins = sum(f["properties"]["bins"] for f in store.get("garbage").features
                   if f["properties"]["community"] == name)
        assert s["garbage"]["bins"] == bins


def test_summary_of_a_rectangle_matches_a_plain_scan(store, statuses):
    g = shapely.box(116.958, 36.662, 116.964, 36.670)
    s = analysis.summarize(store, to_metric(g), statuses)
    venues = [f for f in store.get("venues").features if g.covers(shape(f["geometry"]))]
    assert 0 < s["venues"]["count"] == len(venues) < 353
    kinds = {}
    for f in venues:
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
    assert {k["kind"]: k["count"] for k in s["venues"]["by_kind"]} == kinds
    garbage = [f for f in store.get("garbage").features if g.covers(shape(f["geometry"]))]
    assert s["garbage"]["points"] == len(garbage)
    assert s["garbage"]["bins"] == sum(f["properties"]["bins"] for f in garbage)


def test_parcel_area_counts_only_the_part_inside(store, statuses):
    parcels = store.get("parcels")
    target = parcels.metric[0]
    minx, miny, maxx, maxy = target.bounds
    west_half = shapely.box(minx - 10, miny - 10, (minx + maxx) / 2, maxy + 10)
    s = analysis.summarize(store, west_half, statuses)
    item = next(i for i in s["parcels"]["items"] if i["id"] == parcels.ids[0])
    expected = target.intersection(west_half).area
    assert item["area_m2"] == pytest.approx(expected, abs=0.1)
    assert 0 < item["share"] < 1
    assert item["area_mu"] == pytest.approx(expected / M2_PER_MU, abs=0.01)


def test_summary_far_from_anything_is_zero(store, statuses):
    s = analysis.summarize(store, to_metric(shapely.box(117.3, 36.9, 117.31, 36.91)), statuses)
    assert s["venues"]["count"] == 0 and s["garbage"]["bins"] == 0
    assert s["parcels"]["area_m2"] == 0 and s["parking"]["items"] == []


def test_community_at_a_point(store):
    position = analysis.community_position(store, "裕园社区")
    point = store.get("communities").geometries[position].representative_point()
    assert analysis.community_at(store, point.x, point.y) == position


@pytest.mark.parametrize(("lon", "lat", "status"), [
    (116.90, 36.60, 404),  # in Jinan, in no community
    (10.0, 10.0, 400),  # outside Jinan
    (float("nan"), 36.67, 400),
])
def test_community_at_a_point_outside(store, lon, lat, status):
    with pytest.raises(ApiError) as e:
        analysis.community_at(store, lon, lat)
    assert e.value.status == status


def test_unknown_community_is_not_found(store):
    with pytest.raises(ApiError) as e:
        analysis.community_position(store, "没有社区")
    assert e.value.status == 404 and "裕园社区" in e.value.message


# --- choropleth -------------------------------------------------------------------------------


@pytest.mark.parametrize("indicator", [i.key for i in analysis.INDICATORS])
def test_choropleth_values_are_the_community_summaries(store, statuses, indicator):
    data = analysis.choropleth(store, indicator, statuses)
    assert len(data["features"]) == 6
    for f in data["features"]:
        s = analysis.community_summary(
            store, analysis.community_position(store, f["properties"]["name"]), statuses)
        expected = {
            "bins_per_km2": s["garbage"]["bins"] / s["area_km2"],
            "venues": s["venues"]["count"],
            "open_hazards": s["venues"]["open_hazards"],
            "overdue": s["venues"]["by_status"][STATUSES.index("逾期未检")]["count"],
            "parking_spaces": s["parking"]["spaces"],
            "hotline_per_km2": s["hotline"]["count"] / s["area_km2"],
        }[indicator]
        assert f["properties"]["value"] == pytest.approx(expected, abs=0.06)
        c = data["classes"][f["properties"]["class"]]
        assert c["min"] <= f["properties"]["value"] <= c["max"]
        assert f["properties"]["color"] == c["color"]


def test_hotline_choropleth_shows_where_complaints_concentrate(store, statuses):
    """The 3,176 work orders of 2022 by community, per km²: the classes tell them apart."""
    data = analysis.choropleth(store, "hotline_per_km2", statuses)
    counts = [analysis.community_summary(
        store, analysis.community_position(store, f["properties"]["name"]), statuses
    )["hotline"]["count"] for f in data["features"]]
    assert sum(counts) == 3176
    assert len({f["properties"]["class"] for f in data["features"]}) > 1


def test_unknown_indicator_is_a_bad_request(store, statuses):
    with pytest.raises(BadRequest, match="bins_per_km2"):
        analysis.choropleth(store, "nope", statuses)


def test_equal_interval_classes_of_counts_do_not_overlap():
    classes, index = equal_interval_classes([4, 3, 4, 5, 1, 3])
    assert [(c["min"], c["max"]) for c in classes] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]
    assert index == [3, 2, 3, 4, 0, 2]
    classes, index = equal_interval_classes([0, 1, 0])
    assert [(c["min"], c["max"]) for c in classes] == [(0, 0), (1, 1)]
    assert classes[0]["color"] == analysis.CHOROPLETH_COLORS[0]
    assert classes[1]["color"] == analysis.CHOROPLETH_COLORS[-1]
    classes, index = equal_interval_classes([40, 80, 47, 72])
    assert [(c["min"], c["max"]) for c in classes][0] == (40, 47)
    assert classes[-1]["max"] == 80 and index == [0, 4, 0, 4]


def test_equal_interval_classes_of_measures_and_of_equal_values():
    classes, index = equal_interval_classes([900.0, 1200.0, 1000.0], digits=1)
    assert len(classes) == 5 and classes[0]["min"] == 900.0 and classes[-1]["max"] == 1200.0
    assert index == [0, 4, 1]
    classes, index = equal_interval_classes([3, 3, 3])
    assert len(classes) == 1 and index == [0, 0, 0]


# --- coverage ----------------------------------------------------------------------------------


def test_coverage_shares_are_consistent(store):
    data = analysis.coverage(store)
    assert data["reading"]["sites"] == list(analysis.READING_SITES)
    assert data["garbage"]["sites"] == 108
    rows = data["communities"]
    assert [r["name"] for r in rows] == list(COMMUNITIES)
    total_area = sum(r["area_m2"] for r in rows)
    for key in ("garbage_share", "reading_share"):
        assert all(0 <= r[key] <= 1 for r in rows)
        # The communities tile the sub-district: its share is their area-weighted mean.
        weighted = sum(r[key] * r["area_m2"] for r in rows) / total_area
        assert data["total"][key] == pytest.approx(weighted, abs=1e-3)
    yuyuan = next(r for r in rows if r["name"] == "裕园社区")
    assert yuyuan["reading_share"] == 1.0  # it holds two of the reading sites


def test_coverage_areas_are_the_circles(store):
    data = analysis.coverage(store)
    garbage = to_metric(shape(data["garbage"]["geometry"]))
    one = store.get("garbage").metric[0]
    assert garbage.covers(one.buffer(analysis.GARBAGE_WALK_M - 1))
    assert not garbage.covers(one.buffer(analysis.GARBAGE_WALK_M + 150))
    reading = to_metric(shape(data["reading"]["geometry"]))
    # Three 1 km circles: at most 3π km², at least one whole circle.
    assert 3.1e6 < reading.area <= 3 * 3.1416e6
