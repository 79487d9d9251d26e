"""The PostgreSQL database of the PostGIS store: a pool of connections per process,
its transactions and write locks, and its schema."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from layers.catalogue.entries import CATALOGUE
from layers.errors import BadRequest
from layers.stores.postgis.schema import TABLES_SCHEMA, layer_schema

LAYER_NAMES = tuple(layer.name for layer in CATALOGUE)
# Advisory lock keys (pg_advisory_xact_lock): schema and layer loads; record writes.
SCHEMA_LOCK = 0x48554149  # "HUAI"
WRITE_LOCK = 0x53485531  # "SHU1"
ACCOUNTS_LOCK = 0x53485532  # "SHU2"
LAYERS_LOCK = 0x53485533  # "SHU3": a new version of a layer

Params = Sequence[Any] | Mapping[str, Any]


class PostgisError(Exception):
    """The database cannot be used (unreachable, no PostGIS); the message says why."""


class Database:
    """A pool of connections to one PostgreSQL database (psycopg 3, psycopg_pool), per process.

    The pool is opened on first use in each process, and `release` closes it: the
    app releases it once start-up is done, so that under gunicorn's preload_app
    no connection (nor the pool's threads) crosses the fork into the workers;
    each worker opens its own pool on its first request.
    """

    def __init__(self, url: str, pool_size: int = 10):
        self.url = url
        self.pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def open(self) -> Database:
        """Check that the database answers (a clear error at once if not)."""
        try:
            psycopg.connect(self.url, connect_timeout=10).close()
        except psycopg.Error as e:
            raise PostgisError(f"cannot connect to DATABASE_URL {redact(self.url)}: "
                               f"{str(e).strip()}") from None
        return self

    def _pool_here(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                # A pool made before a fork belongs to the parent: never touch it here.
                self._pool = ConnectionPool(self.url, min_size=1, max_size=self.pool_size,
                                            kwargs={"autocommit": False}, name="huaishu",
                                            open=True)
                self._pid = os.getpid()
            return self._pool

    def release(self) -> None:
        """Close this process's pool (it is opened again when next needed)."""
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None

    close = release

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in a transaction: committed on success, rolled back on error."""
        with self._pool_here().connection() as conn:
            yield conn

    @contextmanager
    def locked(self, key: int) -> Iterator[psycopg.Connection[Any]]:
        """A transaction that holds the advisory lock `key` from its start."""
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            yield conn

    def init_schema(self, catalogue_names: Sequence[str] = LAYER_NAMES) -> None:
        """Create the PostGIS extension, the record tables and one table per layer
        (idempotent; concurrent callers wait for each other)."""
        with self.locked(SCHEMA_LOCK) as db:
            try:
                db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error as e:
                raise PostgisError(f"PostGIS is not available in {redact(self.url)}: {e} "
                                   "(install postgresql-15-postgis-3, or have the database "
                                   "owner run CREATE EXTENSION postgis)") from None
            db.execute(sql.SQL(TABLES_SCHEMA))
            for name in catalogue_names:
                db.execute(layer_schema(name))


def redact(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


class Tables:
    """Queries on a connection in a transaction, rows as dicts.

    PostgreSQL text cannot hold NUL characters (SQLite's can): a value with one is
    refused as bad input, 400, before it reaches the database."""

    def __init__(self, db: psycopg.Connection[Any]):
        self.db = db

    def execute(self, query: sql.Composable | str, params: Params = ()
                ) -> psycopg.Cursor[dict[str, Any]]:
        values = list(params.values() if isinstance(params, Mapping) else params)
        values += [v for value in values if isinstance(value, list) for v in value]
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise BadRequest("文本不能含有 NUL 字符 (text must not contain NUL characters)")
        cursor = self.db.cursor(row_factory=dict_row)
        return cursor.execute(query, params)  # type: ignore[arg-type]

    def rows(self, query: sql.Composable | str, params: Params = ()) -> list[dict[str, Any]]:
        return self.execute(query, params).fetchall()

    def row(self, query: sql.Composable | str, params: Params = ()) -> dict[str, Any] | None:
        return self.execute(query, params).fetchone()

    def value(self, query: sql.Composable | str, params: Params = ()) -> Any:
        row = self.execute(query, params).fetchone()
        return next(iter(row.values())) if row else None
