"""The stores behind the app, chosen by DATABASE_URL.

Unset (the default): the embedded stores — records and accounts in the SQLite
file INSPECTIONS_DB (layers/stores/embedded), spatial queries over the
in-process STRtrees (`MemorySpatial`). `postgresql://...`: all three in PostGIS
(layers/stores/postgis), for the whole city's data, several app servers and many
concurrent writers. Either way the records and the accounts are kept by the same
rules (`InspectionRecords`, `Accounts`) over that database's tables. Routes reach
the stores only through the accessors in layers/web/context.py (`get_inspections`,
`get_spatial`) and layers/accounts/sessions.py (`get_users`), typed by the
protocols of layers/stores/interfaces.py, so they do not care which is behind.

The layers live in the same database, as versions (layers/stores/versions.py):
each server loads every layer's head version into memory at start (maps, analysis,
exports and the OGC API read it there) and follows the heads (layers/data/reload.py).
The shipped files of DATA_DIR only seed the layers an empty database lacks.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from flask import Flask

from layers.records.book import InspectionRecords
from layers.records.login_limits import Limits
from layers.records.users import Accounts
from layers.stores.embedded.records import SqliteRecords
from layers.stores.embedded.spatial import MemorySpatial
from layers.stores.embedded.users import SqliteAccounts
from layers.stores.embedded.versions import SqliteVersions
from layers.stores.interfaces import AuditSink, RecordStore, SpatialStore, UserStore
from layers.stores.versions import VersionedLayers

log = logging.getLogger(__name__)

URL_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_POOL_SIZE = 10


def login_limits(app: Flask) -> Limits:
    return Limits(per_pair=int(app.config["LOGIN_MAX_FAILURES_PER_PAIR"]),
                  per_name=int(app.config["LOGIN_MAX_FAILURES_PER_NAME"]),
                  per_address=int(app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
                  window_s=float(app.config["LOGIN_WINDOW_S"]))


def embedded_records(path: Path) -> InspectionRecords:
    """The records in the SQLite file at `path` (made, with every table, if need be)."""
    return InspectionRecords(SqliteRecords(path))


def embedded_accounts(path: Path, limits: Limits | None = None) -> Accounts:
    """The accounts in the SQLite file at `path` (made, with every table, if need be)."""
    return Accounts(SqliteAccounts(path), limits)


def load_layers(app: Flask, history: VersionedLayers, data_dir: Path) -> None:
    """Seed the layers the database lacks from `data_dir`, then load every layer's head
    (extensions layer_history and layer_store). LayerDataError if they do not load."""
    seeded = history.seed(data_dir)
    if seeded:
        log.info("seeded the layers %s from %s", ", ".join(seeded), data_dir)
    app.extensions["layer_history"] = history
    app.extensions["layer_store"] = history.store(known=seeded)


def init_app(app: Flask, data_dir: Path) -> None:
    """Open the configured stores: extensions inspections, users, spatial, layer_history
    and layer_store (and, with PostGIS, database)."""
    url = app.config.get("DATABASE_URL")
    # Typed by the interfaces: mypy checks that each store implements them.
    records: RecordStore
    users: UserStore
    spatial: SpatialStore
    if url:
        if not str(url).startswith(URL_SCHEMES):
            raise ValueError(f"DATABASE_URL must start with postgresql://, not {str(url)[:12]!r}")
        from layers.stores.postgis.database import Database
        from layers.stores.postgis.layers import PostgisVersions
        from layers.stores.postgis.records import PostgisRecords
        from layers.stores.postgis.spatial import PostgisSpatial
        from layers.stores.postgis.users import PostgisAccounts

        database = Database(str(url), int(app.config.get("DATABASE_POOL_SIZE")
                                          or DEFAULT_POOL_SIZE),
                            float(app.config.get("DATABASE_STATEMENT_TIMEOUT_S") or 0))
        database.open(float(app.config.get("DATABASE_START_WAIT_S") or 0))
        app.extensions["database"] = database
        share_connections(app, 1)  # one process until a server says how many (gunicorn)
        database.init_schema()
        load_layers(app, PostgisVersions(database), data_dir)
        users = Accounts(PostgisAccounts(database), login_limits(app))
        spatial = PostgisSpatial(database)
        records = InspectionRecords(PostgisRecords(database))
    else:
        path = Path(app.config["INSPECTIONS_DB"])
        load_layers(app, SqliteVersions(path), data_dir)
        users = embedded_accounts(path, login_limits(app))
        spatial = MemorySpatial(lambda: app.extensions["layer_store"])
        records = embedded_records(path)
    app.extensions["users"] = users
    app.extensions["spatial"] = spatial
    records.seed_from_csv(data_dir / "inspections.csv", data_dir / "hazards.csv")
    app.extensions["inspections"] = records
    if "database" in app.extensions:  # no connection crosses a fork (gunicorn preload_app)
        app.extensions["database"].release()


class ConnectionBudgetError(Exception):
    """DATABASE_CONNECTIONS cannot be kept (too small for the workers, or larger than
    the PostgreSQL server allows); the message says which and what to change."""


def share_connections(app: Flask, processes: int) -> int:
    """Split this host's DATABASE_CONNECTIONS among its `processes` (gunicorn workers):
    each process's pool gets budget // processes connections (at most
    DATABASE_POOL_SIZE), so that processes × pool never exceeds the budget. Checks the
    budget against PostgreSQL's max_connections (less the superuser's reserve) and
    the connections others hold. Returns the pool size (0 without PostGIS)."""
    database = app.extensions.get("database")
    if database is None:
        return 0
    budget = int(app.config.get("DATABASE_CONNECTIONS") or 0)
    cap = int(app.config.get("DATABASE_POOL_SIZE") or DEFAULT_POOL_SIZE)
    if budget <= 0:
        database.pool_size = cap
        return cap
    if processes > budget:
        raise ConnectionBudgetError(
            f"数据库连接预算不足:{processes} 个工作进程至少需要 {processes} 个连接,"
            f"而 DATABASE_CONNECTIONS 为 {budget} (the connection budget is smaller than the "
            f"worker processes: raise HUAISHU_DATABASE_CONNECTIONS to at least {processes} "
            "or start fewer workers)")
    size = min(cap, budget // processes)
    limits = database.server_limits()
    if limits is not None:
        allowed, others = limits
        if budget > allowed:
            raise ConnectionBudgetError(
                f"数据库连接预算 DATABASE_CONNECTIONS={budget} 超过 PostgreSQL 允许的 "
                f"{allowed} 个连接 (max_connections less superuser_reserved_connections): "
                "lower HUAISHU_DATABASE_CONNECTIONS (on every host: their sum must stay "
                "under it, with room for psql, pg_dump and the flask commands), or raise "
                "max_connections in postgresql.conf")
        if budget + others > allowed:
            log.warning("数据库连接可能不足: this host may use %s connections, others hold %s "
                        "now, PostgreSQL allows %s", budget, others, allowed)
    database.pool_size = size
    log.info("database connections: %s process(es) x pool %s <= DATABASE_CONNECTIONS %s",
             processes, size, budget)
    return size


def database_problem(app: Flask, timeout_s: float) -> str | None:
    """Why the app's database cannot serve now (in Chinese), or None: PostGIS must answer
    `SELECT 1` within `timeout_s`; the SQLite file must be readable."""
    database = app.extensions.get("database")
    if database is not None:
        return database.problem(timeout_s)
    uri = f"{Path(app.config['INSPECTIONS_DB']).resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=timeout_s)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as e:
        return f"数据库不可用 (the SQLite file cannot be read: {e})"
    return None


@contextmanager
def accounts_transaction(app: Flask) -> Iterator[AuditSink]:
    """A transaction on the accounts store for the audit row of a change made outside it:
    the app's, or, for the CLI's bare app that could not load the layers (`python -m
    layers.data.cli`), one opened from the configuration for this transaction."""
    users: UserStore | None = app.extensions.get("users")
    if users is not None:
        with users.audit_transaction() as db:
            yield db
        return
    url = app.config.get("DATABASE_URL")
    if not url:
        with embedded_accounts(Path(app.config["INSPECTIONS_DB"])).audit_transaction() as db:
            yield db
        return
    from layers.stores.postgis.database import Database
    from layers.stores.postgis.users import PostgisAccounts

    database = Database(str(url), 1).open()
    try:
        database.init_schema()
        with Accounts(PostgisAccounts(database)).audit_transaction() as db:
            yield db
    finally:
        database.close()


@contextmanager
def layer_history(app: Flask) -> Iterator[VersionedLayers]:
    """The layers' versions: the app's, or, for the CLI's bare app (`python -m
    layers.cli`), opened from the configuration for this command."""
    history: VersionedLayers | None = app.extensions.get("layer_history")
    if history is not None:
        yield history
        return
    url = app.config.get("DATABASE_URL")
    if not url:
        yield SqliteVersions(Path(app.config["INSPECTIONS_DB"]))
        return
    from layers.stores.postgis.database import Database
    from layers.stores.postgis.layers import PostgisVersions

    database = Database(str(url), 1).open()
    try:
        database.init_schema()
        yield PostgisVersions(database)
    finally:
        database.close()
