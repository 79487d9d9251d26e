"""Where am I and what is near me: point queries over the layer store.

No Flask here: the inspect blueprint parses a request's arguments with the
`parse_*` functions (BadRequest with a message on bad input) and calls the
queries.

Candidates come from each layer's STRtree in EPSG:4548 (metres); the exact
distance and the bearing are then geodesic (pyproj Geod on WGS84) from the
query point to the feature: to a point feature itself, to the nearest point
of a polygon (0 inside it, bearing then towards its centroid).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer

from .catalogue import (
    FIRM,
    FIRM_KINDS,
    JINAN_BOUNDS,
    NINE_SMALL,
    NINE_SMALL_KINDS,
    get_layer,
)
from .chinacoords import SYSTEMS, to_wgs84
from .crs import METRIC, WGS84, lonlat_to_metric, metric_to_lonlat
from .errors import BadRequest
from .inspections import VenueStatus
from .store import LayerStore, LoadedLayer

GEOD = Geod(ellps="WGS84")
_TO_WGS84 = Transformer.from_crs(METRIC, WGS84, always_xy=True)

NEARBY_LAYERS = ("venues", "garbage", "parking")
DEFAULT_RADIUS_M = 500.0
MAX_RADIUS_M = 5000.0
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Venue status filters: due (next inspection within DUE_SOON_DAYS), overdue (not
# inspected within the kind's interval), hazard (a hazard is open: 立案 or 整改中).
STATUS_FILTERS = ("due", "overdue", "hazard")
# Category names accepted as `kind`, meaning all of their kinds.
KIND_GROUPS = {NINE_SMALL: NINE_SMALL_KINDS, FIRM: FIRM_KINDS}
DIRECTIONS = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")


@dataclass(frozen=True)
class Point:
    """A query point in WGS84, and what the user gave."""

    lon: float
    lat: float
    crs: str = "wgs84"
    input_lon: float | None = None
    input_lat: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "crs": self.crs,
            "input": [self.input_lon, self.input_lat],
        }


@dataclass(frozen=True)
class NearbyQuery:
    point: Point
    layer: str
    radius_m: float
    limit: int
    kinds: frozenset[str] | None  # None: any kind
    statuses: tuple[str, ...]  # STATUS_FILTERS wanted (any of them); () for all


@dataclass(frozen=True)
class Hit:
    position: int  # in the layer
    distance_m: float
    bearing_deg: float


# --- parsing request arguments ------------------------------------------------


def parse_point(args: Mapping[str, str]) -> Point:
    """`lon`, `lat` (degrees) and `crs` (wgs84, gcj02, bd09) as a WGS84 point in Jinan."""
    crs = (args.get("crs") or "wgs84").strip().lower()
    if crs not in SYSTEMS:
        raise BadRequest(f"crs must be one of {', '.join(SYSTEMS)}, not {crs!r}")
    lon = _number(args, "lon", "longitude, e.g. 116.96")
    lat = _number(args, "lat", "latitude, e.g. 36.66")
    min_lon, min_lat, max_lon, max_lat = JINAN_BOUNDS
    if min_lon <= lat <= max_lon and min_lat <= lon <= max_lat:
        raise BadRequest(f"lon={lon} and lat={lat} look swapped: give the longitude (about 117 "
                         "in Jinan) as lon and the latitude (about 36.7) as lat")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadRequest(f"lon={lon}, lat={lat} are not degrees (lon -180..180, lat -90..90); "
                         "projected coordinates in metres are not accepted")
    wlon, wlat = to_wgs84(lon, lat, crs)
    if not (min_lon <= wlon <= max_lon and min_lat <= wlat <= max_lat):
        raise BadRequest(f"lon={lon}, lat={lat} is far outside Jinan (lon {min_lon}..{max_lon}, "
                         f"lat {min_lat}..{max_lat}); this service covers 中大槐树街道")
    return Point(float(wlon), float(wlat), crs, lon, lat)


def parse_nearby(args: Mapping[str, str]) -> NearbyQuery:
    layer = args.get("layer") or "venues"
    if layer not in NEARBY_LAYERS:
        raise BadRequest(f"layer must be one of {', '.join(NEARBY_LAYERS)}, not {layer!r}")
    radius = _number(args, "radius_m", "metres", DEFAULT_RADIUS_M)
    if radius <= 0:
        raise BadRequest("radius_m must be more than 0")
    if radius > MAX_RADIUS_M:
        raise BadRequest(f"radius_m must not exceed {MAX_RADIUS_M:g} (metres); got {radius:g}")
    limit_number = _number(args, "limit", "a whole number", DEFAULT_LIMIT)
    if limit_number != int(limit_number) or limit_number < 1:
        raise BadRequest("limit must be a whole number of at least 1")
    if limit_number > MAX_LIMIT:
        raise BadRequest(f"limit must not exceed {MAX_LIMIT}; got {limit_number:g}")
    return NearbyQuery(
        point=parse_point(args),
        layer=layer,
        radius_m=radius,
        limit=int(limit_number),
        kinds=_kinds(args.get("kind"), layer),
        statuses=_statuses(args.get("status"), layer),
    )


def _number(args: Mapping[str, str], name: str, hint: str, default: float | None = None
            ) -> float:
    text = args.get(name)
    if text is None or not text.strip():
        if default is not None:
            return default
        raise BadRequest(f"{name} is missing ({hint})")
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name}={text!r} is not a number ({hint})") from None
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number")
    return value


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _kinds(text: str | None, layer: str) -> frozenset[str] | None:
    wanted = _csv(text)
    if not wanted:
        return None
    allowed = _layer_kinds(layer)
    if not allowed:
        raise BadRequest(f"layer {layer} has no kinds to filter by")
    kinds: set[str] = set()
    for kind in wanted:
        if layer == "venues" and kind in KIND_GROUPS:
            kinds.update(KIND_GROUPS[kind])
        elif kind in allowed:
            kinds.add(kind)
        else:
            raise BadRequest(f"unknown kind {kind!r} for layer {layer}; kinds are: "
                             + ", ".join(allowed))
    return frozenset(kinds)


def _layer_kinds(layer: str) -> tuple[str, ...]:
    try:
        return get_layer(layer).field("kind").choices
    except KeyError:
        return ()


def _statuses(text: str | None, layer: str) -> tuple[str, ...]:
    wanted = _csv(text)
    if wanted and layer != "venues":
        raise BadRequest("status filters only the venues layer")
    for status in wanted:
        if status not in STATUS_FILTERS:
            raise BadRequest(f"status must be one of {', '.join(STATUS_FILTERS)}, not {status!r}")
    return tuple(wanted)


# --- queries ------------------------------------------------------------------


def status_matches(status: VenueStatus | None, wanted: Sequence[str]) -> bool:
    if not wanted:
        return True
    if status is None:
        return False
    flags = {"due": status.due_soon, "overdue": status.overdue,
             "hazard": status.open_hazards > 0}
    return any(flags[w] for w in wanted)


def direction(bearing_deg: float) -> str:
    """One of eight Chinese compass directions (北, 东北, ...) for a bearing."""
    return DIRECTIONS[int(((bearing_deg % 360) + 22.5) // 45) % 8]


# Planar distances in EPSG:4548 and geodesic ones differ by the projection's
# scale, under 0.01 % within Jinan (JINAN_BOUNDS): bounds ten times wider than
# that decide what needs the exact geodesic distance.
PLANE_TOLERANCE = 0.001


def nearest(loaded: LoadedLayer, point: Point, radius_m: float, limit: int | None,
            keep: Callable[[int], bool] | None = None) -> tuple[list[Hit], int]:
    """The `limit` nearest features within radius_m (all: None), and how many lie within.

    Candidates come from `candidates_near`. For point layers the planar distance
    of every candidate (NumPy, from the coordinates kept at load) sorts out the
    sure ones; only those near the radius and those that may be among the `limit`
    nearest are measured geodesically, so the answer is the same as measuring
    them all.
    """
    low, high = 1 - PLANE_TOLERANCE, 1 + PLANE_TOLERANCE
    here = shapely.Point(lonlat_to_metric(point.lon, point.lat))
    candidates = candidates_near(loaded, here, radius_m * high + 1)
    if keep is not None:
        candidates = np.array([i for i in candidates.tolist() if keep(i)], dtype=np.int64)
    if loaded.clusters is None:  # lines and polygons: measure each
        hits = [h for h in measure(loaded, point, candidates.tolist())
                if h.distance_m <= radius_m]
        hits.sort(key=lambda h: (h.distance_m, loaded.ids[h.position]))
        return hits[:limit] if limit is not None else hits, len(hits)
    index = loaded.clusters
    plane = np.hypot(index.x[candidates] - here.x, index.y[candidates] - here.y)
    sure = plane <= radius_m * low - 1
    doubt = ~sure & (plane <= radius_m * high + 1)
    if doubt.any():
        edge = measure(loaded, point, candidates[doubt].tolist())
        sure[np.flatnonzero(doubt)] = [h.distance_m <= radius_m for h in edge]
    within, plane = candidates[sure], plane[sure]
    total = len(within)
    if limit is not None and total > limit:
        # Only those planar-near enough to be among the `limit` nearest.
        kth = np.partition(plane, limit - 1)[limit - 1]
        within = within[plane <= kth * high / low + 1]
    hits = measure(loaded, point, within.tolist())
    hits.sort(key=lambda h: (h.distance_m, loaded.ids[h.position]))
    return hits[:limit] if limit is not None else hits, total


def candidates_near(loaded: LoadedLayer, here: shapely.Point, distance: float) -> np.ndarray:
    """Positions of the features within `distance` metres of `here` in the plane (EPSG:4548).

    Point layers ask their grid (no GEOS call per point), others the STRtree.
    """
    if loaded.clusters is not None:
        return loaded.clusters.near(here.x, here.y, distance)
    return loaded.tree.query(here, predicate="dwithin", distance=distance)


def measure(loaded: LoadedLayer, point: Point, positions: Sequence[int]) -> list[Hit]:
    """Geodesic distance and bearing from the point to each feature."""
    if not positions:
        return []
    if loaded.clusters is not None:  # a point layer: its coordinates, all at once
        xs, ys = loaded.clusters.x[positions], loaded.clusters.y[positions]
        lon, lat = _TO_WGS84.transform(xs, ys)
        inside = [False] * len(positions)
    else:
        here = shapely.Point(lonlat_to_metric(point.lon, point.lat))
        targets, inside = [], []
        for i in positions:
            geom = loaded.metric[i]
            if geom.geom_type == "Point":
                targets.append((geom.x, geom.y))
                inside.append(False)
            elif geom.intersects(here):
                centroid = geom.centroid
                targets.append((centroid.x, centroid.y))
                inside.append(True)
            else:
                nearest_point = shapely.shortest_line(geom, here).coords[0]
                targets.append(nearest_point)
                inside.append(False)
        lonlat = np.array([metric_to_lonlat(x, y) for x, y in targets])
        lon, lat = lonlat[:, 0], lonlat[:, 1]
    n = len(positions)
    azimuth, _, distance = GEOD.inv(np.full(n, point.lon), np.full(n, point.lat), lon, lat)
    return [
        Hit(i, 0.0 if within else float(d), float(a) % 360)
        for i, a, d, within in zip(positions, azimuth, distance, inside, strict=True)
    ]


def hit_feature(loaded: LoadedLayer, hit: Hit,
                live: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    feature = loaded.features[hit.position]
    bearing = round(hit.bearing_deg, 1) % 360
    return {
        **feature,
        "properties": {
            **feature["properties"],
            **(live or {}).get(feature["id"], {}),
            "distance_m": round(hit.distance_m, 1),
            "bearing_deg": bearing,
            "direction": direction(bearing),
        },
    }


def nearby_collection(store: LayerStore, query: NearbyQuery,
                      statuses: StatusLookup | Mapping[str, VenueStatus] | None = None
                      ) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the query's features, nearest first.

    `statuses` (venue ids -> their statuses, or a mapping of them all) is needed
    for the venues layer: it filters by status and adds each venue's live status
    to its properties. Only the venues the query needs are looked up.
    """
    loaded = store.get(query.layer)
    kinds = query.kinds
    lookup = _lookup(statuses)
    wanted: Mapping[str, VenueStatus] = {}
    if query.statuses and lookup is not None:
        here = shapely.Point(lonlat_to_metric(query.point.lon, query.point.lat))
        near = candidates_near(loaded, here, query.radius_m * (1 + PLANE_TOLERANCE) + 1)
        wanted = lookup([loaded.ids[i] for i in near.tolist()])

    def keep(i: int) -> bool:
        props = loaded.features[i]["properties"]
        if kinds is not None and props.get("kind") not in kinds:
            return False
        return status_matches(wanted.get(loaded.ids[i]), query.statuses)

    filtering = kinds is not None or bool(query.statuses)
    hits, total = nearest(loaded, query.point, query.radius_m, query.limit,
                          keep if filtering else None)
    live = None
    if lookup is not None:
        found = lookup([loaded.ids[h.position] for h in hits])
        live = {vid: s.as_properties() for vid, s in found.items()}
    return {
        "type": "FeatureCollection",
        "features": [hit_feature(loaded, h, live) for h in hits],
        "query": {
            "point": query.point.as_json(),
            "layer": query.layer,
            "radius_m": query.radius_m,
            "limit": query.limit,
            "kind": sorted(kinds) if kinds is not None else None,
            "status": list(query.statuses),
        },
        "total": total,
    }


# Venue ids -> their statuses (e.g. InspectionStore.statuses of those venues).
StatusLookup = Callable[[Sequence[str]], Mapping[str, VenueStatus]]


def _lookup(statuses: StatusLookup | Mapping[str, VenueStatus] | None) -> StatusLookup | None:
    if statuses is None or callable(statuses):
        return statuses
    every = statuses
    return lambda ids: {vid: every[vid] for vid in ids if vid in every}


def overdue_collection(store: LayerStore, statuses: Mapping[str, VenueStatus],
                       point: Point | None) -> dict[str, Any]:
    """Every overdue venue: nearest first from a point, else the longest overdue first."""
    venues = store.get("venues")
    positions = [i for i, vid in enumerate(venues.ids)
                 if (s := statuses.get(vid)) is not None and s.overdue]
    live = {vid: s.as_properties() for vid, s in statuses.items()}
    if point is not None:
        hits = sorted(measure(venues, point, positions),
                      key=lambda h: (h.distance_m, venues.ids[h.position]))
        features = [hit_feature(venues, h, live) for h in hits]
    else:
        positions.sort(key=lambda i: (statuses[venues.ids[i]].next_due, venues.ids[i]))
        features = venues.collection(positions, live)["features"]
    return {
        "type": "FeatureCollection",
        "features": features,
        "query": {"point": point.as_json() if point else None},
        "total": len(features),
    }


def locate(store: LayerStore, point: Point) -> dict[str, Any]:
    """The community and grid cell a point lies in, or that it lies outside."""
    here = shapely.Point(lonlat_to_metric(point.lon, point.lat))
    found: dict[str, dict[str, Any] | None] = {}
    for name, fields in (("communities", ("name",)), ("grid", ("name", "code", "community"))):
        loaded = store.get(name)
        hits = sorted(int(i) for i in loaded.tree.query(here, predicate="intersects"))
        if hits:
            feature = loaded.features[hits[0]]
            found[name] = {"id": feature["id"],
                           **{f: feature["properties"][f] for f in fields}}
        else:
            found[name] = None
    boundary = store.get("boundary")
    inside = bool(len(boundary.tree.query(here, predicate="intersects")))
    outside_by = None
    if not inside and len(boundary):
        outside_by = round(min(measure(boundary, point, list(range(len(boundary)))),
                               key=lambda h: h.distance_m).distance_m, 1)
    return {
        "point": point.as_json(),
        "inside": inside,
        "community": found["communities"],
        "grid": found["grid"],
        "distance_to_boundary_m": outside_by,
    }
