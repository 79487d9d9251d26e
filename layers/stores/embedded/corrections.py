"""The corrections of inspections in SQLite: the primitive reads and writes of
`CorrectionReads` / `CorrectionWrites` (the rules: layers/records/corrections.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from layers.stores.interfaces import CORRECTABLE_HAZARD_COLUMNS, CORRECTABLE_INSPECTION_COLUMNS, Row


def _assignments(changes: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValueError(f"not a correctable column: {sorted(unknown)}")
    return ", ".join(f"{name} = :{name}" for name in changes)


class SqliteCorrectionReads:
    db: sqlite3.Connection

    def corrections(self, inspection_id: str) -> list[Row]:
        return [dict(row) for row in self.db.execute(
            "SELECT id, at, actor, actor_name, reason, void, changes FROM inspection_corrections"
            " WHERE inspection_id = ? ORDER BY id", (inspection_id,))]

    def correction_state(self, inspection_id: str) -> Row | None:
        row = self.db.execute("SELECT created_at AS recorded_at, voided FROM inspections"
                              " WHERE id = ?", (inspection_id,)).fetchone()
        return dict(row) if row is not None else None


class SqliteCorrectionWrites(SqliteCorrectionReads):
    def update_inspection(self, inspection_id: str, changes: Mapping[str, Any]) -> None:
        sets = _assignments(changes, CORRECTABLE_INSPECTION_COLUMNS)
        self.db.execute(f"UPDATE inspections SET {sets} WHERE id = :_id",
                        {**changes, "_id": inspection_id})

    def update_hazard(self, hazard_id: str, changes: Mapping[str, Any]) -> None:
        sets = _assignments(changes, CORRECTABLE_HAZARD_COLUMNS)
        self.db.execute(f"UPDATE hazards SET {sets} WHERE id = :_id",
                        {**changes, "_id": hazard_id})

    def set_event_dates(self, inspection_id: str, status: str, date: str) -> None:
        self.db.execute("UPDATE hazard_events SET date = ? WHERE inspection_id = ?"
                        " AND status = ?", (date, inspection_id, status))

    def add_correction(self, row: Row) -> None:
        self.db.execute(
            "INSERT INTO inspection_corrections (inspection_id, actor, actor_name, reason,"
            " void, changes) VALUES (:inspection_id, :actor, :actor_name, :reason, :void,"
            " :changes)", row)
