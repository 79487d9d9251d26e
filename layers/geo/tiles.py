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
from collections.abc import Mapping, Sequence
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid

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


def encode(layer: str, geometries: np.ndarray, positions: Sequence[int],
           features: Sequence[Mapping[str, Any]], z: int, y: int, x: int) -> bytes:
    """The MVT of a tile holding these features (lon/lat `geometries`, their positions in
    the layer and their GeoJSON features); empty bytes when none is left after clipping."""
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
    encoded = [
        {"geometry": geometry, "id": int(position), "properties": attributes(feature)}
        for geometry, position, feature in zip(snapped, positions, features, strict=True)
        if not geometry.is_empty
    ]
    if not encoded:
        return b""
    return bytes(mapbox_vector_tile.encode(
        [{"name": layer, "features": encoded}],
        default_options={"extents": EXTENT, "y_coord_down": False,
                         "on_invalid_geometry": on_invalid_geometry_make_valid}))


def attributes(feature: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON feature's id and properties as MVT attributes (see the module)."""
    out: dict[str, Any] = {"id": feature["id"]}
    for key, value in feature["properties"].items():
        if value is None:
            continue
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        out[key] = value
    return out


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
