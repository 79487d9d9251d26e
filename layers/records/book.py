"""The record book: inspections and the hazard flow 立案 → 整改中 → 已整改, over any store.

`InspectionRecords` is the `RecordStore` the app uses, whichever database
holds the rows: the rules are here, once (ids `INS000123` / `HZ00123`, which
hazard may move where, what a re-check records, the venues' statuses), and
each database provides the primitive reads and writes (`RecordTables`:
layers/stores/embedded/records.py, layers/stores/postgis/records.py). Every
write is one transaction holding the store's write lock from its start, with
its audit row, so a rejected or failed write leaves nothing behind and ids
read inside it stay free until it commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layers.errors import BadRequest, Conflict, DatabaseUnavailable, NotFound
from layers.records import audit
from layers.records.corrections import Correction, Corrector, correct, correction_fields
from layers.records.idempotency import Once, earlier_result, keep_result
from layers.records.inspections import (
    OPEN_HAZARD_STATUSES,
    RECHECK_CAMPAIGN,
    LateHazards,
    NewInspection,
    NewRecheck,
    VenueKey,
    VenueStatus,
    venue_status,
)
from layers.records.photos import NewPhoto, photo_meta
from layers.stores.interfaces import ID_PREFIXES

if TYPE_CHECKING:
    from layers.stores.interfaces import RecordReads, RecordTable, RecordTables, RecordWrites, Row

# Up to this many venues, statuses() reads their records by index (SQLite's
# default limit of host parameters is far above); more read the grouped tables.
FEW_VENUES = 500
# Up to this many chunks of FEW_VENUES (a large view's venues), they are read by index a
# chunk at a time: their cost follows them, where the grouped tables cost seconds at 1M
# inspections on SQLite (0.5 s on PostGIS). More (a whole layer) read the grouped tables.
INDEXED_CHUNKS = 20
# The whole tables' statuses (every venue's latest inspection, open and late hazards:
# grouped queries over all the records, about 0.5 s at 1M inspections) are read at
# most once in this many seconds per process and day; a write through this process
# makes the next read fresh at once, other servers' writes show within this time.
WHOLE_STATUSES_TTL_S = 1.0
FILED, RECTIFYING, RECTIFIED = "立案", "整改中", "已整改"


@dataclass(frozen=True)
class IdFormat:
    """A table's ids: its prefix (ID_PREFIXES) and a zero-padded number, `INS000123`."""

    table: RecordTable
    width: int

    def next(self, db: RecordWrites) -> str:
        """The next id (call inside a write transaction; from the store's sequence)."""
        return f"{ID_PREFIXES[self.table]}{db.next_number(self.table):0{self.width}d}"


INSPECTION_IDS = IdFormat("inspections", 6)
HAZARD_IDS = IdFormat("hazards", 5)


class InspectionRecords:
    """Inspections and hazards, their rules, over one store's tables."""

    def __init__(self, tables: RecordTables):
        self.tables = tables
        # venue id -> (last inspection date, open hazards) as last read: the maps'
        # colours during an outage (bounded by the venues of the layer).
        self._last_known: dict[str, tuple[str | None, int, tuple[int, str] | None]] = {}
        self._last_whole: tuple[dict[str, str], dict[str, int],
                                dict[str, tuple[int, str]]] | None = None
        # (day, writes through this process, monotonic time) of _last_whole's reading
        self._whole_read: tuple[str, int, float] | None = None
        self._writes = 0

    def is_empty(self) -> bool:
        return self.tables.is_empty()

    def seed_from_csv(self, inspections_csv: Path, hazards_csv: Path) -> None:
        """Load the shipped history, in one transaction, if the store is empty."""
        if not inspections_csv.exists():
            return
        self.tables.seed(_read_csv(inspections_csv),
                         _read_csv(hazards_csv) if hazards_csv.exists() else [])

    def last_inspections(self) -> dict[str, str]:
        """venue_id -> date of its latest inspection."""
        with self.tables.reading() as db:
            return db.last_inspections()

    def open_hazard_counts(self) -> dict[str, int]:
        with self.tables.reading() as db:
            return db.hazard_counts(OPEN_HAZARD_STATUSES)

    def statuses(self, venues: Iterable[VenueKey], today: dt.date
                 ) -> dict[str, VenueStatus]:
        """venue_id -> status, for (venue_id, kind, closed_on) of the layer (venue_key).

        While the database is unreachable, the statuses this process last read for
        these venues (the maps keep their colours through an outage, as of its
        start); DatabaseUnavailable if it has not read them all."""
        venues = list(venues)
        day = today.isoformat()
        last: dict[str, str]
        open_counts: dict[str, int]
        late: dict[str, tuple[int, str]]
        try:
            if not venues:
                last, open_counts, late = {}, {}, {}
            elif len(venues) <= FEW_VENUES * INDEXED_CHUNKS:  # by index, not the table
                ids = [vid for vid, _, _ in venues]
                last, open_counts, late = {}, {}, {}
                with self.tables.glancing() as db:
                    for start in range(0, len(ids), FEW_VENUES):
                        found = db.venue_records(ids[start:start + FEW_VENUES],
                                                 OPEN_HAZARD_STATUSES, day)
                        last.update(found[0])
                        open_counts.update(found[1])
                        late.update(found[2])
                self._last_known.update(
                    (vid, (last.get(vid), open_counts.get(vid, 0), late.get(vid))) for vid in ids)
            elif self._whole_is_fresh(day) and self._last_whole is not None:
                last, open_counts, late = self._last_whole
            else:
                writes, started = self._writes, time.monotonic()
                with self.tables.reading() as db:
                    last = db.last_inspections()
                    open_counts = db.hazard_counts(OPEN_HAZARD_STATUSES)
                    late = db.late_hazards(OPEN_HAZARD_STATUSES, day)
                self._last_whole = (last, open_counts, late)  # kept as they are: no cost
                self._whole_read = (day, writes, started)
        except DatabaseUnavailable:
            known = self._last_known
            if self._last_whole is not None:
                last, open_counts, late = self._last_whole
            elif any(vid not in known for vid, _, _ in venues):
                raise
            else:
                last = {vid: d for vid, _, _ in venues if (d := known[vid][0]) is not None}
                open_counts = {vid: known[vid][1] for vid, _, _ in venues}
                late = {vid: v for vid, _, _ in venues if (v := known[vid][2]) is not None}
        return {
            vid: venue_status(kind, last.get(vid), open_counts.get(vid, 0), today,
                              LateHazards(*late[vid]) if vid in late else None, closed_on)
            for vid, kind, closed_on in venues
        }

    def _whole_is_fresh(self, day: str) -> bool:
        read = self._whole_read
        return (read is not None and read[0] == day and read[1] == self._writes
                and time.monotonic() - read[2] < WHOLE_STATUSES_TTL_S)

    # --- writes ---------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[RecordWrites]:
        """The store's write transaction; once it ends (committed or not), the whole
        tables' statuses are read afresh."""
        try:
            with self.tables.writing() as db:
                yield db
        finally:
            self._writes += 1

    def record_inspection(self, new: NewInspection, recorded_by: str | None = None,
                          once: Once | None = None, photos: Sequence[NewPhoto] = ()
                          ) -> dict[str, Any]:
        """Store an inspection and the hazards it found (each filed as 立案), atomically.
        With `once` (an Idempotency-Key), a retry gets the first result and stores nothing."""
        with self._writing() as db:
            if (earlier := earlier_result(db, once)) is not None:
                return earlier
            db.lock_venue(new.venue_id)
            inspection_id = INSPECTION_IDS.next(db)
            db.insert_inspection({
                "id": inspection_id, "venue_id": new.venue_id, "date": new.date,
                "inspector": new.inspector, "campaign": None, "result": new.result,
                "note": new.note, "recorded_by": recorded_by})
            if new.position is not None:
                p = new.position
                db.insert_position(inspection_id, p.lon, p.lat, p.accuracy_m)
            for hazard in new.hazards:
                hazard_id = HAZARD_IDS.next(db)
                db.insert_hazard({
                    "id": hazard_id, "venue_id": new.venue_id, "inspection_id": inspection_id,
                    "category": hazard.category, "description": hazard.description,
                    "found": new.date, "deadline": hazard.deadline, "status": FILED})
                db.add_hazard_event(hazard_id, FILED, new.date, inspection_id, new.inspector)
            for photo in photos:
                db.insert_photo(inspection_id, None, photo)
            stored = _inspection(db, inspection_id)
            audit.record(db, recorded_by, "inspection.create", "inspection", inspection_id, {
                "venue_id": new.venue_id, "date": new.date, "inspector": new.inspector,
                "result": new.result, "hazards": [h["id"] for h in stored["hazards"]],
                **_photo_summary(stored["photos"])})
            keep_result(db, once, stored)
            return stored

    def start_rectification(self, hazard_id: str, date: dt.date, actor: str | None,
                            by: str | None = None, once: Once | None = None,
                            photos: Sequence[NewPhoto] = ()) -> dict[str, Any]:
        """立案 → 整改中: the venue has started to rectify the hazard. `actor` is the name
        kept with the hazard's event, `by` the user who made the change (the audit log)."""
        with self._writing() as db:
            if (earlier := earlier_result(db, once)) is not None:
                return earlier
            db.lock_venue(_hazard_row(db, hazard_id)["venue_id"])
            hazard = _hazard_row(db, hazard_id)  # again, now that no one else changes it
            if hazard.get("voided"):
                raise Conflict(f"隐患 {hazard_id} 所属的检查已作废,隐患随之作废 (hazard "
                               f"{hazard_id} was voided with the inspection that filed it)")
            if hazard["status"] != FILED:
                raise Conflict(f"隐患 {hazard_id} 现为{hazard['status']},只有立案的隐患才能标记为"
                               f"整改中 (hazard {hazard_id} is {hazard['status']}; only a hazard "
                               "in 立案 can move to 整改中)")
            db.set_hazard_status(hazard_id, RECTIFYING)
            db.add_hazard_event(hazard_id, RECTIFYING, date.isoformat(), None, actor)
            photo_ids = [db.insert_photo(None, hazard_id, photo) for photo in photos]
            audit.record(db, by or actor, "hazard.status", "hazard", hazard_id, {
                "venue_id": hazard["venue_id"], "from": FILED, "to": RECTIFYING,
                "date": date.isoformat(),
                **_photo_summary([{"id": i} for i in photo_ids])})
            changed = _hazard_dict(db, _hazard_row(db, hazard_id))
            keep_result(db, once, changed)
            return changed

    def record_recheck(self, new: NewRecheck, recorded_by: str | None = None,
                       once: Once | None = None, photos: Sequence[NewPhoto] = ()
                       ) -> dict[str, Any]:
        """A re-check inspection (复查): the hazards in `closed` become 已整改.

        Only hazards under rectification (整改中) can be closed. The re-check is an
        inspection of the venue: 合格 when no open hazard remains, else 发现隐患.
        """
        with self._writing() as db:
            if (earlier := earlier_result(db, once)) is not None:
                return earlier
            db.lock_venue(new.venue_id)
            rectifying = {row["id"]: row for row in db.venue_hazards(new.venue_id, (RECTIFYING,))}
            if not rectifying:
                raise Conflict(f"场所 {new.venue_id} 没有整改中的隐患,无需复查 (venue "
                               f"{new.venue_id} has no hazard in 整改中 to re-check)")
            for hazard_id in new.closed:
                if hazard_id not in rectifying:
                    row = db.hazard(hazard_id)
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
            still_open = (len(db.venue_hazards(new.venue_id, OPEN_HAZARD_STATUSES))
                          - len(new.closed))
            inspection_id = INSPECTION_IDS.next(db)
            db.insert_inspection({
                "id": inspection_id, "venue_id": new.venue_id, "date": new.date,
                "inspector": new.inspector, "campaign": RECHECK_CAMPAIGN,
                "result": "发现隐患" if still_open else "合格", "note": new.note,
                "recorded_by": recorded_by})
            if new.position is not None:
                p = new.position
                db.insert_position(inspection_id, p.lon, p.lat, p.accuracy_m)
            for hazard_id in new.closed:
                db.set_hazard_status(hazard_id, RECTIFIED, rectified=new.date)
                db.add_hazard_event(hazard_id, RECTIFIED, new.date, inspection_id,
                                    new.inspector)
            for photo in photos:
                db.insert_photo(inspection_id, None, photo)
            stored = _inspection(db, inspection_id)
            audit.record(db, recorded_by, "recheck.create", "inspection", inspection_id, {
                "venue_id": new.venue_id, "date": new.date, "inspector": new.inspector,
                "closed": list(new.closed), **_photo_summary(stored["photos"])})
            keep_result(db, once, stored)
            return stored

    def correct_inspection(self, inspection_id: str, correction: Correction,
                           user: Corrector, today: dt.date, once: Once | None = None
                           ) -> dict[str, Any]:
        """Void or correct an inspection (records/corrections.py: who may, and what it
        does to its hazards), with its correction row and audit row, atomically."""
        with self._writing() as db:
            if (earlier := earlier_result(db, once)) is not None:
                return earlier
            correct(db, inspection_id, correction, user, today)
            stored = _inspection(db, inspection_id)
            keep_result(db, once, stored)
            return stored

    # --- reads ------------------------------------------------------------------

    def history(self, venue_id: str, limit: int = 50) -> dict[str, Any]:
        """A venue's inspections (newest first, with the hazards each found or closed)
        and its open hazards."""
        with self.tables.reading() as db:
            ids = db.venue_inspection_ids(venue_id, limit)
            open_rows = db.venue_hazards(venue_id, OPEN_HAZARD_STATUSES)
            total = db.venue_inspection_count(venue_id)
            return {
                "inspections": [_inspection(db, i) for i in ids],
                "inspection_count": total,
                "open_hazards": [_hazard_dict(db, row) for row in open_rows],
            }

    def inspections_since(self, date: dt.date) -> int:
        """How many inspections are dated on or after `date`."""
        with self.tables.reading() as db:
            return db.inspections_since(date.isoformat())

    def hazard(self, hazard_id: str) -> dict[str, Any]:
        with self.tables.reading() as db:
            return _hazard_dict(db, _hazard_row(db, hazard_id))

    def photo_image(self, photo_id: int, thumb: bool = False) -> dict[str, Any] | None:
        """A photo's image (or its thumbnail): media_type, sha256, data; None if none."""
        with self.tables.reading() as db:
            return db.photo_image(photo_id, thumb)

    def photo_count(self) -> int:
        with self.tables.reading() as db:
            return db.photo_count()


def _photo_summary(photos: list[dict[str, Any]]) -> dict[str, Any]:
    """The audit row's note of a record's photos (their ids), when it has any."""
    return {"photos": [p["id"] for p in photos]} if photos else {}


def _hazard_row(db: RecordReads, hazard_id: str) -> Row:
    row = db.hazard(hazard_id)
    if row is None:
        raise NotFound(f"没有编号为 {hazard_id!r} 的隐患 (no hazard with id {hazard_id!r})")
    return row


def _hazard_dict(db: RecordReads, row: Row) -> dict[str, Any]:
    events = db.hazard_events(row["id"])
    if any(e["status"] == RECTIFYING for e in events):  # the 整改中 step's photos
        step = [photo_meta(p) for p in db.photos_of(hazard_id=row["id"])]
        events = [{**e, "photos": step} if e["status"] == RECTIFYING else e for e in events]
    return {**row, "events": events}


def _inspection(db: RecordReads, inspection_id: str) -> dict[str, Any]:
    row = db.inspection(inspection_id)
    if row is None:
        raise NotFound(f"没有编号为 {inspection_id!r} 的检查 (no inspection with id "
                       f"{inspection_id!r})")
    return {
        **row,
        "position": db.inspection_position(inspection_id),
        "photos": [photo_meta(p) for p in db.photos_of(inspection_id=inspection_id)],
        "hazards": [_hazard_dict(db, h) for h in db.hazards_found(inspection_id)],
        "closed_hazards": [_hazard_dict(db, h)
                           for h in db.hazards_moved(inspection_id, RECTIFIED)],
        **correction_fields(db, inspection_id),
    }


def _read_csv(path: Path) -> list[Row]:
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]
