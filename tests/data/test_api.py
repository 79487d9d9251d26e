import pytest

from layers.catalogue.entries import CATALOGUE


def test_layers_lists_every_catalogue_layer(client):
    body = client.get("/api/layers").get_json()
    by_name = {row["name"]: row for row in body["layers"]}
    assert list(by_name) == [layer.name for layer in CATALOGUE]
    venues = by_name["venues"]
    assert venues["title"] == "安全监管场所"
    assert venues["geometry"] == "Point"
    assert venues["count"] >= 353
    minx, miny, maxx, maxy = venues["bbox"]
    assert 116.9 < minx < maxx < 117.0 and 36.6 < miny < maxy < 36.7


def test_layer_is_a_geojson_feature_collection(client):
    response = client.get("/api/layers/parcels")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    feature = body["features"][0]
    assert feature["type"] == "Feature" and feature["id"]
    lon, lat = feature["geometry"]["coordinates"][0][0]
    assert 116.9 < lon < 117.0 and 36.6 < lat < 36.7  # lon/lat order
    assert feature["properties"]["area_mu"] == pytest.approx(
        feature["properties"]["area_m2"] / (2000 / 3), abs=0.01)


def test_bbox_filters_features(client, store):
    everything = client.get("/api/layers/venues").get_json()["features"]
    minx, miny, maxx, maxy = store.get("boundary").bbox
    midx = (minx + maxx) / 2
    west = client.get(f"/api/layers/venues?bbox={minx},{miny},{midx},{maxy}").get_json()["features"]
    expected = [f["id"] for f in everything if f["geometry"]["coordinates"][0] <= midx]
    assert [f["id"] for f in west] == expected
    assert 0 < len(west) < len(everything)


def test_bbox_far_away_is_empty(client):
    body = client.get("/api/layers/venues?bbox=-10,-10,-9,-9").get_json()
    assert body["features"] == []


def test_bbox_of_the_whole_world(client):
    body = client.get("/api/layers/venues?bbox=-180,-90,180,90").get_json()
    assert len(body["features"]) >= 353


def test_unknown_layer_is_404_json(client):
    response = client.get("/api/layers/nope")
    assert response.status_code == 404
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 404
    assert "nope" in body["error"] and "venues" in body["error"]


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ("1,2,3", "four numbers"),
        ("a,b,c,d", "not a number"),
        ("116.9,36.6,nan,36.7", "finite"),
        ("36.6,116.9,36.7,117.0", "out of range"),
        ("117,36.7,116.9,36.6", "min must not exceed max"),
        ("", "four numbers"),
    ],
)
def test_bad_bbox_is_400_json(client, bbox, message):
    response = client.get(f"/api/layers/venues?bbox={bbox}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and message in body["error"]


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["ok"] is False


def test_index_page_is_small_and_local(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "/static/node_modules/leaflet/dist/leaflet.js" in html
    assert "/api/layers/venues" in html
    # Layer data is fetched, not inlined: the page stays small.
    assert len(html) < 60_000
    for prefix in ("http://", "https://", "//cdn"):
        assert f'src="{prefix}' not in html and f'href="{prefix}' not in html
