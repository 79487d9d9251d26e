"""The accounts' tables in SQLite: users, login failures and the audit log, the
primitive reads and writes of `AccountTables` (the rules: layers/records/users.py,
login_limits.py, layers/records/audit.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layers.records.users import User
from layers.stores.embedded.audit import SqliteAudit
from layers.stores.embedded.database import SqliteFile

_USER = "SELECT name, display_name, role, disabled, epoch FROM users"


def _user(row: sqlite3.Row) -> User:
    return User(row["name"], row["display_name"], row["role"], bool(row["disabled"]),
                row["epoch"])


class SqliteAccountWrites(SqliteAudit):
    """`AccountWrites` (and `AccountReads`) on a connection in a transaction."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def user(self, name: str) -> User | None:
        row = self.db.execute(f"{_USER} WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def users(self) -> list[User]:
        return [_user(row) for row in self.db.execute(f"{_USER} ORDER BY name")]

    def password_hash(self, name: str) -> str | None:
        row = self.db.execute("SELECT password_hash FROM users WHERE name = ?",
                              (name,)).fetchone()
        return str(row[0]) if row else None

    def active_admins(self) -> int:
        count: int = self.db.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0").fetchone()[0]
        return count

    def insert_user(self, name: str, display_name: str, role: str, password_hash: str
                    ) -> bool:
        try:
            self.db.execute("INSERT INTO users (name, display_name, role, password_hash)"
                            " VALUES (?, ?, ?, ?)", (name, display_name, role, password_hash))
        except sqlite3.IntegrityError:
            return False
        return True

    def set_role(self, name: str, role: str) -> None:
        self.db.execute("UPDATE users SET role = ?, epoch = epoch + 1 WHERE name = ?",
                        (role, name))

    def set_password_hash(self, name: str, password_hash: str) -> None:
        self.db.execute("UPDATE users SET password_hash = ?, epoch = epoch + 1 WHERE name = ?",
                        (password_hash, name))

    def set_disabled(self, name: str, disabled: bool) -> None:
        self.db.execute("UPDATE users SET disabled = ?, epoch = epoch + 1 WHERE name = ?",
                        (int(disabled), name))

    # --- sessions ---------------------------------------------------------------------

    def session_name(self, sid: str) -> str | None:
        row = self.db.execute("SELECT name FROM sessions WHERE sid = ?", (sid,)).fetchone()
        return str(row[0]) if row else None

    def add_session(self, sid: str, name: str, started: float) -> None:
        self.db.execute("INSERT INTO sessions (sid, name, started) VALUES (?, ?, ?)",
                        (sid, name, started))

    def end_session(self, sid: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE sid = ?", (sid,))

    def end_sessions(self, name: str, started_before: float | None = None) -> int:
        if started_before is None:
            cursor = self.db.execute("DELETE FROM sessions WHERE name = ?", (name,))
        else:
            cursor = self.db.execute("DELETE FROM sessions WHERE started < ?",
                                     (started_before,))
        return cursor.rowcount

    # --- login failures ---------------------------------------------------------------

    def failure_times(self, after: float, limit: int, name: str | None = None,
                      address: str | None = None) -> list[float]:
        where = " AND ".join(clause for clause, value in
                             (("name = ?", name), ("address = ?", address)) if value is not None)
        params = [value for value in (name, address) if value is not None]
        rows = self.db.execute(
            f"SELECT at FROM login_failures WHERE {where} AND at > ?"
            " ORDER BY at DESC LIMIT ?", (*params, after, limit))
        return [float(row[0]) for row in rows]

    def add_failure(self, name: str, address: str, at: float) -> None:
        self.db.execute("INSERT INTO login_failures (name, address, at) VALUES (?, ?, ?)",
                        (name, address, at))

    def forget_failures(self, until: float) -> None:
        self.db.execute("DELETE FROM login_failures WHERE at <= ?", (until,))

    def clear_failures(self, name: str, address: str) -> None:
        self.db.execute("DELETE FROM login_failures WHERE name = ? AND address = ?",
                        (name, address))


class SqliteAccounts:
    """`AccountTables` in the SQLite file at `path`."""

    def __init__(self, path: Path):
        self.file = SqliteFile(path)
        self.path = self.file.path

    @contextmanager
    def reading(self) -> Iterator[SqliteAccountWrites]:
        with self.file.connect() as db:
            yield SqliteAccountWrites(db)

    @contextmanager
    def writing(self, lock: bool = True) -> Iterator[SqliteAccountWrites]:
        with (self.file.write() if lock else self.file.connect()) as db:
            yield SqliteAccountWrites(db)
