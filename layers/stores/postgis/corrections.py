"""The corrections of inspections in PostgreSQL: the primitive reads and writes of
`CorrectionReads` / `CorrectionWrites` (the rules: layers/records/corrections.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import sql

from layers.stores.interfaces import CORRECTABLE_HAZARD_COLUMNS, CORRECTABLE_INSPECTION_COLUMNS, Row
from layers.stores.postgis.database import Tables


def _update(table: str, changes: Mapping[str, Any], allowed: tuple[str, ...]) -> sql.Composed:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValueError(f"not a correctable column: {sorted(unknown)}")
    sets = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(name),
                                                        sql.Placeholder(name))
                              for name in changes)
    return sql.SQL("UPDATE {} SET {} WHERE id = %(_id)s").format(sql.Identifier(table), sets)


class PostgisCorrectionReads(Tables):
    def corrections(self, inspection_id: str) -> list[Row]:
        return self.rows("SELECT id, at, actor, actor_name, reason, void, changes"
                         " FROM inspection_corrections WHERE inspection_id = %s ORDER BY id",
                         (inspection_id,))

    def correction_state(self, inspection_id: str) -> Row | None:
        return self.row("SELECT created_at AS recorded_at, voided FROM inspections"
                        " WHERE id = %s", (inspection_id,))


class PostgisCorrectionWrites(PostgisCorrectionReads):
    def update_inspection(self, inspection_id: str, changes: Mapping[str, Any]) -> None:
        self.execute(_update("inspections", changes, CORRECTABLE_INSPECTION_COLUMNS),
                     {**changes, "_id": inspection_id})

    def update_hazard(self, hazard_id: str, changes: Mapping[str, Any]) -> None:
        self.execute(_update("hazards", changes, CORRECTABLE_HAZARD_COLUMNS),
                     {**changes, "_id": hazard_id})

    def set_event_dates(self, inspection_id: str, status: str, date: str) -> None:
        self.execute("UPDATE hazard_events SET date = %s WHERE inspection_id = %s"
                     " AND status = %s", (date, inspection_id, status))

    def add_correction(self, row: Row) -> None:
        self.execute(
            "INSERT INTO inspection_corrections (inspection_id, actor, actor_name, reason,"
            " void, changes) VALUES (%(inspection_id)s, %(actor)s, %(actor_name)s,"
            " %(reason)s, %(void)s, %(changes)s)", row)
