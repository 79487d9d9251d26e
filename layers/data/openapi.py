"""The OpenAPI section of the app's layers API (api.py): /api/layers, a layer's features
and its clusters."""

from __future__ import annotations

from collections.abc import Sequence

from layers.catalogue.entries import Layer
from layers.web.openapi_helpers import (
    BBOX_TEXT,
    Section,
    json_content,
    operation,
    path_param,
    query,
    ref,
)


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
                query("bbox", BBOX_TEXT,
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
                query("bbox", BBOX_TEXT,
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
