"""GCJ-02 and BD-09: the offset "coordinate systems" of Chinese web maps.

Coordinates copied from Amap, Tencent or WeChat are GCJ-02, from Baidu BD-09.
Both are WGS84 shifted by a few hundred metres with a published but
non-invertible formula; pyproj does not know them. The forward formulas are
the public ones; the inverses iterate the forward formula until the error is
under 1e-9 degree (about 0.1 mm), where the usual one-step inverse is off by
metres.

Every function takes and returns lon/lat, as floats or numpy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import numpy as np

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as in the GCJ-02 formula
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 30

Number = TypeVar("Number", float, np.ndarray)
System = Literal["wgs84", "gcj02", "bd09"]
SYSTEMS: tuple[System, ...] = ("wgs84", "gcj02", "bd09")
SYSTEM_LABELS = {
    "wgs84": "WGS84(GPS、天地图)",
    "gcj02": "GCJ-02(高德、腾讯、微信)",
    "bd09": "BD-09(百度)",
}


def in_china(lon: Number, lat: Number) -> Number:
    """True where the offset applies: the formula leaves points outside China alone."""
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def _delta_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return d


def _delta_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    d += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return d


def _out(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> tuple[Any, Any]:
    return (float(lon), float(lat)) if scalar else (lon, lat)


def wgs84_to_gcj02(lon: Number, lat: Number) -> tuple[Number, Number]:
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlat = _delta_lat(x - 105.0, y - 35.0)
    dlon = _delta_lon(x - 105.0, y - 35.0)
    radlat = y / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    china = in_china(x, y)
    return _out(np.where(china, x + dlon, x), np.where(china, y + dlat, y), np.ndim(lon) == 0)


def gcj02_to_bd09(lon: Number, lat: Number) -> tuple[Number, Number]:
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _out(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, np.ndim(lon) == 0)


def wgs84_to_bd09(lon: Number, lat: Number) -> tuple[Number, Number]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
            lon: Number, lat: Number) -> tuple[Number, Number]:
    """Solve forward(w) = target for w by fixed-point iteration (the offset is smooth)."""
    tx, ty = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wx, wy = tx.copy(), ty.copy()
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(wx, wy)
        ex, ey = fx - tx, fy - ty
        wx, wy = wx - ex, wy - ey
        if np.all(np.abs(ex) < _TOLERANCE_DEG) and np.all(np.abs(ey) < _TOLERANCE_DEG):
            break
    return _out(wx, wy, np.ndim(lon) == 0)


def gcj02_to_wgs84(lon: Number, lat: Number) -> tuple[Number, Number]:
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_wgs84(lon: Number, lat: Number) -> tuple[Number, Number]:
    return _invert(wgs84_to_bd09, lon, lat)


def bd09_to_gcj02(lon: Number, lat: Number) -> tuple[Number, Number]:
    return _invert(gcj02_to_bd09, lon, lat)


def to_wgs84(lon: Number, lat: Number, system: str) -> tuple[Number, Number]:
    """lon/lat given in `system` (wgs84, gcj02 or bd09) as WGS84; ValueError otherwise."""
    if system == "wgs84":
        return lon, lat
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown coordinate system {system!r}; use one of {', '.join(SYSTEMS)}")


def from_wgs84(lon: Number, lat: Number, system: str) -> tuple[Number, Number]:
    """WGS84 lon/lat in `system`; ValueError for an unknown system."""
    if system == "wgs84":
        return lon, lat
    if system == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if system == "bd09":
        return wgs84_to_bd09(lon, lat)
    raise ValueError(f"unknown coordinate system {system!r}; use one of {', '.join(SYSTEMS)}")
