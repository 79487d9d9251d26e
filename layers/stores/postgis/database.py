"""The PostgreSQL database of the PostGIS store: a pool of connections per process,
its transactions and write locks, and its schema."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from layers.catalogue.entries import CATALOGUE
from layers.errors import BadRequest, DatabaseUnavailable
from layers.stores.interfaces import ID_PREFIXES
from layers.stores.postgis.schema import (
    CORRECTIONS_SCHEMA,
    PHOTOS_SCHEMA,
    TABLES_SCHEMA,
    layer_schema,
    sync_numbers,
)

LAYER_NAMES = tuple(layer.name for layer in CATALOGUE)
# Advisory lock keys (pg_advisory_xact_lock): schema and layer loads; accounts; and the
# class of the per-venue record locks (two-key form: the class, hashtext(venue id)).
SCHEMA_LOCK = 0x48554149  # "HUAI"
ACCOUNTS_LOCK = 0x53485532  # "SHU2"
LAYERS_LOCK = 0x53485533  # "SHU3": a new version of a layer
VENUE_LOCK_CLASS = 0x53485534  # "SHU4"

Params = Sequence[Any] | Mapping[str, Any]
log = logging.getLogger(__name__)


class PostgisError(Exception):
    """The database cannot be used (unreachable, no PostGIS); the message says why."""


# How an outage is met (see `Database`). libpq's connect_timeout is whole seconds, >= 2.
CONNECT_TIMEOUT_S = 2
POOL_WAIT_S = 1.0  # a request waits this long for a free connection, then 503
RETRY_S = 1.0  # while the database is down, one request a second tries it again
START_RETRY_S = 2.0  # a server started during an outage tries again this often
UNAVAILABLE_MESSAGE = "数据库暂时无法连接,请稍后重试 (the database is unreachable; retry shortly)"
BUSY_MESSAGE = "服务繁忙,请稍后重试 (every database connection is busy; retry shortly)"
TIMEOUT_MESSAGE = ("数据库处理超时,未做任何更改,请稍后重试 (a statement ran longer than "
                   "DATABASE_STATEMENT_TIMEOUT_S and was cancelled; nothing was changed)")


class Database:
    """A pool of connections to one PostgreSQL database (psycopg 3, psycopg_pool), per process.

    The pool is opened on first use in each process, and `release` closes it: the
    app releases it once start-up is done, so that under gunicorn's preload_app
    no connection (nor the pool's threads) crosses the fork into the workers;
    each worker opens its own pool on its first request.

    Outages fail fast. A request waits at most POOL_WAIT_S for a connection; a
    connection that breaks (the server stopped or restarted) or a wait that times
    out makes the pool try one new connection at once: if that fails too, the
    database is down. While it is down every transaction raises
    `DatabaseUnavailable` (503, Retry-After) at once, without touching the
    network, except one request a second (RETRY_S) that tries to connect; when
    that succeeds a fresh pool replaces the old one (whose connections are all
    dead) and service resumes.
    """

    def __init__(self, url: str, pool_size: int = 10, statement_timeout_s: float = 0):
        self.url = url
        self.pool_size = pool_size
        # A statement of a request that runs longer is cancelled (503): a stuck lock or a
        # runaway query holds one connection that long at most. 0: no limit. Loading and
        # writing layers (`unbounded` transactions) are not limited.
        self.statement_timeout_ms = max(0, round(statement_timeout_s * 1000))
        self._pool: ConnectionPool | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._down_since: float | None = None  # monotonic time the outage was seen
        self._retry_at = 0.0

    def open(self, wait_s: float = 0.0) -> Database:
        """Check that the database answers (a clear error at once if not); during an
        outage, wait up to `wait_s` seconds for it (math.inf: until it answers),
        trying again every START_RETRY_S with a log line each time."""
        deadline = time.monotonic() + wait_s
        while True:
            problem = self._connect_problem()
            if problem is None:
                return self
            if time.monotonic() + START_RETRY_S > deadline:
                raise PostgisError(f"cannot connect to DATABASE_URL {redact(self.url)}: "
                                   f"{problem}")
            log.warning("数据库无法连接,%s 秒后重试 (cannot connect to DATABASE_URL %s: %s; "
                        "retrying in %s s)", START_RETRY_S, redact(self.url), problem,
                        START_RETRY_S)
            time.sleep(START_RETRY_S)

    def _connect_problem(self) -> str | None:
        try:
            psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as e:
            return str(e).strip() or type(e).__name__
        return None

    def problem(self, timeout_s: float = 1.0) -> str | None:
        """Why the database cannot serve now (Chinese first), or None: `SELECT 1` within
        `timeout_s` through this process's pool (for /readyz)."""
        try:
            with self.transaction(wait_s=timeout_s) as conn:
                conn.execute("SELECT 1")
        except DatabaseUnavailable as e:
            return e.message
        return None

    def server_limits(self) -> tuple[int, int] | None:
        """(connections PostgreSQL allows others than superusers, connections held now by
        other processes than this one), or None when it cannot say."""
        try:
            with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                row = conn.execute(
                    "SELECT current_setting('max_connections')::int"
                    " - current_setting('superuser_reserved_connections')::int,"
                    " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                    "'client backend' AND pid <> pg_backend_pid())").fetchone()
        except psycopg.Error:
            return None
        return (int(row[0]), int(row[1])) if row else None

    @property
    def down(self) -> bool:
        """Whether this process has seen the database down and not yet back."""
        return self._down_since is not None

    def _pool_here(self) -> ConnectionPool:
        with self._lock:
            if self._down_since is not None:
                now = time.monotonic()
                if now < self._retry_at:
                    raise DatabaseUnavailable(UNAVAILABLE_MESSAGE, retry_after_s=2)
                self._retry_at = now + RETRY_S  # this request tries; the others do not wait
            elif self._pool is not None and self._pid == os.getpid():
                return self._pool
        if self._down_since is not None:
            problem = self._connect_problem()
            if problem is not None:
                raise DatabaseUnavailable(UNAVAILABLE_MESSAGE, retry_after_s=2)
        with self._lock:
            if self._down_since is not None:
                log.warning("数据库已恢复 (the database answers again after %.1f s)",
                            time.monotonic() - self._down_since)
                self._down_since = None
                self._drop_pool()
            if self._pool is None or self._pid != os.getpid():
                # A pool made before a fork belongs to the parent: never touch it here.
                # All its connections open at once: a pool that grows one connection at a
                # time, under load, made requests wait past POOL_WAIT_S (503) for nothing.
                self._pool = ConnectionPool(
                    self.url, min_size=self.pool_size, max_size=self.pool_size,
                    name="huaishu", open=True,
                    kwargs=self._connection_options())
                self._pid = os.getpid()
            return self._pool

    def _connection_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"autocommit": False, "connect_timeout": CONNECT_TIMEOUT_S}
        if self.statement_timeout_ms:
            options["options"] = f"-c statement_timeout={self.statement_timeout_ms}"
        return options

    def _drop_pool(self) -> None:
        """Forget this process's pool (under the lock); close it in the background (its
        connections may be dead, and closing waits for its threads)."""
        pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            threading.Thread(target=pool.close, kwargs={"timeout": 5}, daemon=True,
                             name="huaishu-pool-close").start()

    def _failed(self, error: BaseException) -> DatabaseUnavailable:
        """A connection broke or none came in time: is the database down? One new
        connection says (at once when the server refuses it)."""
        problem = self._connect_problem()
        if problem is None:
            return DatabaseUnavailable(BUSY_MESSAGE if isinstance(error, PoolTimeout)
                                       else UNAVAILABLE_MESSAGE, retry_after_s=1)
        with self._lock:
            if self._down_since is None:
                log.error("数据库无法连接 (the database is unreachable: %s); requests that "
                          "need it answer 503 until it answers again", problem)
                self._down_since = time.monotonic()
                self._retry_at = self._down_since + RETRY_S
                self._drop_pool()
        return DatabaseUnavailable(UNAVAILABLE_MESSAGE, retry_after_s=2)

    def release(self) -> None:
        """Close this process's pool (it is opened again when next needed)."""
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None

    close = release

    @contextmanager
    def transaction(self, wait_s: float = POOL_WAIT_S, *, unbounded: bool = False
                    ) -> Iterator[psycopg.Connection[Any]]:
        """A connection in a transaction: committed on success, rolled back on error.
        `DatabaseUnavailable` when the database is down, no connection is free within
        `wait_s` seconds, or a statement ran past the statement timeout (unless
        `unbounded`: loading and writing whole layers)."""
        with self._connection(wait_s, unbounded=unbounded) as conn:
            yield conn

    @contextmanager
    def glance(self, wait_s: float = POOL_WAIT_S) -> Iterator[psycopg.Connection[Any]]:
        """A connection for reads outside a transaction (autocommit): no BEGIN and COMMIT
        round trips around them, for the reads of a hot query. Each statement sees every
        commit before it, as each statement of a READ COMMITTED transaction (the default
        here) does; errors as `transaction`'s."""
        with self._connection(wait_s, autocommit=True) as conn:
            yield conn

    @contextmanager
    def _connection(self, wait_s: float, *, unbounded: bool = False, autocommit: bool = False
                    ) -> Iterator[psycopg.Connection[Any]]:
        pool = self._pool_here()
        conn: psycopg.Connection[Any] | None = None
        try:
            with pool.connection(timeout=wait_s) as conn:
                if unbounded and self.statement_timeout_ms:
                    conn.execute("SET LOCAL statement_timeout = 0")
                if autocommit:  # set and reset here, without a round trip
                    conn.autocommit = True
                    try:
                        yield conn
                    finally:  # a broken connection leaves the pool: leave it as it is
                        if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                            conn.autocommit = False
                else:
                    yield conn
        except (PoolTimeout, PoolClosed) as e:
            raise self._failed(e) from None
        except psycopg.errors.QueryCanceled:
            log.warning("数据库语句超时已取消 (a statement ran past %d ms and was cancelled)",
                        self.statement_timeout_ms)
            raise DatabaseUnavailable(TIMEOUT_MESSAGE, retry_after_s=2) from None
        except psycopg.Error as e:
            if conn is not None and _connection_lost(conn, e):
                raise self._failed(e) from None
            raise

    @contextmanager
    def locked(self, key: int, *, unbounded: bool = False
               ) -> Iterator[psycopg.Connection[Any]]:
        """A transaction that holds the advisory lock `key` from its start."""
        with self.transaction(unbounded=unbounded) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            yield conn

    def init_schema(self, catalogue_names: Sequence[str] = LAYER_NAMES) -> None:
        """Create the PostGIS extension, the record tables and one table per layer
        (idempotent; concurrent callers wait for each other)."""
        with self.locked(SCHEMA_LOCK, unbounded=True) as db:
            try:
                db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error as e:
                raise PostgisError(f"PostGIS is not available in {redact(self.url)}: {e} "
                                   "(install postgresql-15-postgis-3, or have the database "
                                   "owner run CREATE EXTENSION postgis)") from None
            db.execute(sql.SQL(TABLES_SCHEMA))
            db.execute(sql.SQL(CORRECTIONS_SCHEMA))
            db.execute(sql.SQL(PHOTOS_SCHEMA))
            for table, prefix in ID_PREFIXES.items():
                db.execute(sync_numbers(table, prefix))
            for name in catalogue_names:
                db.execute(layer_schema(name))


def _connection_lost(conn: psycopg.Connection[Any], error: psycopg.Error) -> bool:
    """Whether `error` means the connection or the server went away (not a bad query)."""
    state = error.sqlstate or ""
    return (conn.broken or conn.closed or state.startswith(("08", "57P"))
            or (isinstance(error, psycopg.OperationalError) and not state))


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
