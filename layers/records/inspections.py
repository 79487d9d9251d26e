"""Inspection records of the venues: their statuses and what an inspector may send.

The records are kept by a store (layers/records/book.py over the tables of
layers/stores/embedded or layers/stores/postgis), seeded once from the shipped
history (geodata/inspections.csv, geodata/hazards.csv), then growing with the
records inspectors make. A venue's status on every map and list follows from
its records:

- 超期未整改: a hazard found is not yet rectified and its deadline (整改期限) has passed;
- 隐患未改: a hazard found is not yet rectified (立案 or 整改中);
- 逾期未检: no inspection within the interval of the venue's kind;
- 合格: neither.

Writes are validated before anything is stored (`parse_inspection`,
`parse_recheck` raise BadRequest with a message) and each write is one
transaction, so a rejected or failed write leaves nothing behind. Hazards
follow the city-management case flow 立案 → 整改中 → 已整改 (book.py):
an inspection that finds a hazard files it (立案), the venue starting work
moves it to 整改中, and only a re-check inspection (复查) closes it (已整改).
Every transition is kept in `hazard_events`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from pyproj import Geod

# The statuses and the live properties a status adds to a venue: see catalogue.live.
from layers.catalogue.live import (
    DUE_SOON_DAYS,
    STATUS_CLOSED,
    STATUS_HAZARD,
    STATUS_OK,
    STATUS_OVERDUE,
    STATUS_RECTIFICATION_OVERDUE,
    VENUE_LIVE_NAMES,
)
from layers.catalogue.live import STATUSES as STATUSES  # re-exported
from layers.catalogue.usertext import refuse_markup
from layers.errors import BadRequest, Conflict

RESULTS = ("合格", "发现隐患")
HAZARD_STATUSES = ("立案", "整改中", "已整改")  # the city-management case flow
OPEN_HAZARD_STATUSES = ("立案", "整改中")
HAZARD_CATEGORIES = ("消防安全", "用电安全", "燃气安全", "疏散通道", "建筑安全", "其他")

# Days between inspections, by venue kind: crowded and fire-prone kinds more often.
DEFAULT_INTERVAL_DAYS = 365
INTERVAL_DAYS = {
    "小学校或幼儿园": 90,
    "小医院": 90,
    "小歌舞娱乐": 90,
    "小网吧": 90,
    "小旅馆": 180,
    "小餐饮": 180,
    "小美容洗浴": 180,
    "小生产加工企业": 180,
    "小商店": 365,
}

RECHECK_CAMPAIGN = "复查"  # the campaign of a re-check inspection
MAX_HAZARDS_PER_INSPECTION = 20
MAX_DEADLINE_DAYS = 365  # a rectification deadline lies at most this long after finding
EARLIEST_DATE = dt.date(2000, 1, 1)
MAX_LENGTH = {"inspector": 50, "description": 200, "note": 500}
# A record made farther than this from its venue is marked 非现场记录 for review.
OFF_SITE_M = 200.0
MAX_ACCURACY_M = 100_000.0  # a phone's accuracy beyond this is no position at all

_GEOD = Geod(ellps="WGS84")


def interval_days(kind: str) -> int:
    return INTERVAL_DAYS.get(kind, DEFAULT_INTERVAL_DAYS)


@dataclass(frozen=True)
class VenueStatus:
    status: str
    last_inspection: str | None  # YYYY-MM-DD
    next_due: str  # YYYY-MM-DD
    open_hazards: int
    due_soon: bool  # next_due within DUE_SOON_DAYS (and not yet overdue)
    overdue: bool = False  # not inspected within its interval (whatever its hazards)
    overdue_hazards: int = 0  # open hazards past their deadline (超期未整改)
    rectification_overdue_days: int = 0  # days past the earliest such deadline

    def as_properties(self) -> dict[str, Any]:
        """The venue's live properties, as catalogue.live declares them."""
        return {name: getattr(self, name) for name in VENUE_LIVE_NAMES}


# What a venue's status follows from in the layer: (id, kind, closed_on).
VenueKey = tuple[str, str, str | None]


def venue_key(feature: Mapping[str, Any]) -> VenueKey:
    """A venue feature's (id, kind, closed_on): what its status needs of the layer."""
    p = feature["properties"]
    return str(feature["id"]), p["kind"], p.get("closed_on")


# The properties a venue's status adds to the layer's own (exports carry them, imports drop them).
STATUS_PROPERTIES = VENUE_LIVE_NAMES


@dataclass(frozen=True)
class LateHazards:
    """A venue's open hazards past their deadline: how many, and the earliest deadline."""

    count: int
    earliest_deadline: str  # YYYY-MM-DD


def days_overdue(deadline: str | None, today: dt.date) -> int:
    """Days a rectification deadline lies behind today (0 when none or not yet passed)."""
    if not deadline:
        return 0
    return max(0, (today - dt.date.fromisoformat(deadline)).days)


def hazard_overdue_days(hazard: Mapping[str, Any], today: dt.date) -> int | None:
    """Days an open hazard is past its deadline (超期未整改); None when it is not."""
    if hazard.get("status") not in OPEN_HAZARD_STATUSES or hazard.get("voided"):
        return None  # closed, or voided with its record (records/corrections.py)
    days = days_overdue(hazard.get("deadline"), today)
    return days or None


def with_overdue_days(history: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """A venue's history (book.history) with each hazard's `overdue_days`: the days an
    open hazard is past its deadline (超期未整改), else None."""

    def hazard(h: dict[str, Any]) -> dict[str, Any]:
        return {**h, "overdue_days": hazard_overdue_days(h, today)}

    def inspection(i: dict[str, Any]) -> dict[str, Any]:
        return {**i, "hazards": [hazard(h) for h in i["hazards"]],
                "closed_hazards": [hazard(h) for h in i["closed_hazards"]]}

    return {**history, "inspections": [inspection(i) for i in history["inspections"]],
            "open_hazards": [hazard(h) for h in history["open_hazards"]]}


def venue_status(
    kind: str, last: str | None, open_hazards: int, today: dt.date,
    late: LateHazards | None = None, closed_on: str | None = None,
) -> VenueStatus:
    """The status of one venue from its last inspection date, open hazards and the
    open hazards past their deadline (`late`). A closed venue (`closed_on`, the layer's
    停业日期) is 已停业: due for nothing, overdue for nothing, on no list of work; its
    open hazards are still counted."""
    interval = dt.timedelta(days=interval_days(kind))
    next_due = (dt.date.fromisoformat(last) + interval) if last else today
    if closed_on:
        return VenueStatus(STATUS_CLOSED, last, next_due.isoformat(), open_hazards,
                           due_soon=False)
    overdue = next_due < today or last is None
    late_count = late.count if late else 0
    late_days = days_overdue(late.earliest_deadline, today) if late else 0
    if late_count:
        status = STATUS_RECTIFICATION_OVERDUE
    elif open_hazards:
        status = STATUS_HAZARD
    elif overdue:
        status = STATUS_OVERDUE
    else:
        status = STATUS_OK
    due_soon = not overdue and (next_due - today).days <= DUE_SOON_DAYS
    return VenueStatus(status, last, next_due.isoformat(), open_hazards, due_soon, overdue,
                       late_count, late_days)


# --- what an inspector sends, validated before anything is stored -----------


@dataclass(frozen=True)
class NewHazard:
    category: str
    description: str
    deadline: str  # YYYY-MM-DD


@dataclass(frozen=True)
class Position:
    """Where the phone was when the record was made (WGS84), as the browser gave it."""

    lon: float
    lat: float
    accuracy_m: float | None


@dataclass(frozen=True)
class NewInspection:
    venue_id: str
    date: str  # YYYY-MM-DD
    inspector: str
    result: str
    note: str | None
    hazards: tuple[NewHazard, ...]
    position: Position | None = None


@dataclass(frozen=True)
class NewRecheck:
    """A re-check (复查) of a venue's hazards under rectification; `closed` are rectified."""

    venue_id: str
    date: str
    inspector: str
    note: str | None
    closed: tuple[str, ...]
    position: Position | None = None


class Label(NamedTuple):
    """A field's name in messages: Chinese for the page, then the JSON key in English."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} ({self.en})"

    def of_hazard(self, n: int) -> Label:
        return Label(f"第 {n} 条隐患:{self.zh}", f"hazard {n}: {self.en}")


# Messages start in Chinese (the page shows them as they are), then the English in parentheses.
INSPECTION_LABELS = {
    "date": Label("检查日期", "date"),
    "inspector": Label("检查人", "inspector"),
    "note": Label("备注", "note"),
    "description": Label("隐患描述", "description"),
}
RECHECK_LABELS = {**INSPECTION_LABELS, "date": Label("复查日期", "date"),
                  "inspector": Label("复查人", "inspector")}
CATEGORY = Label("隐患类别", "category")
DEADLINE = Label("整改期限", "deadline")


def no_such_venue(venue_id: str) -> str:
    return f"没有编号为 {venue_id!r} 的场所 (no venue with id {venue_id!r})"


# A record on a venue marked closed (已停业, its `closed_on`): refused, as it says.
CLOSED_VENUE = "该场所已停业，不能再记录检查；如已恢复营业，请先「恢复营业」"


def refuse_closed(venue_id: str, properties: Mapping[str, Any]) -> None:
    """409 when the venue is marked closed: no inspection or re-check is recorded on it
    until it is reopened (inspectors/venue_edits.py)."""
    closed = properties.get("closed_on")
    if closed:
        raise Conflict(f"{CLOSED_VENUE}(场所 {venue_id} 已于 {closed} 标记停业) (venue "
                       f"{venue_id} is marked closed since {closed}: reopen it first)")


def parse_inspection(
    data: Mapping[str, Any], today: dt.date, venue_exists: Callable[[str], bool]
) -> NewInspection:
    """An inspection from a JSON object; BadRequest naming the first problem."""
    labels = INSPECTION_LABELS
    venue_id = _venue(data, venue_exists)
    date = _date(data.get("date", today.isoformat()), labels["date"], today)
    result = data.get("result")
    if result not in RESULTS:
        raise BadRequest(f"检查结果须为 {'、'.join(RESULTS)} 之一,而不是 {result!r} "
                         f"(result must be one of {', '.join(RESULTS)}, not {result!r})")
    raw_hazards = data.get("hazards") or []
    if not isinstance(raw_hazards, list):
        raise BadRequest("隐患须为列表,每条含隐患类别、隐患描述和整改期限 "
                         "(hazards must be a list of {category, description, deadline})")
    if len(raw_hazards) > MAX_HAZARDS_PER_INSPECTION:
        raise BadRequest(f"一次检查最多登记 {MAX_HAZARDS_PER_INSPECTION} 条隐患 "
                         f"(at most {MAX_HAZARDS_PER_INSPECTION} hazards per inspection)")
    hazards = tuple(_hazard(h, n, date) for n, h in enumerate(raw_hazards, 1))
    if result == "发现隐患" and not hazards:
        raise BadRequest("检查结果为发现隐患时,至少要登记一条隐患 "
                         "(result 发现隐患 needs at least one hazard)")
    if result == "合格" and hazards:
        raise BadRequest("检查结果为合格时不能登记隐患,请选发现隐患 "
                         "(result 合格 cannot list hazards; use 发现隐患)")
    return NewInspection(
        venue_id=venue_id,
        date=date.isoformat(),
        inspector=_text(data.get("inspector"), "inspector", labels["inspector"]),
        result=result,
        note=_optional_text(data.get("note"), "note", labels["note"]),
        hazards=hazards,
        position=parse_position(data.get("position")),
    )


def parse_recheck(
    data: Mapping[str, Any], today: dt.date, venue_exists: Callable[[str], bool]
) -> NewRecheck:
    """A re-check from a JSON object; BadRequest naming the first problem."""
    labels = RECHECK_LABELS
    venue_id = _venue(data, venue_exists)
    date = _date(data.get("date", today.isoformat()), labels["date"], today)
    closed = data.get("closed", [])
    if not isinstance(closed, list) or not all(isinstance(c, str) and c for c in closed):
        raise BadRequest("已整改的隐患须为隐患编号的列表 (closed must be a list of hazard ids)")
    if len(set(closed)) != len(closed):
        raise BadRequest("已整改的隐患中有重复的编号 (closed lists a hazard more than once)")
    return NewRecheck(
        venue_id=venue_id,
        date=date.isoformat(),
        inspector=_text(data.get("inspector"), "inspector", labels["inspector"]),
        note=_optional_text(data.get("note"), "note", labels["note"]),
        closed=tuple(closed),
        position=parse_position(data.get("position")),
    )


def parse_position(raw: Any) -> Position | None:
    """`position`: {lon, lat, accuracy_m} of the phone (WGS84 degrees, metres), or absent."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise BadRequest("位置须为对象 {lon, lat, accuracy_m} (position must be an object "
                         "{lon, lat, accuracy_m})")

    def number(key: str, low: float, high: float, what: str) -> float:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or not low <= value <= high:
            raise BadRequest(f"位置的{what}须为 {low:g} 到 {high:g} 之间的数 (position {key} "
                             f"must be a number from {low:g} to {high:g}, not {value!r})")
        return float(value)

    lon = number("lon", -180, 180, "经度")
    lat = number("lat", -90, 90, "纬度")
    accuracy = (None if raw.get("accuracy_m") is None
                else number("accuracy_m", 0, MAX_ACCURACY_M, "精度（米）"))
    return Position(lon, lat, accuracy)


def with_position_checks(history: dict[str, Any], venue_lon: float, venue_lat: float
                         ) -> dict[str, Any]:
    """A venue's history with each record's position measured to the venue: `distance_m`
    (geodesic) and `off_site` (farther than OFF_SITE_M: 非现场记录)."""

    def inspection(i: dict[str, Any]) -> dict[str, Any]:
        where = i.get("position")
        if not where:
            return i
        distance = float(_GEOD.inv(venue_lon, venue_lat, where["lon"], where["lat"])[2])
        return {**i, "position": {**where, "distance_m": round(distance, 1),
                                  "off_site": distance > OFF_SITE_M}}

    return {**history, "inspections": [inspection(i) for i in history["inspections"]]}


def _venue(data: Mapping[str, Any], venue_exists: Callable[[str], bool]) -> str:
    venue_id = data.get("venue_id")
    if venue_id is None or venue_id == "":
        raise BadRequest("缺少场所编号 venue_id (venue_id is missing)")
    if not isinstance(venue_id, str):
        raise BadRequest(f"场所编号须为文本,如 V0001 (venue_id must be a venue's id as text, "
                         f"e.g. V0001, not {type(venue_id).__name__})")
    if not venue_exists(venue_id):
        raise BadRequest(no_such_venue(venue_id))
    return venue_id


def _hazard(raw: Any, n: int, found: dt.date) -> NewHazard:
    if not isinstance(raw, Mapping):
        raise BadRequest(f"第 {n} 条隐患须为对象,含隐患类别、隐患描述和整改期限 "
                         f"(hazard {n} must be an object {{category, description, deadline}})")
    category = raw.get("category")
    if category not in HAZARD_CATEGORIES:
        raise BadRequest(
            f"{CATEGORY.of_hazard(n).zh}须为 {'、'.join(HAZARD_CATEGORIES)} 之一,而不是 "
            f"{category!r} (hazard {n}: category must be one of {', '.join(HAZARD_CATEGORIES)}, "
            f"not {category!r})"
        )
    deadline_label = DEADLINE.of_hazard(n)
    deadline_text = raw.get("deadline")
    if not isinstance(deadline_text, str) or not deadline_text.strip():
        raise BadRequest(f"第 {n} 条隐患:缺少整改期限 (hazard {n}: deadline is missing; "
                         "give a date YYYY-MM-DD)")
    deadline = _parse_date(deadline_text, deadline_label)
    if deadline < found:
        raise BadRequest(f"{deadline_label.zh} {deadline} 早于检查日期 {found} "
                         f"(hazard {n}: deadline {deadline} is before the inspection date {found})")
    if (deadline - found).days > MAX_DEADLINE_DAYS:
        raise BadRequest(
            f"{deadline_label.zh} {deadline} 距检查日期 {found} 超过 {MAX_DEADLINE_DAYS} 天 "
            f"(hazard {n}: deadline {deadline} is more than {MAX_DEADLINE_DAYS} days after {found})"
        )
    return NewHazard(
        category=category,
        description=_text(raw.get("description"), "description",
                          INSPECTION_LABELS["description"].of_hazard(n)),
        deadline=deadline.isoformat(),
    )


def _optional_text(value: Any, field: str, label: Label) -> str | None:
    """Stripped plain text within MAX_LENGTH[field]; None when absent or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{label.zh}须为文本 ({label.en} must be text)")
    text = value.strip()
    limit = MAX_LENGTH[field]
    if len(text) > limit:
        raise BadRequest(f"{label.zh}有 {len(text)} 个字符,最多 {limit} 个 "
                         f"({label.en} is {len(text)} characters long; at most {limit} "
                         "are allowed)")
    allowed_controls = "\n\t" if field == "note" else ""
    if any(ord(c) < 32 and c not in allowed_controls for c in text):
        raise BadRequest(f"{label.zh}含有控制字符 ({label.en} holds control characters)")
    return refuse_markup(text, str(label))


def _text(value: Any, field: str, label: Label) -> str:
    """Like _optional_text, but blank is an error."""
    text = _optional_text(value, field, label)
    if text is None:
        raise BadRequest(f"{label.zh}不能为空 ({label.en} must not be empty)")
    return text


def _parse_date(value: Any, label: Label) -> dt.date:
    if not isinstance(value, str):
        raise BadRequest(f"{label.zh}须为日期 YYYY-MM-DD ({label.en} must be a date YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"{label.zh} {value!r} 不是有效日期,应为 YYYY-MM-DD "
                         f"({label.en} {value!r} is not a date YYYY-MM-DD)") from None


def _date(value: Any, label: Label, today: dt.date) -> dt.date:
    """A date on or before today (and not absurdly old)."""
    date = _parse_date(value, label)
    if date > today:
        raise BadRequest(f"{label.zh} {date} 晚于今天 {today} "
                         f"({label.en} {date} is in the future; today is {today})")
    if date < EARLIEST_DATE:
        raise BadRequest(f"{label.zh} {date} 早于 {EARLIEST_DATE} "
                         f"({label.en} {date} is before {EARLIEST_DATE})")
    return date
