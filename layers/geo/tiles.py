"""Vector tiles: the WebMercatorQuad tile matrix set and Mapbox Vector Tile encoding.

A tile `z/y/x` (OGC order: tileMatrix/tileRow/tileCol; XYZ like OpenStreetMap, row 0 at
the north) covers a square of EPSG:3857. Both stores answer a tile the same way
(tests/ogc/test_tiles.py decodes theirs):

- one MVT layer named after the catalogue layer, extent 4096, geometries clipped to the
  tile grown by BUFFER units (so that lines and polygons join across tiles);
- each feature's MVT id is its position in the layer (`ord`), and its attributes are
  `id` and the stored properties: strings, numbers and booleans as such, lists and
  objects as their JSON text, nulls left out (as PostGIS's ST_AsMVT does with jsonb).

The embedded store encodes with `mapbox-vector-tile` (the maintained Python encoder);
PostGIS with `ST_AsMVT`/`ST_AsMVTGeom` (layers/stores/postgis/spatial.py).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from mapbox_vector_tile.encoder import VectorTile, on_invalid_geometry_make_valid

from layers.errors import NotFound
from layers.geo.crs import WGS84, transformer

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
TILE_MATRIX_SET = "WebMercatorQuad"
TILE_MATRIX_SET_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MAX_ZOOM = 22
EXTENT = 4096  # MVT units across a tile
BUFFER = 64  # MVT units of margin kept around a tile
HALF_WORLD = 20037508.342789244  # metres: half the side of EPSG:3857's square
TILE_PX = 256
# Scale denominator of zoom 0 (standard pixel 0.28 mm), as the OGC definition gives it.
SCALE_0 = 559082264.0287178
# A layer version's tile cache (VectorTileCache): at most this many bytes of tiles, and tiles.
CACHE_BYTES = 8 * 1024 * 1024
CACHE_TILES = 4096

_TO_MERCATOR = transformer(WGS84, "EPSG:3857", always_xy=True)


def check_tile(z: int, y: int, x: int) -> None:
    """404 (Chinese) for a tile outside WebMercatorQuad's zooms 0..MAX_ZOOM."""
    if not 0 <= z <= MAX_ZOOM:
        raise NotFound(f"瓦片层级须在 0 到 {MAX_ZOOM} 之间 (tileMatrix {z} is not in "
                       f"{TILE_MATRIX_SET}, which has 0..{MAX_ZOOM})")
    if not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise NotFound(f"层级 {z} 没有行 {y} 列 {x} 的瓦片 (tile row {y}, column {x} are "
                       f"outside tileMatrix {z}: 0..{2 ** z - 1})")


def mercator_bounds(z: int, y: int, x: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a tile in EPSG:3857 metres."""
    size = 2 * HALF_WORLD / 2 ** z
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def lonlat_bounds(z: int, y: int, x: int, margin: float = 0.0
                  ) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a tile grown by `margin` (a share of its side)."""
    n = 2 ** z

    def lon(col: float) -> float:
        return col / n * 360.0 - 180.0

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (max(lon(x - margin), -180.0), max(lat(y + 1 + margin), -85.0511287798),
            min(lon(x + 1 + margin), 180.0), min(lat(y - margin), 85.0511287798))


# A feature's attributes: (key, value, whether the value is a boolean) for each; the
# triple is also the key by which a tile finds the tags it gave the same pair before.
Attribute = tuple[str, str | int | float | bool, bool]
Attributes = tuple[Attribute, ...]


def encode(layer: str, geometries: np.ndarray, positions: Sequence[int],
           attributes: Sequence[Attributes], z: int, y: int, x: int) -> bytes:
    """The MVT of a tile holding these features (lon/lat `geometries`, their positions in
    the layer and their `attributes(feature)`); empty bytes when none is left after
    clipping."""
    if not len(positions):
        return b""
    minx, miny, maxx, _ = mercator_bounds(z, y, x)
    scale = EXTENT / (maxx - minx)

    def to_tile(xy: np.ndarray) -> np.ndarray:
        """lon/lat to tile units: x from the west edge, y from the south edge."""
        mx, my = _TO_MERCATOR.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([(mx - minx) * scale, (my - miny) * scale])

    # All at once (vectorised), then clipped to the tile and its buffer and snapped to
    # whole units keeping polygons valid: the encoder gets geometries it only writes out.
    clipped = shapely.clip_by_rect(shapely.transform(geometries, to_tile),
                                   -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    snapped = shapely.set_precision(clipped, 1.0)
    kept = ~shapely.is_empty(snapped)
    if not kept.any():
        return b""
    encoded = [
        {"geometry": geometry, "id": int(position), "properties": attrs}
        for geometry, position, attrs, keep in zip(snapped, positions, attributes, kept,
                                                   strict=True)
        if keep
    ]
    tile = _VectorTile(default_options={"extents": EXTENT, "y_coord_down": False,
                                        "on_invalid_geometry": on_invalid_geometry_make_valid})
    tile.add_layer(layer, encoded)
    return bytes(tile.tile.SerializeToString())


# Point layers' tiles (PointTiles): the points sorted by a Z-order (Morton) key of their
# cell at zoom KEY_ZOOM (about 2.4 m at the equator), so that a tile's points are a few
# ranges of the sorted keys; REFINE levels of quadtree below the tile's own size decide how
# closely the ranges follow the tile (what they take beyond it is filtered out exactly).
KEY_ZOOM = 24
REFINE = 3


def _spread(v: np.ndarray) -> np.ndarray:
    """The bits of v (uint64, < 2**32) moved to the even places (bit i to bit 2i)."""
    v = v & np.uint64(0xFFFFFFFF)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                        (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                        (1, 0x5555555555555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def morton(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Z-order keys (uint64) of cells (column, row), interleaving their bits."""
    return _spread(cx.astype(np.uint64)) | (_spread(cy.astype(np.uint64)) << np.uint64(1))


class PointTiles:
    """A point layer's points for its tiles, made once per layer version (the embedded
    store keeps it with the LoadedLayer): Web Mercator and lon/lat coordinates as arrays,
    sorted by the Z-order key of their cell at KEY_ZOOM. A tile's points are then a few
    contiguous ranges found by binary search, converted to tile units all at once: the
    cost follows the tile's points, not the layer's (an STRtree's depth, a shapely object
    and a GEOS call per point)."""

    def __init__(self, lonlat: np.ndarray):
        lon, lat = lonlat[:, 0], lonlat[:, 1]
        mx, my = _TO_MERCATOR.transform(lon, lat)
        keys = morton(*self._cells(np.asarray(mx), np.asarray(my)))
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.positions = order.astype(np.int64)  # layer positions, in key order
        self.lon, self.lat = lon[order], lat[order]
        self.mx, self.my = np.asarray(mx)[order], np.asarray(my)[order]

    @staticmethod
    def _cells(mx: np.ndarray, my: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells (column from the west, row from the north) at KEY_ZOOM, within the world."""
        n = 2 ** KEY_ZOOM
        cx = np.floor((mx + HALF_WORLD) / (2 * HALF_WORLD) * n)
        cy = np.floor((HALF_WORLD - my) / (2 * HALF_WORLD) * n)
        return (np.clip(np.nan_to_num(cx), 0, n - 1).astype(np.int64),
                np.clip(np.nan_to_num(cy), 0, n - 1).astype(np.int64))

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.keys, self.positions, self.lon, self.lat,
                                      self.mx, self.my))

    def _ranges(self, x0: int, y0: int, x1: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
        """[start, end) key ranges covering the cells x0..x1 × y0..y1 (and a little more):
        the quadtree nodes at the level where the box spans two at most, refined REFINE
        levels where they cross its edge."""
        span = max(x1 - x0, y1 - y0) + 1
        level = max(0, KEY_ZOOM - (span - 1).bit_length())
        shift = KEY_ZOOM - level
        grid = np.meshgrid(np.arange(x0 >> shift, (x1 >> shift) + 1, dtype=np.int64),
                           np.arange(y0 >> shift, (y1 >> shift) + 1, dtype=np.int64))
        nx, ny = grid[0].ravel(), grid[1].ravel()
        starts, shifts = [], []
        for _ in range(REFINE + 1):
            size = 1 << shift
            inside = ((nx << shift >= x0) & ((nx + 1) * size - 1 <= x1)
                      & (ny << shift >= y0) & ((ny + 1) * size - 1 <= y1))
            last = shift == 0 or _ == REFINE
            done = np.ones_like(inside) if last else inside
            starts.append(morton(nx[done], ny[done]))
            shifts.append(np.full(int(done.sum()), 2 * shift, dtype=np.uint64))
            if last:
                break
            # The nodes across the edge: their four children that meet the box.
            nx = np.repeat(nx[~done] * 2, 4) + np.tile([0, 1, 0, 1], int((~done).sum()))
            ny = np.repeat(ny[~done] * 2, 4) + np.tile([0, 0, 1, 1], int((~done).sum()))
            shift -= 1
            meets = ((nx + 1) << shift > x0) & (nx << shift <= x1) \
                & ((ny + 1) << shift > y0) & (ny << shift <= y1)
            nx, ny = nx[meets], ny[meets]
        first, step = np.concatenate(starts), np.concatenate(shifts)
        return first << step, (first + np.uint64(1)) << step

    def in_tile(self, z: int, y: int, x: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The layer positions (ascending) of the points `encode` keeps in tile z/y/x, and
        their tile units (x from the west edge, y from the south edge, not yet snapped):
        those inside the tile's lon/lat bounds grown by BUFFER (as the STRtree path
        selects them) and strictly inside the clipping square (as clip_by_rect keeps)."""
        minx, miny, maxx, maxy = mercator_bounds(z, y, x)
        scale = EXTENT / (maxx - minx)
        grow = BUFFER / scale
        (x0, x1), (y1, y0) = (self._cells(np.array([minx - grow, maxx + grow]),
                                          np.array([miny - grow, maxy + grow])))
        starts, ends = self._ranges(max(int(x0) - 1, 0), max(int(y0) - 1, 0),
                                    int(x1) + 1, int(y1) + 1)
        lo = np.searchsorted(self.keys, starts)
        hi = np.searchsorted(self.keys, ends)
        counts = hi - lo
        total = int(counts.sum())
        # The ranges' indexes, one after another.
        at = np.arange(total) + np.repeat(lo - (np.cumsum(counts) - counts), counts)
        west, south, east, north = lonlat_bounds(z, y, x, BUFFER / EXTENT)
        lon, lat = self.lon[at], self.lat[at]
        tx, ty = (self.mx[at] - minx) * scale, (self.my[at] - miny) * scale
        keep = ((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
                & (tx > -BUFFER) & (tx < EXTENT + BUFFER) & (ty > -BUFFER)
                & (ty < EXTENT + BUFFER))
        positions = self.positions[at[keep]]
        order = np.argsort(positions)
        return positions[order], tx[keep][order], ty[keep][order]


def encode_points(layer: str, positions: Sequence[int], tx: np.ndarray, ty: np.ndarray,
                  attributes: Sequence[Attributes]) -> bytes:
    """The MVT of a tile holding these points (from PointTiles.in_tile): the bytes `encode`
    writes for them (snapped to whole units as GEOS does, y flipped as the library does,
    zigzag-encoded; keys and values indexed in the order first seen, a value shared by
    keys, booleans apart from numbers), made a tile's worth at a time: no shapely geometry
    and no call per attribute."""
    if not len(positions):
        return b""
    gx = np.floor(tx + 0.5).astype(np.int64)
    gy = EXTENT - np.floor(ty + 0.5).astype(np.int64)
    zx = np.where(gx >= 0, 2 * gx, -2 * gx - 1).tolist()
    zy = np.where(gy >= 0, 2 * gy, -2 * gy - 1).tolist()
    flat = [a for attrs in attributes for a in attrs]
    keys: dict[str, int] = {}
    key_ids = [keys.setdefault(k, len(keys)) for k, _, _ in flat]
    # One index for the values, as the library's shared counter: a boolean apart from the
    # number it equals (1 == True), an int and a float that are equal as one (1 == 1.0).
    values: dict[Any, int] = {}
    value_ids = [values.setdefault((True, v) if b else v, len(values)) for _, v, b in flat]
    tags = [0] * (2 * len(flat))
    tags[0::2], tags[1::2] = key_ids, value_ids
    tile = _VectorTile(default_options={"extents": EXTENT, "y_coord_down": False})
    tile.add_layer(layer, [])
    out = tile.layer
    add = out.features.add
    point = tile.tile.Point
    move_to = 9  # MoveTo, one point
    start = 0
    for position, attrs, x, y in zip(positions, attributes, zx, zy, strict=True):
        end = start + 2 * len(attrs)
        add(id=int(position), tags=tags[start:end], type=point, geometry=(move_to, x, y))
        start = end
    out.keys.extend(keys)
    add_value = out.values.add
    for value in values:
        if isinstance(value, tuple):
            add_value(bool_value=value[1])
        elif isinstance(value, str):
            add_value(string_value=value)
        elif isinstance(value, int):
            add_value(int_value=value)
        else:
            add_value(double_value=value)
    return bytes(tile.tile.SerializeToString())


class _VectorTile(VectorTile):
    """mapbox-vector-tile's encoder given attributes already made (`attributes`, kept per
    layer version by the store): the same keys, values and tags as its `_handle_attr`
    (booleans apart from numbers, first seen first), without checking every key's and
    value's type again in every tile, and a feature's tags added at once. One layer a
    tile (the indexes of keys and values are the layer's)."""

    def __init__(self, default_options: dict[str, Any]) -> None:
        super().__init__(default_options)
        self.pairs: dict[Attribute, tuple[int, int]] = {}  # an attribute's tags, once seen

    def _handle_attr(self, layer: Any, feature: Any, props: Attributes) -> None:
        pairs = self.pairs
        tags: list[int] = []
        for attribute in props:
            pair = pairs.get(attribute)
            if pair is None:
                pair = pairs[attribute] = self._tag(layer, *attribute)
            tags += pair
        feature.tags.extend(tags)

    def _tag(self, layer: Any, k: str, v: str | float | bool, is_bool: bool
             ) -> tuple[int, int]:
        keys = self.seen_keys_idx
        key = keys.get(k)
        if key is None:
            layer.keys.append(k)
            key = keys[k] = self.key_idx
            self.key_idx += 1
        seen = self.seen_values_bool_idx if is_bool else self.seen_values_idx
        value = seen.get(v)
        if value is None:
            value = seen[v] = self.val_idx
            self.val_idx += 1
            out = layer.values.add()
            if is_bool:
                out.bool_value = v
            elif isinstance(v, str):
                out.string_value = v
            elif isinstance(v, int):
                out.int_value = v
            else:
                out.double_value = v
        return key, value


def attributes(feature: Mapping[str, Any], strings: dict[str, str] | None = None
               ) -> Attributes:
    """A GeoJSON feature's id and properties as MVT attributes (see the module), in order;
    values of other types (none in valid data) are left out, as the encoder does.

    Strings are copied: the attributes of a tile's features are made together (on its
    first request), so their strings then lie together in memory, not scattered over
    a large layer's objects (which made every tile of 1M venues about twice as slow).
    `strings` (one dict for the features made together) shares the copies of equal
    strings among them."""
    if strings is None:
        strings = {}
    out: dict[str, str | int | float | bool] = {"id": feature["id"]}
    for key, value in feature["properties"].items():
        if value is None:
            continue
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        if isinstance(value, str | int | float):  # bool is an int
            out[key] = value
    return tuple((k, _copy(v, strings) if isinstance(v, str) else v, isinstance(v, bool))
                 for k, v in out.items())


def _copy(text: str, copies: dict[str, str]) -> str:
    copy = copies.get(text)
    if copy is None:
        copy = copies[text] = text.encode().decode()
    return copy


class VectorTileCache:
    """The tiles of one layer version, least recently used first out, within `max_bytes`
    and `max_tiles` (empty tiles count as one tile of no bytes). The same tile is asked
    for by every user who looks at the same place, and a layer version never changes, so
    a tile made once is right until the version is replaced (the cache goes with it:
    callers keep one per `LoadedLayer`). Thread-safe; two threads missing the same tile
    both make it (the same bytes)."""

    def __init__(self, max_bytes: int = CACHE_BYTES, max_tiles: int = CACHE_TILES):
        self.max_bytes, self.max_tiles = max_bytes, max_tiles
        self._tiles: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, z: int, y: int, x: int, make: Callable[[], bytes]) -> bytes:
        key = (z, y, x)
        with self._lock:
            found = self._tiles.get(key)
            if found is not None:
                self._tiles.move_to_end(key)
                return found
        made = make()
        if self.max_bytes <= 0 or len(made) > self.max_bytes:  # 0: a cache that keeps none
            return made
        with self._lock:
            if key not in self._tiles:
                self._tiles[key] = made
                self._bytes += len(made)
                while self._bytes > self.max_bytes or len(self._tiles) > self.max_tiles:
                    self._bytes -= len(self._tiles.popitem(last=False)[1])
        return made

    def __len__(self) -> int:
        return len(self._tiles)


def tile_matrix_set() -> dict[str, Any]:
    """The WebMercatorQuad definition (OGC Two Dimensional Tile Matrix Set 2.0), 0..22."""
    return {
        "id": TILE_MATRIX_SET,
        "title": "Google Maps Compatible for the World",
        "uri": TILE_MATRIX_SET_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": [
            {
                "id": str(z),
                "scaleDenominator": SCALE_0 / 2 ** z,
                "cellSize": 2 * HALF_WORLD / TILE_PX / 2 ** z,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-HALF_WORLD, HALF_WORLD],
                "tileWidth": TILE_PX,
                "tileHeight": TILE_PX,
                "matrixWidth": 2 ** z,
                "matrixHeight": 2 ** z,
            }
            for z in range(MAX_ZOOM + 1)
        ],
    }
