"""Venues that inspectors find, close, reopen or move in the street (/inspect): what they send,
checked, as the single-feature edit it is (layers/data/edits.py: each a new version of
the venues layer, with who and why, audited; checked by the catalogue as an import is;
refused with 409 naming both versions when the layer moved on since `base`, the version
the page read). No Flask here: the routes are in routes.py.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from layers.catalogue.entries import get_layer
from layers.catalogue.usertext import refuse_markup
from layers.errors import BadRequest, Conflict

# The reasons written in the version's record (and its audit row).
ADD_REASON = "巡查发现新场所"
CLOSE_REASON = "巡查标记停业"
MOVE_REASON = "巡查更正位置"
REOPEN_REASON = "巡查恢复营业"
MAX_REASON = 200
MAX_VERSION = 2**31 - 1  # a layer's version is a database integer
EARLIEST_CLOSURE = dt.date(2000, 1, 1)
# What an inspector sets of a new venue: the catalogue's fields but the closure.
NEW_VENUE_FIELDS = ("name", "category", "kind", "address", "community", "quancheng_app",
                    "pledge_signed")
# Messages a request valid by the OpenAPI document may still get (tests/web/test_openapi.py).
FUTURE_CLOSURE = "停业日期不能晚于今天"


@dataclass(frozen=True)
class VenueEdit:
    """One edit of the venues layer, ready for edit_feature."""

    operation: str  # "create" or "update"
    venue_id: str | None
    feature: dict[str, Any]  # a GeoJSON Feature (update: only what changes)
    base: int  # the layer's version the page read
    reason: str


def _only(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequest(f"不认识的字段:{'、'.join(unknown)},可用 {'、'.join(allowed)} "
                         f"(unknown field(s) {', '.join(unknown)})")


def parse_base(data: Mapping[str, Any]) -> int:
    base = data.get("base")
    if isinstance(base, bool) or not isinstance(base, int) or not 1 <= base <= MAX_VERSION:
        raise BadRequest("缺少版本 base:须为页面读取场所时图层的版本号(正整数) (base must be "
                         "the version of the venues layer the page read, a positive integer)")
    return base


def parse_position(data: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON Point from `lon` and `lat` (WGS84); the catalogue checks where it is."""
    values = []
    for key, label in (("lon", "经度 lon"), ("lat", "纬度 lat")):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise BadRequest(f"{label} 须为数值,而不是 {value!r} ({key} must be a number)")
        values.append(round(float(value), 7))
    return {"type": "Point", "coordinates": values}


def parse_reason(data: Mapping[str, Any], required: bool) -> str | None:
    reason = data.get("reason")
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        if required:
            raise BadRequest("请填写原因 reason (a reason is required)")
        return None
    if not isinstance(reason, str):
        raise BadRequest("原因 reason 须为文本 (reason must be text)")
    if len(reason) > MAX_REASON:
        raise BadRequest(f"原因 reason 超过 {MAX_REASON} 个字 (reason is longer than "
                         f"{MAX_REASON} characters)")
    return refuse_markup(reason.strip(), "原因 reason")


def parse_new_venue(data: Mapping[str, Any],
                    community_at: Callable[[float, float], str | None]) -> VenueEdit:
    """A venue found in the street: its properties (the community, when not given, is the
    one its position lies in) and where it is."""
    _only(data, ("base", "properties", "lon", "lat", "reason"))
    base = parse_base(data)
    properties = data.get("properties")
    if not isinstance(properties, dict):
        raise BadRequest("场所属性 properties 须为对象 (properties must be an object)")
    _only(properties, NEW_VENUE_FIELDS)
    geometry = parse_position(data)
    reason = parse_reason(data, required=False)
    layer = get_layer("venues")
    own = dict(properties)
    for name in ("name", "address"):
        if isinstance(own.get(name), str):
            own[name] = refuse_markup(own[name].strip(), layer.label(name))
    for flag in ("quancheng_app", "pledge_signed"):
        own.setdefault(flag, False)
    if not own.get("community"):
        own["community"] = community_at(*geometry["coordinates"])
    said = f"{ADD_REASON}:{own.get('name') or ''}" + (f"({reason})" if reason else "")
    return VenueEdit("create", None, {"type": "Feature", "properties": own,
                                      "geometry": geometry}, base, said)


def parse_closure(venue_id: str, data: Mapping[str, Any], today: dt.date,
                  current: Mapping[str, Any]) -> VenueEdit:
    """A venue marked closed (已停业) from a day (default today), with why. `current`: the
    venue as it is (a venue closed already is 409, saying since when)."""
    _only(data, ("base", "date", "reason"))
    base = parse_base(data)
    text = data.get("date") or today.isoformat()
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise BadRequest(f"停业日期 date 须为 YYYY-MM-DD,而不是 {text!r} (date must be "
                         "YYYY-MM-DD)")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"停业日期 date 不是有效日期:{text!r} (not a date)") from None
    if day > today:
        raise BadRequest(f"{FUTURE_CLOSURE}({today.isoformat()}) (the closing date cannot be "
                         "in the future)")
    if day < EARLIEST_CLOSURE:
        raise BadRequest(f"停业日期不能早于 {EARLIEST_CLOSURE.isoformat()} (the closing date "
                         f"cannot be before {EARLIEST_CLOSURE.isoformat()})")
    reason = parse_reason(data, required=True)
    closed = current["properties"].get("closed_on")
    if closed:
        raise Conflict(f"场所「{current['properties'].get('name')}」({venue_id})已于 {closed} "
                       f"标记停业,无需再标记 (venue {venue_id} is closed already)")
    return VenueEdit("update", venue_id, {"type": "Feature", "properties": {"closed_on": text}},
                     base, f"{CLOSE_REASON}:{reason}")


def parse_reopening(venue_id: str, data: Mapping[str, Any],
                    current: Mapping[str, Any]) -> VenueEdit:
    """A closed venue open again (恢复营业), with why: its `closed_on` is removed, so its
    status is what its records make it again. A venue that is not closed is 409."""
    _only(data, ("base", "reason"))
    base = parse_base(data)
    reason = parse_reason(data, required=True)
    if not current["properties"].get("closed_on"):
        raise Conflict(f"场所「{current['properties'].get('name')}」({venue_id})未标记停业,"
                       f"无需恢复营业 (venue {venue_id} is not closed)")
    return VenueEdit("update", venue_id, {"type": "Feature", "properties": {"closed_on": None}},
                     base, f"{REOPEN_REASON}:{reason}")


def parse_move(venue_id: str, data: Mapping[str, Any]) -> VenueEdit:
    """A venue's position corrected (where it really is), with why."""
    _only(data, ("base", "lon", "lat", "reason"))
    base = parse_base(data)
    geometry = parse_position(data)
    reason = parse_reason(data, required=True)
    return VenueEdit("update", venue_id, {"type": "Feature", "geometry": geometry}, base,
                     f"{MOVE_REASON}:{reason}")
