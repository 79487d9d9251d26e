"""The SQLite file of the embedded store: its connections and transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layers.stores.embedded import schema


class SqliteFile:
    """One SQLite file (made, with every table, when opened); one connection per operation."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # a thread's reader, see `reader`
        with self.connect() as db:
            schema.create(db)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction: committed on success, rolled back on error."""
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is on disk before it is acknowledged, even across a power
        # cut (NORMAL, in WAL mode, survives only a crash of the process).
        db.execute("PRAGMA synchronous=FULL")
        try:
            with db:
                yield db
        finally:
            db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its start (BEGIN IMMEDIATE),
        so that ids read inside it stay free until it commits."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            yield db

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection, kept open for the small reads of hot queries.

        Autocommit: each SELECT is its own read transaction and sees every commit
        before it (WAL). Made anew in a forked worker (never crosses a fork) and
        per thread (sqlite3's own check); writes never use it.
        """
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            local.db.row_factory = sqlite3.Row
            local.pid = os.getpid()
        db: sqlite3.Connection = local.db
        return db
