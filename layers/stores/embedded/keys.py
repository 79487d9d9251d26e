"""The Idempotency-Key table in SQLite (`KeyTable`, layers/records/idempotency.py): the
record writes and the layers' versions claim keys in their own write transactions."""

from __future__ import annotations

import sqlite3

from layers.stores.interfaces import Row


class SqliteKeys:
    """`KeyTable` on a connection in a write transaction (BEGIN IMMEDIATE)."""

    db: sqlite3.Connection

    def claim_key(self, user: str, key: str, fingerprint: str, now: float,
                  expired_before: float) -> Row | None:
        claimed = self.db.execute(
            "INSERT INTO idempotency_keys (user_name, key, fingerprint, at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_name, key) DO UPDATE SET"
            " fingerprint = excluded.fingerprint, at = excluded.at, result = NULL"
            " WHERE idempotency_keys.at < ? RETURNING 1",
            (user, key, fingerprint, now, expired_before)).fetchone()
        if claimed is not None:
            return None
        return key_row(self.db, user, key)

    def set_key_result(self, user: str, key: str, result: str) -> None:
        self.db.execute("UPDATE idempotency_keys SET result = ? WHERE user_name = ?"
                        " AND key = ?", (result, user, key))

    def forget_keys(self, expired_before: float) -> None:
        self.db.execute("DELETE FROM idempotency_keys WHERE at < ?", (expired_before,))


def key_row(db: sqlite3.Connection, user: str, key: str) -> Row | None:
    """The key's row (fingerprint, at, result), on any connection."""
    row = db.execute("SELECT fingerprint, at, result FROM idempotency_keys"
                     " WHERE user_name = ? AND key = ?", (user, key)).fetchone()
    return dict(row) if row is not None else None
