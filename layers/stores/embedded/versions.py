"""The layers' versions in the SQLite file INSPECTIONS_DB (the rules:
layers/stores/versions.py), beside the records and the audit log."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from layers.stores.embedded.audit import SqliteAudit
from layers.stores.embedded.database import SqliteFile
from layers.stores.embedded.keys import SqliteKeys, key_row
from layers.stores.layers import LoadedLayer
from layers.stores.versions import (
    Delta,
    Version,
    VersionedLayers,
    changes_json,
    iter_versions,
)

_COLUMNS = "layer, version, at, actor, action, reason, features, changes, fingerprint"


class SqliteVersionTables(SqliteAudit, SqliteKeys):
    """`VersionTables` on a connection in a write transaction (BEGIN IMMEDIATE)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def head(self, layer: str) -> tuple[int, str] | None:
        row = self.db.execute(
            "SELECT h.version, v.fingerprint FROM layer_heads h JOIN layer_versions v"
            " ON v.layer = h.layer AND v.version = h.version WHERE h.layer = ?",
            (layer,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def version_of(self, layer: str, mark: str) -> int | None:
        row = self.db.execute("SELECT max(version) FROM layer_versions WHERE layer = ?"
                              " AND fingerprint = ?", (layer, mark)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def whole_before(self, layer: str, version: int) -> int | None:
        row = self.db.execute("SELECT max(version) FROM layer_versions WHERE layer = ? AND"
                              " version <= ? AND parent IS NULL", (layer, version)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def version_rows(self, layer: str, first: int, last: int, content: bool = True
             ) -> list[tuple[int, int | None, bytes | None]]:
        found = self.db.execute(
            f"SELECT version, parent, {'content' if content else 'NULL'} FROM layer_versions"
            " WHERE layer = ? AND version BETWEEN ? AND ? ORDER BY version",
            (layer, first, last)).fetchall()
        return [(int(v), None if p is None else int(p), None if c is None else bytes(c))
                for v, p, c in found]

    def add(self, row: Version, content: bytes, parent: int | None = None) -> None:
        self.db.execute(
            f"INSERT INTO layer_versions ({_COLUMNS}, content, parent)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (row.layer, row.version, row.at, row.actor, row.action, row.reason, row.features,
             changes_json(row), row.fingerprint, content, parent))
        self.db.execute("INSERT INTO layer_heads (layer, version) VALUES (?, ?) ON CONFLICT"
                        " (layer) DO UPDATE SET version = excluded.version",
                        (row.layer, row.version))

    def write_current(self, loaded: LoadedLayer, delta: Delta | None = None) -> None:
        """Nothing: the embedded store serves the head from each process's memory."""


class SqliteVersions(VersionedLayers):
    database_errors = (sqlite3.Error, OSError)

    def __init__(self, path: Path):
        self.file = SqliteFile(path)

    @contextmanager
    def writing(self) -> Iterator[SqliteVersionTables]:
        with self.file.write() as db:
            yield SqliteVersionTables(db)

    def heads(self) -> dict[str, int]:
        rows = self.file.reader().execute("SELECT layer, version FROM layer_heads")
        return {str(layer): int(version) for layer, version in rows}

    def versions(self, layer: str, after: int = 0) -> list[Version]:
        rows = self.file.reader().execute(
            f"SELECT {_COLUMNS} FROM layer_versions WHERE layer = ? AND version > ?"
            " ORDER BY version DESC", (layer, after))
        return iter_versions(iter(rows.fetchall()))

    @contextmanager
    def reading(self) -> Iterator[SqliteVersionTables]:
        yield SqliteVersionTables(self.file.reader())

    def key_row(self, user: str, key: str) -> dict[str, Any] | None:
        return key_row(self.file.reader(), user, key)

    def now(self) -> str:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
