"""OGC API - Features at /ogc: JSON/GeoJSON for clients (QGIS, ArcGIS, GDAL), HTML (zh-CN);
and OGC API - Tiles: Mapbox Vector Tiles of every layer (WebMercatorQuad).

Routes stay thin: the logic is in `ogc.py`, the API description in `openapi.py`.
The format follows `?f=json|html`, else the Accept header (browsers get HTML).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from layers.accounts.sessions import current_user
from layers.catalogue.live import STATUS_HAZARD, STATUS_RECTIFICATION_OVERDUE, live_queryables
from layers.catalogue.styles import field_label
from layers.catalogue.values import format_value
from layers.data.edits import edit_feature
from layers.data.reload import follow_now
from layers.errors import BadRequest, DatabaseUnavailable, NotFound
from layers.geo import tiles
from layers.ogc import features as ogc
from layers.stores.layers import LoadedLayer
from layers.web import params
from layers.web.context import (
    GEOJSON_MEDIA_TYPE,
    get_inspections,
    get_spatial,
    get_store,
    json_body,
    live_properties,
)
from layers.web.openapi import OPENAPI_MEDIA_TYPE, app_document

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
# Property values in the HTML tables: `value | zh(grouped=False)` (是/否, lists with 、).
bp.add_app_template_filter(format_value, "zh")

JSON = "application/json"
GEOJSON = GEOJSON_MEDIA_TYPE
HTML = "text/html"
FORMATS = ("json", "html")
TILING_SCHEMES = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"
TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
# A live filter (a venue's status ...) over more candidates than LIVE_WALK_FROM walks
# them in layer order, WALK_CHUNK at a time (each chunk's statuses read by the records'
# index), until the page and one more are found: a page of a common status costs its
# own chunks, not every venue's status, and numberMatched is left out (OGC API -
# Features makes it optional). After WALK_CHUNKS chunks without a full page (a rare
# status), the rest is worked out at once as before, and numberMatched is exact.
LIVE_WALK_FROM = 2000
WALK_CHUNK = 500
WALK_CHUNKS = 10
# Statuses only a venue with an open hazard has: over many venues their candidates are
# the venues the records' open hazards name (one grouped query over the open hazards).
HAZARD_STATUSES = frozenset({STATUS_HAZARD, STATUS_RECTIFICATION_OVERDUE})


def wants_html() -> bool:
    f = request.args.get("f")
    if f is not None:
        return params.choice(f, "f", FORMATS) == "html"
    return request.accept_mimetypes.best_match([JSON, GEOJSON, HTML]) == HTML


def link(rel: str, media_type: str, title: str, href: str) -> dict[str, str]:
    return {"rel": rel, "type": media_type, "title": title, "href": href}


def href(endpoint: str, args: dict[str, Any] | None = None, **values: Any) -> str:
    """The absolute URL of an endpoint with query arguments (kept apart from path values,
    since a property filter may be called like one)."""
    url = url_for(endpoint, _external=True, **values)
    return f"{url}?{urlencode(args)}" if args else url


def self_links(endpoint: str, json_type: str = JSON, args: dict[str, Any] | None = None,
               **values: Any) -> list[dict[str, str]]:
    """`self` and `alternate` links of a resource in both formats, marking the one served."""
    args = {k: v for k, v in (args or {}).items() if k != "f"}
    as_json = href(endpoint, {**args, "f": "json"}, **values)
    as_html = href(endpoint, {**args, "f": "html"}, **values)
    html = wants_html()
    return [
        link("self" if not html else "alternate", json_type, "本文档(JSON)", as_json),
        link("self" if html else "alternate", HTML, "本文档(HTML)", as_html),
    ]


def respond(body: dict[str, Any], template: str, media_type: str = JSON,
            crs: str | None = None, **context: Any) -> Response:
    if wants_html():
        response = Response(render_template(template, body=body, **context), mimetype=HTML)
    else:
        response = jsonify(body)
        response.mimetype = media_type
    if crs is not None:
        response.headers["Content-Crs"] = f"<{crs}>"
    return response


@bp.get("/")
def landing() -> Response:
    ogc.check_parameters(request.args, ("f",))
    body = {
        "title": "中大槐树街道 · OGC API - Features",
        "description": "中大槐树街道城市管理图层的开放标准接口:社区、网格、道路、停车场、"
                       "垃圾投放点、项目、地块、安全监管场所。坐标默认为 WGS84 经纬度。",
        "links": self_links("ogc.landing") + [
            link("service-desc", OPENAPI_MEDIA_TYPE, "接口定义(OpenAPI 3.0)",
                 href("ogc.api")),
            link("service-doc", HTML, "接口文档(HTML)",
                 href("ogc.api", {"f": "html"})),
            link("conformance", JSON, "符合的标准",
                 href("ogc.conformance")),
            link("data", JSON, "图层集合", href("ogc.collections")),
            link(TILING_SCHEMES, JSON, "瓦片矩阵集", href("ogc.tile_matrix_sets")),
        ],
    }
    return respond(body, "ogc/landing.html", title="开放标准接口")


@bp.get("/conformance")
def conformance() -> Response:
    ogc.check_parameters(request.args, ("f",))
    body = {"conformsTo": list(ogc.CONFORMANCE),
            "links": self_links("ogc.conformance")}
    return respond(body, "ogc/conformance.html", title="符合的标准")


def collection_body(loaded: LoadedLayer) -> dict[str, Any]:
    cid = loaded.name
    body: dict[str, Any] = {
        "id": cid,
        "title": loaded.layer.title,
        "description": loaded.layer.description or loaded.layer.title,
        "itemType": "feature",
        "crs": list(ogc.SUPPORTED_CRS),
        "storageCrs": ogc.STORAGE_CRS,
        "links": [
            link("self", JSON, loaded.layer.title,
                 href("ogc.collection", {"f": "json"}, collection_id=cid)),
            link("alternate", HTML, loaded.layer.title,
                 href("ogc.collection", {"f": "html"}, collection_id=cid)),
            link("items", GEOJSON, "要素(GeoJSON)",
                 href("ogc.items", {"f": "json"}, collection_id=cid)),
            link("items", HTML, "要素(HTML)", href("ogc.items", {"f": "html"}, collection_id=cid)),
            link(TILESETS_VECTOR, JSON, "矢量瓦片集", href("ogc.tilesets", collection_id=cid)),
        ],
    }
    if loaded.bbox is not None:
        body["extent"] = {"spatial": {"bbox": [loaded.bbox], "crs": ogc.CRS84}}
        period = ogc.temporal_extent(loaded)
        if period is not None:
            body["extent"]["temporal"] = {"interval": [period], "trs": ogc.GREGORIAN}
    return body


@bp.get("/collections")
def collections() -> Response:
    ogc.check_parameters(request.args, ("f",))
    store = get_store()
    body = {"links": self_links("ogc.collections"),
            "collections": [collection_body(loaded) for loaded in store]}
    return respond(body, "ogc/collections.html", title="图层集合")


@bp.get("/collections/<collection_id>")
def collection(collection_id: str) -> Response:
    ogc.check_parameters(request.args, ("f",))
    loaded = get_store().get(collection_id)
    body = collection_body(loaded)
    body["links"] = self_links("ogc.collection", collection_id=collection_id) + body["links"][2:]
    return respond(body, "ogc/collection.html", title=loaded.layer.title, layer=loaded.layer,
                   queryables=ogc.queryables(loaded.layer))


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str) -> Response:
    loaded = get_store().get(collection_id)
    query = ogc.parse_items_query(loaded.layer, request.args)
    html = wants_html()
    # Live statuses (from the records) only for the features the other filters leave
    # (bbox, stored properties, datetime), and only when a filter reads them; else the
    # page's: a small bbox costs its own venues' statuses, not the layer's.
    live_names = {field.name for field in live_queryables(loaded.layer)}
    live_filters = tuple((n, v) for n, v in query.filters if n in live_names)
    live = None
    complete = True  # positions holds every match (else: the page's and one more)
    if live_filters:
        plain = replace(query, filters=tuple((n, v) for n, v in query.filters
                                             if n not in live_names))
        candidates = ogc.select(loaded, plain, None, _bbox_positions(loaded))
        positions, live, complete = _live_matches(loaded, candidates, live_filters,
                                                  query.offset + query.limit + 1)
    else:
        positions = ogc.select(loaded, query, None, _bbox_positions(loaded))
    page = positions[query.offset:query.offset + query.limit]
    if live is None:
        live = live_properties(loaded, [loaded.features[i] for i in page])
    args = request.args.to_dict()
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": ogc.features(loaded, page, query.crs, live),
        **({"numberMatched": len(positions)} if complete else {}),
        "numberReturned": len(page),
        "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": self_links("ogc.items", GEOJSON, args, collection_id=collection_id) + [
            link("collection", JSON, loaded.layer.title,
                 href("ogc.collection", collection_id=collection_id)),
        ],
    }
    media = HTML if html else GEOJSON
    if query.offset + len(page) < len(positions):
        body["links"].append(link("next", media, "下一页", href(
            "ogc.items", {**args, "offset": query.offset + query.limit},
            collection_id=collection_id)))
    if query.offset > 0:
        body["links"].append(link("prev", media, "上一页", href(
            "ogc.items", {**args, "offset": max(query.offset - query.limit, 0)},
            collection_id=collection_id)))
    map_args = {k: v for k, v in args.items() if k not in ("crs", "f")} | {"f": "json"}
    return respond(body, "ogc/items.html", GEOJSON, crs=query.crs,
                   title=f"{loaded.layer.title} · 要素", layer=loaded.layer, query=query,
                   columns=_columns(loaded, body["features"]) if html else [],
                   map_url=href("ogc.items", map_args, collection_id=collection_id))


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str) -> Response:
    ogc.check_parameters(request.args, ("f", "crs"))
    loaded = get_store().get(collection_id)
    crs = ogc.parse_crs(request.args.get("crs"), "crs")
    found = get_spatial().feature(collection_id, feature_id)
    position = loaded.position(feature_id) if found is not None else None
    if position is None:
        raise NotFound(f"集合 {collection_id} 中没有要素 {feature_id!r} (collection "
                       f"{collection_id} has no feature {feature_id!r})")
    feature = ogc.features(loaded, [position], crs,
                           live_properties(loaded, [loaded.features[position]]))[0]
    feature["links"] = self_links("ogc.item", GEOJSON, request.args.to_dict(),
                                  collection_id=collection_id, feature_id=feature_id) + [
        link("collection", JSON, loaded.layer.title,
             href("ogc.collection", collection_id=collection_id)),
    ]
    name = feature["properties"].get("name", feature_id)
    response = respond(feature, "ogc/item.html", GEOJSON, crs=crs,
                       title=f"{loaded.layer.title} · {name}", layer=loaded.layer,
                       columns=_columns(loaded, [feature]),
                       map_url=href("ogc.item", {"f": "json"}, collection_id=collection_id,
                                    feature_id=feature_id))
    response.set_etag(version_etag(loaded))
    return response


# ------------------------------------------------------------------ Part 4: edits
# OGC API - Features - Part 4 (create, replace, update, delete), for admins
# (catalogue ROUTE_GROUPS): each edit is a new version of the layer. The ETag of an
# item (and of the items) is the layer's version; If-Match with it makes a stale edit
# a 409 that names both versions.
def version_etag(loaded: LoadedLayer) -> str:
    return f"v{loaded.version}"


def if_match_version() -> int | None:
    """The version the client's If-Match names; None without one (or with `*`). One
    strong entity tag only, as the OpenAPI document says (no list, no weak tag)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    m = re.fullmatch(r'\s*(?:\*|"v([0-9]{1,9})")\s*', header)
    if m:
        return int(m.group(1)) if m.group(1) else None
    raise BadRequest(f"版本标记 If-Match 应为要素的 ETag,如 \"v12\",而不是 {header[:40]!r} "
                     "(If-Match must be the ETag of the item, e.g. \"v12\")")


def _edited(collection_id: str, operation: str, feature_id: str | None) -> Response:
    ogc.check_parameters(request.args, ())  # an edit takes no query parameters
    loaded = get_store().get(collection_id)  # unknown or hidden: 404/401/403
    body = None if operation == "delete" else json_body()
    user = current_user()
    made, fid = edit_feature(current_app.extensions["layer_history"], get_store(),
                             loaded.name, operation, feature_id, body, if_match_version(),
                             user.name if user else "admin")
    follow_now()  # this server serves the edit from the next request; others within 1 s
    if operation == "create":
        response = Response(status=201)
        response.headers["Location"] = href("ogc.item", collection_id=collection_id,
                                            feature_id=fid)
    else:
        response = Response(status=204)
    response.headers["ETag"] = f'"v{made.version}"'
    return response


@bp.post("/collections/<collection_id>/items")
def create_item(collection_id: str) -> Response:
    return _edited(collection_id, "create", None)


@bp.put("/collections/<collection_id>/items/<feature_id>")
def replace_item(collection_id: str, feature_id: str) -> Response:
    return _edited(collection_id, "replace", feature_id)


@bp.patch("/collections/<collection_id>/items/<feature_id>")
def update_item(collection_id: str, feature_id: str) -> Response:
    return _edited(collection_id, "update", feature_id)


@bp.delete("/collections/<collection_id>/items/<feature_id>")
def delete_item(collection_id: str, feature_id: str) -> Response:
    return _edited(collection_id, "delete", feature_id)


# --- OGC API - Tiles: Mapbox Vector Tiles of every layer, WebMercatorQuad ------------


@bp.get("/tileMatrixSets")
def tile_matrix_sets() -> Response:
    ogc.check_parameters(request.args, ("f",))
    _json_only()
    return jsonify({"tileMatrixSets": [{
        "id": tiles.TILE_MATRIX_SET, "title": "Web Mercator (EPSG:3857)",
        "uri": tiles.TILE_MATRIX_SET_URI,
        "links": [link("self", JSON, tiles.TILE_MATRIX_SET, _tms_href())],
    }]})


@bp.get("/tileMatrixSets/<tms_id>")
def tile_matrix_set(tms_id: str) -> Response:
    ogc.check_parameters(request.args, ("f",))
    _json_only()
    _check_tms(tms_id)
    return jsonify({**tiles.tile_matrix_set(),
                    "links": [link("self", JSON, tiles.TILE_MATRIX_SET, _tms_href())]})


@bp.get("/collections/<collection_id>/tiles")
def tilesets(collection_id: str) -> Response:
    ogc.check_parameters(request.args, ("f",))
    _json_only()
    loaded = get_store().get(collection_id)
    return jsonify({"tilesets": [_tileset(loaded)],
                    "links": [link("self", JSON, "矢量瓦片集", request.base_url)]})


@bp.get("/collections/<collection_id>/tiles/<tms_id>")
def tileset(collection_id: str, tms_id: str) -> Response:
    ogc.check_parameters(request.args, ("f",))
    _json_only()
    loaded = get_store().get(collection_id)
    _check_tms(tms_id)
    body = _tileset(loaded)
    body["layers"] = [{
        "id": loaded.name, "title": loaded.layer.title, "dataType": "vector",
        "geometryDimension": {"Point": 0, "LineString": 1, "Polygon": 2}.get(
            loaded.layer.geometry),
        "propertiesSchema": {"type": "object", "properties": {
            "id": {"type": "string"},
            **{f.name: {"title": field_label(loaded.layer, f.name)} for f in loaded.layer.fields},
        }},
    }]
    if loaded.bbox is not None:
        body["boundingBox"] = {"lowerLeft": loaded.bbox[:2], "upperRight": loaded.bbox[2:],
                               "crs": ogc.CRS84}
    return jsonify(body)


@bp.get("/collections/<collection_id>/tiles/<tms_id>/<int:z>/<int:y>/<int:x>")
def tile(collection_id: str, tms_id: str, z: int, y: int, x: int) -> Response:
    """A Mapbox Vector Tile of the layer (204 when no feature meets the tile)."""
    ogc.check_parameters(request.args, ("f",))
    if request.args.get("f", "mvt") != "mvt":
        params.choice(request.args["f"], "f", ("mvt",))
    loaded = get_store().get(collection_id)  # unknown (404) or hidden from the role
    _check_tms(tms_id)
    tiles.check_tile(z, y, x)
    # Made once per layer version (the cache goes with the LoadedLayer), from either store.
    cache = loaded.once("tile_cache", lambda _: tiles.VectorTileCache(
        max_bytes=int(current_app.config["VECTOR_TILE_CACHE_BYTES"])))
    body = cache.get(z, y, x, lambda: get_spatial().tile(collection_id, z, y, x))
    return Response(body, status=200 if body else 204, mimetype=tiles.MVT_MEDIA_TYPE)


def _json_only() -> None:
    if "f" in request.args:
        params.choice(request.args["f"], "f", ("json",))


def _check_tms(tms_id: str) -> None:
    if tms_id != tiles.TILE_MATRIX_SET:
        raise NotFound(f"没有瓦片矩阵集 {tms_id!r},只有 {tiles.TILE_MATRIX_SET} (no tile matrix "
                       f"set {tms_id!r}; this service has {tiles.TILE_MATRIX_SET})")


def _tms_href() -> str:
    return href("ogc.tile_matrix_set", tms_id=tiles.TILE_MATRIX_SET)


def _tileset(loaded: LoadedLayer) -> dict[str, Any]:
    """A layer's one tileset (vector, WebMercatorQuad), with its tile URL template."""
    cid = loaded.name
    base = href("ogc.tileset", collection_id=cid, tms_id=tiles.TILE_MATRIX_SET)
    return {
        "title": f"{loaded.layer.title} · 矢量瓦片",
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": tiles.TILE_MATRIX_SET_URI,
        "links": [
            link("self", JSON, loaded.layer.title, base),
            link("http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON,
                 tiles.TILE_MATRIX_SET, _tms_href()),
            {**link("item", tiles.MVT_MEDIA_TYPE, "矢量瓦片(Mapbox Vector Tile)",
                    base + "/{tileMatrix}/{tileRow}/{tileCol}"), "templated": True},
        ],
    }


@bp.get("/api")
def api() -> str | Response:
    """The OpenAPI 3.0 document of the whole HTTP API (service-desc), or its HTML view."""
    ogc.check_parameters(request.args, ("f",))
    if wants_html():
        return render_template("ogc/api.html", title="接口文档",
                               doc=app_document(request.url_root),
                               body={"links": self_links("ogc.api")},
                               spec_url=href("ogc.api", {"f": "json"}))
    response = jsonify(app_document(request.url_root))
    response.mimetype = OPENAPI_MEDIA_TYPE.split(";")[0]
    response.headers["Content-Type"] = OPENAPI_MEDIA_TYPE
    return response


def _bbox_positions(loaded: LoadedLayer) -> Callable[[ogc.BBox], list[int]]:
    """The layer's features in a lon/lat box, by the configured spatial store, as positions
    in the layer (the OGC API pages, filters and reprojects the in-memory features)."""
    def in_bbox(box: ogc.BBox) -> list[int]:
        found = get_spatial().ids_in_bbox(loaded.name, box)
        return [p for fid in found if (p := loaded.position(fid)) is not None]
    return in_bbox


def _live_matches(loaded: LoadedLayer, candidates: Sequence[int],
                  filters: Sequence[tuple[str, Any]], wanted: int
                  ) -> tuple[Sequence[int], dict[str, dict[str, Any]], bool]:
    """(positions that match the live filters, the live properties read, whether the
    positions are all the matches): see LIVE_WALK_FROM. At least `wanted` positions
    when there are as many."""
    def live_of(positions: Sequence[int]) -> dict[str, dict[str, Any]]:
        return live_properties(loaded, [loaded.features[i] for i in positions]) or {}

    if len(candidates) > LIVE_WALK_FROM and any(
            name == "status" and value in HAZARD_STATUSES for name, value in filters):
        candidates = _with_open_hazards(loaded, candidates)
    if len(candidates) <= LIVE_WALK_FROM:
        live = live_of(candidates)
        return ogc.filter_properties(loaded, candidates, filters, live), live, True
    matched: list[int] = []
    live = {}
    walked = 0
    while walked < len(candidates) and walked < WALK_CHUNK * WALK_CHUNKS:
        chunk = candidates[walked:walked + WALK_CHUNK]
        walked += len(chunk)
        found = live_of(chunk)
        live.update(found)
        matched += ogc.filter_properties(loaded, chunk, filters, found)
        if len(matched) >= wanted:
            return matched, live, walked >= len(candidates)
    rest = candidates[walked:]
    found = live_of(rest)
    live.update(found)
    return [*matched, *ogc.filter_properties(loaded, rest, filters, found)], live, True


def _with_open_hazards(loaded: LoadedLayer, candidates: Sequence[int]) -> Sequence[int]:
    """The candidates that have an open hazard, in layer order (all of them while the
    records cannot be read: statuses() then answers from what it last read)."""
    try:
        venues = get_inspections().open_hazard_counts()
    except DatabaseUnavailable:
        return candidates
    positions = sorted(p for vid in venues if (p := loaded.position(vid)) is not None)
    kept = candidates if isinstance(candidates, range) else set(candidates)
    return [p for p in positions if p in kept]


def _columns(loaded: LoadedLayer, features: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(property, Chinese label) of the properties shown in HTML tables, in catalogue order."""
    names = [f.name for f in loaded.layer.fields]
    names += [k for f in features for k in f["properties"] if k not in names]
    return [(n, field_label(loaded.layer, n)) for n in dict.fromkeys(names)]
