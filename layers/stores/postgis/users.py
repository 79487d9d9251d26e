"""The accounts' tables in PostgreSQL: users, login failures and the audit log, the
primitive reads and writes of `AccountTables` (the rules: layers/records/users.py,
login_limits.py, layers/records/audit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg import sql

from layers.records.users import User
from layers.stores.postgis.audit import PostgisAudit
from layers.stores.postgis.database import ACCOUNTS_LOCK, Database

_USER = "SELECT name, display_name, role, disabled, epoch FROM users"


def _user(row: dict[str, Any]) -> User:
    return User(row["name"], row["display_name"], row["role"], bool(row["disabled"]),
                row["epoch"])


class PostgisAccountWrites(PostgisAudit):
    """`AccountWrites` (and `AccountReads`) on a connection in a transaction."""

    def user(self, name: str) -> User | None:
        row = self.row(f"{_USER} WHERE name = %s", (name,))
        return _user(row) if row else None

    def users(self) -> list[User]:
        return [_user(row) for row in self.rows(f"{_USER} ORDER BY name")]

    def password_hash(self, name: str) -> str | None:
        value = self.value("SELECT password_hash FROM users WHERE name = %s", (name,))
        return str(value) if value is not None else None

    def active_admins(self) -> int:
        return int(self.value("SELECT count(*) FROM users WHERE role = 'admin'"
                              " AND disabled = 0"))

    def insert_user(self, name: str, display_name: str, role: str, password_hash: str
                    ) -> bool:
        # ON CONFLICT: a taken name leaves the transaction usable (no error to recover from).
        inserted = self.row("INSERT INTO users (name, display_name, role, password_hash)"
                            " VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING"
                            " RETURNING name", (name, display_name, role, password_hash))
        return inserted is not None

    def set_role(self, name: str, role: str) -> None:
        self.execute("UPDATE users SET role = %s, epoch = epoch + 1 WHERE name = %s",
                     (role, name))

    def set_password_hash(self, name: str, password_hash: str) -> None:
        self.execute("UPDATE users SET password_hash = %s, epoch = epoch + 1 WHERE name = %s",
                     (password_hash, name))

    def set_disabled(self, name: str, disabled: bool) -> None:
        self.execute("UPDATE users SET disabled = %s, epoch = epoch + 1 WHERE name = %s",
                     (int(disabled), name))

    # --- sessions ---------------------------------------------------------------------

    def session_name(self, sid: str) -> str | None:
        row = self.row("SELECT name FROM sessions WHERE sid = %s", (sid,))
        return str(row["name"]) if row else None

    def add_session(self, sid: str, name: str, started: float) -> None:
        self.execute("INSERT INTO sessions (sid, name, started) VALUES (%s, %s, %s)",
                     (sid, name, started))

    def end_session(self, sid: str) -> None:
        self.execute("DELETE FROM sessions WHERE sid = %s", (sid,))

    def end_sessions(self, name: str, started_before: float | None = None) -> int:
        if started_before is None:
            cursor = self.execute("DELETE FROM sessions WHERE name = %s", (name,))
        else:
            cursor = self.execute("DELETE FROM sessions WHERE started < %s", (started_before,))
        return cursor.rowcount

    # --- login failures ---------------------------------------------------------------

    def failure_times(self, after: float, limit: int, name: str | None = None,
                      address: str | None = None) -> list[float]:
        chosen = [(column, value) for column, value in (("name", name), ("address", address))
                  if value is not None]
        where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(column))
                                      for column, _ in chosen)
        rows = self.rows(sql.SQL("SELECT at FROM login_failures WHERE {} AND at > %s"
                                 " ORDER BY at DESC LIMIT %s").format(where),
                         (*[value for _, value in chosen], after, limit))
        return [float(row["at"]) for row in rows]

    def add_failure(self, name: str, address: str, at: float) -> None:
        self.execute("INSERT INTO login_failures (name, address, at) VALUES (%s, %s, %s)",
                     (name, address, at))

    def forget_failures(self, until: float) -> None:
        self.execute("DELETE FROM login_failures WHERE at <= %s", (until,))

    def clear_failures(self, name: str, address: str) -> None:
        self.execute("DELETE FROM login_failures WHERE name = %s AND address = %s",
                     (name, address))


class PostgisAccounts:
    """`AccountTables` in the PostGIS database."""

    def __init__(self, database: Database):
        self.database = database

    @contextmanager
    def reading(self) -> Iterator[PostgisAccountWrites]:
        with self.database.transaction() as db:
            yield PostgisAccountWrites(db)

    @contextmanager
    def writing(self, lock: bool = True) -> Iterator[PostgisAccountWrites]:
        """A transaction; `lock`: holding the accounts' write lock from its start."""
        connection: AbstractContextManager[psycopg.Connection[Any]] = (
            self.database.locked(ACCOUNTS_LOCK) if lock else self.database.transaction())
        with connection as db:
            yield PostgisAccountWrites(db)

