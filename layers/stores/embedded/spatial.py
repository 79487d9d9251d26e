"""The embedded spatial store: the layer store's STRtrees (and point grids), in process."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import shapely

from layers.geo import tiles
from layers.geo.crs import lonlat_to_metric, metric_to_lonlat_arrays
from layers.stores.interfaces import Layers
from layers.stores.layers import LoadedLayer
from layers.stores.spatial import (
    GEOD,
    PLANE_TOLERANCE,
    BBox,
    Feature,
    Hit,
    Keep,
    Nearby,
    Target,
    geodesic_hits,
    index_radius,
    metric_target,
    ranked,
)


class MemorySpatial:
    """The embedded store: the layer store's STRtrees, in this process.

    `layers` returns the current layer store (it is swapped when the files are
    reloaded), so queries always see the data the pages see.
    """

    def __init__(self, layers: Callable[[], Layers]):
        self._layers = layers

    def _get(self, layer: str) -> LoadedLayer:
        return self._layers().get(layer)

    def tile(self, layer: str, z: int, y: int, x: int) -> bytes:
        """The layer's Mapbox Vector Tile z/y/x (WebMercatorQuad; layers/geo/tiles.py):
        a point layer's from its PointTiles (`point_tiles`), encoded as arrays; a line or
        polygon layer's found by the STRtree and encoded by mapbox-vector-tile."""
        loaded = self._get(layer)
        points = point_tiles(loaded)
        if points is not None:
            chosen, tx, ty = points.in_tile(z, y, x)
            found = chosen.tolist()
            return tiles.encode_points(layer, found, tx, ty, feature_attributes(loaded, found))
        positions = loaded.in_bbox(tiles.lonlat_bounds(z, y, x, tiles.BUFFER / tiles.EXTENT))
        return tiles.encode(layer, loaded.geometries[positions], positions,
                            feature_attributes(loaded, positions), z, y, x)

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

    def ids_in_bbox(self, layer: str, bbox: BBox) -> list[str]:
        loaded = self._get(layer)
        return [loaded.ids[i] for i in loaded.in_bbox(bbox)]

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


def point_tiles(loaded: LoadedLayer) -> tiles.PointTiles | None:
    """A point layer's PointTiles, made on its first tile and kept with the layer version;
    None for lines and polygons (they keep the STRtree and GEOS clipping)."""
    if loaded.layer.geometry != "Point":
        return None
    return loaded.once_per_places("mvt_points", lambda layer: tiles.PointTiles(
        shapely.get_coordinates(layer.geometries)))


def feature_attributes(loaded: LoadedLayer, positions: Sequence[int]) -> list[tiles.Attributes]:
    """The features' MVT attributes, each made once per layer version (on first use: the
    features of a tile together, close in memory)."""
    made: list[tiles.Attributes | None] = loaded.once("mvt_attributes",
                                                      lambda layer: [None] * len(layer))
    out = []
    strings: dict[str, str] = {}  # the copies of equal strings shared (tiles.attributes)
    for i in positions:
        attributes = made[i]
        if attributes is None:
            attributes = made[i] = tiles.attributes(loaded.features[i], strings)
        out.append(attributes)
    return out
