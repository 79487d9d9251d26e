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
from collections.abc import Iterator
from contextlib import contextmanager
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
    app.extensions["layer_store"] = history.store()


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
                                          or DEFAULT_POOL_SIZE)).open()
        database.init_schema()
        app.extensions["database"] = database
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
