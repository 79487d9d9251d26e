"""The OpenAPI section of the OGC API - Features (routes.py): the landing page,
conformance, the collections and their items, one schema per layer; and of the OGC
API - Tiles: tile matrix sets, each layer's vector tileset and tiles."""

from __future__ import annotations

from collections.abc import Sequence

from layers.catalogue.entries import Field, Layer
from layers.geo import tiles
from layers.ogc.features import CONFORMANCE, DEFAULT_LIMIT, MAX_LIMIT, SUPPORTED_CRS, queryables
from layers.web.openapi import OPENAPI_MEDIA_TYPE, feature_schema, properties_schema
from layers.web.openapi_helpers import (
    HTML_CONTENT,
    Schema,
    Section,
    camel,
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
        query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT},
              f"features per page (larger values are served as {MAX_LIMIT})"),
        query("offset", {"type": "integer", "minimum": 0, "default": 0},
              "features to skip (the next and prev links carry it)"),
    ]
    for layer in catalogue:
        name = layer.name
        schemas[f"{camel(name)}Properties"] = properties_schema(layer)
        schemas[f"{camel(name)}Feature"] = feature_schema(layer, camel(name))
        schemas[f"{camel(name)}FeatureCollection"] = {
            "type": "object",
            "required": ["type", "features", "numberMatched", "numberReturned", "links"],
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
    _tiles(tag, catalogue, paths, schemas)
    return Section(tag, "OGC API - Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) and "
                        "Part 2 (CRS), and OGC API - Tiles (vector tiles, MVT, WebMercatorQuad):"
                        " conforms to " + ", ".join(CONFORMANCE), paths, schemas)


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
