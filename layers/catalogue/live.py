"""Live properties: what the service adds to a layer's features at run time.

A venue's inspection status follows from its records, not from its GeoJSON
file. Its properties are declared here once, with their Chinese labels, types
and units, and everything that names them reads this list: the records
(`VenueStatus.as_properties`), popups and exports (catalogue.styles), the
OpenAPI schema (web.openapi), the OGC API's queryables and tables (ogc).
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.catalogue.entries import Field, Layer

# A venue's status on every map and list (see records.inspections.venue_status).
STATUS_OK = "合格"
STATUS_HAZARD = "隐患未改"
STATUS_OVERDUE = "逾期未检"
# A hazard open past its rectification deadline (整改期限): worse than 隐患未改.
STATUS_RECTIFICATION_OVERDUE = "超期未整改"
# A venue closed (its `closed_on` set): due for no inspection, on no list of work.
STATUS_CLOSED = "已停业"
STATUSES = (STATUS_OK, STATUS_HAZARD, STATUS_OVERDUE, STATUS_RECTIFICATION_OVERDUE,
            STATUS_CLOSED)

DUE_SOON_DAYS = 30  # "due": the next inspection falls within this many days


@dataclass(frozen=True)
class LiveProperty(Field):
    """A property the service adds to a layer's features (a catalogue Field and more)."""

    note: str = ""  # what the API documentation says beside the label
    flag: bool = False  # a yes/no flag: full tables label it; popups and exports leave it out
    queryable: bool = False  # the OGC API's items operation filters on it


LIVE_PROPERTIES: dict[str, tuple[LiveProperty, ...]] = {
    "venues": (
        LiveProperty("status", "检查状态", choices=STATUSES, max_length=max(map(len, STATUSES)),
                     note="由检查记录实时得出", queryable=True),
        LiveProperty("last_inspection", "最近检查", type="date", required=False),
        LiveProperty("next_due", "下次应检", type="date"),
        LiveProperty("open_hazards", "未改隐患", type="int", minimum=0, unit="处"),
        LiveProperty("due_soon", f"{DUE_SOON_DAYS}天内到期应检", type="bool", flag=True),
        LiveProperty("overdue", "超期未检", type="bool", flag=True,
                     note="超过检查周期未检"),
        LiveProperty("overdue_hazards", "超期未整改隐患", type="int", minimum=0, unit="处",
                     note="未整改且已过整改期限"),
        LiveProperty("rectification_overdue_days", "超期天数", type="int", minimum=0, unit="天",
                     note="最早过期的未改隐患已超过整改期限的天数;无则为0"),
    ),
}

# The names of a venue's live properties, in order (VenueStatus.as_properties' keys).
VENUE_LIVE_NAMES = tuple(p.name for p in LIVE_PROPERTIES["venues"])


def live_properties(layer: Layer | str) -> tuple[LiveProperty, ...]:
    """Every live property of a layer, flags included; () for most layers."""
    return LIVE_PROPERTIES.get(layer if isinstance(layer, str) else layer.name, ())


def shown_live_properties(layer: Layer | str) -> tuple[LiveProperty, ...]:
    """The live properties that popups and exports show (not the flags)."""
    return tuple(p for p in live_properties(layer) if not p.flag)


def live_queryables(layer: Layer | str) -> tuple[LiveProperty, ...]:
    return tuple(p for p in live_properties(layer) if p.queryable)
