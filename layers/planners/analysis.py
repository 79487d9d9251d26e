"""Spatial summaries: what lies inside an area, coverage shares, community choropleths.

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

import functools
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import Geometry
from shapely.geometry import mapping, shape
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
from layers.errors import BadRequest, NotFound
from layers.geo.crs import lonlat_to_metric, m2_to_mu, to_metric, to_wgs84
from layers.records.inspections import STATUS_OVERDUE, STATUSES
from layers.stores.layers import LayerStore, LoadedLayer

AREA_TYPES = ("Polygon", "MultiPolygon")
LINE_TYPES = ("LineString", "MultiLineString")
MAX_AREA_M2 = 25_000_000  # 25 km²; the whole sub-district is 1.64 km²
MAX_VERTICES = 5_000

GARBAGE_WALK_M = 100  # the walking radius a garbage point serves
READING_CIRCLE_M = 1_000  # the "15-minute reading circle"
READING_SITES = ("泉城书房", "图书馆御景分馆", "图书馆裕园分馆")
COVERAGE_LABELS = {
    "garbage": f"垃圾投放点{GARBAGE_WALK_M}米步行范围",
    "reading": f"15分钟阅读圈({READING_CIRCLE_M // 1000}公里)",
}

# ColorBrewer YlOrRd, five classes: light = low, dark = high.
CHOROPLETH_COLORS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")

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
        if not math.isfinite(value):
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


def summarize(store: LayerStore, area: Geometry, statuses: VenueStatuses) -> dict[str, Any]:
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


# --- communities -----------------------------------------------------------------


def community_position(store: LayerStore, name: str) -> int:
    """The position of the community called `name`; NotFound otherwise."""
    loaded = store.get("communities")
    for i, feature in enumerate(loaded.features):
        if feature["properties"]["name"] == name:
            return i
    names = "、".join(f["properties"]["name"] for f in loaded.features)
    raise NotFound(f"没有名为 {name!r} 的社区 (no such community; communities: {names})")


def community_at(store: LayerStore, lon: float, lat: float) -> int:
    """The position of the community that contains a lon/lat point; NotFound otherwise."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise BadRequest("经纬度必须是有限数值 (lon and lat must be finite numbers)")
    west, south, east, north = JINAN_BOUNDS
    if not (west <= lon <= east and south <= lat <= north):
        raise BadRequest("该点不在济南市范围内 (the point lies outside Jinan)")
    loaded = store.get("communities")
    hits = loaded.tree.query(shapely.Point(lonlat_to_metric(lon, lat)), predicate="intersects")
    if not len(hits):
        raise NotFound("该点不在任何社区内 (the point lies in no community)")
    return int(hits.min())


def community_summary(store: LayerStore, position: int, statuses: VenueStatuses
                      ) -> dict[str, Any]:
    """The summary of one community, with its id, name and outline (WGS84)."""
    loaded = store.get("communities")
    feature = loaded.features[position]
    return {
        "community": {"id": feature["id"], "name": feature["properties"]["name"]},
        "geometry": feature["geometry"],
        **summarize(store, loaded.metric[position], statuses),
    }


# --- choropleth ------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    unit: str
    value: Callable[[dict[str, Any]], float]  # from a community's summary
    digits: int = 0


INDICATORS: tuple[Indicator, ...] = (
    Indicator("bins_per_km2", "每平方公里垃圾桶数", "个/平方公里",
              lambda s: s["garbage"]["bins"] / s["area_km2"], digits=1),
    Indicator("venues", "安全监管场所数", "个", lambda s: s["venues"]["count"]),
    Indicator("open_hazards", "未整改隐患数", "处", lambda s: s["venues"]["open_hazards"]),
    Indicator("overdue", "逾期未检场所数", "个",
              lambda s: next(r["count"] for r in s["venues"]["by_status"]
                             if r["status"] == STATUS_OVERDUE)),
    Indicator("parking_spaces", "停车泊位数", "个", lambda s: s["parking"]["spaces"]),
    Indicator("hotline_per_km2", "每平方公里12345工单数(2022年,位置示意)", "件/平方公里",
              lambda s: s["hotline"]["count"] / s["area_km2"], digits=1),
)
_INDICATORS = {i.key: i for i in INDICATORS}


def get_indicator(key: str) -> Indicator:
    try:
        return _INDICATORS[key]
    except KeyError:
        raise BadRequest(f"未知指标 {key!r} (indicator must be one of: "
                         f"{', '.join(_INDICATORS)})") from None


def equal_interval_classes(values: list[float], digits: int = 0,
                           colors: tuple[str, ...] = CHOROPLETH_COLORS
                           ) -> tuple[list[dict[str, Any]], list[int]]:
    """Equal-interval classes over the values' range, and each value's class index.

    Counts (digits=0) get whole-number classes that do not overlap (1–2, 3–4, ...),
    at most one class per number; measures get breaks rounded to `digits`.
    """
    lo, hi = min(values), max(values)
    if hi == lo:
        return [{"min": lo, "max": hi, "color": colors[-1]}], [0] * len(values)
    if digits == 0:
        first, span = math.floor(lo), math.floor(hi) - math.floor(lo) + 1
        n = min(len(colors), span)
        starts = [first + k * span // n for k in range(n)]
        ends = [first + (k + 1) * span // n - 1 for k in range(n)]
        palette = [colors[round(k * (len(colors) - 1) / (n - 1))] for k in range(n)]
        classes = [{"min": a, "max": b, "color": c}
                   for a, b, c in zip(starts, ends, palette, strict=True)]
        index = [max(k for k in range(n) if starts[k] <= v) for v in values]
        return classes, index
    n = len(colors)
    step = (hi - lo) / n
    classes = [{"min": round(lo + k * step, digits),
                "max": round(hi if k == n - 1 else lo + (k + 1) * step, digits),
                "color": colors[k]} for k in range(n)]
    return classes, [min(int((v - lo) / step), n - 1) for v in values]


def choropleth(store: LayerStore, key: str, statuses: VenueStatuses) -> dict[str, Any]:
    """Each community's value of an indicator, its class and colour, as GeoJSON."""
    indicator = get_indicator(key)
    loaded = store.get("communities")
    raw = [float(indicator.value(summarize(store, m, statuses))) for m in loaded.metric]
    values: list[float] = ([round(v, indicator.digits) for v in raw] if indicator.digits
                           else [round(v) for v in raw])
    classes, index = equal_interval_classes(values, indicator.digits)
    return {
        "type": "FeatureCollection",
        "indicator": {"key": indicator.key, "label": indicator.label, "unit": indicator.unit},
        "classes": classes,
        "features": [
            {"type": "Feature", "id": f["id"], "geometry": f["geometry"],
             "properties": {"name": f["properties"]["name"], "value": v, "class": k,
                            "color": classes[k]["color"]}}
            for f, v, k in zip(loaded.features, values, index, strict=True)
        ],
    }


# --- coverage --------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def coverage(store: LayerStore) -> dict[str, Any]:
    """Service areas and the share of each community they cover (the store never changes).

    - garbage: the 100 m walking radius around every garbage point;
    - reading: the 1 km (15-minute) circle around each reading site.
    """
    garbage = store.get("garbage")
    projects = store.get("projects")
    sites = [i for i, f in enumerate(projects.features) if f["properties"]["name"] in READING_SITES]
    garbage_area = shapely.union_all(shapely.buffer(garbage.metric, GARBAGE_WALK_M, quad_segs=16))
    reading_area = shapely.union_all(shapely.buffer(
        shapely.centroid(projects.metric[sites]), READING_CIRCLE_M, quad_segs=32))
    communities = store.get("communities")
    rows = []
    for feature, m in zip(communities.features, communities.metric, strict=True):
        rows.append({"id": feature["id"], "name": feature["properties"]["name"],
                     **_shares(m, garbage_area, reading_area)})
    return {
        "garbage": {"label": COVERAGE_LABELS["garbage"], "radius_m": GARBAGE_WALK_M,
                    "sites": len(garbage), "geometry": _output(garbage_area)},
        "reading": {"label": COVERAGE_LABELS["reading"],
                    "radius_m": READING_CIRCLE_M,
                    "sites": [projects.features[i]["properties"]["name"] for i in sites],
                    "geometry": _output(reading_area)},
        "communities": rows,
        "total": {"name": "全街道", **_shares(shapely.union_all(store.get("boundary").metric),
                                               garbage_area, reading_area)},
    }


def _shares(area: Geometry, garbage: Geometry, reading: Geometry) -> dict[str, float]:
    return {
        "area_m2": round(area.area, 1),
        "garbage_share": round(area.intersection(garbage).area / area.area, 4),
        "reading_share": round(area.intersection(reading).area / area.area, 4),
    }


def _output(metric: Geometry) -> dict[str, Any] | None:
    """A metric area as a WGS84 GeoJSON geometry, simplified to 0.5 m, or None if empty."""
    if metric.is_empty:
        return None
    wgs = shapely.set_precision(to_wgs84(metric.simplify(0.5)), 1e-7)
    return mapping(wgs)
