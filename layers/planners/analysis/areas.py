"""Areas drawn on the planners' map: reading one from a request, measuring it, and what
lies inside it (counts and totals by layer).

Plain functions over the layer store (no Flask). Every measure is taken in
EPSG:4548 metres, and every "what lies inside" goes through the layers'
STRtrees. Rules:

- points (venues, garbage points) count when they lie in the area (or on its edge);
- polygons (parking lots, parcels, projects) count when their representative
  point lies in the area, so a feature belongs to exactly one of the communities
  that tile the sub-district; parcel areas are the part of each parcel that
  lies inside (exact intersection).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import Geometry
from shapely.geometry import shape
from shapely.validation import explain_validity

from layers.catalogue.entries import (
    FIRM_KINDS,
    GARBAGE_BIN_FIELDS,
    GARBAGE_KINDS,
    JINAN_BOUNDS,
    NINE_SMALL,
    NINE_SMALL_KINDS,
    PARCEL_STATUSES,
)
from layers.errors import BadRequest
from layers.geo.crs import m2_to_mu, to_metric
from layers.records.inspections import STATUSES
from layers.stores.interfaces import Layers
from layers.stores.layers import LoadedLayer

AREA_TYPES = ("Polygon", "MultiPolygon")
LINE_TYPES = ("LineString", "MultiLineString")
MAX_AREA_M2 = 25_000_000  # 25 km²; the whole sub-district is 1.64 km²
MAX_VERTICES = 5_000

VenueStatuses = Mapping[str, Mapping[str, Any]]  # venue id -> live properties


# --- reading an area from a request --------------------------------------------


@dataclass(frozen=True)
class Area:
    """A user's geometry, in WGS84 (as given) and EPSG:4548 (for every measure)."""

    geometry: Geometry
    metric: Geometry


def read_geometry(data: Any, allowed: tuple[str, ...] = AREA_TYPES) -> Area:
    """A checked geometry from GeoJSON: a geometry, a Feature, or {"geometry": ...}.

    BadRequest (in Chinese, with the technical detail) when it cannot be used:
    not GeoJSON, a type not allowed, empty, not finite, outside Jinan, invalid
    (self-intersecting), too many vertices or too large an area.
    """
    if isinstance(data, Mapping) and (data.get("type") == "Feature" or "type" not in data):
        data = data.get("geometry")
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise BadRequest("请提供 GeoJSON 几何 (expected a GeoJSON geometry or Feature)")
    if data["type"] not in allowed:
        raise BadRequest(f"不支持的几何类型 {data['type']!r} (allowed: {', '.join(allowed)})")
    _check_coordinates(data.get("coordinates"))
    try:
        geom = shape(data)
        n_coords = int(shapely.get_num_coordinates(geom))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError,
            shapely.errors.GEOSException) as e:
        raise BadRequest(f"几何无法读取 (cannot read the geometry: {e})") from None
    if geom.is_empty:
        raise BadRequest("几何为空 (the geometry is empty)")
    if n_coords > MAX_VERTICES:
        raise BadRequest(f"几何顶点过多: {n_coords} 个,最多 {MAX_VERTICES} 个 (too many vertices)")
    west, south, east, north = JINAN_BOUNDS
    minx, miny, maxx, maxy = geom.bounds
    if not (west <= minx and maxx <= east and south <= miny and maxy <= north):
        raise BadRequest(f"范围超出济南市 (outside Jinan: lon {west}..{east}, lat {south}..{north};"
                         " coordinates are lon/lat, WGS84)")
    if not geom.is_valid:
        raise BadRequest(f"几何无效,例如边界自相交,请重新绘制 (invalid geometry: "
                         f"{explain_validity(geom)})")
    metric = to_metric(geom)
    if metric.area > MAX_AREA_M2:
        raise BadRequest(f"范围过大: {metric.area / 1e6:.1f} 平方公里,最多 "
                         f"{MAX_AREA_M2 / 1e6:g} 平方公里 (area too large)")
    return Area(geom, metric)


def _check_coordinates(value: Any, depth: int = 0) -> None:
    """Nested lists of finite numbers, as deep as GeoJSON goes; BadRequest otherwise."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer of hundreds of digits is no float
            finite = False
        if not finite:
            raise BadRequest("坐标必须是有限数值 (coordinates must be finite numbers)")
    elif isinstance(value, list | tuple) and depth < 4:
        for item in value:
            _check_coordinates(item, depth + 1)
    else:
        raise BadRequest("几何无法读取: 坐标必须是数值数组 (coordinates must be nested arrays "
                         "of numbers)")


# --- measures --------------------------------------------------------------------


def measure(area: Area) -> dict[str, Any]:
    """Length of a line, or area and perimeter of a polygon, in EPSG:4548 metres."""
    m = area.metric
    if m.geom_type in LINE_TYPES:
        return {"geometry_type": m.geom_type, "length_m": round(m.length, 1)}
    return {"geometry_type": m.geom_type, "perimeter_m": round(m.length, 1), **_area(m.area)}


def _area(m2: float) -> dict[str, float]:
    return {"area_m2": round(m2, 1), "area_mu": round(m2_to_mu(m2), 2),
            "area_km2": round(m2 / 1e6, 4)}


# --- what lies inside ------------------------------------------------------------


def points_inside(loaded: LoadedLayer, area: Geometry) -> list[int]:
    """Positions of the layer's features that intersect a metric area (points: inside or on it)."""
    return sorted(loaded.tree.query(area, predicate="intersects").tolist())


def polygons_inside(loaded: LoadedLayer, area: Geometry) -> list[int]:
    """Positions of the polygons whose representative point lies in a metric area."""
    candidates = loaded.tree.query(area, predicate="intersects")
    if not len(candidates):
        return []
    points = shapely.point_on_surface(loaded.metric[candidates])
    return sorted(candidates[shapely.intersects(area, points)].tolist())


def summarize(store: Layers, area: Geometry, statuses: VenueStatuses) -> dict[str, Any]:
    """Counts and totals of what lies inside a metric area, by layer."""
    shapely.prepare(area)
    return {
        **_area(area.area),
        "venues": _venues(store.get("venues"), area, statuses),
        "garbage": _garbage(store.get("garbage"), area),
        "parking": _parking(store.get("parking"), area),
        "parcels": _parcels(store.get("parcels"), area),
        "projects": _projects(store.get("projects"), area),
        # 12345 work orders of 2022 (positions illustrative): where complaints concentrate.
        "hotline": {"count": len(points_inside(store.get("hotline"), area))
                    if "hotline" in store.names() else 0},
    }


def _props(loaded: LoadedLayer, positions: list[int]) -> list[dict[str, Any]]:
    return [loaded.features[i]["properties"] for i in positions]


def _venues(loaded: LoadedLayer, area: Geometry, statuses: VenueStatuses) -> dict[str, Any]:
    positions = points_inside(loaded, area)
    ids = [loaded.ids[i] for i in positions]
    props = _props(loaded, positions)
    kinds = Counter(p["kind"] for p in props)
    live = [statuses.get(vid, {}) for vid in ids]
    status_counts = Counter(s.get("status") for s in live)
    return {
        "count": len(props),
        "nine_small": sum(1 for p in props if p["category"] == NINE_SMALL),
        "by_kind": [{"kind": k, "count": kinds[k]} for k in NINE_SMALL_KINDS + FIRM_KINDS
                    if kinds[k]],
        "by_status": [{"status": s, "count": status_counts[s]} for s in STATUSES],
        "open_hazards": sum(int(s.get("open_hazards") or 0) for s in live),
    }


def _garbage(loaded: LoadedLayer, area: Geometry) -> dict[str, Any]:
    props = _props(loaded, points_inside(loaded, area))
    return {
        "points": len(props),
        "bins": sum(p["bins"] for p in props),
        "by_kind": [{"kind": kind, "bins": sum(p[f] for p in props)}
                    for kind, f in zip(GARBAGE_KINDS, GARBAGE_BIN_FIELDS, strict=True)],
    }


def _parking(loaded: LoadedLayer, area: Geometry) -> dict[str, Any]:
    positions = polygons_inside(loaded, area)
    props = _props(loaded, positions)
    return {
        "lots": len(props),
        "spaces": sum(p["spaces"] for p in props),
        "items": [{"id": loaded.ids[i], "name": p["name"], "spaces": p["spaces"]}
                  for i, p in zip(positions, props, strict=True)],
    }


def _parcels(loaded: LoadedLayer, area: Geometry) -> dict[str, Any]:
    candidates = loaded.tree.query(area, predicate="intersects")
    inside = shapely.area(shapely.intersection(loaded.metric[candidates], area))
    items = [
        (int(i), float(a)) for i, a in sorted(zip(candidates.tolist(), inside, strict=True))
        if a > 0
    ]
    total = sum(a for _, a in items)
    by_status: dict[str, float] = {}
    for i, a in items:
        status = loaded.features[i]["properties"]["status"]
        by_status[status] = by_status.get(status, 0.0) + a
    return {
        "count": len(items),
        **_area(total),
        "by_status": [{"status": s, **_area(by_status[s])} for s in PARCEL_STATUSES
                      if s in by_status],
        "items": [
            {"id": loaded.ids[i], "name": loaded.features[i]["properties"]["name"],
             "status": loaded.features[i]["properties"]["status"],
             "share": round(a / loaded.metric[i].area, 4), **_area(a)}
            for i, a in items
        ],
    }


def _projects(loaded: LoadedLayer, area: Geometry) -> dict[str, Any]:
    positions = polygons_inside(loaded, area)
    return {
        "count": len(positions),
        "items": [{"id": loaded.ids[i], "name": p["name"], "category": p["category"],
                   "status": p["status"]}
                  for i, p in zip(positions, _props(loaded, positions), strict=True)],
    }
