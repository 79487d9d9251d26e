"""Server-side clusters: GET /api/layers/<name>/clusters and layers/geo/clusters.py."""

import numpy as np
import pytest

from layers.geo import clusters
from layers.geo.clusters import ClusterIndex
from layers.geo.crs import METRIC, WGS84

URL = "/api/layers/venues/clusters"
WHOLE = (116.9, 36.6, 117.0, 36.7)


def _q(bbox, zoom):
    return f"{URL}?bbox={','.join(map(str, bbox))}&zoom={zoom}"


def _count(feature):
    props = feature["properties"]
    return props["count"] if props.get("cluster") else 1


def _bbox_ids(store, bbox):
    venues = store.get("venues")
    return {venues.ids[i] for i in venues.in_bbox(bbox)}


@pytest.fixture
def few(monkeypatch):
    """A small feature limit, so that the shipped venues cluster."""
    monkeypatch.setattr(clusters, "FEATURE_LIMIT", 10)


@pytest.mark.parametrize("bbox", [WHOLE, (116.955, 36.655, 116.968, 36.672),
                                  (116.96, 36.66, 116.965, 36.665)])
@pytest.mark.parametrize("zoom", [5, 12, 14, 15.5, 17])
def test_counts_add_up_to_the_features_in_the_bbox(client, store, few, bbox, zoom):
    body = client.get(_q(bbox, zoom)).get_json()
    expected = _bbox_ids(store, bbox)
    assert body["total"] == len(expected)
    assert sum(_count(f) for f in body["features"]) == len(expected)
    minx, miny, maxx, maxy = bbox
    for f in body["features"]:
        lon, lat = f["geometry"]["coordinates"]
        if f["properties"].get("cluster"):
            # A cluster's points all lie in the bbox, its centroid among them.
            a, b, c, d = f["properties"]["bbox"]
            assert minx <= a <= lon <= c <= maxx and miny <= b <= lat <= d <= maxy
        else:
            assert f["id"] in expected


def test_low_zoom_clusters_and_high_zoom_features(client, store, few):
    low = client.get(_q(WHOLE, 13)).get_json()
    assert low["clustered"] is True
    assert any(f["properties"].get("cluster") for f in low["features"])
    assert max(_count(f) for f in low["features"]) > 10
    # Few enough in view: the features themselves, with their live status.
    small = (116.9600, 36.6600, 116.9612, 36.6610)
    high = client.get(_q(small, 18)).get_json()
    assert high["clustered"] is False
    assert {f["id"] for f in high["features"]} == _bbox_ids(store, small)
    assert 0 < len(high["features"]) <= 10
    assert all("status" in f["properties"] for f in high["features"])


def test_features_when_the_bbox_holds_few_enough(client, store):
    body = client.get(_q(WHOLE, 12)).get_json()  # 353 venues, under the default limit
    assert body["clustered"] is False
    assert [f["id"] for f in body["features"]] == store.get("venues").ids
    assert body["name"] == "venues" and body["zoom"] == 12


def test_cluster_ids_and_shape(client, few):
    body = client.get(_q(WHOLE, 14)).get_json()
    ids = [f["id"] for f in body["features"]]
    assert len(ids) == len(set(ids))
    cluster = next(f for f in body["features"] if f["properties"].get("cluster"))
    assert cluster["geometry"]["type"] == "Point"
    assert set(cluster["properties"]) == {"cluster", "count", "bbox"}


@pytest.mark.parametrize("query, message", [
    ("zoom=14", "bbox is missing"),
    ("bbox=116.9,36.6,117.0&zoom=14", "four numbers"),
    ("bbox=117.0,36.6,116.9,36.7&zoom=14", "min must not exceed max"),
    ("bbox=116.9,36.6,117.0,36.7", "zoom is missing"),
    ("bbox=116.9,36.6,117.0,36.7&zoom=", "zoom is missing"),
    ("bbox=116.9,36.6,117.0,36.7&zoom=far", "not a number"),
    ("bbox=116.9,36.6,117.0,36.7&zoom=nan", "from 0 to 22"),
    ("bbox=116.9,36.6,117.0,36.7&zoom=-1", "from 0 to 22"),
    ("bbox=116.9,36.6,117.0,36.7&zoom=23", "from 0 to 22"),
])
def test_bad_bbox_or_zoom_is_400(client, query, message):
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 400 and message in body["error"]


def test_a_bbox_too_large_for_its_zoom_is_400(client, monkeypatch):
    monkeypatch.setattr(clusters, "MAX_CELLS", 50)
    response = client.get(_q(WHOLE, 18))
    assert response.status_code == 400
    assert "too large for zoom 18" in response.get_json()["error"]
    assert client.get(_q(WHOLE, 12)).status_code == 200


def test_only_point_layers_cluster(client):
    response = client.get(_q(WHOLE, 14).replace("venues", "roads"))
    assert response.status_code == 400
    assert "not a point layer" in response.get_json()["error"]
    assert client.get(_q(WHOLE, 14).replace("venues", "nowhere")).status_code == 404


def test_a_bbox_outside_the_layer_is_empty(client):
    body = client.get(_q((116.3, 36.1, 116.4, 36.2), 14)).get_json()
    assert body["features"] == [] and body["total"] == 0


def test_index_against_a_brute_force_count_of_many_points():
    """20,000 random points: every bbox and zoom counts exactly what a scan counts."""
    from pyproj import Transformer

    rng = np.random.default_rng(1)
    lonlat = rng.uniform((116.90, 36.62), (117.02, 36.70), size=(20000, 2))
    x, y = Transformer.from_crs(WGS84, METRIC, always_xy=True).transform(lonlat[:, 0],
                                                                         lonlat[:, 1])
    index = ClusterIndex.from_points(lonlat, np.column_stack([x, y]))
    for _ in range(30):
        lon0, lat0 = rng.uniform((116.89, 36.61), (117.0, 36.69))
        bbox = (lon0, lat0, lon0 + rng.uniform(0.002, 0.05), lat0 + rng.uniform(0.002, 0.03))
        zoom = rng.uniform(9, 18)
        view = index.view(bbox, zoom)
        inside = ((lonlat[:, 0] >= bbox[0]) & (lonlat[:, 0] <= bbox[2])
                  & (lonlat[:, 1] >= bbox[1]) & (lonlat[:, 1] <= bbox[3]))
        assert view.total == int(inside.sum())
        if view.clusters is None:
            assert view.positions == np.flatnonzero(inside).tolist()
        else:
            assert sum(c.count for c in view.clusters) == view.total
            singles = [c.position for c in view.clusters if c.position is not None]
            assert all(inside[p] for p in singles)
            # Clusters do not overlap the grid: fewer of them than features.
            assert len(view.clusters) < view.total


def test_points_near_a_point_match_a_scan():
    rng = np.random.default_rng(2)
    xy = rng.uniform((0, 0), (20000, 9000), size=(30000, 2))
    lonlat = np.column_stack([117 + xy[:, 0] / 9e4, 36.6 + xy[:, 1] / 1.1e5])
    index = ClusterIndex.from_points(lonlat,
                                     xy)
    for _ in range(40):
        x, y = rng.uniform((-500, -500), (20500, 9500))
        distance = float(rng.choice([30, 400, 1000, 5050]))
        near = index.near(x, y, distance)
        expected = np.flatnonzero(np.hypot(xy[:, 0] - x, xy[:, 1] - y) <= distance)
        assert sorted(near.tolist()) == expected.tolist()
