"""The inspection records' tables in SQLite: the primitive reads and writes of
`RecordTables` (the rules: layers/records/book.py)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layers.stores.embedded.audit import SqliteAudit
from layers.stores.embedded.corrections import SqliteCorrectionReads, SqliteCorrectionWrites
from layers.stores.embedded.database import SqliteFile
from layers.stores.embedded.keys import SqliteKeys
from layers.stores.interfaces import ID_PREFIXES, RecordTable, Row

if TYPE_CHECKING:
    from layers.records.photos import NewPhoto

_TABLES: dict[RecordTable, str] = {"inspections": "inspections", "hazards": "hazards"}


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class SqliteRecordReads(SqliteCorrectionReads):
    """`RecordReads` on a connection in a transaction."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def _rows(self, query: str, params: Sequence[Any]) -> list[Row]:
        return [dict(row) for row in self.db.execute(query, params)]

    def inspection(self, inspection_id: str) -> Row | None:
        rows = self._rows("SELECT id, venue_id, date, inspector, campaign, result, note,"
                          " recorded_by FROM inspections WHERE id = ?", (inspection_id,))
        return rows[0] if rows else None

    def hazard(self, hazard_id: str) -> Row | None:
        rows = self._rows("SELECT * FROM hazards WHERE id = ?", (hazard_id,))
        return rows[0] if rows else None

    def hazards_found(self, inspection_id: str) -> list[Row]:
        return self._rows("SELECT * FROM hazards WHERE inspection_id = ? ORDER BY id",
                          (inspection_id,))

    def hazards_moved(self, inspection_id: str, status: str) -> list[Row]:
        return self._rows(
            "SELECT h.* FROM hazards h JOIN hazard_events e ON e.hazard_id = h.id"
            " WHERE e.inspection_id = ? AND e.status = ? ORDER BY h.id", (inspection_id, status))

    def hazard_events(self, hazard_id: str) -> list[Row]:
        return self._rows("SELECT status, date, inspection_id, actor FROM hazard_events"
                          " WHERE hazard_id = ? ORDER BY id", (hazard_id,))

    def venue_inspection_ids(self, venue_id: str, limit: int) -> list[str]:
        return [row[0] for row in self.db.execute(
            "SELECT id FROM inspections WHERE venue_id = ?"
            " ORDER BY date DESC, created_at DESC, id DESC LIMIT ?", (venue_id, limit))]

    def venue_inspection_count(self, venue_id: str) -> int:
        count: int = self.db.execute("SELECT count(*) FROM inspections WHERE venue_id = ?",
                                     (venue_id,)).fetchone()[0]
        return count

    def venue_hazards(self, venue_id: str, statuses: Sequence[str]) -> list[Row]:
        return self._rows(f"SELECT * FROM hazards WHERE venue_id = ? AND voided = 0 AND status IN"
                          f" ({_marks(statuses)}) ORDER BY found, id", (venue_id, *statuses))

    def last_inspections(self, venue_ids: Sequence[str] | None = None) -> dict[str, str]:
        if venue_ids is None:
            return dict(self.db.execute("SELECT venue_id, max(date) FROM inspections"
                                        " WHERE voided = 0 GROUP BY venue_id").fetchall())
        # each venue's newest from the (venue_id, date) index, read backwards until one
        # not voided: O(log n) a venue, where max() GROUP BY read all its rows
        rows = self.db.execute(
            "SELECT v.value, (SELECT date FROM inspections WHERE venue_id = v.value"
            " AND voided = 0 AND date IS NOT NULL ORDER BY date DESC LIMIT 1)"
            " FROM json_each(?) AS v", (json.dumps(list(venue_ids)),)).fetchall()
        return {venue_id: last for venue_id, last in rows if last is not None}

    def hazard_counts(self, statuses: Sequence[str], venue_ids: Sequence[str] | None = None
                      ) -> dict[str, int]:
        where, params = "", list(venue_ids or ())
        if venue_ids is not None:
            where = f" venue_id IN ({_marks(venue_ids)}) AND"
        return dict(self.db.execute(
            f"SELECT venue_id, count(*) FROM hazards WHERE{where} voided = 0 AND status IN"
            f" ({_marks(statuses)}) GROUP BY venue_id", [*params, *statuses]).fetchall())


    def venue_records(self, venue_ids: Sequence[str], statuses: Sequence[str], before: str
                      ) -> tuple[dict[str, str], dict[str, int], dict[str, tuple[int, str]]]:
        counts = self.hazard_counts(statuses, venue_ids)
        late = self.late_hazards(statuses, before, venue_ids) if counts else {}
        return self.last_inspections(venue_ids), counts, late

    def inspection_position(self, inspection_id: str) -> Row | None:
        rows = self._rows("SELECT lon, lat, accuracy_m FROM inspection_positions"
                          " WHERE inspection_id = ?", (inspection_id,))
        return rows[0] if rows else None

    def inspections_since(self, date: str) -> int:
        count: int = self.db.execute("SELECT count(*) FROM inspections WHERE date >= ?"
                                     " AND voided = 0",
                                     (date,)).fetchone()[0]
        return count

    def late_hazards(self, statuses: Sequence[str], before: str,
                     venue_ids: Sequence[str] | None = None) -> dict[str, tuple[int, str]]:
        where, params = "", list(venue_ids or ())
        if venue_ids is not None:
            where = f" venue_id IN ({_marks(venue_ids)}) AND"
        rows = self.db.execute(
            f"SELECT venue_id, count(*), min(deadline) FROM hazards WHERE{where} voided = 0"
            f" AND status IN"
            f" ({_marks(statuses)}) AND deadline IS NOT NULL AND deadline < ?"
            " GROUP BY venue_id", [*params, *statuses, before]).fetchall()
        return {vid: (n, first) for vid, n, first in rows}


    def photos_of(self, inspection_id: str | None = None, hazard_id: str | None = None
                  ) -> list[Row]:
        column, value = ("inspection_id", inspection_id) if inspection_id is not None \
            else ("hazard_id", hazard_id)
        return self._rows("SELECT id, width, height, sha256, taken_at, lon, lat FROM photos"
                          f" WHERE {column} = ? ORDER BY id", (value,))

    def photo_image(self, photo_id: int, thumb: bool) -> Row | None:
        rows = self._rows(f"SELECT media_type, sha256, {'thumb' if thumb else 'content'} AS data"
                          " FROM photos WHERE id = ?", (photo_id,))
        return rows[0] if rows else None

    def photo_count(self) -> int:
        count: int = self.db.execute("SELECT count(*) FROM photos").fetchone()[0]
        return count


class SqliteRecordWrites(SqliteRecordReads, SqliteCorrectionWrites, SqliteAudit, SqliteKeys):
    """`RecordWrites` in a write transaction (BEGIN IMMEDIATE)."""

    def next_number(self, table: RecordTable) -> int:
        """The table's counter in `id_numbers` (one writer at a time: no race); made from
        the ids present when missing (a store from before it, or just seeded)."""
        row = self.db.execute("UPDATE id_numbers SET value = value + 1 WHERE name = ?"
                              " RETURNING value", (table,)).fetchone()
        if row is not None:
            return int(row[0])
        prefix = ID_PREFIXES[table]
        n = self.db.execute(
            f"SELECT max(CAST(substr(id, {len(prefix) + 1}) AS INTEGER)) FROM {_TABLES[table]}"
            " WHERE id GLOB ?", (prefix + "[0-9]*",)).fetchone()[0]
        self.db.execute("INSERT INTO id_numbers (name, value) VALUES (?, ?)",
                        (table, int(n or 0) + 1))
        return int(n or 0) + 1

    def lock_venue(self, venue_id: str) -> None:
        """Nothing to do: the transaction holds SQLite's one write lock (BEGIN IMMEDIATE)."""

    def insert_inspection(self, row: Row) -> None:
        self.db.execute(
            "INSERT INTO inspections (id, venue_id, date, inspector, campaign, result, note,"
            " recorded_by) VALUES (:id, :venue_id, :date, :inspector, :campaign, :result,"
            " :note, :recorded_by)", row)

    def insert_position(self, inspection_id: str, lon: float, lat: float,
                        accuracy_m: float | None) -> None:
        self.db.execute("INSERT INTO inspection_positions (inspection_id, lon, lat, accuracy_m)"
                        " VALUES (?, ?, ?, ?)", (inspection_id, lon, lat, accuracy_m))

    def insert_hazard(self, row: Row) -> None:
        self.db.execute(
            "INSERT INTO hazards (id, venue_id, inspection_id, category, description, found,"
            " deadline, status) VALUES (:id, :venue_id, :inspection_id, :category,"
            " :description, :found, :deadline, :status)", row)

    def set_hazard_status(self, hazard_id: str, status: str,
                          rectified: str | None = None) -> None:
        if rectified is None:
            self.db.execute("UPDATE hazards SET status = ? WHERE id = ?", (status, hazard_id))
        else:
            self.db.execute("UPDATE hazards SET status = ?, rectified = ? WHERE id = ?",
                            (status, rectified, hazard_id))

    def insert_photo(self, inspection_id: str | None, hazard_id: str | None,
                     photo: NewPhoto) -> int:
        row = self.db.execute(
            "INSERT INTO photos (inspection_id, hazard_id, media_type, width, height, size,"
            " sha256, taken_at, lon, lat, content, thumb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?) RETURNING id",
            (inspection_id, hazard_id, photo.media_type, photo.width, photo.height,
             len(photo.content), photo.sha256, photo.taken_at, photo.lon, photo.lat,
             photo.content, photo.thumb)).fetchone()
        return int(row[0])

    def add_hazard_event(self, hazard_id: str, status: str, date: str,
                         inspection_id: str | None, actor: str | None) -> None:
        self.db.execute("INSERT INTO hazard_events (hazard_id, status, date, inspection_id,"
                        " actor) VALUES (?, ?, ?, ?, ?)",
                        (hazard_id, status, date, inspection_id, actor))


class SqliteRecords:
    """`RecordTables` in the SQLite file at `path`."""

    def __init__(self, path: Path):
        self.file = SqliteFile(path)
        self.path = self.file.path

    @contextmanager
    def reading(self) -> Iterator[SqliteRecordReads]:
        with self.file.connect() as db:
            yield SqliteRecordReads(db)

    @contextmanager
    def glancing(self) -> Iterator[SqliteRecordReads]:
        yield SqliteRecordReads(self.file.reader())

    @contextmanager
    def writing(self) -> Iterator[SqliteRecordWrites]:
        with self.file.write() as db:
            yield SqliteRecordWrites(db)

    def is_empty(self) -> bool:
        with self.file.connect() as db:
            return bool(db.execute("SELECT count(*) FROM inspections").fetchone()[0] == 0)

    def seed(self, inspections: Sequence[Row], hazards: Sequence[Row]) -> None:
        with self.file.connect() as db:
            if db.execute("SELECT count(*) FROM inspections").fetchone()[0]:
                return
            db.executemany(
                "INSERT INTO inspections (id, venue_id, date, inspector, campaign, result, note)"
                " VALUES (:id, :venue_id, :date, :inspector, :campaign, :result, :note)",
                inspections)
            db.executemany(
                "INSERT INTO hazards (id, venue_id, inspection_id, category, description, found,"
                " deadline, status, rectified) VALUES (:id, :venue_id, :inspection_id, :category,"
                " :description, :found, :deadline, :status, :rectified)", hazards)
            db.execute("DELETE FROM id_numbers")  # counted again from the seeded ids
