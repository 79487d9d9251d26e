"""Login attempts, rate-limited per user name and per client address.

Failed attempts are rows of `login_failures` in the app's SQLite file, so the
limit holds across gunicorn's worker processes and restarts. Within a window
(15 minutes by default) a user name may fail 5 times and a client address 20
times; then a login for that name, or from that address, is refused (429,
with Retry-After) until the oldest of those failures leaves the window, even
with the right password. A successful login clears its name's failures.
An attempt that is refused is not counted (the wait does not grow).

No Flask here: the login route calls these on its store's connection, in the
transaction that also writes the audit row.
"""

from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures (name, at);
CREATE INDEX IF NOT EXISTS login_failures_address ON login_failures (address, at);
"""

clock = time.time  # seconds; tests replace it to move time on


@dataclass(frozen=True)
class Limits:
    per_name: int = 5
    per_address: int = 20
    window_s: float = 900.0


def ensure_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def key(name: str) -> str:
    return name.strip().lower()


def retry_after(db: sqlite3.Connection, name: str, address: str, limits: Limits) -> int | None:
    """Seconds until a login for `name` from `address` may be tried again; None: now."""
    now = clock()
    waits = []
    for column, value, limit in (("name", key(name), limits.per_name),
                                 ("address", address, limits.per_address)):
        rows = db.execute(
            f"SELECT at FROM login_failures WHERE {column} = ? AND at > ?"  # noqa: S608
            " ORDER BY at DESC LIMIT ?", (value, now - limits.window_s, limit)).fetchall()
        if len(rows) >= limit:
            waits.append(rows[-1][0] + limits.window_s - now)
    return max(1, math.ceil(max(waits))) if waits else None


def note_failure(db: sqlite3.Connection, name: str, address: str, limits: Limits) -> None:
    now = clock()
    db.execute("DELETE FROM login_failures WHERE at <= ?", (now - limits.window_s,))
    db.execute("INSERT INTO login_failures (name, address, at) VALUES (?, ?, ?)",
               (key(name), address, now))


def clear_name(db: sqlite3.Connection, name: str) -> None:
    db.execute("DELETE FROM login_failures WHERE name = ?", (key(name),))
