"""GET /api/nearby, /api/locate and /api/overdue."""

import numpy as np
import pytest
import shapely
from pyproj import Geod

from layers.geo import chinacoords
from layers.geo.crs import to_metric
from layers.inspectors.nearby import direction

GEOD = Geod(ellps="WGS84")
OFFICE = (116.9640, 36.6620)  # in the sub-district


def geodesic(a, b):
    """(distance in metres, forward azimuth 0..360) from a to b, both lon/lat."""
    azimuth, _, distance = GEOD.inv(a[0], a[1], b[0], b[1])
    return distance, azimuth % 360


def nearby(client, **params):
    response = client.get("/api/nearby", query_string=params)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/geo+json"
    return response.get_json()


def points_inside(store, n, seed=4):
    """n random lon/lat points inside the sub-district."""
    boundary = store.get("boundary").geometries[0]
    minx, miny, maxx, maxy = boundary.bounds
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < n:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if boundary.contains(shapely.Point(lon, lat)):
            found.append((float(lon), float(lat)))
    return found


@pytest.mark.parametrize("layer", ["venues", "garbage"])
def test_point_distances_and_bearings_are_geodesic(client, store, layer):
    for here in points_inside(store, 5):
        body = nearby(client, lon=here[0], lat=here[1], radius_m=600, limit=500, layer=layer)
        features = body["features"]
        assert features, here
        distances = [f["properties"]["distance_m"] for f in features]
        assert distances == sorted(distances)
        for f in features:
            expected, azimuth = geodesic(here, f["geometry"]["coordinates"])
            p = f["properties"]
            assert p["distance_m"] == pytest.approx(expected, rel=0.005, abs=0.06)
            if expected > 1:
                gap = abs((p["bearing_deg"] - azimuth + 180) % 360 - 180)
                assert gap < 0.5, (f["id"], p["bearing_deg"], azimuth)
            assert p["direction"] == direction(p["bearing_deg"])


def test_nearby_finds_every_feature_within_the_radius(client, store):
    everything = client.get("/api/layers/venues").get_json()["features"]
    radius = 350
    for here in points_inside(store, 4, seed=9):
        body = nearby(client, lon=here[0], lat=here[1], radius_m=radius, limit=500)
        got = {f["id"] for f in body["features"]}
        by_hand = {f["id"]: geodesic(here, f["geometry"]["coordinates"])[0] for f in everything}
        expected = {fid for fid, d in by_hand.items() if d <= radius}
        borderline = {fid for fid, d in by_hand.items() if abs(d - radius) < 0.5}
        assert got - borderline == expected - borderline
        assert body["total"] == len(got)


def test_limit_keeps_the_nearest_and_total_counts_all(client):
    full = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=800, limit=500)
    few = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=800, limit=5)
    assert [f["id"] for f in few["features"]] == [f["id"] for f in full["features"][:5]]
    assert few["total"] == full["total"] > 5
    assert few["query"]["limit"] == 5 and few["query"]["radius_m"] == 800


def pages(client, size, **params):
    """Every page of a query, `size` features each, as the inspectors' page fetches them."""
    got = []
    while True:
        body = nearby(client, limit=size, offset=len(got), **params)
        assert body["query"]["offset"] == len(got) and body["query"]["limit"] == size
        got += body["features"]
        if not body["features"] or len(got) >= body["total"]:
            return got, body["total"]


@pytest.mark.parametrize(("size", "params"), [
    (7, {"radius_m": 800}),
    (50, {"radius_m": 2000, "kind": "九小场所"}),
    (7, {"radius_m": 5000, "status": "overdue,hazard"}),  # a filter only Python knows
    (3, {"radius_m": 5000, "layer": "parking"}),  # polygons: measured one by one
])
def test_offset_pages_list_every_feature_once_nearest_first(client, size, params):
    full = nearby(client, lon=OFFICE[0], lat=OFFICE[1], limit=500, **params)
    assert full["total"] == len(full["features"]) > size
    got, total = pages(client, size, lon=OFFICE[0], lat=OFFICE[1], **params)
    assert total == full["total"]
    assert [f["id"] for f in got] == [f["id"] for f in full["features"]]
    distances = [f["properties"]["distance_m"] for f in got]
    assert distances == sorted(distances)
    # Past the end: nothing more, the same total.
    after = nearby(client, lon=OFFICE[0], lat=OFFICE[1], offset=total, **params)
    assert after["features"] == [] and after["total"] == total


def test_the_default_offset_is_0(client):
    body = nearby(client, lon=OFFICE[0], lat=OFFICE[1], limit=3)
    assert body["query"]["offset"] == 0
    assert body["features"] == nearby(client, lon=OFFICE[0], lat=OFFICE[1], limit=3,
                                      offset=0)["features"]


def test_defaults_are_venues_within_500_m(client):
    body = nearby(client, lon=OFFICE[0], lat=OFFICE[1])
    assert body["query"]["layer"] == "venues"
    assert body["query"]["radius_m"] == 500
    assert max(f["properties"]["distance_m"] for f in body["features"]) <= 500
    venue = body["features"][0]["properties"]
    for key in ("status", "last_inspection", "next_due", "open_hazards", "kind", "name"):
        assert key in venue


def test_kind_filter(client):
    body = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=2000, limit=500, kind="小餐饮")
    assert body["features"]
    assert {f["properties"]["kind"] for f in body["features"]} == {"小餐饮"}
    nine = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=2000, limit=500, kind="九小场所")
    assert {f["properties"]["category"] for f in nine["features"]} == {"九小场所"}
    assert nine["total"] == 320  # every 九小场所 of the sub-district lies within 2 km
    two = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=2000, limit=500,
                 kind="小餐饮,小旅馆")
    assert {f["properties"]["kind"] for f in two["features"]} == {"小餐饮", "小旅馆"}


@pytest.mark.parametrize(
    ("status", "flag"),
    [
        ("overdue", lambda p: p["overdue"]),
        ("due", lambda p: p["due_soon"]),
        ("hazard", lambda p: p["open_hazards"] > 0),
        ("late", lambda p: p["overdue_hazards"] > 0),
    ],
)
def test_status_filters(client, status, flag):
    layer = client.get("/api/layers/venues").get_json()["features"]
    expected = {f["id"] for f in layer if flag(f["properties"])}
    assert expected  # the shipped history has venues of each kind
    body = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=5000, limit=500, status=status)
    assert {f["id"] for f in body["features"]} == expected


def test_hazard_filter_matches_the_status_hazard(client):
    body = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=5000, limit=500,
                  status="hazard")
    # An open hazard past its deadline makes its venue 超期未整改, else 隐患未改.
    assert {f["properties"]["status"] for f in body["features"]} == {"隐患未改", "超期未整改"}
    assert len(body["features"]) == 20  # geodata/README.md: 20 hazards open on 2026-11-25


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_offset_coordinates_are_converted(client, system):
    lon, lat = chinacoords.from_wgs84(*OFFICE, system)
    assert geodesic(OFFICE, (lon, lat))[0] > 100  # the offset matters here
    wgs = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=300)
    shifted = nearby(client, lon=lon, lat=lat, radius_m=300, crs=system)
    point = shifted["query"]["point"]
    assert point["crs"] == system and point["input"] == [lon, lat]
    assert geodesic(OFFICE, (point["lon"], point["lat"]))[0] < 0.05
    assert [f["id"] for f in shifted["features"]] == [f["id"] for f in wgs["features"]]


def test_parking_is_measured_to_the_polygon(client, store):
    parking = store.get("parking")
    lot = parking.geometries[0]
    inside = lot.representative_point()
    body = nearby(client, lon=inside.x, lat=inside.y, radius_m=100, layer="parking")
    first = body["features"][0]
    assert first["id"] == parking.ids[0]
    assert first["properties"]["distance_m"] == 0
    assert first["geometry"]["type"] == "Polygon"
    # From 80 m east of the lot's eastern edge: the distance to the edge, not the centre.
    minx, miny, maxx, maxy = lot.bounds
    east = (maxx + 0.0009, (miny + maxy) / 2)  # 0.0009° of longitude ≈ 80 m here
    body = nearby(client, lon=east[0], lat=east[1], radius_m=500, layer="parking")
    hit = next(f for f in body["features"] if f["id"] == parking.ids[0])
    expected = to_metric(lot).distance(to_metric(shapely.Point(east)))
    assert hit["properties"]["distance_m"] == pytest.approx(expected, rel=0.005)
    assert hit["properties"]["direction"] == "西"


def test_parking_kind_filter(client):
    body = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=5000, layer="parking",
                  kind="共享停车场")
    assert [f["properties"]["name"] for f in body["features"]] == ["经一纬十二共享停车场"]


def test_nothing_near_is_an_empty_collection(client):
    body = nearby(client, lon=117.2, lat=36.65, radius_m=100)  # in Jinan, far from here
    assert body["features"] == [] and body["total"] == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("lat=36.66", "lon is missing"),
        ("lon=116.96", "lat is missing"),
        ("lon=&lat=36.66", "lon is missing"),
        ("lon=abc&lat=36.66", "not a number"),
        ("lon=116.96&lat=nan", "finite"),
        ("lon=116.96&lat=inf", "finite"),
        ("lon=36.66&lat=116.96", "swapped"),
        ("lon=121.47&lat=31.23", "far outside Jinan"),
        ("lon=-116.96&lat=36.66", "far outside Jinan"),
        ("lon=39500000&lat=4060000", "not degrees"),
        ("lon=116.96&lat=36.66&crs=epsg4326", "crs must be one of"),
        ("lon=116.96&lat=36.66&radius_m=5001", "must not exceed 5000"),
        ("lon=116.96&lat=36.66&radius_m=0", "more than 0"),
        ("lon=116.96&lat=36.66&radius_m=-5", "more than 0"),
        ("lon=116.96&lat=36.66&radius_m=far", "not a number"),
        ("lon=116.96&lat=36.66&limit=501", "must not exceed 500"),
        ("lon=116.96&lat=36.66&limit=0", "at least 1"),
        ("lon=116.96&lat=36.66&limit=2.5", "whole number"),
        ("lon=116.96&lat=36.66&offset=-1", "offset 须为不小于 0 的整数 (offset must be a whole"),
        ("lon=116.96&lat=36.66&offset=2.5", "offset 须为不小于 0 的整数"),
        ("lon=116.96&lat=36.66&offset=next", "offset='next' is not a number"),
        ("lon=116.96&lat=36.66&offset=inf", "offset must be a finite number"),
        ("lon=116.96&lat=36.66&offset=100001", "offset 不能超过 100000 (offset must not "
                                               "exceed 100000; got 100001)"),
        ("lon=116.96&lat=36.66&layer=roads", "layer must be one of"),
        ("lon=116.96&lat=36.66&kind=网吧", "unknown kind"),
        ("lon=116.96&lat=36.66&layer=garbage&kind=可回收物", "no kinds"),
        ("lon=116.96&lat=36.66&status=lost", "status must be one of"),
        ("lon=116.96&lat=36.66&layer=parking&status=due", "only the venues"),
    ],
)
def test_bad_nearby_queries_are_400(client, query, message):
    response = client.get("/api/nearby?" + query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 400
    assert message in body["error"], body["error"]


def test_the_limits_themselves_are_accepted(client):
    body = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=5000, limit=500)
    assert len(body["features"]) == 353  # every venue: the sub-district is 1 km × 2 km


def test_locate_names_the_community_and_grid_cell(client, store):
    grid = store.get("grid")
    for i, cell in enumerate(grid.geometries):
        point = cell.representative_point()
        body = client.get(f"/api/locate?lon={point.x}&lat={point.y}").get_json()
        assert body["inside"] is True
        assert body["grid"]["id"] == grid.ids[i]
        assert body["grid"]["name"] == grid.features[i]["properties"]["name"]
        assert body["community"]["name"] == grid.features[i]["properties"]["community"]
        assert body["distance_to_boundary_m"] is None


def test_locate_outside_the_sub_district(client, store):
    minx, miny, maxx, maxy = store.get("boundary").bbox
    lon, lat = maxx + 0.01, (miny + maxy) / 2  # about 900 m east of the eastern edge
    body = client.get(f"/api/locate?lon={lon}&lat={lat}").get_json()
    assert body["inside"] is False
    assert body["community"] is None and body["grid"] is None
    assert 850 < body["distance_to_boundary_m"] < 950


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_locate_converts_offset_coordinates(client, system):
    lon, lat = chinacoords.from_wgs84(*OFFICE, system)
    wgs = client.get(f"/api/locate?lon={OFFICE[0]}&lat={OFFICE[1]}").get_json()
    shifted = client.get(f"/api/locate?lon={lon}&lat={lat}&crs={system}").get_json()
    assert wgs["inside"] and shifted["grid"] == wgs["grid"]
    assert shifted["community"] == wgs["community"]


@pytest.mark.parametrize(
    ("query", "message"),
    [("", "lon is missing"), ("lon=36.66&lat=116.96", "swapped"),
     ("lon=0&lat=0", "far outside Jinan"), ("lon=x&lat=36.6", "not a number")],
)
def test_bad_locate_is_400(client, query, message):
    response = client.get("/api/locate?" + query)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_overdue_lists_every_overdue_venue_nearest_first(client):
    layer = client.get("/api/layers/venues").get_json()["features"]
    expected = {f["id"] for f in layer if f["properties"]["overdue"]}
    assert len(expected) == 30  # geodata/README.md: 30 venues fell out of the cycle
    body = client.get(f"/api/overdue?lon={OFFICE[0]}&lat={OFFICE[1]}").get_json()
    assert {f["id"] for f in body["features"]} == expected
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances)
    for f in body["features"]:
        assert f["properties"]["next_due"] < "2026-11-25"
        expected_m = geodesic(OFFICE, f["geometry"]["coordinates"])[0]
        assert f["properties"]["distance_m"] == pytest.approx(expected_m, rel=0.005)


def test_overdue_without_a_point_is_longest_overdue_first(client):
    body = client.get("/api/overdue").get_json()
    dues = [f["properties"]["next_due"] for f in body["features"]]
    assert len(dues) == 30 and dues == sorted(dues)
    assert "distance_m" not in body["features"][0]["properties"]


def test_overdue_with_a_bad_point_is_400(client):
    response = client.get("/api/overdue?lon=116.96")
    assert response.status_code == 400 and "lat is missing" in response.get_json()["error"]


@pytest.mark.parametrize(("bearing", "name"), [
    (0, "北"), (22.4, "北"), (22.6, "东北"), (90, "东"), (135, "东南"), (180, "南"),
    (225, "西南"), (270, "西"), (315, "西北"), (337.6, "北"), (359.9, "北"),
])
def test_direction_names(bearing, name):
    assert direction(bearing) == name


def test_nearest_matches_measuring_every_feature(store):
    """The pruned query (grid candidates, planar bounds, then geodesic) gives what
    measuring every feature gives."""
    import numpy as np

    from layers.inspectors.nearby import Point, measure
    from layers.stores.embedded.spatial import MemorySpatial
    from layers.stores.spatial import ranked

    spatial = MemorySpatial(lambda: store)
    rng = np.random.default_rng(5)
    for name in ("venues", "garbage", "parking"):
        loaded = store.get(name)
        every = list(range(len(loaded)))
        for lon, lat in rng.uniform((116.955, 36.655), (116.975, 36.685), size=(40, 2)):
            point = Point(float(lon), float(lat))
            radius = float(rng.choice([80, 250, 600, 1500]))
            limit = int(rng.choice([1, 5, 20, 500]))
            offset = int(rng.choice([0, 0, 3, 40]))
            expected = ranked(measure(loaded, point, every), radius)
            found = spatial.nearby(name, point.lon, point.lat, radius, limit, offset=offset)
            assert found.total == len(expected)
            assert [(h.feature["id"], round(h.distance_m, 6)) for h in found.hits] == [
                (h.feature["id"], round(h.distance_m, 6))
                for h in expected[offset:offset + limit]]


def test_a_status_filter_looks_each_venue_up_once(client, monkeypatch):
    from layers.records.book import InspectionRecords

    asked: list[str] = []
    real = InspectionRecords.statuses

    def counting(self, venues, today):
        venues = list(venues)
        asked.extend(vid for vid, *_ in venues)
        return real(self, venues, today)

    monkeypatch.setattr(InspectionRecords, "statuses", counting)
    body = nearby(client, lon=OFFICE[0], lat=OFFICE[1], radius_m=5000, limit=5,
                  status="overdue")
    assert len(body["features"]) == 5
    assert all(f["properties"]["overdue"] for f in body["features"])
    assert len(asked) == len(set(asked))
