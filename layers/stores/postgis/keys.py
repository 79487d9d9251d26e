"""The Idempotency-Key table in PostgreSQL (`KeyTable`, layers/records/idempotency.py):
the record writes and the layers' versions claim keys in their own transactions."""

from __future__ import annotations

from layers.stores.interfaces import Row
from layers.stores.postgis.database import Tables


class PostgisKeys(Tables):
    """`KeyTable` on a connection in a transaction."""

    def claim_key(self, user: str, key: str, fingerprint: str, now: float,
                  expired_before: float) -> Row | None:
        # Waits, on the key's row, for a concurrent attempt with the same key to end.
        claimed = self.row(
            "INSERT INTO idempotency_keys (user_name, key, fingerprint, at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (user_name, key) DO UPDATE SET"
            " fingerprint = excluded.fingerprint, at = excluded.at, result = NULL"
            " WHERE idempotency_keys.at < %s RETURNING 1",
            (user, key, fingerprint, now, expired_before))
        if claimed is not None:
            return None
        return self.key_row(user, key)

    def key_row(self, user: str, key: str) -> Row | None:
        """The key's row (fingerprint, at, result)."""
        return self.row("SELECT fingerprint, at, result FROM idempotency_keys"
                        " WHERE user_name = %s AND key = %s", (user, key))

    def set_key_result(self, user: str, key: str, result: str) -> None:
        self.execute("UPDATE idempotency_keys SET result = %s WHERE user_name = %s"
                     " AND key = %s", (result, user, key))

    def forget_keys(self, expired_before: float) -> None:
        self.execute("DELETE FROM idempotency_keys WHERE at < %s", (expired_before,))
