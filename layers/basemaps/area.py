"""Which tiles the proxy may fetch: the zooms and the area (the sub-district's extent
and a margin), in Web Mercator tile numbers."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from layers.geo.crs import lonlat_to_metric, metric_to_lonlat

MAX_LATITUDE = 85.0511287798


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator (XYZ) tile holding a point at zoom z."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


@dataclass(frozen=True)
class TileArea:
    """What the proxy may fetch: a lon/lat bbox and a range of zooms."""

    bbox: tuple[float, float, float, float]  # west, south, east, north (WGS84)
    min_zoom: int
    max_zoom: int

    @classmethod
    def around(cls, bbox: Sequence[float], margin_m: float, zooms: Sequence[int]) -> TileArea:
        """`bbox` grown by `margin_m` metres on every side (measured in EPSG:4548)."""
        west, south, east, north = bbox
        x0, y0 = lonlat_to_metric(west, south)
        x1, y1 = lonlat_to_metric(east, north)
        corners = [metric_to_lonlat(x, y) for x in (x0 - margin_m, x1 + margin_m)
                   for y in (y0 - margin_m, y1 + margin_m)]
        lons, lats = [c[0] for c in corners], [c[1] for c in corners]
        return cls((min(lons), min(lats), max(lons), max(lats)), int(zooms[0]), int(zooms[1]))

    def tile_range(self, z: int) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1 (inclusive) of the tiles covering the area at zoom z."""
        west, south, east, north = self.bbox
        x0, y0 = lonlat_to_tile(west, north, z)
        x1, y1 = lonlat_to_tile(east, south, z)
        return x0, y0, x1, y1

    def allows(self, z: int, x: int, y: int) -> bool:
        if not self.min_zoom <= z <= self.max_zoom:
            return False
        x0, y0, x1, y1 = self.tile_range(z)
        return x0 <= x <= x1 and y0 <= y <= y1

    def tiles(self, zooms: Sequence[int]) -> Iterator[tuple[int, int, int]]:
        for z in zooms:
            x0, y0, x1, y1 = self.tile_range(z)
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    yield z, x, y

    def count(self, zooms: Sequence[int]) -> int:
        total = 0
        for z in zooms:
            x0, y0, x1, y1 = self.tile_range(z)
            total += (x1 - x0 + 1) * (y1 - y0 + 1)
        return total

    def leaflet_bounds(self) -> list[list[float]]:
        west, south, east, north = self.bbox
        return [[south, west], [north, east]]
