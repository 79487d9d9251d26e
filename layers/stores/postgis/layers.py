"""The layers in PostGIS: `load_layers` writes the layer store into the tables
`layer_<name>` in one transaction, under an advisory lock, and only when the data
differ from what is there (a fingerprint per layer in `layer_meta`), so every app
server may call it at start-up and after a reload: the first one loads, the others
find it done."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import geopandas as gpd
import numpy as np
import shapely
from psycopg import sql

from layers.stores.interfaces import Layers
from layers.stores.layers import LoadedLayer
from layers.stores.postgis.database import SCHEMA_LOCK, Database
from layers.stores.postgis.schema import METRIC_SRID, WGS84_SRID, layer_table


def fingerprint(loaded: LoadedLayer) -> str:
    text = json.dumps(loaded.features, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def spatial_order(loaded: LoadedLayer) -> list[int]:
    """Feature positions along a Hilbert curve: rows near in space are written near in
    the table, so a query around a point reads few pages (`ord` keeps the layer order)."""
    if not len(loaded):
        return []
    return np.argsort(gpd.GeoSeries(loaded.metric).hilbert_distance(), kind="stable").tolist()


def load_layers(database: Database, store: Layers, force: bool = False) -> dict[str, int]:
    """Write every layer into its table, in one transaction; only the layers whose data
    differ from what the database holds (all with `force`). Returns {layer: features}
    of the layers written."""
    written: dict[str, int] = {}
    with database.locked(SCHEMA_LOCK) as db:
        held = dict(db.execute("SELECT layer, fingerprint FROM layer_meta").fetchall())
        for loaded in store:
            mark = fingerprint(loaded)
            if not force and held.get(loaded.name) == mark:
                continue
            table = layer_table(loaded.name)
            db.execute(sql.SQL("DELETE FROM {}").format(table))
            copy_sql = sql.SQL("COPY {} (id, ord, kind, feature, geom, geom_wgs84) FROM STDIN"
                               ).format(table)
            with db.cursor().copy(copy_sql) as copy:
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
            db.execute(
                "INSERT INTO layer_meta (layer, fingerprint, features) VALUES (%s, %s, %s)"
                " ON CONFLICT (layer) DO UPDATE SET fingerprint = excluded.fingerprint,"
                " features = excluded.features, loaded_at = now()",
                (loaded.name, mark, len(loaded)))
            written[loaded.name] = len(loaded)
        if written:
            for name in written:
                db.execute(sql.SQL("ANALYZE {}").format(layer_table(name)))
    return written




def contents(database: Database) -> tuple[list[tuple[str, int, dt.datetime]], dict[str, int]]:
    """What the database holds: (layer, features, loaded at) of each layer written, and
    the rows of the records' and accounts' main tables (`flask db init` shows them)."""
    with database.transaction() as db:
        layers = [(layer, features, loaded_at) for layer, features, loaded_at in db.execute(
            "SELECT layer, features, loaded_at FROM layer_meta ORDER BY layer")]
        rows = {}
        for table in ("inspections", "hazards", "users"):
            count = db.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(table))).fetchone()
            rows[table] = int(count[0]) if count else 0
    return layers, rows
