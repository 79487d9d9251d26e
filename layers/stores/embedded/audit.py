"""The audit log's rows in SQLite (the rules: layers/records/audit.py)."""

from __future__ import annotations

import sqlite3
from typing import Any

from layers.records.audit import AuditQuery


class SqliteAudit:
    """`AuditSink` and `AuditReader` over a connection in a transaction."""

    db: sqlite3.Connection

    def add_audit_row(self, actor: str, action: str, object_type: str | None,
                      object_id: str | None, summary: str) -> None:
        self.db.execute(
            "INSERT INTO audit_log (actor, action, object_type, object_id, summary)"
            " VALUES (?, ?, ?, ?, ?)", (actor, action, object_type, object_id, summary))

    def recent_audit_rows(self, action: str, object_id: str, since: str
                          ) -> list[tuple[int, str]]:
        rows = self.db.execute(
            "SELECT id, summary FROM audit_log WHERE action = ? AND object_id = ? AND at >= ?"
            " ORDER BY id DESC LIMIT 50", (action, object_id, since))
        return [(int(row[0]), str(row[1])) for row in rows]

    def set_audit_summary(self, row_id: int, summary: str) -> None:
        self.db.execute("UPDATE audit_log SET summary = ? WHERE id = ?", (summary, row_id))

    def audit_rows(self, query: AuditQuery) -> tuple[int, list[dict[str, Any]]]:
        where, params = [], []
        for clause, value in (("actor = ?", query.actor), ("action = ?", query.action),
                              ("at >= ?", query.since), ("at < ?", query.until)):
            if value:
                where.append(clause)
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = self.db.execute(f"SELECT count(*) FROM audit_log{clause}", params).fetchone()[0]
        rows = self.db.execute(
            "SELECT id, at, actor, action, object_type, object_id, summary"
            f" FROM audit_log{clause} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset])
        return total, [dict(row) for row in rows]
