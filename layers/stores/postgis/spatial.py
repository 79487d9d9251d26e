"""The spatial queries in PostGIS (a `SpatialStore`): one table per layer, `layer_<name>`.

`nearby` finds candidates with `ST_DWithin` in metres ordered by KNN
(`geom <-> point`), `in_bbox` uses `&&` and `ST_Intersects`, `containing`
`ST_Intersects`, `distance_m` KNN; the exact geodesic distances and bearings are
then measured as the embedded store measures them (layers/stores/spatial.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from layers.geo import tiles
from layers.geo.crs import lonlat_to_metric
from layers.stores.postgis.database import LAYER_NAMES, Database
from layers.stores.postgis.schema import layer_table
from layers.stores.spatial import (
    INDEX_EXTRA_M,
    INDEX_MARGIN,
    BBox,
    Feature,
    Hit,
    Keep,
    Nearby,
    Target,
    geodesic_hits,
    index_radius,
    ranked,
)

# How far past the KNN's `limit`-th plane distance the exact nearest may lie (scale, ties).
KNN_SLACK = 0.001
KNN_SLACK_M = 0.5
_HERE = "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4548)"

# ORDER BY the KNN distance alone: with a second key (ties by id) PostgreSQL 15 can no
# longer take the order from the GiST index and sorts the whole table instead.
_TARGETS = """
SELECT id, ST_X(t), ST_Y(t), inside FROM (
    SELECT id,
           CASE WHEN GeometryType(geom) = 'POINT' THEN geom
                WHEN ST_Intersects(geom, here) THEN ST_Centroid(geom)
                ELSE ST_ClosestPoint(geom, here) END AS t,
           GeometryType(geom) <> 'POINT' AND ST_Intersects(geom, here) AS inside
    FROM {table}, (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4548) AS here) AS q
    WHERE {where}
    ORDER BY geom <-> here
    {limit}
) AS c
"""

# A tile: the features whose lon/lat geometry meets the tile grown by its buffer (the
# GiST index on geom_wgs84), in Web Mercator, clipped and snapped by ST_AsMVTGeom; their
# properties (jsonb: ST_AsMVT makes each key an attribute; it would leave lists and objects
# out, so they go as their JSON text) and id; `ord` is the MVT id.
_TILE = """
SELECT ST_AsMVT(t, %(name)s, %(extent)s, 'geom', 'ord') FROM (
    SELECT ST_AsMVTGeom(ST_Transform(geom_wgs84, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                        %(extent)s, %(buffer)s, true) AS geom,
           ord,
           coalesce((SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) IN
                                 ('array', 'object') THEN to_jsonb(value::text) ELSE value END)
                     FROM jsonb_each(jsonb_strip_nulls(feature::jsonb -> 'properties'))),
                    '{{}}') || jsonb_build_object('id', id) AS properties
    FROM {table}
    WHERE geom_wgs84 && ST_Transform(
        ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326)
) AS t WHERE geom IS NOT NULL
"""


class PostgisSpatial:
    """The spatial queries in PostGIS (GiST indexes, ST_DWithin in metres, KNN `<->`)."""

    def __init__(self, database: Database, layer_names: Sequence[str] = LAYER_NAMES):
        self.database = database
        self.layer_names = frozenset(layer_names)

    def _table(self, layer: str) -> sql.Identifier:
        if layer not in self.layer_names:
            raise KeyError(layer)
        return layer_table(layer)

    def _rows(self, db: psycopg.Connection, query: sql.Composed,
              params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every spatial query runs through here (tests/test_postgis.py EXPLAINs them)."""
        return db.execute(query, params).fetchall()

    def _targets(self, layer: str, lon: float, lat: float, where: str,
                 params: dict[str, Any], limit: int | None = None,
                 db: psycopg.Connection | None = None) -> list[Target]:
        x, y = lonlat_to_metric(lon, lat)
        query = sql.SQL(_TARGETS).format(
            table=self._table(layer), where=sql.SQL(where),
            limit=sql.SQL(f"LIMIT {int(limit)}" if limit is not None else ""))
        if db is None:
            with self.database.glance() as db:
                rows = self._rows(db, query, {"x": x, "y": y, **params})
        else:
            rows = self._rows(db, query, {"x": x, "y": y, **params})
        return [Target(fid, tx, ty, bool(inside)) for fid, tx, ty, inside in rows]

    def _features(self, layer: str, ids: Sequence[str]) -> dict[str, Feature]:
        if not ids:
            return {}
        query = sql.SQL("SELECT id, feature FROM {} WHERE id = ANY(%s)").format(
            self._table(layer))
        with self.database.glance() as db:
            return {fid: json.loads(text) for fid, text in self._rows(db, query, (list(ids),))}

    def nearby(self, layer: str, lon: float, lat: float, radius_m: float,
               limit: int | None = None, kinds: frozenset[str] | None = None,
               keep: Keep | None = None, offset: int = 0) -> Nearby:
        where = "ST_DWithin(geom, here, %(radius)s)"
        params: dict[str, Any] = {"radius": index_radius(radius_m)}
        if kinds is not None:
            where += " AND kind = ANY(%(kinds)s)"
            params["kinds"] = sorted(kinds)
        if keep is None and limit is not None:
            return self._nearest(layer, lon, lat, radius_m, limit, offset, where, params)
        # A filter only Python knows (the venues' statuses): measure every candidate.
        targets = self._targets(layer, lon, lat, where, params)
        if keep is not None:
            kept = keep([t.feature_id for t in targets])
            targets = [t for t in targets if t.feature_id in kept]
        return self._hits(layer, lon, lat, radius_m, targets, limit, offset)

    def _hits(self, layer: str, lon: float, lat: float, radius_m: float,
              targets: list[Target], limit: int | None, offset: int) -> Nearby:
        # Measure with stand-in features first; fetch only the features returned.
        hits = ranked(geodesic_hits(lon, lat, targets, lambda fid: {"id": fid}), radius_m)
        chosen = hits[offset:offset + limit if limit is not None else None]
        features = self._features(layer, [h.feature["id"] for h in chosen])
        return Nearby([Hit(features[h.feature["id"]], h.distance_m, h.bearing_deg)
                       for h in chosen], len(hits))

    def _nearest(self, layer: str, lon: float, lat: float, radius_m: float, limit: int,
                 offset: int, where: str, params: dict[str, Any]) -> Nearby:
        """The `limit` nearest after the `offset` nearest by KNN (of the `offset + limit`
        nearest, those returned), and the count within the radius by the index.

        The plane distance differs from the geodesic one by under 0.01 % here (the
        assumption `index_radius` makes too), so: every feature within the inner
        radius counts, the thin ring out to the index radius is measured exactly;
        and the nearest are among those the KNN order brings within a hair of the
        `offset + limit`-th plane distance, which are all measured exactly.
        """
        inner = max(radius_m * (2 - INDEX_MARGIN) - INDEX_EXTRA_M, 0.0)
        params = {**params, "inner": inner, "k": offset + limit}
        # The KNN subquery is not correlated (the point is spelled out): one InitPlan.
        self._table(layer)  # a known layer
        table = f'"layer_{layer}"'
        knn_where = where.replace("here", _HERE)
        near = (f"ST_DWithin(geom, here, least(%(radius)s, (SELECT max(d) * {1 + KNN_SLACK}"
                f" + {KNN_SLACK_M} FROM (SELECT geom <-> {_HERE} AS d FROM {table}"
                f" WHERE {knn_where} ORDER BY geom <-> {_HERE} LIMIT %(k)s) AS knn)))")
        with self.database.glance() as db:
            x, y = lonlat_to_metric(lon, lat)
            counted = self._rows(db, sql.SQL(
                "SELECT count(*) FROM {table}, (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s),"
                " 4548) AS here) AS q WHERE " + where + " AND ST_DWithin(geom, here, %(inner)s)"
            ).format(table=self._table(layer)), {"x": x, "y": y, **params})[0][0]
            ring = self._targets(layer, lon, lat, where + " AND NOT ST_DWithin(geom, here,"
                                 " %(inner)s)", params, db=db)
            nearest = self._targets(
                layer, lon, lat,
                where + " AND " + near, params, db=db)
        in_ring = sum(1 for h in geodesic_hits(lon, lat, ring, lambda fid: {"id": fid})
                      if h.distance_m <= radius_m)
        total = counted + in_ring
        return Nearby(self._hits(layer, lon, lat, radius_m, nearest, limit, offset).hits,
                      total)

    def in_bbox(self, layer: str, bbox: BBox) -> list[Feature]:
        return [json.loads(text) for (text,) in self._in_bbox(layer, bbox, "feature")]

    def ids_in_bbox(self, layer: str, bbox: BBox) -> list[str]:
        return [fid for (fid,) in self._in_bbox(layer, bbox, "id")]

    def _in_bbox(self, layer: str, bbox: BBox, column: str) -> list[tuple[Any, ...]]:
        query = sql.SQL(
            "SELECT {} FROM {}, (SELECT ST_MakeEnvelope(%s, %s, %s, %s, 4326) AS env) AS q"
            " WHERE geom_wgs84 && env AND ST_Intersects(geom_wgs84, env) ORDER BY ord"
        ).format(sql.Identifier(column), self._table(layer))
        with self.database.glance() as db:
            return self._rows(db, query, tuple(bbox))

    def tile(self, layer: str, z: int, y: int, x: int) -> bytes:
        """The layer's Mapbox Vector Tile z/y/x, by ST_AsMVT (layers/geo/tiles.py says
        what it holds, as the embedded store encodes it)."""
        query = sql.SQL(_TILE).format(table=self._table(layer))
        with self.database.glance() as db:
            rows = self._rows(db, query, {"z": z, "x": x, "y": y, "name": layer,
                                          "extent": tiles.EXTENT, "buffer": tiles.BUFFER,
                                          "margin": tiles.BUFFER / tiles.EXTENT})
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else b""

    def feature(self, layer: str, feature_id: str) -> Feature | None:
        if "\x00" in feature_id:
            return None  # PostgreSQL text cannot hold it, so no feature has it
        return self._features(layer, [feature_id]).get(feature_id)

    def containing(self, layer: str, lon: float, lat: float) -> list[Feature]:
        x, y = lonlat_to_metric(lon, lat)
        query = sql.SQL("SELECT feature FROM {} WHERE ST_Intersects(geom, ST_SetSRID("
                        "ST_MakePoint(%s, %s), 4548)) ORDER BY ord").format(self._table(layer))
        with self.database.glance() as db:
            return [json.loads(text) for (text,) in self._rows(db, query, (x, y))]

    def distance_m(self, layer: str, lon: float, lat: float) -> float | None:
        # KNN: the few nearest in the plane, then the exact geodesic minimum of them.
        targets = self._targets(layer, lon, lat, "true", {}, limit=8)
        if not targets:
            return None
        return min(h.distance_m for h in geodesic_hits(lon, lat, targets,
                                                        lambda fid: {"id": fid}))
