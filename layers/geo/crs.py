"""Coordinate systems and measures.

Everything is stored and exchanged in WGS84 (EPSG:4326, lon/lat order).
Distances, buffers and areas are measured in metres in CGCS2000 /
3-degree Gauss-Kruger CM 117E (EPSG:4548), whose central meridian runs
through Jinan. Reprojection happens once, when a layer is loaded.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely import Geometry

WGS84 = CRS.from_epsg(4326)
METRIC = CRS.from_epsg(4548)  # CGCS2000 / 3-degree GK CM 117E, metres, x east

M2_PER_MU = 2000 / 3  # 1 亩 = 666.67 m²

_TO_METRIC = Transformer.from_crs(WGS84, METRIC, always_xy=True)
_TO_WGS84 = Transformer.from_crs(METRIC, WGS84, always_xy=True)


def to_metric(geom: Geometry) -> Geometry:
    """A WGS84 (lon/lat) geometry in EPSG:4548 metres."""
    return shapely.transform(geom, _TO_METRIC.transform, interleaved=False)


def to_wgs84(geom: Geometry) -> Geometry:
    """An EPSG:4548 geometry in WGS84 lon/lat."""
    return shapely.transform(geom, _TO_WGS84.transform, interleaved=False)


def lonlat_to_metric(lon: float, lat: float) -> tuple[float, float]:
    x, y = _TO_METRIC.transform(lon, lat)
    return float(x), float(y)


def metric_to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = _TO_WGS84.transform(x, y)
    return float(lon), float(lat)


def metric_to_lonlat_arrays(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """metric_to_lonlat for arrays of coordinates, in one call."""
    return _TO_WGS84.transform(x, y)


def m2_to_mu(area_m2: float) -> float:
    return area_m2 / M2_PER_MU
