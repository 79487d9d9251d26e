"""Surroundings of parcels and project sites, against brute-force computations."""

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from layers.geo.crs import to_metric

CLIENT_ROLE = "leader"  # the `client` fixture logs in with this role (tests/conftest.py)


def surroundings(client, kind, fid, distance=None):
    query = "" if distance is None else f"?distance={distance}"
    response = client.get(f"/api/{kind}/{fid}/surroundings{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def metric_features(client, layer):
    """Every feature of a layer in EPSG:4548, straight from the layer API (no index)."""
    features = client.get(f"/api/layers/{layer}").get_json()["features"]
    return [(f, to_metric(shape(f["geometry"]))) for f in features]


def site_metric(client, kind, fid):
    return next(g for f, g in metric_features(client, kind) if f["id"] == fid)


CASES = [("parcels", "P01", 300), ("parcels", "P05", 150), ("projects", "J01", 300),
         ("projects", "J16", 500), ("parcels", "P06", 1000)]


@pytest.mark.parametrize(("kind", "fid", "distance"), CASES)
def test_features_within_reach_match_brute_force(client, kind, fid, distance):
    body = surroundings(client, kind, fid, distance)
    site = site_metric(client, kind, fid)
    for layer, key in (("venues", "venues"), ("parking", "parking"), ("garbage", "garbage")):
        expected = {f["id"]: site.distance(g) for f, g in metric_features(client, layer)
                    if site.distance(g) <= distance}
        got = {item["id"]: item["distance_m"] for item in body[key]["items"]}
        assert set(got) == set(expected), layer
        for i, d in got.items():
            assert d == pytest.approx(expected[i], abs=0.1), (layer, i)
        assert body[key]["count"] == len(expected)
        distances = [item["distance_m"] for item in body[key]["items"]]
        assert distances == sorted(distances)  # nearest first


@pytest.mark.parametrize(("kind", "fid", "distance"), CASES)
def test_counts_and_sums_add_up(client, kind, fid, distance):
    body = surroundings(client, kind, fid, distance)
    venues = body["venues"]
    assert sum(k["count"] for k in venues["by_kind"]) == venues["count"]
    assert body["parking"]["spaces"] == sum(p["spaces"] for p in body["parking"]["items"])
    assert body["garbage"]["bins"] == sum(g["bins"] for g in body["garbage"]["items"])
    kinds = {}
    for v in venues["items"]:
        kinds[v["kind"]] = kinds.get(v["kind"], 0) + 1
    assert {k["kind"]: k["count"] for k in venues["by_kind"]} == kinds
    drawn = body["features"]["features"]
    assert len(drawn) == (venues["count"] + body["parking"]["count"] + body["garbage"]["count"]
                          + len(body["sites"]))


@pytest.mark.parametrize(("kind", "fid", "distance"), CASES)
def test_other_sites_match_brute_force(client, kind, fid, distance):
    body = surroundings(client, kind, fid, distance)
    site = site_metric(client, kind, fid)
    expected = {(layer, f["id"]) for layer in ("parcels", "projects")
                for f, g in metric_features(client, layer)
                if site.distance(g) <= distance and not (layer == kind and f["id"] == fid)}
    assert {(s["layer"], s["id"]) for s in body["sites"]} == expected


@pytest.mark.parametrize(("kind", "fid"), [("parcels", "P01"), ("projects", "J01"),
                                           ("parcels", "P04")])
def test_nearest_main_road_matches_brute_force(client, kind, fid):
    body = surroundings(client, kind, fid)
    site = site_metric(client, kind, fid)
    mains = [(f, g) for f, g in metric_features(client, "roads")
             if f["properties"]["kind"] == "主干路"]
    nearest = min(site.distance(g) for f, g in mains)
    road = body["nearest_main_road"]
    assert road["distance_m"] == pytest.approx(nearest, abs=0.1)
    assert road["kind"] == "主干路"
    assert site.distance(dict((f["id"], g) for f, g in mains)[road["id"]]) == pytest.approx(
        nearest, abs=0.1)
    line = to_metric(shape(road["line"]))
    assert line.length == pytest.approx(nearest, abs=0.5)


def test_households_estimate_against_a_point_grid(client):
    """Share of each community within reach (site excluded), counted on a 2 m grid.

    A grid count is off by at most half a cell along the edges of the counted
    region, which sets the tolerance.
    """
    distance = 300
    body = surroundings(client, "projects", "J01", distance)
    site = site_metric(client, "projects", "J01")
    reach = site.buffer(distance, quad_segs=64).difference(site)
    minx, miny, maxx, maxy = reach.bounds
    step = 2.0
    xs, ys = np.meshgrid(np.arange(minx + step / 2, maxx, step),
                         np.arange(miny + step / 2, maxy, step))
    points = shapely.points(xs.ravel(), ys.ravel())
    in_reach = shapely.dwithin(site, points, distance) & ~shapely.intersects(site, points)
    points = points[in_reach]
    got = {c["name"]: c for c in body["communities"]}
    total = 0
    for f, community in metric_features(client, "communities"):
        area = shapely.intersects(community, points).sum() * step * step
        name = f["properties"]["name"]
        if area < 1000:  # a sliver at most
            assert name not in got or got[name]["households_estimate"] < 10
            continue
        share = area / community.area
        edge_error = community.intersection(reach).length * step / 2 / community.area
        assert got[name]["share"] == pytest.approx(share, abs=edge_error + 1e-4), name
        assert got[name]["share_pct"] == pytest.approx(100 * share, abs=100 * edge_error + 0.05)
        estimate = f["properties"]["households"] * share
        assert got[name]["households_estimate"] == pytest.approx(
            estimate, abs=f["properties"]["households"] * edge_error + 1), name
        total += got[name]["households_estimate"]
    assert body["households_estimate"] == sum(c["households_estimate"]
                                              for c in body["communities"]) == total
    assert body["households_estimate"] > 1000  # 三箭和平广场 stands among homes
    assert "估算" in body["households_note"]


def test_reach_grows_with_the_distance(client):
    near = surroundings(client, "parcels", "P01", 100)
    far = surroundings(client, "parcels", "P01", 600)
    assert near["venues"]["count"] < far["venues"]["count"]
    assert near["households_estimate"] < far["households_estimate"]
    assert {v["id"] for v in near["venues"]["items"]} <= {v["id"] for v in far["venues"]["items"]}


def test_default_distance_is_300_m_and_the_buffer_is_that_wide(client):
    body = surroundings(client, "parcels", "P02")
    assert body["distance_m"] == 300
    assert body["site"]["name"] == "八里桥蔬菜市场"
    site = site_metric(client, "parcels", "P02")
    buffer = to_metric(shape(body["buffer"]))
    assert buffer.area == pytest.approx(site.buffer(300, quad_segs=64).area, rel=0.002)
    assert buffer.hausdorff_distance(site) == pytest.approx(300, abs=1)


@pytest.mark.parametrize(("distance", "message"), [
    ("abc", "not a number"), ("5", "between 10 and 1000"), ("1001", "between 10 and 1000"),
    ("nan", "between 10 and 1000"), ("inf", "between 10 and 1000"), ("-300", "between"),
])
def test_bad_distance_is_400_json(client, distance, message):
    response = client.get(f"/api/parcels/P01/surroundings?distance={distance}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and message in body["error"]


@pytest.mark.parametrize("url", ["/api/parcels/P99/surroundings", "/api/projects/P01/surroundings",
                                 "/api/venues/V0001/surroundings"])
def test_unknown_site_is_404_json(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()["ok"] is False
