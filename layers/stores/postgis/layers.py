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
from layers.stores.versions import (
    Delta,
    Version,
    VersionedLayers,
    changes_json,
    iter_versions,
)

_COLUMNS = "layer, version, at, actor, action, reason, features, changes, fingerprint"


def spatial_order(loaded: LoadedLayer) -> list[int]:
    """Feature positions along a Hilbert curve: rows near in space are written near in
    the table, so a query around a point reads few pages (`ord` keeps the layer order)."""
    if not len(loaded):
        return []
    return np.argsort(gpd.GeoSeries(loaded.metric).hilbert_distance(), kind="stable").tolist()


def _row(loaded: LoadedLayer, i: int) -> tuple[Any, ...]:
    """The row of `layer_<name>` of the feature at position i."""
    feature = loaded.features[i]
    kind = feature["properties"].get("kind")
    return (
        feature["id"], i, kind if isinstance(kind, str) else None,
        json.dumps(feature, ensure_ascii=True),
        shapely.to_wkb(shapely.set_srid(loaded.metric[i], METRIC_SRID),
                       hex=True, include_srid=True),
        shapely.to_wkb(shapely.set_srid(loaded.geometries[i], WGS84_SRID),
                       hex=True, include_srid=True),
    )


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

    def whole_before(self, layer: str, version: int) -> int | None:
        found = self.value("SELECT max(version) FROM layer_versions WHERE layer = %s AND"
                           " version <= %s AND parent IS NULL", (layer, version))
        return int(found) if found is not None else None

    def version_rows(self, layer: str, first: int, last: int, content: bool = True
             ) -> list[tuple[int, int | None, bytes | None]]:
        found = self.db.execute(
            f"SELECT version, parent, {'content' if content else 'NULL'} FROM layer_versions"
            " WHERE layer = %s AND version BETWEEN %s AND %s ORDER BY version",
            (layer, first, last)).fetchall()
        return [(int(v), None if p is None else int(p), None if c is None else bytes(c))
                for v, p, c in found]

    def add(self, row: Version, content: bytes, parent: int | None = None) -> None:
        self.execute(
            f"INSERT INTO layer_versions ({_COLUMNS}, content, parent)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (row.layer, row.version, row.at, row.actor, row.action, row.reason, row.features,
             changes_json(row), row.fingerprint, content, parent))
        self.execute("INSERT INTO layer_heads (layer, version) VALUES (%s, %s) ON CONFLICT"
                     " (layer) DO UPDATE SET version = excluded.version",
                     (row.layer, row.version))

    def write_current(self, loaded: LoadedLayer, delta: Delta | None = None) -> None:
        """Replace the rows of `layer_<name>` with the layer's features; with `delta`,
        only the rows it names (`ord`, the position in the layer, of the rows after a
        removed one moves up by one, as the positions of the features do)."""
        table = layer_table(loaded.name)
        if delta is not None:
            for fid, gone in sorted(delta.removed.items(), key=lambda item: -item[1]):
                self.db.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(table), (fid,))
                self.db.execute(sql.SQL("UPDATE {} SET ord = ord - 1 WHERE ord > %s"
                                        ).format(table), (gone,))
            upsert = sql.SQL(
                "INSERT INTO {} (id, ord, kind, feature, geom, geom_wgs84) VALUES"
                " (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET ord = excluded.ord,"
                " kind = excluded.kind, feature = excluded.feature, geom = excluded.geom,"
                " geom_wgs84 = excluded.geom_wgs84").format(table)
            for fid in (*delta.changed, *delta.added):
                at = loaded.position(fid)
                if at is not None:
                    self.db.execute(upsert, _row(loaded, at))
            return
        self.db.execute(sql.SQL("DELETE FROM {}").format(table))
        copy_sql = sql.SQL("COPY {} (id, ord, kind, feature, geom, geom_wgs84) FROM STDIN"
                           ).format(table)
        with self.db.cursor().copy(copy_sql) as copy:
            for i in spatial_order(loaded):
                copy.write_row(_row(loaded, i))
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
    def reading(self) -> Iterator[PostgisVersionTables]:
        with self.database.transaction(unbounded=True) as db:
            yield PostgisVersionTables(db)

    def key_row(self, user: str, key: str) -> dict[str, Any] | None:
        with self.reading() as db:
            return db.key_row(user, key)

    def heads(self) -> dict[str, int]:
        # Each server reads them once a second (layers/data/reload.py): one round trip.
        with self.database.glance() as conn:
            return {row["layer"]: int(row["version"]) for row in PostgisVersionTables(
                conn).rows("SELECT layer, version FROM layer_heads")}

    def versions(self, layer: str, after: int = 0) -> list[Version]:
        with self.reading() as db:
            rows = db.db.execute(f"SELECT {_COLUMNS} FROM layer_versions WHERE layer = %s"
                                 " AND version > %s ORDER BY version DESC",
                                 (layer, after)).fetchall()
        return iter_versions(iter(rows))

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
