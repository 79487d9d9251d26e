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
from layers.catalogue.live import STATUS_CLOSED
from layers.errors import BadRequest
from layers.geo.chinacoords import SYSTEMS, to_wgs84
from layers.geo.crs import lonlat_to_metric
from layers.records.inspections import VenueStatus
from layers.stores.interfaces import Layers, SpatialStore
from layers.stores.layers import LoadedLayer
from layers.stores.spatial import Hit, geodesic_hits, metric_target, ranked
from layers.web import params

NEARBY_LAYERS = ("venues", "garbage", "parking")
DEFAULT_RADIUS_M = 500.0
MAX_RADIUS_M = 5000.0
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 100_000  # pages of the nearest: far more than any radius here holds
# Venue status filters: due (next inspection within DUE_SOON_DAYS), overdue (not
# inspected within the kind's interval), hazard (a hazard is open: 立案 or 整改中),
# late (a hazard is open past its deadline: 超期未整改).
STATUS_FILTERS = ("due", "overdue", "hazard", "late")
# The lists of /api/overdue: venues overdue for inspection (逾期未检, the default) or
# with a hazard past its rectification deadline (超期未整改).
OVERDUE_LISTS = ("inspection", "rectification")
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


def parse_crs(args: Mapping[str, str]) -> str:
    """`crs`: the coordinate system of lon/lat (wgs84 when absent)."""
    return params.choice((args.get("crs") or "wgs84").strip().lower(), "crs", SYSTEMS)


def parse_point(args: Mapping[str, str]) -> Point:
    """`lon`, `lat` (degrees) and `crs` (wgs84, gcj02, bd09) as a WGS84 point in Jinan."""
    crs = parse_crs(args)
    lon, lat = params.lon_lat(args)
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
    layer = params.choice(args.get("layer") or None, "layer", NEARBY_LAYERS, "venues")
    radius = params.number(args.get("radius_m"), "radius_m", default=DEFAULT_RADIUS_M, above=0,
                           maximum=MAX_RADIUS_M, unit="metres")
    limit = params.integer(args.get("limit"), "limit", default=DEFAULT_LIMIT, minimum=1,
                           maximum=MAX_LIMIT)
    offset = params.integer(args.get("offset"), "offset", default=0, maximum=MAX_OFFSET,
                            hint="how many of the nearest to skip")
    return NearbyQuery(
        point=parse_point(args),
        layer=layer,
        radius_m=radius,
        limit=limit,
        offset=offset,
        kinds=_kinds(args.get("kind"), layer),
        statuses=_statuses(args.get("status"), layer),
    )


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _kinds(text: str | None, layer: str) -> frozenset[str] | None:
    wanted = _csv(text)
    if not wanted:
        return None
    allowed = _layer_kinds(layer)
    if not allowed:
        raise BadRequest(f"图层 {layer} 没有可筛选的类型 (layer {layer} has no kinds to filter by)")
    kinds: set[str] = set()
    for kind in wanted:
        if layer == "venues" and kind in KIND_GROUPS:
            kinds.update(KIND_GROUPS[kind])
        elif kind in allowed:
            kinds.add(kind)
        else:
            raise BadRequest(f"未知类型 {kind!r} (unknown kind {kind!r} for layer {layer}; "
                             f"kinds are: {', '.join(allowed)})")
    return frozenset(kinds)


def _layer_kinds(layer: str) -> tuple[str, ...]:
    try:
        return get_layer(layer).field("kind").choices
    except KeyError:
        return ()


def _statuses(text: str | None, layer: str) -> tuple[str, ...]:
    wanted = _csv(text)
    if wanted and layer != "venues":
        raise BadRequest("status 只能筛选场所图层 (status filters only the venues layer)")
    return tuple(params.choice(status, "status", STATUS_FILTERS) for status in wanted)


# --- queries ------------------------------------------------------------------


def status_matches(status: VenueStatus | None, wanted: Sequence[str]) -> bool:
    if not wanted:
        return True
    if status is None:
        return False
    # A closed venue (已停业) is on no list of work, whatever its open hazards.
    flags = {"due": status.due_soon, "overdue": status.overdue,
             "hazard": status.open_hazards > 0 and status.status != STATUS_CLOSED,
             "late": status.overdue_hazards > 0}
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
                      lookup: StatusLookup | None) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the query's features, nearest first (after the
    `offset` nearest: pages of one order, by distance then id).

    `lookup` (venue ids -> their statuses) is needed for the venues layer: it
    filters by status and adds each venue's live status to its properties. Only
    the venues the query needs are looked up.
    """
    kinds = query.kinds
    looked_up: dict[str, VenueStatus] = {}  # each venue's status is looked up once

    def keep(feature_ids: Sequence[str]) -> set[str]:
        if lookup is not None:
            looked_up.update(lookup([fid for fid in feature_ids if fid not in looked_up]))
        return {fid for fid in feature_ids
                if status_matches(looked_up.get(fid), query.statuses)}

    found = spatial.nearby(query.layer, query.point.lon, query.point.lat, query.radius_m,
                           query.limit, kinds, keep if query.statuses else None,
                           offset=query.offset)
    live = None
    if lookup is not None:
        missing = [h.feature["id"] for h in found.hits if h.feature["id"] not in looked_up]
        if missing:
            looked_up.update(lookup(missing))
        live = {h.feature["id"]: looked_up[h.feature["id"]].as_properties()
                for h in found.hits if h.feature["id"] in looked_up}
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


def parse_overdue_list(text: str | None) -> str:
    """`of`: which overdue list (OVERDUE_LISTS; inspection when absent)."""
    if not text:
        return OVERDUE_LISTS[0]
    if text not in OVERDUE_LISTS:
        raise BadRequest(f"列表须为 inspection（逾期未检）或 rectification（超期未整改）,而不是 "
                         f"{text!r} (of must be one of {', '.join(OVERDUE_LISTS)}, not {text!r})")
    return text


def overdue_collection(store: Layers, statuses: Mapping[str, VenueStatus],
                       point: Point | None, of: str = "inspection") -> dict[str, Any]:
    """Every venue overdue for inspection (`of` "inspection": 逾期未检) or with a hazard
    past its deadline ("rectification": 超期未整改): nearest first from a point, else
    the longest overdue first."""
    venues = store.get("venues")
    late = of == "rectification"
    positions = [i for i, vid in enumerate(venues.ids)
                 if (s := statuses.get(vid)) is not None
                 and (s.overdue_hazards > 0 if late else s.overdue)]
    live = {vid: s.as_properties() for vid, s in statuses.items()}
    if point is not None:
        hits = ranked(measure(venues, point, positions))
        features = [hit_feature(h, live) for h in hits]
    else:
        if late:
            positions.sort(key=lambda i: (-statuses[venues.ids[i]].rectification_overdue_days,
                                          venues.ids[i]))
        else:
            positions.sort(key=lambda i: (statuses[venues.ids[i]].next_due, venues.ids[i]))
        features = venues.collection(positions, live)["features"]
    return {
        "type": "FeatureCollection",
        "features": features,
        "query": {"point": point.as_json() if point else None, "of": of},
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
