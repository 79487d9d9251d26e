"""OGC API - Tiles: Mapbox Vector Tiles of every layer (WebMercatorQuad), on both stores.

The tiles are decoded here (mapbox-vector-tile) and checked against the layer's
features: which (as /api/layers?bbox= finds them), their ids, stored properties (not the
live statuses) and place.
"""

import json
import math

import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from layers.catalogue.entries import CATALOGUE
from layers.geo import tiles
from tests.conftest import make_app

OFFICE = (116.9640, 36.6620)
PREFIX = "/ogc/collections"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, y, x


def get_tile(client, layer: str, z: int, y: int, x: int) -> dict:
    response = client.get(f"{PREFIX}/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}")
    if response.status_code == 204:
        assert response.data == b""
        return {}
    assert response.status_code == 200, response.data[:200]
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.data)
    assert set(decoded) == {layer}
    assert decoded[layer]["extent"] == tiles.EXTENT
    return {f["properties"]["id"]: f for f in decoded[layer]["features"]}


def expected_attributes(feature: dict) -> dict:
    """What the tile should hold for a feature: its id, and its properties with lists
    and objects as JSON text and nulls left out."""
    out = {"id": feature["id"]}
    for key, value in feature["properties"].items():
        if value is None:
            continue
        out[key] = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) \
            else value
    return out


def features_near(client, layer: str, z: int, y: int, x: int, margin: float) -> dict:
    west, south, east, north = tiles.lonlat_bounds(z, y, x, margin)
    found = client.get(f"/api/layers/{layer}?bbox={west},{south},{east},{north}").get_json()
    return {f["id"]: f for f in found["features"]}


@pytest.mark.parametrize("z", [13, 16])
@pytest.mark.parametrize("layer", [layer.name for layer in CATALOGUE])
def test_a_tile_holds_the_layers_features_there_with_their_properties(client, store, layer,
                                                                     z):
    z, y, x = tile_of(*OFFICE, z)
    got = get_tile(client, layer, z, y, x)
    inside = features_near(client, layer, z, y, x, 0.0)
    # (PostGIS rounds to whole tile units before it clips: half a unit more.)
    with_buffer = features_near(client, layer, z, y, x, (tiles.BUFFER + 1) / tiles.EXTENT)
    # Every feature that meets the tile is in it; none that lies beyond its buffer.
    assert set(inside) <= set(got) <= set(with_buffer)
    loaded = store.get(layer)
    for fid, feature in got.items():
        stored = loaded.features[loaded.position(fid)]  # as stored (no live statuses)
        properties = dict(feature["properties"])
        for key, value in expected_attributes(stored).items():
            if isinstance(value, float):
                assert properties.pop(key) == pytest.approx(value), key
            else:
                assert properties.pop(key) == value, key
        assert properties == {}
        assert feature["geometry"]["type"].removeprefix("Multi") \
            == stored["geometry"]["type"].removeprefix("Multi")


def test_points_are_where_the_features_are(client):
    z, y, x = tile_of(*OFFICE, 16)
    got = get_tile(client, "venues", z, y, x)
    stored = features_near(client, "venues", z, y, x, 0.0)
    assert len(stored) >= 5
    west, south, east, north = tiles.lonlat_bounds(z, y, x)
    for fid, feature in stored.items():
        lon, lat = feature["geometry"]["coordinates"]
        # Tile units: x from the west edge, y from the south edge (decode's default).
        px, py = got[fid]["geometry"]["coordinates"]
        assert px == pytest.approx((lon - west) / (east - west) * tiles.EXTENT, abs=1.5)
        mercator = [math.log(math.tan(math.pi / 4 + math.radians(v) / 2))
                    for v in (south, lat, north)]
        assert py == pytest.approx((mercator[1] - mercator[0]) / (mercator[2] - mercator[0])
                                   * tiles.EXTENT, abs=1.5)


def test_a_tile_without_features_is_204(client):
    response = client.get(f"{PREFIX}/venues/tiles/WebMercatorQuad/14/0/0")
    assert response.status_code == 204 and response.data == b""


@pytest.mark.parametrize(("path", "status", "message"), [
    ("venues/tiles/WebMercatorQuad/23/0/0", 404, "瓦片层级"),
    ("venues/tiles/WebMercatorQuad/3/8/1", 404, "没有行 8 列 1"),
    ("venues/tiles/WebMercatorQuad/3/1/8", 404, "没有行 1 列 8"),
    ("venues/tiles/WorldCRS84Quad/3/1/1", 404, "没有瓦片矩阵集"),
    ("venues/tiles/WorldCRS84Quad", 404, "没有瓦片矩阵集"),
    ("nowhere/tiles/WebMercatorQuad/3/1/1", 404, "nowhere"),
    ("nowhere/tiles", 404, "nowhere"),
    ("venues/tiles/WebMercatorQuad/3/1/1?f=png", 400, "f"),
    ("venues/tiles/WebMercatorQuad/3/1/1?bbox=1,2,3,4", 400, "未知的查询参数"),
    ("venues/tiles?f=html", 400, "f"),
])
def test_bad_tile_requests_are_answered_in_chinese(client, path, status, message):
    response = client.get(f"{PREFIX}/{path}")
    assert response.status_code == status
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status
    assert message in body["error"]


def test_the_tiles_are_declared(client):
    conformance = client.get("/ogc/conformance?f=json").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets" in conformance
    landing = client.get("/ogc/?f=json").get_json()
    schemes = [lk for lk in landing["links"]
               if lk["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"]
    assert schemes and schemes[0]["href"].endswith("/ogc/tileMatrixSets")
    collection = client.get(f"{PREFIX}/roads?f=json").get_json()
    tilesets = [lk["href"] for lk in collection["links"]
                if lk["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"]
    assert tilesets == ["http://localhost/ogc/collections/roads/tiles"]
    listed = client.get("/ogc/collections/roads/tiles").get_json()["tilesets"]
    assert [t["dataType"] for t in listed] == ["vector"]
    template = next(lk for lk in listed[0]["links"] if lk["rel"] == "item")
    assert template["templated"] is True
    assert template["href"] == ("http://localhost/ogc/collections/roads/tiles/WebMercatorQuad/"
                                "{tileMatrix}/{tileRow}/{tileCol}")
    tileset = client.get("/ogc/collections/roads/tiles/WebMercatorQuad").get_json()
    assert tileset["layers"][0]["id"] == "roads"
    assert tileset["layers"][0]["geometryDimension"] == 1
    assert tileset["tileMatrixSetURI"] == tiles.TILE_MATRIX_SET_URI


def test_the_tile_matrix_set_is_webmercatorquad(client):
    listed = client.get("/ogc/tileMatrixSets").get_json()["tileMatrixSets"]
    assert [t["id"] for t in listed] == ["WebMercatorQuad"]
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").get_json()
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    matrices = tms["tileMatrices"]
    assert [m["id"] for m in matrices] == [str(z) for z in range(tiles.MAX_ZOOM + 1)]
    # The OGC definition's values (Two Dimensional Tile Matrix Set, annex).
    assert matrices[0]["scaleDenominator"] == pytest.approx(559082264.0287178)
    assert matrices[0]["cellSize"] == pytest.approx(156543.03392804097)
    assert matrices[16]["matrixWidth"] == 65536
    assert matrices[0]["pointOfOrigin"] == pytest.approx([-20037508.3427892, 20037508.3427892])


@pytest.mark.parametrize("layer", ["venues", "roads", "communities"])
def test_the_embedded_encoder_writes_the_bytes_mapbox_vector_tile_writes(store, layer):
    """The embedded store's encoder (attributes made once per layer version, a tile's tags
    found once per attribute) gives the same bytes as the library's `encode` given the
    same features as dicts."""
    from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid

    from layers.stores.embedded.spatial import feature_attributes

    loaded = store.get(layer)
    z, y, x = tile_of(*OFFICE, 14)
    positions = loaded.in_bbox(tiles.lonlat_bounds(z, y, x, tiles.BUFFER / tiles.EXTENT))
    assert positions
    ours = tiles.encode(layer, loaded.geometries[positions], positions,
                        feature_attributes(loaded, positions), z, y, x)
    # The library's way: the same geometries, each feature's attributes as a dict.
    minx, miny, maxx, _ = tiles.mercator_bounds(z, y, x)
    scale = tiles.EXTENT / (maxx - minx)
    to_mercator = tiles._TO_MERCATOR

    def to_tile(xy):
        mx, my = to_mercator.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([(mx - minx) * scale, (my - miny) * scale])

    edge = (-tiles.BUFFER, -tiles.BUFFER, tiles.EXTENT + tiles.BUFFER, tiles.EXTENT + tiles.BUFFER)
    snapped = shapely.set_precision(shapely.clip_by_rect(
        shapely.transform(loaded.geometries[positions], to_tile), *edge), 1.0)
    theirs = mapbox_vector_tile.encode(
        [{"name": layer, "features": [
            {"geometry": g, "id": p, "properties": expected_attributes(loaded.features[p])}
            for g, p in zip(snapped, positions, strict=True) if not g.is_empty]}],
        default_options={"extents": tiles.EXTENT, "y_coord_down": False,
                         "on_invalid_geometry": on_invalid_geometry_make_valid})
    assert ours == theirs


def test_a_tile_is_made_once_per_layer_version(client, store, monkeypatch):
    from layers.web.context import get_spatial

    z, y, x = tile_of(*OFFICE, 15)
    made = []
    with client.application.app_context():
        spatial = get_spatial()
    real = spatial.tile
    monkeypatch.setattr(spatial, "tile", lambda *a: made.append(a) or real(*a))
    first = client.get(f"{PREFIX}/parking/tiles/WebMercatorQuad/{z}/{y}/{x}").data
    again = client.get(f"{PREFIX}/parking/tiles/WebMercatorQuad/{z}/{y}/{x}").data
    assert first == again and len(made) <= 1  # 0: an earlier test made it
    assert first == real("parking", z, y, x)


def test_the_tile_cache_keeps_the_most_recent_within_its_bounds():
    cache = tiles.VectorTileCache(max_bytes=10, max_tiles=3)
    made = []

    def make(body: bytes):
        return lambda: made.append(body) or body

    assert cache.get(1, 0, 0, make(b"aaaa")) == b"aaaa"
    assert cache.get(1, 0, 1, make(b"bbbb")) == b"bbbb"
    assert cache.get(1, 0, 0, make(b"xxxx")) == b"aaaa"  # kept: not made again
    assert cache.get(1, 1, 1, make(b"cccc")) == b"cccc"  # 12 bytes: the oldest used goes
    assert len(cache) == 2
    assert cache.get(1, 0, 1, make(b"BBBB")) == b"BBBB"  # made again; 1/0/0 goes
    assert cache.get(1, 1, 1, make(b"zzzz")) == b"cccc"
    for i in range(4):  # empty tiles: no bytes, but no more than max_tiles
        cache.get(2, 0, i, make(b""))
    assert len(cache) == 3
    assert cache.get(1, 0, 0, make(b"x" * 11)) == b"x" * 11  # larger than the whole cache
    assert made == [b"aaaa", b"bbbb", b"cccc", b"BBBB", b"", b"", b"", b"", b"x" * 11]


def test_a_server_told_to_keep_no_tiles_makes_each_one(tmp_path, store_backend, monkeypatch):
    """VECTOR_TILE_CACHE_BYTES=0 (make bench times tiles being made that way)."""
    from layers.web.context import get_spatial

    app = make_app(tmp_path / "inspections.sqlite", VECTOR_TILE_CACHE_BYTES=0)
    client = app.test_client()
    z, y, x = tile_of(*OFFICE, 15)
    with app.app_context():
        spatial = get_spatial()
    real, made = spatial.tile, []
    monkeypatch.setattr(spatial, "tile", lambda *a: made.append(a) or real(*a))
    bodies = [client.get(f"{PREFIX}/parking/tiles/WebMercatorQuad/{z}/{y}/{x}").data
              for _ in range(3)]
    assert len(made) == 3 and bodies[0] == bodies[1] == bodies[2] != b""
    cache = tiles.VectorTileCache(max_bytes=0)
    assert cache.get(1, 0, 0, lambda: b"") == b"" and len(cache) == 0
