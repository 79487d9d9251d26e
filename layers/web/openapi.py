"""One OpenAPI 3.0 document for the whole HTTP API: the app's /api and the OGC API at /ogc.

The document is made of sections, one per part of the API. To describe a new
blueprint's endpoints, write a function `(catalogue) -> Section` with the
helpers of openapi_helpers.py (`operation`, `query`, `path_param`,
`request_body`, `json_content`, `errors`) and add it to `SECTIONS`; a test fails
while an /api or /ogc route is missing from the document. The sections of the
app's layers API and of the OGC API are here, those of the other blueprints in
openapi_analysis.py, openapi_inspect.py and openapi_review.py. The document is
served at /ogc/api (the OGC API's service-desc) and read by GDAL, QGIS and the
schemathesis test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from layers.accounts.openapi import admin_section
from layers.catalogue.entries import CATALOGUE, MEASURE_LABELS, Field, Layer
from layers.inspectors.openapi import inspect_section
from layers.ogc.features import CONFORMANCE, DEFAULT_LIMIT, MAX_LIMIT, SUPPORTED_CRS, queryables
from layers.planners.openapi import analysis_section
from layers.records.inspections import STATUSES
from layers.review.openapi import review_section
from layers.web.openapi_helpers import (
    COMMON_SCHEMAS,
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

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"


# Properties the store adds to what the files hold, by layer name.
LIVE_PROPERTIES: dict[str, dict[str, Schema]] = {
    "venues": {
        "status": {"type": "string", "enum": list(STATUSES),
                   "description": "检查状态(由检查记录实时得出)"},
        "last_inspection": {"type": "string", "format": "date", "nullable": True,
                            "description": "最近检查日期"},
        "next_due": {"type": "string", "format": "date", "description": "下次应检日期"},
        "open_hazards": {"type": "integer", "minimum": 0, "description": "未整改隐患数"},
        "due_soon": {"type": "boolean", "description": "30 天内到期应检"},
        "overdue": {"type": "boolean", "description": "超过检查周期未检"},
    },
}


def properties_schema(layer: Layer) -> Schema:
    props = {f.name: field_schema(f) for f in layer.fields}
    measures = {"Polygon": ("area_m2", "area_mu"), "LineString": ("length_m",)}
    for name in measures.get(layer.geometry, ()):
        props[name] = {"type": "number", "minimum": 0,
                       "description": MEASURE_LABELS[name] + ",按 EPSG:4548 计算"}
    props |= LIVE_PROPERTIES.get(layer.name, {})
    return {"type": "object", "properties": props,
            "required": [f.name for f in layer.fields if f.required]}


_GEOMETRY_TYPES = {"Point": ["Point"], "LineString": ["LineString", "MultiLineString"],
                   "Polygon": ["Polygon", "MultiPolygon"]}


def feature_schema(layer: Layer, name: str) -> Schema:
    return {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {
                "type": "object", "required": ["type", "coordinates"],
                "properties": {"type": {"type": "string",
                                        "enum": _GEOMETRY_TYPES[layer.geometry]},
                               "coordinates": {"type": "array"}},
            },
            "properties": ref(f"{name}Properties"),
            "links": {"type": "array", "items": ref("Link")},
        },
    }


# ------------------------------------------------------------------ the app's /api
def layers_api_section(catalogue: Sequence[Layer]) -> Section:
    tag = "layers"
    names = [layer.name for layer in catalogue]
    point_names = [layer.name for layer in catalogue if layer.geometry == "Point"]
    layer_row = {
        "type": "object",
        "required": ["name", "title", "group", "geometry", "count", "bbox"],
        "properties": {
            "name": {"type": "string", "enum": names},
            "title": {"type": "string"}, "group": {"type": "string"},
            "geometry": {"type": "string", "enum": ["Point", "LineString", "Polygon"]},
            "description": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "bbox": {**ref("Bbox"), "nullable": True},
        },
    }
    collection = {
        "type": "object", "required": ["type", "features", "name"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "name": {"type": "string", "enum": names},
            "features": {"type": "array", "items": {
                "type": "object", "required": ["type", "id", "geometry", "properties"],
                "properties": {"type": {"type": "string", "enum": ["Feature"]},
                               "id": {"type": "string"},
                               "geometry": {"type": "object"},
                               "properties": {"type": "object"}},
            }},
        },
    }
    paths = {
        "/api/layers": operation(
            tag, "listLayers", "Every layer: name, title, group, geometry, count, bbox",
            ok=json_content({"type": "object", "required": ["layers"],
                             "properties": {"layers": {"type": "array",
                                                       "items": ref("LayerSummary")}}}),
            error_codes=()),
        "/api/layers/{name}": operation(
            tag, "getLayer", "A layer's features as GeoJSON (WGS84 lon/lat)",
            description="Polygons carry area_m2 and area_mu, lines length_m (EPSG:4548); "
                        "venues carry their live inspection status.",
            parameters=[
                path_param("name", {"type": "string", "enum": names}, "the layer's name"),
                query("bbox", {"type": "string"},
                      "minx,miny,maxx,maxy in lon/lat: only the features that intersect it"),
            ],
            ok=json_content(ref("LayerFeatureCollection"), "application/geo+json"),
            error_codes=(400, 404)),
        "/api/layers/{name}/clusters": operation(
            tag, "getLayerClusters", "A point layer's clusters in the map's view, by zoom",
            description="Clusters of a grid in EPSG:4548 whose cells are 60 screen pixels "
                        "wide at the zoom, precomputed at load: each a Point at its centroid "
                        "with `cluster: true`, `count` and the `bbox` of its features; a cell "
                        "of one feature is that feature. The counts add up to `total`, the "
                        "features in the bbox. When the bbox holds 1000 features or fewer, "
                        "the features themselves (`clustered: false`), venues with their "
                        "live status. Only point layers cluster (another layer is 400); a "
                        "bbox spanning over 20000 cells at its zoom is 400.",
            parameters=[
                path_param("name", {"type": "string", "enum": point_names},
                           "a point layer's name"),
                query("bbox", {"type": "string"},
                      "minx,miny,maxx,maxy in lon/lat (WGS84): the map's visible bounds",
                      required=True, example="116.95,36.65,116.98,36.69"),
                query("zoom", {"type": "number", "minimum": 0, "maximum": 22},
                      "the map's zoom (Web Mercator; fractional zooms use the grid of the "
                      "zoom below)", required=True, example=15),
            ],
            ok=json_content(ref("LayerClusters"), "application/geo+json"),
            error_codes=(400, 404)),
    }
    clusters = {
        "type": "object",
        "required": ["type", "name", "zoom", "clustered", "total", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "name": {"type": "string", "enum": point_names},
            "zoom": {"type": "integer", "description": "the zoom of the grid used"},
            "clustered": {"type": "boolean",
                          "description": "false: every feature in the bbox, as itself"},
            "total": {"type": "integer", "minimum": 0, "description": "features in the bbox"},
            "features": {"type": "array", "items": {
                "type": "object", "required": ["type", "id", "geometry", "properties"],
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"type": "string"},
                    "geometry": {"type": "object"},
                    "properties": {"type": "object", "properties": {
                        "cluster": {"type": "boolean"},
                        "count": {"type": "integer", "minimum": 2},
                        "bbox": ref("Bbox"),
                    }},
                }}},
        },
    }
    return Section(tag, "The app's JSON/GeoJSON API (pages read their layers here)", paths,
                   {"LayerSummary": layer_row, "LayerFeatureCollection": collection,
                    "LayerClusters": clusters})


# ------------------------------------------------------------------ OGC API - Features
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
                            "items": {"type": "string", "nullable": True}}},
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
        query("bbox", {"type": "array", "minItems": 4, "maxItems": 6,
                       "items": {"type": "number"}},
              "lower corner, upper corner (4 numbers, or 6 with heights) in the axis order "
              "of bbox-crs; in CRS84: minLon,minLat,maxLon,maxLat", explode=False),
        _crs_param("bbox-crs", "the CRS of bbox (Part 2)"),
        _crs_param("crs", "the CRS of the returned geometry (Part 2), in its axis order"),
        query("datetime", {"type": "string"},
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
    return Section(tag, "OGC API - Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) and "
                        "Part 2 (CRS): conforms to " + ", ".join(CONFORMANCE), paths, schemas)


# Every part of the API, in the order of the document. Add new sections here.
SECTIONS: tuple[Callable[[Sequence[Layer]], Section], ...] = (
    layers_api_section,
    analysis_section,
    inspect_section,
    review_section,
    admin_section,
    ogc_section,
)


@functools.cache
def _document(catalogue: tuple[Layer, ...]) -> Schema:
    paths: Schema = {}
    schemas: Schema = dict(COMMON_SCHEMAS)
    security_schemes: Schema = {}
    tags = []
    for build in SECTIONS:
        section = build(catalogue)
        clash = ((set(paths) & set(section.paths)) | (set(schemas) & set(section.schemas))
                 | (set(security_schemes) & set(section.security_schemes)))
        if clash:
            raise ValueError(f"section {section.tag} redefines {sorted(clash)}")
        paths |= section.paths
        schemas |= section.schemas
        security_schemes |= section.security_schemes
        tags.append({"name": section.tag, "description": section.description})
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "中大槐树街道 城市管理地图服务 API",
            "version": "1.0.0",
            "description": "The map service of 中大槐树街道 (Zhongda Huaishu sub-district, "
                           "槐荫区, 济南): its JSON/GeoJSON API and an OGC API - Features. "
                           "Coordinates are WGS84 lon/lat unless a crs is asked for; "
                           "errors are {\"ok\": false, \"error\": ..., \"status\": ...}.",
        },
        "tags": tags,
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
    }


def openapi_document(server_url: str, catalogue: Sequence[Layer] = CATALOGUE) -> Schema:
    """The document, with `server_url` (e.g. the request's URL root) as its server."""
    return {**_document(tuple(catalogue)), "servers": [{"url": server_url.rstrip("/")}]}
