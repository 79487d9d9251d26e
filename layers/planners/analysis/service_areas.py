"""Coverage: the service areas of garbage points (a walk) and reading sites (the 15-minute
reading circle), and the share of each community they cover."""

from __future__ import annotations

import functools
from typing import Any

import shapely
from shapely import Geometry
from shapely.geometry import mapping

from layers.geo.crs import to_wgs84
from layers.stores.interfaces import Layers

GARBAGE_WALK_M = 100  # the walking radius a garbage point serves
READING_CIRCLE_M = 1_000  # the "15-minute reading circle"
READING_SITES = ("泉城书房", "图书馆御景分馆", "图书馆裕园分馆")
COVERAGE_LABELS = {
    "garbage": f"垃圾投放点{GARBAGE_WALK_M}米步行范围",
    "reading": f"15分钟阅读圈({READING_CIRCLE_M // 1000}公里)",
}


@functools.lru_cache(maxsize=8)
def coverage(store: Layers) -> dict[str, Any]:
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
