"""The layers in PostGIS: their versions (`layer_versions`, `layer_heads`; the rules:
layers/stores/versions.py) and, in the tables `layer_<name>`, the features of each
layer's head version, which the spatial queries and the vector tiles read. A new
version rewrites its layer's table in the transaction that adds it, under the
layers' advisory lock: every server sees the old version or the new one, whole."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from psycopg import sql

from layers.stores.layers import LoadedLayer
from layers.stores.postgis.audit import PostgisAudit
from layers.stores.postgis.database import LAYERS_LOCK, Database
from layers.stores.postgis.keys import PostgisKeys
from layers.stores.postgis.schema import METRIC_SRID, WGS84_SRID, layer_table
from layers.stores.versions import Version, VersionedLayers, changes_json, iter_versions

_COLUMNS = "layer, version, at, actor, action, reason, features, changes, fingerprint"


def spatial_order(loaded: LoadedLayer) -> list[int]:
    """Feature positions along a Hilbert curve: rows near in space are written near in
    the table, so a query around a point reads few pages (`ord` keeps the layer order)."""
    if not len(loaded):
        return []
    return np.argsort(gpd.GeoSeries(loaded.metric).hilbert_distance(), kind="stable").tolist()


class PostgisVersionTables(PostgisAudit, PostgisKeys):
    """`VersionTables` on a connection in a transaction holding LAYERS_LOCK."""

    def head(self, layer: str) -> tuple[int, str] | None:
        row = self.row("SELECT h.version, v.fingerprint FROM layer_heads h JOIN layer_versions v"
                       " ON v.layer = h.layer AND v.version = h.version WHERE h.layer = %s",
                       (layer,))
        return (int(row["version"]), str(row["fingerprint"])) if row else None

    def version_of(self, layer: str, mark: str) -> int | None:
        found = self.value("SELECT max(version) FROM layer_versions WHERE layer = %s"
                           " AND fingerprint = %s", (layer, mark))
        return int(found) if found is not None else None

    def content(self, layer: str, version: int) -> bytes | None:
        found = self.value("SELECT content FROM layer_versions WHERE layer = %s AND"
                           " version = %s", (layer, version))
        return bytes(found) if found is not None else None

    def add(self, row: Version, content: bytes) -> None:
        self.execute(
            f"INSERT INTO layer_versions ({_COLUMNS}, content)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (row.layer, row.version, row.at, row.actor, row.action, row.reason, row.features,
             changes_json(row), row.fingerprint, content))
        self.execute("INSERT INTO layer_heads (layer, version) VALUES (%s, %s) ON CONFLICT"
                     " (layer) DO UPDATE SET version = excluded.version",
                     (row.layer, row.version))

    def write_current(self, loaded: LoadedLayer) -> None:
        """Replace the rows of `layer_<name>` with the layer's features."""
        table = layer_table(loaded.name)
        self.db.execute(sql.SQL("DELETE FROM {}").format(table))
        copy_sql = sql.SQL("COPY {} (id, ord, kind, feature, geom, geom_wgs84) FROM STDIN"
                           ).format(table)
        with self.db.cursor().copy(copy_sql) as copy:
            for i in spatial_order(loaded):
                feature = loaded.features[i]
                kind = feature["properties"].get("kind")
                copy.write_row((
                    feature["id"], i, kind if isinstance(kind, str) else None,
                    json.dumps(feature, ensure_ascii=True),
                    shapely.to_wkb(shapely.set_srid(loaded.metric[i], METRIC_SRID),
                                   hex=True, include_srid=True),
                    shapely.to_wkb(shapely.set_srid(loaded.geometries[i], WGS84_SRID),
                                   hex=True, include_srid=True),
                ))
        self.db.execute(sql.SQL("ANALYZE {}").format(table))


class PostgisVersions(VersionedLayers):
    database_errors = (psycopg.Error, OSError)

    def __init__(self, database: Database):
        self.database = database

    @contextmanager
    def writing(self) -> Iterator[PostgisVersionTables]:
        with self.database.locked(LAYERS_LOCK, unbounded=True) as db:
            yield PostgisVersionTables(db)

    @contextmanager
    def _reading(self) -> Iterator[PostgisVersionTables]:
        with self.database.transaction(unbounded=True) as db:
            yield PostgisVersionTables(db)

    def key_row(self, user: str, key: str) -> dict[str, Any] | None:
        with self._reading() as db:
            return db.key_row(user, key)

    def heads(self) -> dict[str, int]:
        # Each server reads them once a second (layers/data/reload.py): one round trip.
        with self.database.glance() as conn:
            return {row["layer"]: int(row["version"]) for row in PostgisVersionTables(
                conn).rows("SELECT layer, version FROM layer_heads")}

    def versions(self, layer: str, after: int = 0) -> list[Version]:
        with self._reading() as db:
            rows = db.db.execute(f"SELECT {_COLUMNS} FROM layer_versions WHERE layer = %s"
                                 " AND version > %s ORDER BY version DESC",
                                 (layer, after)).fetchall()
        return iter_versions(iter(rows))

    def content(self, layer: str, version: int | None = None) -> tuple[int, bytes] | None:
        with self._reading() as db:
            if version is None:
                row = db.row("SELECT v.version, v.content FROM layer_heads h JOIN"
                             " layer_versions v ON v.layer = h.layer AND v.version = h.version"
                             " WHERE h.layer = %s", (layer,))
            else:
                row = db.row("SELECT version, content FROM layer_versions WHERE layer = %s"
                             " AND version = %s", (layer, version))
        return (int(row["version"]), bytes(row["content"])) if row else None

    def now(self) -> str:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def contents(database: Database) -> tuple[list[tuple[str, int, int, str]], dict[str, int]]:
    """What the database holds: (layer, head version, features, at) of each layer, and
    the rows of the records' and accounts' main tables (`flask db init` shows them)."""
    with database.transaction() as db:
        layers = [(str(r[0]), int(r[1]), int(r[2]), str(r[3])) for r in db.execute(
            "SELECT v.layer, v.version, v.features, v.at FROM layer_heads h JOIN layer_versions"
            " v ON v.layer = h.layer AND v.version = h.version ORDER BY v.layer")]
        rows = {}
        for table in ("inspections", "hazards", "users"):
            count = db.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(table))).fetchone()
            rows[table] = int(count[0]) if count else 0
    return layers, rows
