"""The OpenAPI section of the OGC API - Features (routes.py): the landing page,
conformance, the collections and their items, one schema per layer; and of the OGC
API - Tiles: tile matrix sets, each layer's vector tileset and tiles."""

from __future__ import annotations

from collections.abc import Sequence

from layers.catalogue.entries import JINAN_BOUNDS, Field, Layer
from layers.data.edits import MAX_ID_LENGTH, computed_columns
from layers.geo import tiles
from layers.ogc.features import CONFORMANCE, DEFAULT_LIMIT, MAX_LIMIT, SUPPORTED_CRS, queryables
from layers.web.openapi import (
    GEOMETRY_TYPES_OF,
    OPENAPI_MEDIA_TYPE,
    feature_schema,
    properties_schema,
)
from layers.web.openapi_helpers import (
    BASIC_AUTH,
    COOKIE_AUTH,
    CSRF_TOKEN,
    HTML_CONTENT,
    Schema,
    Section,
    camel,
    errors,
    field_schema,
    json_content,
    operation,
    path_param,
    query,
    ref,
)

# An RFC 3339 instant (date or date-time) or interval (start/end, either end open: `..`).
# The interval's pattern takes days 01-28 only, so that every string it allows is a date.
_DAY = "[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
_MOMENT = f"{_DAY}(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-](0[0-9]|1[0-3]):00))?"
_NUMBER = r"-?(0|[1-9][0-9]{0,6})(\.[0-9]{1,12})?"
DATETIME_TEXT: Schema = {"anyOf": [
    {"type": "string", "format": "date"}, {"type": "string", "format": "date-time"},
    {"type": "string", "pattern": f"^({_MOMENT}/({_MOMENT}|\\.\\.)?|(\\.\\.)?/{_MOMENT})$"}]}


def _crs_param(name: str, description: str) -> Schema:
    return query(name, {"type": "string", "enum": list(SUPPORTED_CRS),
                        "default": next(iter(SUPPORTED_CRS))}, description)


F_PARAM = query("f", {"type": "string", "enum": ["json", "html"]},
                "the format: json (GeoJSON for features) or html; default: by Accept header")


def _filter_param(f: Field) -> Schema:
    schema = field_schema(f)
    if f.type == "list":
        schema = {"type": "string", "enum": list(f.choices)}
    schema.pop("nullable", None)
    schema.pop("maxLength", None)
    schema.pop("pattern", None)
    schema.pop("minItems", None)
    return query(f.name, schema, f"只返回 {f.label} 等于此值的要素"
                 + ("(列表属性:包含此值)" if f.type == "list" else ""))


def ogc_section(catalogue: Sequence[Layer]) -> Section:
    tag = "OGC API - Features"
    link_list = {"type": "array", "items": ref("Link")}
    schemas: dict[str, Schema] = {
        "LandingPage": {"type": "object", "required": ["links"],
                        "properties": {"title": {"type": "string"},
                                       "description": {"type": "string"},
                                       "links": link_list}},
        "ConfClasses": {"type": "object", "required": ["conformsTo"],
                        "properties": {"conformsTo": {"type": "array",
                                                      "items": {"type": "string"}},
                                       "links": link_list}},
        "Collection": {
            "type": "object", "required": ["id", "links"],
            "properties": {
                "id": {"type": "string"}, "title": {"type": "string"},
                "description": {"type": "string"},
                "itemType": {"type": "string"},
                "crs": {"type": "array", "items": {"type": "string"}},
                "storageCrs": {"type": "string"},
                "extent": {"type": "object", "properties": {
                    "spatial": {"type": "object", "properties": {
                        "bbox": {"type": "array", "items": ref("Bbox")},
                        "crs": {"type": "string"}}},
                    "temporal": {"type": "object", "properties": {
                        "interval": {"type": "array", "items": {
                            "type": "array", "minItems": 2, "maxItems": 2,
                            "items": {"type": "string", "format": "date-time",
                                      "nullable": True}}},
                        "trs": {"type": "string"}}}}},
                "links": link_list,
            },
        },
        "Collections": {"type": "object", "required": ["links", "collections"],
                        "properties": {"links": link_list,
                                       "collections": {"type": "array",
                                                       "items": ref("Collection")}}},
    }
    paths: dict[str, Schema] = {
        "/ogc/": operation(tag, "getLandingPage", "Landing page", parameters=[F_PARAM],
                           ok=json_content(ref("LandingPage")) | HTML_CONTENT),
        "/ogc/conformance": operation(
            tag, "getConformanceDeclaration", "The conformance classes the API implements",
            parameters=[F_PARAM], ok=json_content(ref("ConfClasses")) | HTML_CONTENT),
        "/ogc/collections": operation(
            tag, "getCollections", "Every feature collection (one per layer)",
            parameters=[F_PARAM], ok=json_content(ref("Collections")) | HTML_CONTENT),
        "/ogc/api": operation(
            tag, "getAPIDefinition", "This OpenAPI document (json) or its HTML view",
            parameters=[F_PARAM],
            ok=json_content({"type": "object"}, OPENAPI_MEDIA_TYPE) | HTML_CONTENT),
    }
    items_params = [
        F_PARAM,
        query("bbox", {"type": "string", "example": "116.95,36.65,116.98,36.69",
                       "pattern": f"^{_NUMBER}(,{_NUMBER}){{3}}(,{_NUMBER},{_NUMBER})?$"},
              "lower corner, upper corner (4 numbers, or 6 with heights) in the axis order "
              "of bbox-crs; in CRS84: minLon,minLat,maxLon,maxLat"),
        _crs_param("bbox-crs", "the CRS of bbox (Part 2)"),
        _crs_param("crs", "the CRS of the returned geometry (Part 2), in its axis order"),
        query("datetime", DATETIME_TEXT,
              "an RFC 3339 instant or interval (2022-01-01/2022-12-31, ../2022-06-30): only "
              "features whose date (garbage: built, parcels: last_update) falls in it; "
              "layers without dates have no feature in time"),
        query("limit", {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
              f"features per page: at most {MAX_LIMIT} (a larger value is served as "
              f"{MAX_LIMIT}, as Core requires: not an error)"),
        query("offset", {"type": "integer", "minimum": 0, "default": 0},
              "features to skip (the next and prev links carry it)"),
    ]
    for layer in catalogue:
        name = layer.name
        schemas[f"{camel(name)}Properties"] = properties_schema(layer)
        schemas[f"{camel(name)}Feature"] = feature_schema(layer, camel(name))
        schemas[f"{camel(name)}FeatureCollection"] = {
            "type": "object",
            # numberMatched: left out when a status filter found the page without
            # counting every match (layers/ogc/routes.py, LIVE_WALK_FROM)
            "required": ["type", "features", "numberReturned", "links"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": ref(f"{camel(name)}Feature")},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
                "timeStamp": {"type": "string", "format": "date-time"},
                "links": link_list,
            },
        }
        base = f"/ogc/collections/{name}"
        paths[base] = operation(
            tag, f"describe{camel(name)}Collection", f"{layer.title} ({name}): the collection",
            parameters=[F_PARAM], ok=json_content(ref("Collection")) | HTML_CONTENT)
        paths[f"{base}/items"] = operation(
            tag, f"get{camel(name)}Features", f"{layer.title} ({name}): features",
            description="Filters: bbox, and any property by equality (?community=裕园社区).",
            parameters=items_params + [_filter_param(f) for f in queryables(layer)],
            ok=json_content(ref(f"{camel(name)}FeatureCollection"), "application/geo+json")
            | HTML_CONTENT)
        paths[f"{base}/items/{{featureId}}"] = operation(
            tag, f"get{camel(name)}Feature", f"{layer.title} ({name}): one feature",
            parameters=[path_param("featureId", {"type": "string"}, "the feature's id"),
                        F_PARAM, _crs_param("crs", "the CRS of the returned geometry")],
            ok=json_content(ref(f"{camel(name)}Feature"), "application/geo+json")
            | HTML_CONTENT,
            error_codes=(400, 404))
        paths[f"{base}/items/{{featureId}}"]["get"]["responses"]["200"]["headers"] = {
            "ETag": ETAG_HEADER}
    _edits(tag, catalogue, paths, schemas)
    _tiles(tag, catalogue, paths, schemas)
    return Section(tag, "OGC API - Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0), "
                        "Part 2 (CRS) and Part 4 (create, replace, update, delete: admins), "
                        "and OGC API - Tiles (vector tiles, MVT, WebMercatorQuad):"
                        " conforms to " + ", ".join(CONFORMANCE), paths, schemas)


# ------------------------------------------------------------------ Part 4: edits
# The version of a layer as an entity tag, as routes.py sends and reads it.
ETAG_HEADER: Schema = {"description": "the layer's version after the edit (or of the item "
                                      "read): send it back in If-Match",
                       "schema": {"type": "string", "pattern": '^"v[0-9]{1,9}"$'},
                       "example": '"v12"'}
IF_MATCH: Schema = {
    "name": "If-Match", "in": "header", "required": False,
    "description": "the ETag of the item as read (the layer's version, e.g. \"v12\"), or *: "
                   "an edit made on an older version is refused with 409 naming both versions "
                   "and the features changed since; without it (or with *) the edit applies to "
                   "the version the server reads, and still fails with 409 if another edit "
                   "commits in between. One entity tag only (no list, no weak W/ tag).",
    "schema": {"type": "string", "pattern": '^\\s*(\\*|"v[0-9]{1,9}")\\s*$'},
    "example": '"v1"'}
# An edit needs an admin: the session cookie with its CSRF token, or HTTP Basic.
EDITOR: list[dict[str, list[str]]] = [{COOKIE_AUTH: [], CSRF_TOKEN: []}, {BASIC_AUTH: []}]
_EDIT_ERRORS = (400, 401, 403, 404, 409, 413, 429, 503)
_MEDIA = ("application/geo+json", "application/json")
# A position of an edit (lon, lat): OpenAPI 3.0 has no tuples, so both share Jinan's range;
# the catalogue refuses a position outside Jinan or outside the sub-district.
_POSITION: Schema = {"type": "array", "minItems": 2, "maxItems": 2,
                     "items": {"type": "number", "minimum": min(JINAN_BOUNDS),
                               "maximum": max(JINAN_BOUNDS)},
                     "description": "lon, lat (WGS84 degrees), in Jinan "
                                    f"(lon {JINAN_BOUNDS[0]}..{JINAN_BOUNDS[2]}, "
                                    f"lat {JINAN_BOUNDS[1]}..{JINAN_BOUNDS[3]})"}
_LINE: Schema = {"type": "array", "minItems": 2, "items": _POSITION}
_RING: Schema = {"type": "array", "minItems": 4, "items": _POSITION,
                 "description": "a closed ring: the last position repeats the first"}
_POLYGON: Schema = {"type": "array", "minItems": 1, "items": _RING}
_COORDINATES: dict[str, Schema] = {
    "Point": _POSITION, "LineString": _LINE, "Polygon": _POLYGON,
    "MultiLineString": {"type": "array", "minItems": 1, "items": _LINE},
    "MultiPolygon": {"type": "array", "minItems": 1, "items": _POLYGON}}


def _edit_geometry(layer: Layer) -> Schema:
    kinds = [{"type": "object", "required": ["type", "coordinates"],
              "properties": {"type": {"type": "string", "enum": [kind]},
                             "coordinates": _COORDINATES[kind]}}
             for kind in GEOMETRY_TYPES_OF[layer.geometry]]
    schema = kinds[0] if len(kinds) == 1 else {"anyOf": kinds}
    return {**schema, "description": "a GeoJSON geometry (WGS84 lon/lat), valid (no "
                                     "self-intersection)" + (", inside the sub-district"
                                                             if layer.inside_boundary else "")}


def _edit_properties(layer: Layer, *, merge: bool) -> Schema:
    """The properties an edit may send: the catalogue's fields (a merge sets those given,
    null removes an optional one); the ones the service computes are taken and ignored."""
    props = {f.name: field_schema(f) for f in layer.fields}
    for f in layer.fields:
        if f.type == "str" and not f.pattern and not f.choices:
            # not empty or blank: Python's str.strip() (the catalogue's check) also strips
            # U+001C..U+001F, which ECMA's \\s does not count as space
            props[f.name]["pattern"] = "[^\\s\\x1c-\\x1f]"
    ignored = {"description": "computed by the service: ignored"}
    props |= {name: dict(ignored) for name in computed_columns(layer)}
    schema: Schema = {"type": "object", "properties": props, "additionalProperties": False}
    required = [] if merge else [f.name for f in layer.fields if f.required]
    if required:
        schema["required"] = required
    return schema


def _edit_body(layer: Layer, *, merge: bool) -> Schema:
    feature_id = {"anyOf": [{"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH,
                             "pattern": "^[^/?#]*\\S[^/?#]*$", "nullable": True},
                            {"type": "integer"}],
                  "description": "the feature's id: on create, a free id (null or absent: "
                                 "the layer's next, e.g. V0354); on replace or update, the "
                                 "featureId itself if given"}
    geometry = _edit_geometry(layer)
    schema: Schema = {"type": "object", "required": ["type", "properties", "geometry"],
                      "properties": {"type": {"type": "string", "enum": ["Feature"]},
                                     "id": feature_id,
                                     "geometry": geometry,
                                     "properties": _edit_properties(layer, merge=merge)}}
    if merge:
        schema["required"] = ["type"]
        if "anyOf" in geometry:
            kinds = [{**geometry["anyOf"][0], "nullable": True}, *geometry["anyOf"][1:]]
            optional = {**geometry, "anyOf": kinds}
        else:
            optional = {**geometry, "nullable": True}
        optional["description"] = "a new geometry; null or absent: the feature keeps its own"
        schema["properties"]["geometry"] = optional
        schema["properties"]["properties"] = {**_edit_properties(layer, merge=True),
                                              "nullable": True}
    return schema


def _edit(tag: str, layer: Layer, operation_id: str, summary: str, method: str,
          parameters: list[Schema], body: str | None, created: bool = False) -> Schema:
    op = operation(
        tag, operation_id, f"{layer.title} ({layer.name}): {summary}", method=method,
        parameters=[*parameters, IF_MATCH],
        ok={}, ok_status=201 if created else 204, security=EDITOR,
        ok_description=("created: Location is the new item's URL" if created else
                        "done: a new version of the layer"),
        error_codes=_EDIT_ERRORS,
        description="Admins only. Each edit is one new version of the layer (layer.edit in the "
                    "audit log), validated by the catalogue as an import is: a 400 lists the "
                    "reasons with the fields' Chinese labels; a position outside the "
                    "sub-district, an invalid geometry or a cross-field rule of the layer "
                    "(e.g. garbage bins adding up) is refused with 400 too. No query "
                    "parameters.",
        body=None if body is None else {
            "required": True, "description": body,
            "content": {media: {"schema": ref(f"{camel(layer.name)}Feature"
                                              + ("Patch" if method == "patch" else "Input"))}
                        for media in _MEDIA}})
    responses = op[method]["responses"]
    headers = {"ETag": ETAG_HEADER}
    if created:
        headers["Location"] = {"description": "the new item's URL",
                               "schema": {"type": "string", "format": "uri"}}
    ok = responses[str(201 if created else 204)]
    del ok["content"]
    ok["headers"] = headers
    responses["401"]["headers"] = {"WWW-Authenticate": {
        "description": "Basic realm=\"huaishu\", charset=\"UTF-8\": send an admin's "
                       "credentials", "schema": {"type": "string"}}}
    responses["409"] = {**errors(409)["409"], "description":
                        "the layer moved on since the version in If-Match (or since the edit "
                        "read it): both versions and the features changed are named; or, on "
                        "create, the id is taken; or the edit would leave other layers outside "
                        "the boundary"}
    return op


def _edits(tag: str, catalogue: Sequence[Layer], paths: dict[str, Schema],
           schemas: dict[str, Schema]) -> None:
    """OGC API - Features Part 4: create, replace, update and delete one item (admins)."""
    for layer in catalogue:
        name = camel(layer.name)
        schemas[f"{name}FeatureInput"] = _edit_body(layer, merge=False)
        schemas[f"{name}FeaturePatch"] = _edit_body(layer, merge=True)
        base = f"/ogc/collections/{layer.name}/items"
        feature_id = path_param("featureId", {"type": "string"}, "the feature's id")
        paths[base] |= _edit(tag, layer, f"create{name}Feature", "add a feature", "post", [],
                             "a GeoJSON Feature: its properties as the catalogue declares them",
                             created=True)
        paths[f"{base}/{{featureId}}"] |= (
            _edit(tag, layer, f"replace{name}Feature", "replace a feature", "put",
                  [feature_id], "the feature's new content: a whole GeoJSON Feature")
            | _edit(tag, layer, f"update{name}Feature", "update a feature (merge)", "patch",
                    [feature_id], "the properties to set (null removes an optional one) "
                    "and/or a new geometry")
            | _edit(tag, layer, f"delete{name}Feature", "delete a feature", "delete",
                    [feature_id], None))


def _tiles(tag: str, catalogue: Sequence[Layer], paths: dict[str, Schema],
           schemas: dict[str, Schema]) -> None:
    """OGC API - Tiles: the tile matrix sets, and each layer's vector tileset and tiles."""
    link_list = {"type": "array", "items": ref("Link")}
    f_json = query("f", {"type": "string", "enum": ["json"]}, "the format: json")
    schemas["TileSet"] = {
        "type": "object", "required": ["dataType", "crs", "links"],
        "properties": {"title": {"type": "string"},
                       "dataType": {"type": "string", "enum": ["vector"]},
                       "crs": {"type": "string"}, "tileMatrixSetURI": {"type": "string"},
                       "layers": {"type": "array", "items": {"type": "object"}},
                       "boundingBox": {"type": "object"}, "links": link_list}}
    schemas["TileSets"] = {"type": "object", "required": ["tilesets"],
                           "properties": {"tilesets": {"type": "array",
                                                       "items": ref("TileSet")},
                                          "links": link_list}}
    schemas["TileMatrixSet"] = {"type": "object", "required": ["id", "crs", "tileMatrices"],
                                "properties": {"id": {"type": "string"},
                                               "crs": {"type": "string"},
                                               "tileMatrices": {"type": "array",
                                                                "items": {"type": "object"}}}}
    schemas["TileMatrixSets"] = {"type": "object", "required": ["tileMatrixSets"],
                                 "properties": {"tileMatrixSets": {
                                     "type": "array", "items": {"type": "object"}}}}
    tms = path_param("tileMatrixSetId", {"type": "string", "enum": [tiles.TILE_MATRIX_SET]},
                     "the tile matrix set", example=tiles.TILE_MATRIX_SET)
    paths["/ogc/tileMatrixSets"] = operation(
        tag, "getTileMatrixSetsList", "The tile matrix sets of the tiles (WebMercatorQuad)",
        parameters=[f_json], ok=json_content(ref("TileMatrixSets")))
    paths["/ogc/tileMatrixSets/{tileMatrixSetId}"] = operation(
        tag, "getTileMatrixSet", "A tile matrix set's definition", parameters=[tms, f_json],
        ok=json_content(ref("TileMatrixSet")), error_codes=(400, 404))
    cell = {"type": "integer", "minimum": 0}
    for layer in catalogue:
        name, base = layer.name, f"/ogc/collections/{layer.name}/tiles"
        paths[base] = operation(
            tag, f"get{camel(name)}TileSets", f"{layer.title} ({name}): vector tilesets",
            parameters=[f_json], ok=json_content(ref("TileSets")), error_codes=(400, 404))
        paths[f"{base}/{{tileMatrixSetId}}"] = operation(
            tag, f"get{camel(name)}TileSet", f"{layer.title} ({name}): the vector tileset",
            parameters=[tms, f_json], ok=json_content(ref("TileSet")),
            error_codes=(400, 404))
        tile = operation(
            tag, f"get{camel(name)}Tile", f"{layer.title} ({name}): a Mapbox Vector Tile",
            description="One MVT layer named after the collection; each feature's id "
                        "and properties as attributes; 204 when no feature meets the tile.",
            parameters=[tms,
                        path_param("tileMatrix", {"type": "integer", "minimum": 0,
                                                  "maximum": tiles.MAX_ZOOM},
                                   "the zoom level", example=16),
                        path_param("tileRow", cell, "the row (0 at the north)",
                                   example=26050),
                        path_param("tileCol", cell, "the column", example=54061),
                        query("f", {"type": "string", "enum": ["mvt"]}, "the format: mvt")],
            ok={tiles.MVT_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            error_codes=(400, 404))
        tile["get"]["responses"]["204"] = {"description": "no feature meets the tile",
                                           "content": {}}
        paths[f"{base}/{{tileMatrixSetId}}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"] = tile
