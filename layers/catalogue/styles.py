"""How maps, legends and exports present the layers beyond their catalogue entries.

- Thematic styles: colours and symbols by category (garbage points by the kinds
  they take and their bin count, venues by kind and inspection status, parcels
  by status, projects by category, roads by kind). The page script draws with
  these and builds the legend from the same values, so the legend always
  matches what is drawn.
- Labels and units of the fields, measures and live properties (catalogue.live:
  a venue's inspection status) for popups, tables and exports.

Every allowed value of a styled field has an entry (a test checks it against
the catalogue).
"""

from __future__ import annotations

from typing import Any

from layers.catalogue.entries import FIRM, GARBAGE_BIN_FIELDS, GARBAGE_KINDS, NINE_SMALL, Layer
from layers.catalogue.live import (
    STATUS_CLOSED,
    STATUS_HAZARD,
    STATUS_OK,
    STATUS_OVERDUE,
    STATUS_RECTIFICATION_OVERDUE,
    live_properties,
)

# Column labels of properties that several layers label differently (停车场名称, 场所名称 ...):
# exports of several layers head them so, and imports take them.
SHARED_LABELS = {"name": "名称", "kind": "类型", "status": "状态", "category": "类别",
                 "code": "编码"}


def field_label(layer: Layer, name: str) -> str:
    """Chinese label of a catalogue field, a measure, or a live property or flag."""
    for live in live_properties(layer):
        if live.name == name:
            return live.label
    return layer.label(name)


def field_unit(layer: Layer, name: str) -> str:
    for f in (*layer.fields, *live_properties(layer)):
        if f.name == name:
            return f.unit
    return ""


def leaflet_style(layer: Layer) -> dict[str, Any]:
    """A layer's default style (its catalogue Style) as Leaflet path options, for the page
    scripts: the overview map, the inspectors' page and the review pages draw with it."""
    style = layer.style
    return {
        "color": style.color,
        "fillColor": style.fill_color or style.color,
        "weight": style.weight,
        "fillOpacity": style.fill_opacity,
        "radius": style.radius,
        "dashArray": style.dash_array,
    }


# --- thematic styles -------------------------------------------------------

# The national standard colours of the four sorted-garbage kinds (GB/T 19095).
GARBAGE_KIND_COLORS = {
    "可回收物": "#1f5fa8",
    "有害垃圾": "#d0302a",
    "厨余垃圾": "#2e8b3e",
    "其他垃圾": "#55595e",
}
# Marker diameter (px) by a point's bin count: (largest count of the class, diameter, label).
GARBAGE_SIZE_CLASSES: tuple[tuple[int | None, int, str], ...] = (
    (10, 14, "10桶及以下"),
    (13, 18, "11–13桶"),
    (None, 22, "14桶及以上"),
)

# Worst first: a cluster of venues is a ring of its statuses' shares, in this order.
VENUE_STATUS_COLORS = {
    STATUS_RECTIFICATION_OVERDUE: "#7a1fa2",  # purple: past the hazard's deadline
    STATUS_HAZARD: "#d62c1f",
    STATUS_OVERDUE: "#f0a020",
    STATUS_OK: "#2e9e5b",
    STATUS_CLOSED: "#a0a5aa",  # grey: closed, no work there
}
VENUE_UNKNOWN_COLOR = "#8a8f94"  # a venue served without a status
# One character per venue kind, drawn inside the marker.
VENUE_KIND_GLYPHS = {
    "小学校或幼儿园": "学",
    "小医院": "医",
    "小商店": "店",
    "小餐饮": "餐",
    "小旅馆": "旅",
    "小歌舞娱乐": "歌",
    "小网吧": "网",
    "小美容洗浴": "浴",
    "小生产加工企业": "加",
    "商贸企业": "贸",
    "工贸企业": "工",
    "物流仓储企业": "仓",
    "建筑施工企业": "建",
}
# Marker shape by venue category.
VENUE_CATEGORY_SHAPES = {NINE_SMALL: "circle", FIRM: "square"}

PARCEL_STATUS_COLORS = {
    "闲置": "#b9531b",
    "规划中": "#f2b233",
    "在建": "#d4679a",
    "已利用": "#7fb77e",
}

# Projects by status: the leaders' table and brief (the maps colour projects by category).
PROJECT_STATUS_COLORS = {
    "在建": "#d4679a",  # as a parcel under construction
    "筹备开业": "#2e7fc1",
    "规划中": "#f2b233",  # as a parcel being planned
    "运营中": "#7fb77e",  # as a parcel in use
    "程序化解": "#8a8f94",
}


def status_colors(layer: Layer) -> dict[str, str]:
    """The one colour of each status of a layer, on every page (table, map, legend)."""
    return dict({"parcels": PARCEL_STATUS_COLORS, "projects": PROJECT_STATUS_COLORS}
                .get(layer.name, {}))


PROJECT_CATEGORY_COLORS = {
    "重点项目": "#7d3c98",
    "医疗养老": "#1a9c8c",
    "商业": "#2e7fc1",
    "文化": "#c79a16",
    "便民设施": "#6c7a89",
    "风险点": "#a93226",
}
PLANNED_DASH = "6 4"  # outline of projects not yet built (规划中)

# Service areas of the coverage analysis (see analysis.coverage).
COVERAGE_COLORS = {"garbage": "#2e8b3e", "reading": "#2e6fd1"}

ROAD_KIND_STYLES: dict[str, dict[str, Any]] = {
    "主干路": {"color": "#8d8d8d", "weight": 7},
    "次干路": {"color": "#a3a3a3", "weight": 5},
    "支路": {"color": "#b8b8b8", "weight": 3},
    # The railway: a black line under a white dashed one, the usual map symbol.
    "铁路": {"color": "#222222", "weight": 5, "casing": True, "dashColor": "#ffffff",
             "dashArray": "10 10", "dashWeight": 3},
}


def theme(layer: Layer) -> dict[str, Any] | None:
    """The thematic style of a layer for the page script, or None (one colour)."""
    if layer.name == "garbage":
        return {
            "kind": "garbage",
            "kinds": [{"value": k, "color": GARBAGE_KIND_COLORS[k], "field": f}
                      for k, f in zip(GARBAGE_KINDS, GARBAGE_BIN_FIELDS, strict=True)],
            "sizes": [{"max": top, "diameter": d, "label": label}
                      for top, d, label in GARBAGE_SIZE_CLASSES],
        }
    if layer.name == "venues":
        return {
            "kind": "venues",
            "statuses": [{"value": s, "color": c} for s, c in VENUE_STATUS_COLORS.items()],
            "unknownColor": VENUE_UNKNOWN_COLOR,
            "glyphs": [{"value": k, "glyph": g} for k, g in VENUE_KIND_GLYPHS.items()],
            "shapes": [{"value": c, "shape": s} for c, s in VENUE_CATEGORY_SHAPES.items()],
        }
    if layer.name == "parcels":
        return {"kind": "category", "field": "status",
                "values": [{"value": v, "color": c} for v, c in PARCEL_STATUS_COLORS.items()]}
    if layer.name == "projects":
        return {"kind": "category", "field": "category",
                "values": [{"value": v, "color": c} for v, c in PROJECT_CATEGORY_COLORS.items()],
                "dashed": {"field": "status", "value": "规划中", "dashArray": PLANNED_DASH}}
    if layer.name == "roads":
        return {"kind": "roads", "field": "kind",
                "values": [{"value": v, **s} for v, s in ROAD_KIND_STYLES.items()]}
    return None


# Which field each thematic style reads: the catalogue must allow exactly these values.
THEMED_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("garbage", "kinds"): tuple(GARBAGE_KIND_COLORS),
    ("venues", "kind"): tuple(VENUE_KIND_GLYPHS),
    ("venues", "category"): tuple(VENUE_CATEGORY_SHAPES),
    ("parcels", "status"): tuple(PARCEL_STATUS_COLORS),
    ("projects", "status"): tuple(PROJECT_STATUS_COLORS),
    ("projects", "category"): tuple(PROJECT_CATEGORY_COLORS),
    ("roads", "kind"): tuple(ROAD_KIND_STYLES),
}


def community_field(layer: Layer) -> str | None:
    """The property that names a feature's community (the communities' own name)."""
    if layer.name == "communities":
        return "name"
    return "community" if any(f.name == "community" for f in layer.fields) else None
