"""What the spatial stores share: their result types and the geodesic measures.

`layers.stores.interfaces.SpatialStore` is what routes ask of the layer data per
request: the features near a point (nearest first, geodesic metres), the
features in a bbox, one feature by id, the features containing a point and the
distance to a layer. Two stores implement it:

- `layers.stores.embedded.spatial.MemorySpatial`: the layer store's STRtree in
  EPSG:4548, in process;
- `layers.stores.postgis.spatial.PostgisSpatial`: GiST indexes, `ST_DWithin` in
  metres and KNN (`<->`) in PostGIS, chosen by DATABASE_URL (see server.py).

Both give the same answers: candidates are found in EPSG:4548, then the point
of each feature nearest the query point (the centroid when the point lies
inside a polygon) is measured on the WGS84 ellipsoid with pyproj, here, by
`geodesic_hits` here. Results are ordered by (distance, id); features are the
layer's GeoJSON dicts, in layer order where no distance orders them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Geod

from layers.geo.crs import metric_to_lonlat

GEOD = Geod(ellps="WGS84")

Feature = dict[str, Any]
BBox = tuple[float, float, float, float]
# The index radius: the plane distance in EPSG:4548 differs from the geodesic
# one by its scale (under 0.01 % here), so ask for a little more and cut exactly.
INDEX_MARGIN = 1.01
INDEX_EXTRA_M = 1.0


# Within Jinan the plane distance differs from the geodesic one by under 0.01 %:
# bounds ten times wider than that decide which points need the exact measure.
PLANE_TOLERANCE = 0.001
# A filter on feature ids only Python knows (the venues' statuses): the candidates'
# ids in, the ids to keep out (one call per query, so it can look them up at once).
Keep = Callable[[Sequence[str]], Collection[str]]


def index_radius(radius_m: float) -> float:
    return radius_m * INDEX_MARGIN + INDEX_EXTRA_M


@dataclass(frozen=True)
class Hit:
    feature: Feature
    distance_m: float
    bearing_deg: float  # 0-360, clockwise from north


@dataclass(frozen=True)
class Nearby:
    hits: list[Hit]  # nearest first (ties by id) after the offset, at most the limit asked
    total: int  # all within the radius that were kept


@dataclass(frozen=True)
class Target:
    """Where a feature is measured to from a query point (EPSG:4548)."""

    feature_id: str
    x: float
    y: float
    inside: bool  # the point lies inside the (polygon) feature: distance 0


def geodesic_hits(lon: float, lat: float, targets: Sequence[Target],
                  features: Callable[[str], Feature]) -> list[Hit]:
    """Distance and bearing on the WGS84 ellipsoid from the point to each target."""
    if not targets:
        return []
    lonlat = np.array([metric_to_lonlat(t.x, t.y) for t in targets])
    n = len(targets)
    azimuth, _, distance = GEOD.inv(np.full(n, lon), np.full(n, lat),
                                    lonlat[:, 0], lonlat[:, 1])
    return [
        Hit(features(t.feature_id), 0.0 if t.inside else float(d), float(a) % 360)
        for t, a, d in zip(targets, azimuth, distance, strict=True)
    ]


def ranked(hits: list[Hit], radius_m: float | None = None) -> list[Hit]:
    """Hits within the radius, nearest first, ties by id."""
    kept = hits if radius_m is None else [h for h in hits if h.distance_m <= radius_m]
    return sorted(kept, key=lambda h: (h.distance_m, h.feature["id"]))


def metric_target(feature_id: str, geom: shapely.Geometry, here: shapely.Point) -> Target:
    """The point of a feature that a query point is measured to (EPSG:4548)."""
    if geom.geom_type == "Point":
        return Target(feature_id, geom.x, geom.y, False)
    if geom.intersects(here):
        centroid = geom.centroid
        return Target(feature_id, centroid.x, centroid.y, True)
    x, y = shapely.shortest_line(geom, here).coords[0]
    return Target(feature_id, x, y, False)
