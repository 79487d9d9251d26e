"""Communities: finding one by name or by a point, its summary, and the choropleth of an
indicator over all of them (equal-interval classes)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shapely

from layers.catalogue.entries import JINAN_BOUNDS
from layers.errors import BadRequest, NotFound
from layers.geo.crs import lonlat_to_metric
from layers.planners.analysis.areas import VenueStatuses, summarize
from layers.records.inspections import STATUS_OVERDUE
from layers.stores.interfaces import Layers

# ColorBrewer YlOrRd, five classes: light = low, dark = high.
CHOROPLETH_COLORS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")


# --- communities -----------------------------------------------------------------


def community_position(store: Layers, name: str) -> int:
    """The position of the community called `name`; NotFound otherwise."""
    loaded = store.get("communities")
    for i, feature in enumerate(loaded.features):
        if feature["properties"]["name"] == name:
            return i
    names = "、".join(f["properties"]["name"] for f in loaded.features)
    raise NotFound(f"没有名为 {name!r} 的社区 (no such community; communities: {names})")


def community_at(store: Layers, lon: float, lat: float) -> int:
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


def community_summary(store: Layers, position: int, statuses: VenueStatuses
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
    Indicator("bins_per_km2", "每平方公里垃圾桶数(示意)", "个/平方公里",
              lambda s: s["garbage"]["bins"] / s["area_km2"], digits=1),
    Indicator("venues", "安全监管场所数", "个", lambda s: s["venues"]["count"]),
    Indicator("open_hazards", "未整改隐患数", "处", lambda s: s["venues"]["open_hazards"]),
    Indicator("overdue", "逾期未检场所数", "个",
              lambda s: next(r["count"] for r in s["venues"]["by_status"]
                             if r["status"] == STATUS_OVERDUE)),
    Indicator("parking_spaces", "停车泊位数(示意)", "个", lambda s: s["parking"]["spaces"]),
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


def equal_interval_classes(values: list[float], digits: int = 0
                           ) -> tuple[list[dict[str, Any]], list[int]]:
    """Equal-interval classes over the values' range, and each value's class index,
    coloured from CHOROPLETH_COLORS.

    Counts (digits=0) get whole-number classes that do not overlap (1–2, 3–4, ...),
    at most one class per number; measures get breaks rounded to `digits`.
    """
    colors = CHOROPLETH_COLORS
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


def choropleth(store: Layers, key: str, statuses: VenueStatuses) -> dict[str, Any]:
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
