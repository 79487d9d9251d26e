"""The inspection records' tables in PostgreSQL: the primitive reads and writes of
`RecordTables` (the rules: layers/records/book.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from psycopg import sql

from layers.stores.interfaces import ID_PREFIXES, RecordTable, Row
from layers.stores.postgis.audit import PostgisAudit
from layers.stores.postgis.corrections import PostgisCorrectionReads, PostgisCorrectionWrites
from layers.stores.postgis.database import VENUE_LOCK_CLASS, Database, Tables
from layers.stores.postgis.keys import PostgisKeys
from layers.stores.postgis.schema import sync_numbers

if TYPE_CHECKING:
    from layers.records.photos import NewPhoto


class PostgisRecordReads(PostgisCorrectionReads):
    """`RecordReads` on a connection in a transaction."""

    def inspection(self, inspection_id: str) -> Row | None:
        return self.row("SELECT id, venue_id, date, inspector, campaign, result, note,"
                        " recorded_by FROM inspections WHERE id = %s", (inspection_id,))

    def hazard(self, hazard_id: str) -> Row | None:
        return self.row("SELECT * FROM hazards WHERE id = %s", (hazard_id,))

    def hazards_found(self, inspection_id: str) -> list[Row]:
        return self.rows("SELECT * FROM hazards WHERE inspection_id = %s ORDER BY id",
                         (inspection_id,))

    def hazards_moved(self, inspection_id: str, status: str) -> list[Row]:
        return self.rows(
            "SELECT h.* FROM hazards h JOIN hazard_events e ON e.hazard_id = h.id"
            " WHERE e.inspection_id = %s AND e.status = %s ORDER BY h.id",
            (inspection_id, status))

    def hazard_events(self, hazard_id: str) -> list[Row]:
        return self.rows("SELECT status, date, inspection_id, actor FROM hazard_events"
                         " WHERE hazard_id = %s ORDER BY id", (hazard_id,))

    def venue_inspection_ids(self, venue_id: str, limit: int) -> list[str]:
        return [row["id"] for row in self.rows(
            "SELECT id FROM inspections WHERE venue_id = %s"
            " ORDER BY date DESC, created_at DESC, id DESC LIMIT %s", (venue_id, limit))]

    def venue_inspection_count(self, venue_id: str) -> int:
        return int(self.value("SELECT count(*) FROM inspections WHERE venue_id = %s",
                              (venue_id,)))

    def venue_hazards(self, venue_id: str, statuses: Sequence[str]) -> list[Row]:
        return self.rows("SELECT * FROM hazards WHERE venue_id = %s AND voided = 0"
                         " AND status = ANY(%s)"
                         " ORDER BY found, id", (venue_id, list(statuses)))

    def last_inspections(self, venue_ids: Sequence[str] | None = None) -> dict[str, str]:
        if venue_ids is None:
            rows = self.rows("SELECT venue_id, max(date) AS last FROM inspections"
                             " WHERE voided = 0 GROUP BY venue_id")
        else:
            # each venue's newest from the (venue_id, date) index, read backwards until
            # one not voided: O(log n) a venue, where max() GROUP BY read all its rows
            rows = self.rows("SELECT v.id AS venue_id, (SELECT date FROM inspections"
                             " WHERE venue_id = v.id AND voided = 0 AND date IS NOT NULL"
                             " ORDER BY date DESC LIMIT 1) AS last"
                             " FROM unnest(%s::text[]) AS v(id)", (list(venue_ids),))
        return {row["venue_id"]: row["last"] for row in rows if row["last"] is not None}

    def hazard_counts(self, statuses: Sequence[str], venue_ids: Sequence[str] | None = None
                      ) -> dict[str, int]:
        if venue_ids is None:
            rows = self.rows("SELECT venue_id, count(*) AS n FROM hazards"
                             " WHERE voided = 0 AND status = ANY(%s) GROUP BY venue_id",
                             (list(statuses),))
        else:
            rows = self.rows("SELECT venue_id, count(*) AS n FROM hazards"
                             " WHERE venue_id = ANY(%s) AND voided = 0 AND status = ANY(%s)"
                             " GROUP BY venue_id",
                             (list(venue_ids), list(statuses)))
        return {row["venue_id"]: row["n"] for row in rows}


    def venue_records(self, venue_ids: Sequence[str], statuses: Sequence[str], before: str
                      ) -> tuple[dict[str, str], dict[str, int], dict[str, tuple[int, str]]]:
        # One round trip: each venue's newest inspection and its hazards in these statuses
        # (how many; how many late, the earliest deadline), by the indexes on venue_id.
        rows = self.rows(
            "SELECT v.id AS venue_id, (SELECT date FROM inspections WHERE venue_id = v.id"
            " AND voided = 0 AND date IS NOT NULL ORDER BY date DESC LIMIT 1) AS last,"
            " h.n, h.late, h.first"
            " FROM unnest(%(ids)s::text[]) AS v(id) CROSS JOIN LATERAL (SELECT count(*) AS n,"
            " count(*) FILTER (WHERE deadline < %(before)s) AS late,"
            " min(deadline) FILTER (WHERE deadline < %(before)s) AS first"
            " FROM hazards WHERE venue_id = v.id AND voided = 0 AND status = ANY(%(statuses)s)"
            ") AS h", {"ids": list(venue_ids), "before": before, "statuses": list(statuses)})
        return ({row["venue_id"]: row["last"] for row in rows if row["last"] is not None},
                {row["venue_id"]: row["n"] for row in rows if row["n"]},
                {row["venue_id"]: (row["late"], row["first"]) for row in rows if row["late"]})

    def inspection_position(self, inspection_id: str) -> Row | None:
        return self.row("SELECT lon, lat, accuracy_m FROM inspection_positions"
                        " WHERE inspection_id = %s", (inspection_id,))

    def inspections_since(self, date: str) -> int:
        return int(self.value("SELECT count(*) FROM inspections WHERE date >= %s"
                              " AND voided = 0", (date,)))

    def late_hazards(self, statuses: Sequence[str], before: str,
                     venue_ids: Sequence[str] | None = None) -> dict[str, tuple[int, str]]:
        where, params = "", [list(statuses), before]
        if venue_ids is not None:
            where, params = " AND venue_id = ANY(%s)", [*params, list(venue_ids)]
        rows = self.rows("SELECT venue_id, count(*) AS n, min(deadline) AS first FROM hazards"
                         " WHERE voided = 0 AND status = ANY(%s) AND deadline IS NOT NULL"
                         " AND deadline < %s"
                         f"{where} GROUP BY venue_id", params)
        return {row["venue_id"]: (row["n"], row["first"]) for row in rows}


    def photos_of(self, inspection_id: str | None = None, hazard_id: str | None = None
                  ) -> list[Row]:
        column, value = ("inspection_id", inspection_id) if inspection_id is not None \
            else ("hazard_id", hazard_id)
        return self.rows(sql.SQL("SELECT id, width, height, sha256, taken_at, lon, lat"
                                 " FROM photos WHERE {} = %s ORDER BY id").format(
                                     sql.Identifier(column)), (value,))

    def photo_image(self, photo_id: int, thumb: bool) -> Row | None:
        row = self.row(sql.SQL("SELECT media_type, sha256, {} AS data FROM photos"
                               " WHERE id = %s").format(
                                   sql.Identifier("thumb" if thumb else "content")),
                       (photo_id,))
        return None if row is None else {**row, "data": bytes(row["data"])}

    def photo_count(self) -> int:
        return int(self.value("SELECT count(*) FROM photos"))


class PostgisRecordWrites(PostgisRecordReads, PostgisCorrectionWrites, PostgisAudit,
                          PostgisKeys):
    """`RecordWrites` in a transaction; it locks the venues it writes (`lock_venue`)."""

    def next_number(self, table: RecordTable) -> int:
        return int(self.value(sql.SQL("SELECT nextval({})").format(
            sql.Literal(f"{table}_number"))))

    def lock_venue(self, venue_id: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                     (VENUE_LOCK_CLASS, venue_id))

    def insert_inspection(self, row: Row) -> None:
        self.execute(
            "INSERT INTO inspections (id, venue_id, date, inspector, campaign, result, note,"
            " recorded_by) VALUES (%(id)s, %(venue_id)s, %(date)s, %(inspector)s,"
            " %(campaign)s, %(result)s, %(note)s, %(recorded_by)s)", row)

    def insert_position(self, inspection_id: str, lon: float, lat: float,
                        accuracy_m: float | None) -> None:
        self.execute("INSERT INTO inspection_positions (inspection_id, lon, lat, accuracy_m)"
                     " VALUES (%s, %s, %s, %s)", (inspection_id, lon, lat, accuracy_m))

    def insert_hazard(self, row: Row) -> None:
        self.execute(
            "INSERT INTO hazards (id, venue_id, inspection_id, category, description, found,"
            " deadline, status) VALUES (%(id)s, %(venue_id)s, %(inspection_id)s, %(category)s,"
            " %(description)s, %(found)s, %(deadline)s, %(status)s)", row)

    def set_hazard_status(self, hazard_id: str, status: str,
                          rectified: str | None = None) -> None:
        if rectified is None:
            self.execute("UPDATE hazards SET status = %s WHERE id = %s", (status, hazard_id))
        else:
            self.execute("UPDATE hazards SET status = %s, rectified = %s WHERE id = %s",
                         (status, rectified, hazard_id))

    def insert_photo(self, inspection_id: str | None, hazard_id: str | None,
                     photo: NewPhoto) -> int:
        return int(self.value(
            "INSERT INTO photos (inspection_id, hazard_id, media_type, width, height, size,"
            " sha256, taken_at, lon, lat, content, thumb) VALUES (%s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s, %s, %s) RETURNING id",
            (inspection_id, hazard_id, photo.media_type, photo.width, photo.height,
             len(photo.content), photo.sha256, photo.taken_at, photo.lon, photo.lat,
             photo.content, photo.thumb)))

    def add_hazard_event(self, hazard_id: str, status: str, date: str,
                         inspection_id: str | None, actor: str | None) -> None:
        self.execute("INSERT INTO hazard_events (hazard_id, status, date, inspection_id, actor)"
                     " VALUES (%s, %s, %s, %s, %s)",
                     (hazard_id, status, date, inspection_id, actor))


class PostgisRecords:
    """`RecordTables` in the PostGIS database."""

    def __init__(self, database: Database):
        self.database = database

    @contextmanager
    def reading(self) -> Iterator[PostgisRecordReads]:
        with self.database.transaction() as db:
            yield PostgisRecordReads(db)

    @contextmanager
    def glancing(self) -> Iterator[PostgisRecordReads]:
        """Reads outside a transaction (autocommit: no BEGIN, COMMIT round trips)."""
        with self.database.glance() as db:
            yield PostgisRecordReads(db)

    @contextmanager
    def writing(self) -> Iterator[PostgisRecordWrites]:
        """A write transaction; no lock for the whole city (ids from sequences, a lock per
        venue written)."""
        with self.database.transaction() as db:
            yield PostgisRecordWrites(db)

    def is_empty(self) -> bool:
        with self.reading() as db:
            return db.row("SELECT 1 FROM inspections LIMIT 1") is None

    def seed(self, inspections: Sequence[Row], hazards: Sequence[Row]) -> None:
        with self.database.transaction() as conn:
            db = Tables(conn)
            if db.row("SELECT 1 FROM inspections LIMIT 1") is not None:
                return
            with conn.cursor() as cursor:
                if inspections:
                    cursor.executemany(
                        "INSERT INTO inspections (id, venue_id, date, inspector, campaign,"
                        " result, note) VALUES (%(id)s, %(venue_id)s, %(date)s, %(inspector)s,"
                        " %(campaign)s, %(result)s, %(note)s)", inspections)
                if hazards:
                    cursor.executemany(
                        "INSERT INTO hazards (id, venue_id, inspection_id, category,"
                        " description, found, deadline, status, rectified) VALUES (%(id)s,"
                        " %(venue_id)s, %(inspection_id)s, %(category)s, %(description)s,"
                        " %(found)s, %(deadline)s, %(status)s, %(rectified)s)", hazards)
            for table, prefix in ID_PREFIXES.items():
                conn.execute(sync_numbers(table, prefix))
