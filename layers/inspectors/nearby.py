"""Where am I and what is near me: point queries over the layer store.

No Flask here: the inspect blueprint parses a request's arguments with the
`parse_*` functions (BadRequest with a message on bad input) and calls the
queries.

The queries go through a `SpatialStore` (layers/stores/spatial.py: the in-process
STRtree, or PostGIS): candidates are found in EPSG:4548 (metres); the exact
distance and the bearing are then geodesic (pyproj Geod on WGS84) from the
query point to the feature: to a point feature itself, to the nearest point
of a polygon (0 inside it, bearing then towards its centroid).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely

from layers.catalogue.entries import (
    FIRM,
    FIRM_KINDS,
    JINAN_BOUNDS,
    NINE_SMALL,
    NINE_SMALL_KINDS,
    get_layer,
)
from layers.errors import BadRequest
from layers.geo.chinacoords import SYSTEMS, to_wgs84
from layers.geo.crs import lonlat_to_metric
from layers.records.inspections import VenueStatus
from layers.stores.layers import LayerStore, LoadedLayer
from layers.stores.spatial import Hit, SpatialStore, geodesic_hits, metric_target, ranked

NEARBY_LAYERS = ("venues", "garbage", "parking")
DEFAULT_RADIUS_M = 500.0
MAX_RADIUS_M = 5000.0
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 100_000  # pages of the nearest: far more than any radius here holds
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
    offset: int  # the nearest skipped: the next page starts after the features shown
    kinds: frozenset[str] | None  # None: any kind
    statuses: tuple[str, ...]  # STATUS_FILTERS wanted (any of them); () for all


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
        raise BadRequest(f"经纬度顺序颠倒:lon={lon} and lat={lat} look swapped: give the "
                         "longitude (about 117 in Jinan) as lon and the latitude (about 36.7) "
                         "as lat")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadRequest(f"坐标不是经纬度:lon={lon}, lat={lat} are not degrees (lon -180..180, "
                         "lat -90..90); projected coordinates in metres are not accepted")
    wlon, wlat = to_wgs84(lon, lat, crs)
    if not (min_lon <= wlon <= max_lon and min_lat <= wlat <= max_lat):
        raise BadRequest(f"坐标远在济南以外:lon={lon}, lat={lat} is far outside Jinan "
                         f"(lon {min_lon}..{max_lon}, lat {min_lat}..{max_lat}); this service "
                         "covers 中大槐树街道")
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
    offset = _number(args, "offset", "a whole number", 0)
    if offset != int(offset) or offset < 0:
        raise BadRequest("offset 须为不小于 0 的整数 (offset must be a whole number of at "
                         "least 0: how many of the nearest to skip)")
    if offset > MAX_OFFSET:
        raise BadRequest(f"offset 不能超过 {MAX_OFFSET} (offset must not exceed {MAX_OFFSET}; "
                         f"got {offset:g})")
    return NearbyQuery(
        point=parse_point(args),
        layer=layer,
        radius_m=radius,
        limit=int(limit_number),
        offset=int(offset),
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


def measure(loaded: LoadedLayer, point: Point, positions: Sequence[int]) -> list[Hit]:
    """Geodesic distance and bearing from the point to each feature (in process)."""
    here = shapely.Point(lonlat_to_metric(point.lon, point.lat))
    targets = [metric_target(loaded.ids[i], loaded.metric[i], here) for i in positions]
    return geodesic_hits(point.lon, point.lat, targets,
                         lambda fid: loaded.features[loaded.position(fid)])  # type: ignore[index]


def hit_feature(hit: Hit, live: Mapping[str, Mapping[str, Any]] | None = None
                ) -> dict[str, Any]:
    feature = hit.feature
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


def nearby_collection(spatial: SpatialStore, query: NearbyQuery,
                      statuses: StatusLookup | Mapping[str, VenueStatus] | None = None
                      ) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the query's features, nearest first (after the
    `offset` nearest: pages of one order, by distance then id).

    `statuses` (venue ids -> their statuses, or a mapping of them all) is needed
    for the venues layer: it filters by status and adds each venue's live status
    to its properties. Only the venues the query needs are looked up.
    """
    kinds = query.kinds
    lookup = _lookup(statuses)

    def keep(feature_ids: Sequence[str]) -> set[str]:
        found = lookup(feature_ids) if lookup is not None else {}
        return {fid for fid in feature_ids if status_matches(found.get(fid), query.statuses)}

    found = spatial.nearby(query.layer, query.point.lon, query.point.lat, query.radius_m,
                           query.limit, kinds, keep if query.statuses else None,
                           offset=query.offset)
    live = None
    if lookup is not None:
        shown = lookup([h.feature["id"] for h in found.hits])
        live = {vid: s.as_properties() for vid, s in shown.items()}
    return {
        "type": "FeatureCollection",
        "features": [hit_feature(h, live) for h in found.hits],
        "query": {
            "point": query.point.as_json(),
            "layer": query.layer,
            "radius_m": query.radius_m,
            "limit": query.limit,
            "offset": query.offset,
            "kind": sorted(kinds) if kinds is not None else None,
            "status": list(query.statuses),
        },
        "total": found.total,
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
        hits = ranked(measure(venues, point, positions))
        features = [hit_feature(h, live) for h in hits]
    else:
        positions.sort(key=lambda i: (statuses[venues.ids[i]].next_due, venues.ids[i]))
        features = venues.collection(positions, live)["features"]
    return {
        "type": "FeatureCollection",
        "features": features,
        "query": {"point": point.as_json() if point else None},
        "total": len(features),
    }


LOCATE_LAYERS = ("communities", "grid", "boundary")  # what locate() reads


def locate(spatial: SpatialStore, point: Point) -> dict[str, Any]:
    """The community and grid cell a point lies in, or that it lies outside."""
    found: dict[str, dict[str, Any] | None] = {}
    for name, fields in (("communities", ("name",)), ("grid", ("name", "code", "community"))):
        hits = spatial.containing(name, point.lon, point.lat)
        found[name] = ({"id": hits[0]["id"], **{f: hits[0]["properties"][f] for f in fields}}
                       if hits else None)
    inside = bool(spatial.containing("boundary", point.lon, point.lat))
    outside_by = None
    if not inside:
        distance = spatial.distance_m("boundary", point.lon, point.lat)
        outside_by = round(distance, 1) if distance is not None else None
    return {
        "point": point.as_json(),
        "inside": inside,
        "community": found["communities"],
        "grid": found["grid"],
        "distance_to_boundary_m": outside_by,
    }
