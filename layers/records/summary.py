"""The live figures of the records for the leaders' dashboard (beside the 2022 figures of
the work report): inspections this year and this month, open hazards, and by community
the venues 超期未整改 (a hazard past its deadline) and 逾期未检 (not inspected in time)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from layers.catalogue.live import STATUS_OVERDUE, STATUS_RECTIFICATION_OVERDUE
from layers.stores.interfaces import RecordStore


def live_figures(records: RecordStore, venues: Iterable[tuple[str, str | None]],
                 live: Mapping[str, Mapping[str, Any]], communities: Iterable[str],
                 today: dt.date) -> dict[str, Any]:
    """`venues`: (venue id, its community); `live`: each venue's live properties (its
    status); `communities`: the names of the communities, in the order shown."""
    rows: dict[str, dict[str, Any]] = {name: _row(name) for name in communities}
    for venue_id, community in venues:
        props = live.get(venue_id) or {}
        name = community or "未知社区"
        row = rows.setdefault(name, _row(name))
        row["venues"] += 1
        row["open_hazards"] += int(props.get("open_hazards") or 0)
        if int(props.get("overdue_hazards") or 0) > 0:
            row["rectification_overdue"] += 1
        if props.get("overdue"):
            row["inspection_overdue"] += 1
    by_community = list(rows.values())
    return {
        "date": today.isoformat(),
        "inspections_this_year": records.inspections_since(today.replace(month=1, day=1)),
        "inspections_this_month": records.inspections_since(today.replace(day=1)),
        "open_hazards": sum(r["open_hazards"] for r in by_community),
        "rectification_overdue": sum(r["rectification_overdue"] for r in by_community),
        "inspection_overdue": sum(r["inspection_overdue"] for r in by_community),
        "labels": {"rectification_overdue": STATUS_RECTIFICATION_OVERDUE,
                   "inspection_overdue": STATUS_OVERDUE},
        "by_community": by_community,
    }


def _row(community: str) -> dict[str, Any]:
    return {"community": community, "venues": 0, "rectification_overdue": 0,
            "inspection_overdue": 0, "open_hazards": 0}
