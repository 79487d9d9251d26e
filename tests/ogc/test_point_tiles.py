"""The embedded store's point tiles (tiles.PointTiles + tiles.encode_points): the same bytes
as mapbox-vector-tile's own `encode` of the points the STRtree path keeps, at the tile's
edges, its buffer's edges, zoom 0 and zoom 22, and none for an empty tile."""

import math

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid

from layers.catalogue.entries import CATALOGUE
from layers.geo import tiles
from layers.geo.crs import METRIC, WGS84, transformer
from layers.stores.embedded.spatial import MemorySpatial, point_tiles
from layers.stores.layers import LayerStore, LoadedLayer
from tests.ogc.test_tiles import expected_attributes, tile_of

VENUES = next(layer for layer in CATALOGUE if layer.name == "venues")
MARGIN = tiles.BUFFER / tiles.EXTENT


def points_layer(lonlat: np.ndarray) -> LoadedLayer:
    """A venues layer of these points, with properties of every kind the tiles write."""
    to_metric = transformer(WGS84, METRIC, always_xy=True)
    mx, my = to_metric.transform(lonlat[:, 0], lonlat[:, 1])
    features = [{"type": "Feature", "id": f"P{i:05d}",
                 "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                 "properties": {"name": f"店{i}", "kind": ("小餐饮", "小旅馆")[i % 2],
                                "floors": i % 4, "area": 10.5 + i % 3,
                                "level": float(i % 2), "empty": "" if i % 5 else "空",
                                "open": bool(i % 3),
                                "tags": ["甲", i % 2], "note": None}}
                for i, (lon, lat) in enumerate(lonlat.tolist())]
    return LoadedLayer(layer=VENUES, ids=[f["id"] for f in features], features=features,
                       geometries=shapely.points(lonlat),
                       metric=shapely.points(np.column_stack([mx, my])))


def reference(loaded: LoadedLayer, z: int, y: int, x: int) -> bytes:
    """The library's way over every point: those in the tile's lon/lat bounds grown by the
    buffer, in tile units, clipped, snapped and encoded by mapbox_vector_tile.encode."""
    west, south, east, north = tiles.lonlat_bounds(z, y, x, MARGIN)
    lonlat = shapely.get_coordinates(loaded.geometries)
    chosen = np.flatnonzero((lonlat[:, 0] >= west) & (lonlat[:, 0] <= east)
                            & (lonlat[:, 1] >= south) & (lonlat[:, 1] <= north)).tolist()
    minx, miny, maxx, _ = tiles.mercator_bounds(z, y, x)
    scale = tiles.EXTENT / (maxx - minx)

    def to_tile(xy):
        mx, my = tiles._TO_MERCATOR.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([(mx - minx) * scale, (my - miny) * scale])

    edge = (-tiles.BUFFER, -tiles.BUFFER, tiles.EXTENT + tiles.BUFFER,
            tiles.EXTENT + tiles.BUFFER)
    snapped = shapely.set_precision(shapely.clip_by_rect(
        shapely.transform(loaded.geometries[chosen], to_tile), *edge), 1.0)
    features = [{"geometry": g, "id": p, "properties": expected_attributes(loaded.features[p])}
                for g, p in zip(snapped, chosen, strict=True) if not g.is_empty]
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": "venues", "features": features}],
        default_options={"extents": tiles.EXTENT, "y_coord_down": False,
                         "on_invalid_geometry": on_invalid_geometry_make_valid})


def spatial_of(loaded: LoadedLayer) -> MemorySpatial:
    store = LayerStore({"venues": loaded})
    return MemorySpatial(lambda: store)


def edge_lonlat(z: int, y: int, x: int, margin: float, nudge: float) -> tuple[float, float]:
    """The lon/lat of a tile's north-west corner grown by `margin` (a share of its side),
    moved `nudge` degrees inwards (negative: outwards)."""
    west, _, _, north = tiles.lonlat_bounds(z, y, x, margin)
    return west + nudge, north - nudge


def test_points_at_the_tiles_and_buffers_edges_are_kept_as_the_library_keeps_them():
    z, y, x = tile_of(116.97, 36.67, 16)
    west, south, east, north = tiles.lonlat_bounds(z, y, x)
    bw, bs, be, bn = tiles.lonlat_bounds(z, y, x, MARGIN)
    points = []
    for nudge in (0.0, 1e-9, -1e-9, 1e-7, -1e-7):
        for lon in (west, east, bw, be, (west + east) / 2):
            for lat in (south, north, bs, bn, (south + north) / 2):
                points.append((lon + nudge, lat + nudge))
                points.append((lon - nudge, lat + nudge))
    loaded = points_layer(np.array(points))
    spatial = spatial_of(loaded)
    for ty in (y - 1, y, y + 1):
        for tx in (x - 1, x, x + 1):
            assert spatial.tile("venues", z, ty, tx) == reference(loaded, z, ty, tx)
    # The tile's own points and its buffer's, up to its edge (snapped onto it from inside).
    got = mapbox_vector_tile.decode(spatial.tile("venues", z, y, x))["venues"]["features"]
    units = np.array([f["geometry"]["coordinates"] for f in got])
    assert units.min() == -tiles.BUFFER and units.max() == tiles.EXTENT + tiles.BUFFER
    assert len(got) < len(points)


@pytest.mark.parametrize("z", [0, 3, 8, 11, 13, 14, 16, 18, 20, 22])
def test_random_points_make_the_librarys_bytes_at_every_zoom(z):
    rng = np.random.default_rng(z)
    lonlat = np.round(rng.uniform((116.90, 36.63), (117.02, 36.70), size=(1000, 2)), 7)
    loaded = points_layer(lonlat)
    spatial = spatial_of(loaded)
    nonempty = 0
    for lon, lat in lonlat[:12]:
        z_, y, x = tile_of(lon, lat, z)
        for ty, tx in ((y, x), (y + 1, x), (y, x + 1)):
            if not (0 <= ty < 2 ** z and 0 <= tx < 2 ** z):
                continue
            ours = spatial.tile("venues", z, ty, tx)
            assert ours == reference(loaded, z, ty, tx), (z, ty, tx)
            nonempty += bool(ours)
    assert nonempty >= 12  # at least the tiles at the points themselves


def test_zoom_0_holds_every_point_and_zoom_22_its_own():
    lonlat = np.array([[116.97, 36.67], [-70.5, -33.4], [151.2, -33.9], [0.0, 0.0],
                       [179.9999, 85.0], [-180.0, -85.0]])
    loaded = points_layer(lonlat)
    spatial = spatial_of(loaded)
    world = mapbox_vector_tile.decode(spatial.tile("venues", 0, 0, 0))["venues"]["features"]
    assert sorted(f["id"] for f in world) == list(range(len(lonlat)))
    assert spatial.tile("venues", 0, 0, 0) == reference(loaded, 0, 0, 0)
    z, y, x = tile_of(116.97, 36.67, 22)
    assert spatial.tile("venues", z, y, x) == reference(loaded, z, y, x) != b""


def test_an_empty_tile_is_no_bytes():
    loaded = points_layer(np.array([[116.97, 36.67]]))
    spatial = spatial_of(loaded)
    z, y, x = tile_of(116.97, 36.67, 16)
    assert spatial.tile("venues", z, y, x + 2) == b""
    assert spatial.tile("venues", 14, 0, 0) == b""
    empty = points_layer(np.zeros((0, 2)))
    assert spatial_of(empty).tile("venues", z, y, x) == b""


def test_the_index_is_made_once_per_layer_version_and_only_for_points(store):
    loaded = points_layer(np.array([[116.97, 36.67], [116.98, 36.68]]))
    spatial = spatial_of(loaded)
    z, y, x = tile_of(116.97, 36.67, 15)
    spatial.tile("venues", z, y, x)
    index = point_tiles(loaded)
    spatial.tile("venues", z, y + 1, x)
    assert point_tiles(loaded) is index and index is not None
    assert point_tiles(store.get("roads")) is None
    assert point_tiles(store.get("communities")) is None


def test_the_shipped_venues_tiles_are_the_librarys(store):
    loaded = store.get("venues")
    spatial = MemorySpatial(lambda: store)
    for z in (12, 14, 16, 17):
        z, y, x = tile_of(116.9640, 36.6620, z)
        assert spatial.tile("venues", z, y, x) == reference(loaded, z, y, x) != b""
    assert math.isfinite(point_tiles(loaded).nbytes)
