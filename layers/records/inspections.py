"""Inspection records of the venues, kept in SQLite (WAL, transactions).

The store is seeded once from the shipped history (geodata/inspections.csv,
geodata/hazards.csv) and then grows with the records inspectors make. A
venue's status on every map and list follows from its records:

- 隐患未改: a hazard found is not yet rectified (立案 or 整改中);
- 逾期未检: no inspection within the interval of the venue's kind;
- 合格: neither.

Writes are validated before anything is stored (`parse_inspection`,
`parse_recheck` raise BadRequest with a message) and each write is one
transaction (BEGIN IMMEDIATE), so a rejected or failed write leaves nothing
behind. Hazards follow the city-management case flow 立案 → 整改中 → 已整改:
an inspection that finds a hazard files it (立案), the venue starting work
moves it to 整改中, and only a re-check inspection (复查) closes it (已整改).
Every transition is kept in `hazard_events`.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

# The statuses and the live properties a status adds to a venue: see catalogue.live.
from layers.catalogue.live import (
    DUE_SOON_DAYS,
    STATUS_HAZARD,
    STATUS_OK,
    STATUS_OVERDUE,
    VENUE_LIVE_NAMES,
)
from layers.catalogue.live import STATUSES as STATUSES  # re-exported
from layers.catalogue.usertext import refuse_markup
from layers.errors import BadRequest, Conflict, NotFound
from layers.records import audit

RESULTS = ("合格", "发现隐患")
HAZARD_STATUSES = ("立案", "整改中", "已整改")  # the city-management case flow
OPEN_HAZARD_STATUSES = ("立案", "整改中")
# Up to this many venues, statuses() reads their records by index (SQLite's
# default limit of host parameters is far above); more read the grouped tables.
FEW_VENUES = 500
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS inspections (
    id TEXT PRIMARY KEY,
    venue_id TEXT NOT NULL,
    date TEXT NOT NULL,
    inspector TEXT NOT NULL,
    campaign TEXT,
    result TEXT NOT NULL CHECK (result IN ('合格', '发现隐患')),
    note TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS inspections_venue ON inspections (venue_id, date);
CREATE TABLE IF NOT EXISTS hazards (
    id TEXT PRIMARY KEY,
    venue_id TEXT NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    found TEXT NOT NULL,
    deadline TEXT,
    status TEXT NOT NULL CHECK (status IN ('立案', '整改中', '已整改')),
    rectified TEXT
);
CREATE INDEX IF NOT EXISTS hazards_venue ON hazards (venue_id, status);
CREATE TABLE IF NOT EXISTS hazard_events (
    id INTEGER PRIMARY KEY,
    hazard_id TEXT NOT NULL REFERENCES hazards (id),
    status TEXT NOT NULL CHECK (status IN ('立案', '整改中', '已整改')),
    date TEXT NOT NULL,
    inspection_id TEXT REFERENCES inspections (id),
    actor TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS hazard_events_hazard ON hazard_events (hazard_id);
"""
# Columns added after the first release, for stores made before them.
ADDED_COLUMNS = {"inspections": {"recorded_by": "TEXT"}}


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

    def as_properties(self) -> dict[str, Any]:
        """The venue's live properties, as catalogue.live declares them."""
        return {name: getattr(self, name) for name in VENUE_LIVE_NAMES}


# The properties a venue's status adds to the layer's own (exports carry them, imports drop them).
STATUS_PROPERTIES = VENUE_LIVE_NAMES


def venue_status(
    kind: str, last: str | None, open_hazards: int, today: dt.date
) -> VenueStatus:
    """The status of one venue from its last inspection date and open hazards."""
    interval = dt.timedelta(days=interval_days(kind))
    next_due = (dt.date.fromisoformat(last) + interval) if last else today
    overdue = next_due < today or last is None
    if open_hazards:
        status = STATUS_HAZARD
    elif overdue:
        status = STATUS_OVERDUE
    else:
        status = STATUS_OK
    due_soon = not overdue and (next_due - today).days <= DUE_SOON_DAYS
    return VenueStatus(status, last, next_due.isoformat(), open_hazards, due_soon, overdue)


# --- what an inspector sends, validated before anything is stored -----------


@dataclass(frozen=True)
class NewHazard:
    category: str
    description: str
    deadline: str  # YYYY-MM-DD


@dataclass(frozen=True)
class NewInspection:
    venue_id: str
    date: str  # YYYY-MM-DD
    inspector: str
    result: str
    note: str | None
    hazards: tuple[NewHazard, ...]


@dataclass(frozen=True)
class NewRecheck:
    """A re-check (复查) of a venue's hazards under rectification; `closed` are rectified."""

    venue_id: str
    date: str
    inspector: str
    note: str | None
    closed: tuple[str, ...]


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
    )


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


class InspectionStore:
    """SQLite store of inspections and hazards; one connection per operation."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # a thread's reader, see `reader`
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            audit.ensure_schema(db)
            _add_missing_columns(db)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction: committed on success, rolled back on error."""
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is on disk before it is acknowledged, even across a power
        # cut (NORMAL, in WAL mode, survives only a crash of the process).
        db.execute("PRAGMA synchronous=FULL")
        try:
            with db:
                yield db
        finally:
            db.close()

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection, kept open for the small reads of hot queries.

        Autocommit: each SELECT is its own read transaction and sees every commit
        before it (WAL). Made anew in a forked worker (never crosses a fork) and
        per thread (sqlite3's own check); writes never use it.
        """
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            local.pid = os.getpid()
        return local.db

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for a few small reads: this thread's reader."""
        yield self.reader()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its start (BEGIN IMMEDIATE),
        so that ids read inside it stay free until it commits."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            yield db

    def is_empty(self) -> bool:
        with self.connect() as db:
            return db.execute("SELECT count(*) FROM inspections").fetchone()[0] == 0

    def seed_from_csv(self, inspections_csv: Path, hazards_csv: Path) -> None:
        """Load the shipped history, in one transaction, if the store is empty."""
        if not inspections_csv.exists():
            return
        with self.connect() as db:
            if db.execute("SELECT count(*) FROM inspections").fetchone()[0]:
                return
            db.executemany(
                "INSERT INTO inspections (id, venue_id, date, inspector, campaign, result, note)"
                " VALUES (:id, :venue_id, :date, :inspector, :campaign, :result, :note)",
                _read_csv(inspections_csv),
            )
            db.executemany(
                "INSERT INTO hazards (id, venue_id, inspection_id, category, description, found,"
                " deadline, status, rectified) VALUES (:id, :venue_id, :inspection_id, :category,"
                " :description, :found, :deadline, :status, :rectified)",
                _read_csv(hazards_csv) if hazards_csv.exists() else [],
            )

    def last_inspections(self) -> dict[str, str]:
        """venue_id -> date of its latest inspection."""
        with self.connect() as db:
            rows = db.execute("SELECT venue_id, max(date) FROM inspections GROUP BY venue_id")
            return {venue_id: last for venue_id, last in rows}

    def open_hazard_counts(self) -> dict[str, int]:
        with self.connect() as db:
            rows = db.execute(
                "SELECT venue_id, count(*) FROM hazards WHERE status IN ('立案', '整改中')"
                " GROUP BY venue_id"
            )
            return {venue_id: n for venue_id, n in rows}

    def _records_of(self, venue_ids: list[str]) -> tuple[dict[str, str], dict[str, int]]:
        """last_inspections() and open_hazard_counts() of these venues only."""
        if not venue_ids:
            return {}, {}
        marks = ",".join("?" * len(venue_ids))
        with self.reading() as db:
            last = db.execute(f"SELECT venue_id, max(date) FROM inspections WHERE venue_id IN"
                              f" ({marks}) GROUP BY venue_id", venue_ids).fetchall()
            counts = db.execute(f"SELECT venue_id, count(*) FROM hazards WHERE venue_id IN"
                                f" ({marks}) AND status IN ('立案', '整改中') GROUP BY"
                                " venue_id", venue_ids).fetchall()
        return dict(last), dict(counts)

    def statuses(
        self, venues: Iterable[tuple[str, str]], today: dt.date
    ) -> dict[str, VenueStatus]:
        """venue_id -> status, for (venue_id, kind) pairs."""
        venues = list(venues)
        if len(venues) <= FEW_VENUES:  # a query's few venues: by index, not the whole table
            last, open_counts = self._records_of([vid for vid, _ in venues])
        else:
            last = self.last_inspections()
            open_counts = self.open_hazard_counts()
        return {
            vid: venue_status(kind, last.get(vid), open_counts.get(vid, 0), today)
            for vid, kind in venues
        }


    # --- writes ---------------------------------------------------------------

    def record_inspection(self, new: NewInspection, recorded_by: str | None = None
                          ) -> dict[str, Any]:
        """Store an inspection and the hazards it found (each filed as 立案), atomically."""
        with self.write() as db:
            inspection_id = _next_id(db, "inspections", "INS", 6)
            db.execute(
                "INSERT INTO inspections (id, venue_id, date, inspector, campaign, result, note,"
                " recorded_by) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)",
                (inspection_id, new.venue_id, new.date, new.inspector, new.result, new.note,
                 recorded_by),
            )
            for hazard in new.hazards:
                hazard_id = _next_id(db, "hazards", "HZ", 5)
                db.execute(
                    "INSERT INTO hazards (id, venue_id, inspection_id, category, description,"
                    " found, deadline, status) VALUES (?, ?, ?, ?, ?, ?, ?, '立案')",
                    (hazard_id, new.venue_id, inspection_id, hazard.category, hazard.description,
                     new.date, hazard.deadline),
                )
                _event(db, hazard_id, "立案", new.date, inspection_id, new.inspector)
            stored = _inspection(db, inspection_id)
            audit.record(db, recorded_by, "inspection.create", "inspection", inspection_id, {
                "venue_id": new.venue_id, "date": new.date, "inspector": new.inspector,
                "result": new.result, "hazards": [h["id"] for h in stored["hazards"]]})
            return stored

    def start_rectification(self, hazard_id: str, date: dt.date, actor: str | None,
                            by: str | None = None) -> dict[str, Any]:
        """立案 → 整改中: the venue has started to rectify the hazard. `actor` is the name
        kept with the hazard's event, `by` the user who made the change (the audit log)."""
        with self.write() as db:
            hazard = _hazard_row(db, hazard_id)
            if hazard["status"] != "立案":
                raise Conflict(f"隐患 {hazard_id} 现为{hazard['status']},只有立案的隐患才能标记为"
                               f"整改中 (hazard {hazard_id} is {hazard['status']}; only a hazard "
                               "in 立案 can move to 整改中)")
            db.execute("UPDATE hazards SET status = '整改中' WHERE id = ?", (hazard_id,))
            _event(db, hazard_id, "整改中", date.isoformat(), None, actor)
            audit.record(db, by or actor, "hazard.status", "hazard", hazard_id, {
                "venue_id": hazard["venue_id"], "from": "立案", "to": "整改中",
                "date": date.isoformat()})
            return _hazard_dict(db, _hazard_row(db, hazard_id))

    def record_recheck(self, new: NewRecheck, recorded_by: str | None = None) -> dict[str, Any]:
        """A re-check inspection (复查): the hazards in `closed` become 已整改.

        Only hazards under rectification (整改中) can be closed. The re-check is an
        inspection of the venue: 合格 when no open hazard remains, else 发现隐患.
        """
        with self.write() as db:
            rectifying = {
                row["id"]: row for row in db.execute(
                    "SELECT * FROM hazards WHERE venue_id = ? AND status = '整改中'",
                    (new.venue_id,))
            }
            if not rectifying:
                raise Conflict(f"场所 {new.venue_id} 没有整改中的隐患,无需复查 (venue "
                               f"{new.venue_id} has no hazard in 整改中 to re-check)")
            for hazard_id in new.closed:
                if hazard_id not in rectifying:
                    row = db.execute("SELECT venue_id, status FROM hazards WHERE id = ?",
                                     (hazard_id,)).fetchone()
                    if row is None or row["venue_id"] != new.venue_id:
                        raise BadRequest(f"场所 {new.venue_id} 没有隐患 {hazard_id} "
                                         f"(venue {new.venue_id} has no hazard {hazard_id})")
                    raise Conflict(f"隐患 {hazard_id} 现为{row['status']},复查只能关闭整改中的"
                                   f"隐患 (hazard {hazard_id} is {row['status']}; a re-check "
                                   "closes only hazards in 整改中)")
                if new.date < rectifying[hazard_id]["found"]:
                    found = rectifying[hazard_id]["found"]
                    raise BadRequest(f"复查日期 {new.date} 早于隐患 {hazard_id} 的发现日期 "
                                     f"{found} (re-check date {new.date} is before hazard "
                                     f"{hazard_id} was found on {found})")
            still_open = db.execute(
                "SELECT count(*) FROM hazards WHERE venue_id = ? AND status IN ('立案', '整改中')",
                (new.venue_id,)).fetchone()[0] - len(new.closed)
            inspection_id = _next_id(db, "inspections", "INS", 6)
            db.execute(
                "INSERT INTO inspections (id, venue_id, date, inspector, campaign, result, note,"
                " recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (inspection_id, new.venue_id, new.date, new.inspector, RECHECK_CAMPAIGN,
                 "发现隐患" if still_open else "合格", new.note, recorded_by),
            )
            for hazard_id in new.closed:
                db.execute("UPDATE hazards SET status = '已整改', rectified = ? WHERE id = ?",
                           (new.date, hazard_id))
                _event(db, hazard_id, "已整改", new.date, inspection_id, new.inspector)
            audit.record(db, recorded_by, "recheck.create", "inspection", inspection_id, {
                "venue_id": new.venue_id, "date": new.date, "inspector": new.inspector,
                "closed": list(new.closed)})
            return _inspection(db, inspection_id)

    # --- reads ------------------------------------------------------------------

    def history(self, venue_id: str, limit: int = 50) -> dict[str, Any]:
        """A venue's inspections (newest first, with the hazards each found or closed)
        and its open hazards."""
        with self.connect() as db:
            ids = [row[0] for row in db.execute(
                "SELECT id FROM inspections WHERE venue_id = ?"
                " ORDER BY date DESC, created_at DESC, id DESC LIMIT ?", (venue_id, limit))]
            open_rows = db.execute(
                "SELECT * FROM hazards WHERE venue_id = ? AND status IN ('立案', '整改中')"
                " ORDER BY found, id", (venue_id,)).fetchall()
            total = db.execute("SELECT count(*) FROM inspections WHERE venue_id = ?",
                               (venue_id,)).fetchone()[0]
            return {
                "inspections": [_inspection(db, i) for i in ids],
                "inspection_count": total,
                "open_hazards": [_hazard_dict(db, row) for row in open_rows],
            }

    def hazard(self, hazard_id: str) -> dict[str, Any]:
        with self.connect() as db:
            return _hazard_dict(db, _hazard_row(db, hazard_id))


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, sql_type in columns.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")


def _next_id(db: sqlite3.Connection, table: str, prefix: str, width: int) -> str:
    """The next id in a table's `PREFIX000123` sequence (call inside a write transaction)."""
    n = db.execute(
        f"SELECT max(CAST(substr(id, {len(prefix) + 1}) AS INTEGER)) FROM {table}"
        " WHERE id GLOB ?", (prefix + "[0-9]*",)).fetchone()[0]
    return f"{prefix}{(n or 0) + 1:0{width}d}"


def _event(db: sqlite3.Connection, hazard_id: str, status: str, date: str,
           inspection_id: str | None, actor: str | None) -> None:
    db.execute("INSERT INTO hazard_events (hazard_id, status, date, inspection_id, actor)"
               " VALUES (?, ?, ?, ?, ?)", (hazard_id, status, date, inspection_id, actor))


def _hazard_row(db: sqlite3.Connection, hazard_id: str) -> sqlite3.Row:
    row = db.execute("SELECT * FROM hazards WHERE id = ?", (hazard_id,)).fetchone()
    if row is None:
        raise NotFound(f"没有编号为 {hazard_id!r} 的隐患 (no hazard with id {hazard_id!r})")
    return row


def _hazard_dict(db: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    events = db.execute(
        "SELECT status, date, inspection_id, actor FROM hazard_events WHERE hazard_id = ?"
        " ORDER BY id", (row["id"],))
    return {**dict(row), "events": [dict(e) for e in events]}


def _inspection(db: sqlite3.Connection, inspection_id: str) -> dict[str, Any]:
    row = db.execute(
        "SELECT id, venue_id, date, inspector, campaign, result, note, recorded_by"
        " FROM inspections WHERE id = ?", (inspection_id,)).fetchone()
    found = db.execute("SELECT * FROM hazards WHERE inspection_id = ? ORDER BY id",
                       (inspection_id,)).fetchall()
    closed = db.execute(
        "SELECT h.* FROM hazards h JOIN hazard_events e ON e.hazard_id = h.id"
        " WHERE e.inspection_id = ? AND e.status = '已整改' ORDER BY h.id",
        (inspection_id,)).fetchall()
    return {
        **dict(row),
        "hazards": [_hazard_dict(db, h) for h in found],
        "closed_hazards": [_hazard_dict(db, h) for h in closed],
    }


def _read_csv(path: Path) -> list[dict[str, str | None]]:
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]
