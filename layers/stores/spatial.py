"""The spatial queries that must scale, behind one interface, and their embedded store.

`SpatialStore` is what routes ask of the layer data per request: the features
near a point (nearest first, geodesic metres), the features in a bbox, one
feature by id, the features containing a point and the distance to a layer.
Two stores implement it:

- `MemorySpatial` (here): the layer store's STRtree in EPSG:4548, in process;
- `layers.stores.postgis.PostgisSpatial`: GiST indexes, `ST_DWithin` in metres and
  KNN (`<->`) in PostGIS, chosen by DATABASE_URL (see server.py).

Both give the same answers: candidates are found in EPSG:4548, then the point
of each feature nearest the query point (the centroid when the point lies
inside a polygon) is measured on the WGS84 ellipsoid with pyproj, here, by
`geodesic_hits`. Results are ordered by (distance, id); features are the
layer's GeoJSON dicts, in layer order where no distance orders them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import shapely
from pyproj import Geod

from layers.geo.crs import lonlat_to_metric, metric_to_lonlat, metric_to_lonlat_arrays
from layers.stores.layers import LayerStore, LoadedLayer

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


class SpatialStore(Protocol):
    """The per-request spatial queries over the layers (lon/lat in, GeoJSON out)."""

    def nearby(self, layer: str, lon: float, lat: float, radius_m: float,
               limit: int | None = None, kinds: frozenset[str] | None = None,
               keep: Keep | None = None, offset: int = 0) -> Nearby:
        """Features within radius_m (geodesic) of the point, nearest first, after the
        `offset` nearest; `kinds` keeps those whose `kind` is one of them, `keep` those
        whose ids it returns. `total` counts all within the radius kept."""
        ...

    def in_bbox(self, layer: str, bbox: BBox) -> list[Feature]:
        """Features that intersect a lon/lat bbox, in layer order."""
        ...

    def feature(self, layer: str, feature_id: str) -> Feature | None:
        ...

    def containing(self, layer: str, lon: float, lat: float) -> list[Feature]:
        """Features that contain (or touch) the point, in layer order."""
        ...

    def distance_m(self, layer: str, lon: float, lat: float) -> float | None:
        """Geodesic distance to the layer's nearest feature (None when it is empty)."""
        ...


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


class MemorySpatial:
    """The embedded store: the layer store's STRtrees, in this process.

    `layers` returns the current layer store (it is swapped when the files are
    reloaded), so queries always see the data the pages see.
    """

    def __init__(self, layers: Callable[[], LayerStore]):
        self._layers = layers

    def _get(self, layer: str) -> LoadedLayer:
        return self._layers().get(layer)

    def targets(self, loaded: LoadedLayer, lon: float, lat: float,
                positions: Sequence[int]) -> list[Target]:
        here = shapely.Point(lonlat_to_metric(lon, lat))
        return [metric_target(loaded.ids[i], loaded.metric[i], here) for i in positions]

    def nearby(self, layer: str, lon: float, lat: float, radius_m: float,
               limit: int | None = None, kinds: frozenset[str] | None = None,
               keep: Keep | None = None, offset: int = 0) -> Nearby:
        """Candidates from the point grid (point layers) or the STRtree; for points the
        planar distance settles the sure ones, and only those near the radius or that
        may be among the `offset + limit` nearest are measured geodesically: the same
        answer as measuring them all (tests/test_nearby.py), at a fraction of the cost."""
        end = offset + limit if limit is not None else None
        loaded = self._get(layer)
        here = shapely.Point(lonlat_to_metric(lon, lat))
        candidates = candidates_near(loaded, here, index_radius(radius_m))
        if kinds is not None:
            candidates = candidates[_mask(loaded.features[i]["properties"].get("kind") in kinds
                                          for i in candidates.tolist())]
        if keep is not None:
            kept = keep([loaded.ids[i] for i in candidates.tolist()])
            candidates = candidates[_mask(loaded.ids[i] in kept for i in candidates.tolist())]
        if loaded.clusters is None:  # lines and polygons: measure each
            hits = ranked(self._measure(loaded, lon, lat, candidates.tolist()), radius_m)
            return Nearby(hits[offset:end], len(hits))
        index = loaded.clusters
        low, high = 1 - PLANE_TOLERANCE, 1 + PLANE_TOLERANCE
        plane = np.hypot(index.x[candidates] - here.x, index.y[candidates] - here.y)
        sure = plane <= radius_m * low - 1
        doubt = ~sure & (plane <= radius_m * high + 1)
        if doubt.any():
            edge = self._measure_points(loaded, lon, lat, candidates[doubt])
            sure[np.flatnonzero(doubt)] = [h.distance_m <= radius_m for h in edge]
        within, plane = candidates[sure], plane[sure]
        total = len(within)
        if end is not None and total > end:  # only those that can be among the nearest
            kth = np.partition(plane, end - 1)[end - 1]
            within = within[plane <= kth * high / low + 1]
        hits = ranked(self._measure_points(loaded, lon, lat, within))
        return Nearby(hits[offset:end], total)

    def _measure_points(self, loaded: LoadedLayer, lon: float, lat: float,
                        positions: np.ndarray) -> list[Hit]:
        """`geodesic_hits` for a point layer, from its coordinates all at once."""
        index = loaded.clusters
        assert index is not None
        lons, lats = metric_to_lonlat_arrays(index.x[positions], index.y[positions])
        n = len(positions)
        azimuth, _, distance = GEOD.inv(np.full(n, lon), np.full(n, lat), lons, lats)
        return [Hit(loaded.features[i], float(d), float(a) % 360)
                for i, a, d in zip(positions.tolist(), azimuth, distance, strict=True)]

    def _measure(self, loaded: LoadedLayer, lon: float, lat: float,
                 positions: Sequence[int]) -> list[Hit]:
        return geodesic_hits(lon, lat, self.targets(loaded, lon, lat, positions),
                             lambda fid: loaded.features[loaded.position(fid)])  # type: ignore[index]

    def in_bbox(self, layer: str, bbox: BBox) -> list[Feature]:
        loaded = self._get(layer)
        return [loaded.features[i] for i in loaded.in_bbox(bbox)]

    def feature(self, layer: str, feature_id: str) -> Feature | None:
        loaded = self._get(layer)
        position = loaded.position(feature_id)
        return None if position is None else loaded.features[position]

    def containing(self, layer: str, lon: float, lat: float) -> list[Feature]:
        loaded = self._get(layer)
        here = shapely.Point(lonlat_to_metric(lon, lat))
        hits = sorted(int(i) for i in loaded.tree.query(here, predicate="intersects"))
        return [loaded.features[i] for i in hits]

    def distance_m(self, layer: str, lon: float, lat: float) -> float | None:
        loaded = self._get(layer)
        if not len(loaded):
            return None
        return min(h.distance_m for h in self._measure(loaded, lon, lat, range(len(loaded))))


def candidates_near(loaded: LoadedLayer, here: shapely.Point, distance: float) -> np.ndarray:
    """Positions of the features within `distance` metres of `here` in the plane (EPSG:4548):
    point layers ask their grid (no GEOS call per point), others the STRtree."""
    if loaded.clusters is not None:
        return loaded.clusters.near(here.x, here.y, distance)
    return loaded.tree.query(here, predicate="dwithin", distance=distance)


def _mask(flags: Iterable[bool]) -> np.ndarray:
    return np.fromiter(flags, dtype=bool)
