"""The audit log's rows in PostgreSQL (the rules: layers/records/audit.py)."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from layers.records.audit import AuditQuery
from layers.stores.postgis.database import Tables


class PostgisAudit(Tables):
    """`AuditSink` and `AuditReader` on a connection in a transaction."""

    def add_audit_row(self, actor: str, action: str, object_type: str | None,
                      object_id: str | None, summary: str) -> None:
        self.execute("INSERT INTO audit_log (actor, action, object_type, object_id, summary)"
                     " VALUES (%s, %s, %s, %s, %s)",
                     (actor, action, object_type, object_id, summary))

    def recent_audit_rows(self, action: str, object_id: str, since: str
                          ) -> list[tuple[int, str]]:
        rows = self.rows("SELECT id, summary FROM audit_log WHERE action = %s AND object_id = %s"
                         " AND at >= %s ORDER BY id DESC LIMIT 50", (action, object_id, since))
        return [(int(row["id"]), str(row["summary"])) for row in rows]

    def set_audit_summary(self, row_id: int, summary: str) -> None:
        self.execute("UPDATE audit_log SET summary = %s WHERE id = %s", (summary, row_id))

    def audit_rows(self, query: AuditQuery) -> tuple[int, list[dict[str, Any]]]:
        where: list[sql.Composable] = []
        params: list[Any] = []
        for column, op, value in (("actor", "=", query.actor), ("action", "=", query.action),
                                  ("at", ">=", query.since), ("at", "<", query.until)):
            if value:
                where.append(sql.SQL("{} " + op + " %s").format(sql.Identifier(column)))
                params.append(value)
        clause = (sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where)) if where else sql.SQL("")
        total = self.value(sql.SQL("SELECT count(*) FROM audit_log") + clause, params)
        rows = self.rows(
            sql.SQL("SELECT id, at, actor, action, object_type, object_id, summary"
                    " FROM audit_log") + clause
            + sql.SQL(" ORDER BY at DESC, id DESC LIMIT %s OFFSET %s"),
            [*params, query.limit, query.offset])
        return int(total), rows
