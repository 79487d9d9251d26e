"""Reads of an app's store in raw SQL, for tests that look at its tables: the SQLite
file INSPECTIONS_DB, or the PostgreSQL database with DATABASE_URL. Parameters are
written `?` and passed positionally (sent as `%s` to PostgreSQL)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from psycopg.rows import dict_row


def rows(app, sql: str, *params: Any) -> list[dict[str, Any]]:
    """The rows of a query on the app's store, as dicts in the columns' order."""
    if "database" in app.extensions:
        with app.extensions["database"].transaction() as db:
            cursor = db.cursor(row_factory=dict_row)
            return cursor.execute(sql.replace("?", "%s"), params).fetchall()
    with closing(sqlite3.connect(Path(app.config["INSPECTIONS_DB"]))) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


def value(app, sql: str, *params: Any) -> Any:
    """The first column of the first row of a query on the app's store."""
    return next(iter(rows(app, sql, *params)[0].values()))
