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
