"""Inspection records of the venues, kept in SQLite (WAL, transactions).

The store is seeded once from the shipped history (geodata/inspections.csv,
geodata/hazards.csv) and then grows with the records inspectors make. A
venue's status on every map and list follows from its records:

- 隐患未改: a hazard found is not yet rectified (立案 or 整改中);
- 逾期未检: no inspection within the interval of the venue's kind;
- 合格: neither.
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATUS_OK = "合格"
STATUS_HAZARD = "隐患未改"
STATUS_OVERDUE = "逾期未检"
STATUSES = (STATUS_OK, STATUS_HAZARD, STATUS_OVERDUE)

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
DUE_SOON_DAYS = 30  # "due": the next inspection falls within this many days

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
"""


def interval_days(kind: str) -> int:
    return INTERVAL_DAYS.get(kind, DEFAULT_INTERVAL_DAYS)


@dataclass(frozen=True)
class VenueStatus:
    status: str
    last_inspection: str | None  # YYYY-MM-DD
    next_due: str  # YYYY-MM-DD
    open_hazards: int
    due_soon: bool  # next_due within DUE_SOON_DAYS (and not yet overdue)

    def as_properties(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "last_inspection": self.last_inspection,
            "next_due": self.next_due,
            "open_hazards": self.open_hazards,
        }


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
    return VenueStatus(status, last, next_due.isoformat(), open_hazards, due_soon)


class InspectionStore:
    """SQLite store of inspections and hazards; one connection per operation."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

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

    def record_inspection(self, venue_id: str, date: str, inspector: str, result: str,
                          note: str | None = None, campaign: str | None = None) -> str:
        """Store one inspection in its own transaction; its id once it is committed."""
        inspection_id = f"INS-{uuid.uuid4().hex[:16]}"
        with self.connect() as db:
            db.execute(
                "INSERT INTO inspections (id, venue_id, date, inspector, campaign, result, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (inspection_id, venue_id, date, inspector, campaign, result, note),
            )
        return inspection_id

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

    def statuses(
        self, venues: Iterable[tuple[str, str]], today: dt.date
    ) -> dict[str, VenueStatus]:
        """venue_id -> status, for (venue_id, kind) pairs."""
        last = self.last_inspections()
        open_counts = self.open_hazard_counts()
        return {
            vid: venue_status(kind, last.get(vid), open_counts.get(vid, 0), today)
            for vid, kind in venues
        }


def _read_csv(path: Path) -> list[dict[str, str | None]]:
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]
