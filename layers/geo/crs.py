"""Coordinate systems and measures.

Everything is stored and exchanged in WGS84 (EPSG:4326, lon/lat order).
Distances, buffers and areas are measured in metres in CGCS2000 /
3-degree Gauss-Kruger CM 117E (EPSG:4548), whose central meridian runs
through Jinan. Reprojection happens once, when a layer is loaded.

Transformers come from `transformer()`, built once per process for each pair of
CRSs. pyproj's Transformer is thread-safe (since 3.1): each thread lazily makes its
own PROJ object from a recipe (pyproj/transformer.py, `TransformerLocal`). For a
Transformer made with `from_crs` that recipe searches PROJ's database for the
operation again — 200-500 ms for EPSG:4548 — in every new thread. `transformer()`
searches once and keeps a Transformer made from the operation found (PROJJSON), whose
per-thread copy costs about a millisecond and still knows its CRSs (transform_bounds);
a lock makes two threads asking at once search once.
"""

from __future__ import annotations

import threading

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError
from shapely import Geometry

WGS84 = CRS.from_epsg(4326)
METRIC = CRS.from_epsg(4548)  # CGCS2000 / 3-degree GK CM 117E, metres, x east

M2_PER_MU = 2000 / 3  # 1 亩 = 666.67 m²

_TRANSFORMERS: dict[tuple[str, str, bool], Transformer] = {}
_TRANSFORMERS_LOCK = threading.Lock()
_MAX_TRANSFORMERS = 64  # CRSs named by imported files are many; the app's are few


def transformer(source: CRS | str, target: CRS | str, *, always_xy: bool = False
                ) -> Transformer:
    """The Transformer from `source` to `target`, built once per process (see the module);
    safe to use from any thread."""
    key = (_crs_key(source), _crs_key(target), always_xy)
    found = _TRANSFORMERS.get(key)
    if found is not None:
        return found
    with _TRANSFORMERS_LOCK:
        found = _TRANSFORMERS.get(key)
        if found is None:
            found = _shareable(Transformer.from_crs(source, target, always_xy=always_xy))
            if len(_TRANSFORMERS) >= _MAX_TRANSFORMERS:
                _TRANSFORMERS.pop(next(iter(_TRANSFORMERS)))
            _TRANSFORMERS[key] = found
    return found


def _shareable(searched: Transformer) -> Transformer:
    """The operation found, as a Transformer cheap to copy into a new thread; PROJ cannot
    read some operations back (the inverse of a projection with axes normalised, as
    EPSG:4548 to lon/lat with always_xy): those stay as searched, paying the search again
    in each new thread (the servers' threads are long-lived)."""
    try:
        copy = Transformer.from_pipeline(searched.to_json())
    except ProjError:
        return searched
    if copy.source_crs is None or copy.target_crs is None:  # transform_bounds needs them
        return searched
    return copy


def _crs_key(crs: CRS | str) -> str:
    # What the CRS was made from ("EPSG:4548", a WKT ...): cheap, unlike to_wkt() (0.15 ms).
    return crs.srs if isinstance(crs, CRS) else str(crs)


_TO_METRIC = transformer(WGS84, METRIC, always_xy=True)
# EPSG:4548 (northing, easting) to lon/lat: PROJ can read this operation back (see
# _shareable), not its always_xy form; the functions below give it (y, x).
_TO_WGS84 = transformer(METRIC, "OGC:CRS84")


def to_metric(geom: Geometry) -> Geometry:
    """A WGS84 (lon/lat) geometry in EPSG:4548 metres."""
    return shapely.transform(geom, _TO_METRIC.transform, interleaved=False)


def to_wgs84(geom: Geometry) -> Geometry:
    """An EPSG:4548 geometry in WGS84 lon/lat."""
    return shapely.transform(geom, lambda x, y: _TO_WGS84.transform(y, x), interleaved=False)


def lonlat_to_metric(lon: float, lat: float) -> tuple[float, float]:
    x, y = _TO_METRIC.transform(lon, lat)
    return float(x), float(y)


def metric_to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = _TO_WGS84.transform(y, x)
    return float(lon), float(lat)


def metric_to_lonlat_arrays(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """metric_to_lonlat for arrays of coordinates, in one call."""
    return _TO_WGS84.transform(y, x)


def m2_to_mu(area_m2: float) -> float:
    return area_m2 / M2_PER_MU
