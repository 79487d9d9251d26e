"""The 12345 hotline work orders of 2022 by month, community and category.

The count (3,176, every one answered, closed and satisfied) is the document's;
positions, dates and categories are illustrative (geodata/README.md). The
dashboard shows where and when complaints concentrate; the overview map shows
the same orders as a heat map and as a choropleth (hotline_per_km2).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from layers.catalogue.entries import COMMUNITIES, HOTLINE_CATEGORIES
from layers.stores.layers import LayerStore

LAYER = "hotline"
MONTHS = tuple(f"{m}月" for m in range(1, 13))


def hotline_summary(store: LayerStore) -> dict[str, Any]:
    """Counts of the work orders; empty counts if the layer is not served."""
    if LAYER not in store.names():
        return {"total": 0, "by_month": [], "by_community": [], "by_category": [],
                "rates": {}, "illustrative": True}
    loaded = store.get(LAYER)
    props = [f["properties"] for f in loaded.features]
    months = Counter(int(p["date"][5:7]) for p in props)
    communities = Counter(p["community"] for p in props)
    categories = Counter(p["category"] for p in props)
    areas = {f["properties"]["name"]: m.area
             for f, m in zip(store.get("communities").features, store.get("communities").metric,
                             strict=True)}
    total = len(props)
    return {
        "total": total,
        "rates": {key: round(100 * sum(1 for p in props if p[key]) / total, 1) if total else 0.0
                  for key in ("answered", "closed", "satisfied")},
        "by_month": [{"month": label, "count": months[m]}
                     for m, label in enumerate(MONTHS, start=1)],
        "by_community": [{"community": c, "count": communities[c],
                          "per_km2": round(communities[c] / (areas[c] / 1e6)) if areas.get(c)
                          else None} for c in COMMUNITIES],
        "by_category": [{"category": c, "count": categories[c]} for c in HOTLINE_CATEGORIES],
        "illustrative": True,  # only the total and the rates are the document's
    }
