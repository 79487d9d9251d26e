"""The stores behind the app, chosen by DATABASE_URL, and the interfaces routes use.

Unset (the default): the embedded stores — records and accounts in the SQLite
file INSPECTIONS_DB, spatial queries over the in-process STRtrees
(`layers.stores.spatial.MemorySpatial`). `postgresql://...`: all three in PostGIS
(`layers.stores.postgis`), for the whole city's data, several app servers and many
concurrent writers. Routes reach them only through the accessors in
layers/web/context.py (`get_inspections`, `get_spatial`) and layers/accounts/auth.py
(`get_users`), typed by the protocols below, so they do not care which is behind.

The layers themselves are still loaded from DATA_DIR into every server's
memory (maps, analysis, exports and the OGC API read them there); with PostGIS
they are also written to the database at start-up when its copy differs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from flask import Flask

from layers.accounts.auth import UserStore
from layers.records.inspections import InspectionStore, NewInspection, NewRecheck, VenueStatus
from layers.stores.layers import LayerStore
from layers.stores.spatial import MemorySpatial

log = logging.getLogger(__name__)

URL_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_POOL_SIZE = 10


class RecordStore(Protocol):
    """Inspections, hazards and the venues' statuses (InspectionStore, PostgisRecords)."""

    def is_empty(self) -> bool: ...
    def seed_from_csv(self, inspections_csv: Path, hazards_csv: Path) -> None: ...
    def last_inspections(self) -> dict[str, str]: ...
    def open_hazard_counts(self) -> dict[str, int]: ...
    def statuses(self, venues: Iterable[tuple[str, str]], today: dt.date
                 ) -> dict[str, VenueStatus]: ...
    def record_inspection(self, new: NewInspection, recorded_by: str | None = None
                          ) -> dict[str, Any]: ...
    def start_rectification(self, hazard_id: str, date: dt.date, actor: str | None,
                            by: str | None = None) -> dict[str, Any]: ...
    def record_recheck(self, new: NewRecheck, recorded_by: str | None = None
                       ) -> dict[str, Any]: ...
    def history(self, venue_id: str, limit: int = 50) -> dict[str, Any]: ...
    def hazard(self, hazard_id: str) -> dict[str, Any]: ...


def uses_postgis(app: Flask) -> bool:
    return bool(app.config.get("DATABASE_URL"))


def init_app(app: Flask, data_dir: Path) -> None:
    """Open the configured stores: extensions inspections, users (PostGIS), spatial."""
    url = app.config.get("DATABASE_URL")
    records: RecordStore
    if url:
        if not str(url).startswith(URL_SCHEMES):
            raise ValueError(f"DATABASE_URL must start with postgresql://, not {str(url)[:12]!r}")
        from layers.stores import postgis

        database = postgis.Database(str(url), int(app.config.get("DATABASE_POOL_SIZE")
                                                  or DEFAULT_POOL_SIZE)).open()
        database.init_schema()
        store: LayerStore = app.extensions["layer_store"]
        written = postgis.load_layers(database, store)
        if written:
            log.info("loaded into PostGIS: %s", ", ".join(f"{k} ({v})" for k, v in written.items()))
        app.extensions["database"] = database
        app.extensions["layer_sync"] = lambda reloaded: postgis.load_layers(database, reloaded)
        app.extensions["users"] = postgis.PostgisUsers(database)
        app.extensions["spatial"] = postgis.PostgisSpatial(database, postgis.LAYER_NAMES)
        records = postgis.PostgisRecords(database)
    else:
        app.extensions["spatial"] = MemorySpatial(lambda: app.extensions["layer_store"])
        records = InspectionStore(Path(app.config["INSPECTIONS_DB"]))
    records.seed_from_csv(data_dir / "inspections.csv", data_dir / "hazards.csv")
    app.extensions["inspections"] = records
    if "database" in app.extensions:  # no connection crosses a fork (gunicorn preload_app)
        app.extensions["database"].release()


@contextmanager
def accounts_transaction(app: Flask) -> Iterator[Any]:
    """A transaction on the accounts store (users, login failures, the audit log): the
    app's, or, for the CLI's bare app that could not load the layers (`python -m
    layers.data.cli`), one opened from the configuration for this transaction."""
    users = app.extensions.get("users")
    if users is not None:
        with users.connect() as db:
            yield db
        return
    url = app.config.get("DATABASE_URL")
    if not url:
        with UserStore(Path(app.config["INSPECTIONS_DB"])).connect() as db:
            yield db
        return
    from layers.stores import postgis

    database = postgis.Database(str(url), 1).open()
    try:
        database.init_schema()
        with postgis.PostgisUsers(database).connect() as db:
            yield db
    finally:
        database.close()
