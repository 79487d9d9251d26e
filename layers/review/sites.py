"""The leaders' tables of land parcels and project sites: rows, filters, totals.

Columns are field names of the catalogue (labels, units and allowed statuses
come from there) plus measures the store adds (area in m² and 亩, measured in
EPSG:4548) and, for projects, the share of the planned investment done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from layers.catalogue.entries import Layer
from layers.data.tables import Column
from layers.errors import BadRequest
from layers.geo.crs import m2_to_mu
from layers.stores.layers import LoadedLayer

IDLE = "闲置"


@dataclass(frozen=True)
class Table:
    """What a site table shows: which fields, in which order."""

    layer: str
    fields: tuple[str, ...]
    default_sort: str


TABLES = {
    "parcels": Table("parcels", ("name", "status", "owner", "area_m2", "area_mu", "years_idle",
                                 "planned_use", "last_update", "community", "note"),
                     default_sort="area_mu"),
    "projects": Table("projects", ("name", "category", "status", "investment_plan_wan",
                                   "investment_to_date_wan", "investment_progress_pct",
                                   "investment_2022_wan", "expected_completion", "delay", "partner",
                                   "community", "area_m2", "area_mu", "last_update", "note"),
                      default_sort="investment_to_date_wan"),
}

_MEASURES = {
    "area_m2": Column("area_m2", "面积(平方米)", "float", "平方米"),
    "area_mu": Column("area_mu", "面积(亩)", "float", "亩"),
    "investment_progress_pct": Column("investment_progress_pct", "累计完成投资占计划(%)",
                                      "pct", "%"),
    "delay": Column("delay", "逾期", "str"),
}
# A project in these statuses after the year it was expected to be done is late.
UNFINISHED = ("在建", "筹备开业", "规划中")


def delay(props: dict[str, Any], today: dt.date | None) -> str | None:
    """How late a project is ("逾期2年11个月"), counted from the end of its expected
    year; None if it is not late, is done, or has no expected year."""
    year = props.get("expected_completion")
    if today is None or props.get("status") not in UNFINISHED or not year:
        return None
    months = (today.year - int(year) - 1) * 12 + today.month
    if months <= 0:
        return None
    years, rest = divmod(months, 12)
    return "逾期" + (f"{years}年" if years else "") + (f"{rest}个月" if rest else "")


def columns(layer: Layer) -> list[Column]:
    """The table's columns, labelled from the catalogue."""
    out = []
    for name in TABLES[layer.name].fields:
        if name in _MEASURES:
            out.append(_MEASURES[name])
            continue
        f = layer.field(name)
        out.append(Column(name, f.label, f.type, f.unit))
    return out


def rows(loaded: LoadedLayer, today: dt.date | None = None) -> list[dict[str, Any]]:
    """One row per feature: its id and the table's fields (None where unknown); a
    project's delay is counted to `today` (none without it)."""
    fields = TABLES[loaded.name].fields
    out = []
    for feature in loaded.features:
        props = dict(feature["properties"])
        plan, done = props.get("investment_plan_wan"), props.get("investment_to_date_wan")
        props["investment_progress_pct"] = round(100 * done / plan, 1) if plan and done else None
        props["delay"] = delay(props, today)
        row = {"id": feature["id"], **{name: props.get(name) for name in fields}}
        if props.get("part_of"):  # a part of another parcel (八里桥蔬菜市场 of its 片区)
            row["part_of"] = props["part_of"]
        out.append(row)
    return out


def parse_statuses(text: str | None, layer: Layer) -> tuple[str, ...] | None:
    """`status=闲置,规划中` as a tuple of allowed statuses; None for all."""
    if text is None or not text.strip():
        return None
    allowed = layer.field("status").choices
    chosen = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not chosen:  # "status=,,": no status named, as "status=" (all)
        return None
    unknown = [s for s in chosen if s not in allowed]
    if unknown:
        raise BadRequest(f"未知状态 {'、'.join(unknown)} (unknown status {', '.join(unknown)}; "
                         f"statuses are: {', '.join(allowed)})")
    return chosen


def parse_sort(sort: str | None, order: str | None, layer: Layer) -> tuple[str, bool]:
    """(field, descending) from `sort` and `order=asc|desc`; the table's default otherwise."""
    fields = TABLES[layer.name].fields
    field = sort or TABLES[layer.name].default_sort
    if field not in fields:
        raise BadRequest(f"不能按 {field!r} 排序 (cannot sort by {field!r}; columns are: "
                         f"{', '.join(fields)})")
    if order not in (None, "", "asc", "desc"):
        raise BadRequest("排序方向须为 asc 或 desc (order must be asc or desc)")
    descending = order == "desc" if order else sort is None  # default: largest first
    return field, descending


def select(table_rows: Sequence[dict[str, Any]], statuses: Sequence[str] | None,
           sort: str, descending: bool, status_order: Sequence[str] = ()
           ) -> list[dict[str, Any]]:
    """Rows of the given statuses, sorted by a field; ties by id, empty values last.

    Statuses sort in their own order (闲置, 规划中, 在建, 已利用), not alphabetically.
    """
    chosen = sorted((r for r in table_rows if statuses is None or r.get("status") in statuses),
                    key=lambda r: r["id"])
    present = [r for r in chosen if r.get(sort) is not None]
    missing = [r for r in chosen if r.get(sort) is None]
    rank = {s: i for i, s in enumerate(status_order)}
    if sort == "status" and rank:
        present.sort(key=lambda r: rank.get(r[sort], len(rank)), reverse=descending)
    else:
        present.sort(key=lambda r: r[sort], reverse=descending)  # stable: ties keep id order
    return present + missing


def totals(table_rows: Sequence[dict[str, Any]], layer: Layer) -> dict[str, Any]:
    """Counts and areas overall and by status; idle area for parcels, money for projects."""
    statuses = layer.field("status").choices
    by_status: dict[str, dict[str, Any]] = {
        s: {"count": 0, "area_m2": 0.0, "area_mu": 0.0} for s in statuses}
    for r in table_rows:
        entry = by_status[r["status"]]
        entry["count"] += 1
        entry["area_m2"] += r.get("area_m2") or 0
    for entry in by_status.values():
        entry["area_m2"] = round(entry["area_m2"], 1)
        entry["area_mu"] = round(m2_to_mu(entry["area_m2"]), 2)
    # A part of another site listed too is counted once, in the whole.
    area_m2 = round(sum(r.get("area_m2") or 0 for r in table_rows
                        if not (r.get("part_of") and any(o.get("name") == r["part_of"]
                                                         for o in table_rows))), 1)
    out: dict[str, Any] = {
        "count": len(table_rows),
        "area_m2": area_m2,
        "area_mu": round(m2_to_mu(area_m2), 2),
        "by_status": by_status,
    }
    if layer.name == "parcels":
        out["idle_count"] = by_status[IDLE]["count"]
        out["idle_area_mu"] = by_status[IDLE]["area_mu"]
        out["idle_area_m2"] = by_status[IDLE]["area_m2"]
    else:
        for key in ("investment_plan_wan", "investment_to_date_wan", "investment_2022_wan"):
            out[key] = round(sum(r.get(key) or 0 for r in table_rows), 1)
    return out
