"""A basemap under a brief's map extract: which tiles, where on the page (millimetres).

The extract is drawn in EPSG:4548 metres scaled to millimetres (layers/review/brief.py);
tiles are Web Mercator. Both projections are conformal, and over the extent of a
brief (a few kilometres, near the 117°E central meridian) a tile's corners
placed through EPSG:4548 are off by far less than a printed dot, so each tile is
an axis-parallel rectangle. The zoom is the first whose pixels are at least as
fine as the print's (`DPI`), within the zooms the tile proxy allows.

The HTML brief shows the tiles as SVG images from /tiles; the PDF gets their
bytes from the proxy (`fetch_images`), which answers from its cache when the
source is down. A tile that cannot be had makes the whole basemap fall back to
none, said in Chinese on the brief (`FAILED_MESSAGE`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from markupsafe import Markup

from layers.basemaps.area import TileArea
from layers.basemaps.proxy import TileProxy
from layers.basemaps.sources import BasemapSource
from layers.geo.crs import lonlat_to_metric, metric_to_lonlat

DPI = 200  # the print's resolution the tiles should match
EARTH_M_PER_PX_Z0 = 156543.03392804097  # Web Mercator metres per pixel at the equator, zoom 0
MAX_TILES = 400  # per tile set: a larger request is refused (a reach of 1 km needs ~60)
FETCH_WORKERS = 4
FAILED_MESSAGE = "底图加载失败,已切换为无底图"


@dataclass(frozen=True)
class PlacedTile:
    layer_id: str  # the proxy's tile set: the map, or its labels
    z: int
    x: int
    y: int
    x_mm: float  # top left corner on the extract, millimetres (y down)
    y_mm: float
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class Underlay:
    key: str
    name: str
    attribution: str
    tiles: tuple[PlacedTile, ...]  # the map's tiles first, then its labels'


def plain_text(attribution: str) -> str:
    """A source's attribution (HTML, for Leaflet) as text: tags dropped, entities read."""
    return Markup(attribution).striptags()


def tile_lonlat(z: int, x: int, y: int) -> tuple[float, float]:
    """Longitude and latitude of a tile's top left corner."""
    n = 1 << z
    lon = x / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return lon, lat


def choose_zoom(metres_per_mm: float, lat: float, area: TileArea, max_zoom: int) -> int:
    wanted = metres_per_mm * 25.4 / DPI  # metres per printed dot
    ground = EARTH_M_PER_PX_Z0 * math.cos(math.radians(lat))
    z = math.ceil(math.log2(ground / wanted)) if wanted > 0 else max_zoom
    return max(area.min_zoom, min(z, area.max_zoom, max_zoom))


def place(source: BasemapSource, area: TileArea, bounds_m: Sequence[float], width_mm: float,
          height_mm: float) -> Underlay | None:
    """The tiles of `source` covering an extract of `bounds_m` (EPSG:4548 minx, miny,
    maxx, maxy) drawn at width_mm x height_mm; None when the allowed area has none."""
    minx, miny, maxx, maxy = bounds_m
    scale = (maxx - minx) / width_mm  # metres per millimetre
    corners = [metric_to_lonlat(x, y) for x in (minx, maxx) for y in (miny, maxy)]
    west, east = min(c[0] for c in corners), max(c[0] for c in corners)
    south, north = min(c[1] for c in corners), max(c[1] for c in corners)
    z = choose_zoom(scale, (south + north) / 2, area, source.max_zoom)
    frame = TileArea((west, south, east, north), z, z)
    wanted = [(z, x, y) for z, x, y in frame.tiles([z]) if area.allows(z, x, y)]
    if not wanted or len(wanted) > MAX_TILES:
        return None
    placed = []
    for layer_id in source.layer_ids:
        for tz, tx, ty in wanted:
            x0, y0 = lonlat_to_metric(*tile_lonlat(tz, tx, ty))
            x1, y1 = lonlat_to_metric(*tile_lonlat(tz, tx + 1, ty + 1))
            placed.append(PlacedTile(layer_id, tz, tx, ty, round((x0 - minx) / scale, 3),
                                     round((maxy - y0) / scale, 3),
                                     round((x1 - x0) / scale, 3), round((y0 - y1) / scale, 3)))
    return Underlay(source.key, source.name, source.attribution, tuple(placed))


def fetch_images(proxy: TileProxy, underlay: Underlay) -> dict[PlacedTile, bytes] | None:
    """Every tile's image, from the proxy (its cache, or the source); None if any is missing."""
    def one(tile: PlacedTile) -> bytes | None:
        found = proxy.tile(tile.layer_id, tile.z, tile.x, tile.y)
        return found.body if found is not None else None

    with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
        bodies = list(pool.map(one, underlay.tiles))
    if any(body is None for body in bodies):
        return None
    return {tile: body for tile, body in zip(underlay.tiles, bodies, strict=True)
            if body is not None}
