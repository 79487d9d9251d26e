"""The OpenAPI section of the planners' analysis API (analysis_routes.py): /api/summary,
/api/measure, /api/choropleth, /api/coverage and /api/export."""

from __future__ import annotations

from collections.abc import Sequence

from layers.catalogue.entries import GARBAGE_KINDS, Layer
from layers.catalogue.live import STATUSES
from layers.planners.analysis import (
    AREA_TYPES,
    CHOROPLETH_COLORS,
    GARBAGE_WALK_M,
    INDICATORS,
    LINE_TYPES,
    MAX_AREA_M2,
    MAX_VERTICES,
    READING_CIRCLE_M,
)
from layers.planners.view_export import FORMATS
from layers.web.openapi_helpers import (
    BBOX_TEXT,
    COUNT,
    Schema,
    Section,
    array,
    choices,
    enum,
    geometry_of,
    integer,
    json_content,
    nullable,
    number,
    obj,
    operation,
    query,
    ref,
    request_body,
    string,
)

TAG = "analysis"

# A square inside 裕园社区, and a line along it: the examples schemathesis sends too.
EXAMPLE_POLYGON = {"type": "Polygon", "coordinates": [[
    [116.958, 36.660], [116.962, 36.660], [116.962, 36.664], [116.958, 36.664],
    [116.958, 36.660]]]}
EXAMPLE_LINE = {"type": "LineString", "coordinates": [[116.958, 36.660], [116.962, 36.664]]}

AREA: dict[str, Schema] = {
    "area_m2": number("面积(平方米), EPSG:4548", minimum=0),
    "area_mu": number("面积(亩)", minimum=0),
    "area_km2": number("面积(平方公里)", minimum=0),
}
SHARE = number("share of the area, 0 to 1", minimum=0, maximum=1)


def _geometry_input(types: Sequence[str]) -> Schema:
    """A GeoJSON geometry of the given types, bare, as a Feature or as {"geometry": ...}."""
    geometry = geometry_of(types)
    return {"anyOf": [geometry, obj({"type": enum(["Feature"]), "geometry": geometry,
                                     "properties": nullable({"type": "object"})},
                                    required=["geometry"])]}


def _summary_schema(catalogue: Sequence[Layer]) -> Schema:
    return obj({
        "community": obj({"id": string(), "name": enum(choices(catalogue, "communities",
                                                                "name"))},
                         nullable=True, description="the community summed up; null for an area"),
        "geometry": ref("Geometry"),
        **AREA,
        "venues": obj({
            "count": COUNT, "nine_small": COUNT,
            "by_kind": array(obj({"kind": enum(choices(catalogue, "venues", "kind")),
                                  "count": COUNT})),
            "by_status": array(obj({"status": enum(STATUSES), "count": COUNT})),
            "open_hazards": COUNT,
        }),
        "garbage": obj({"points": COUNT, "bins": COUNT,
                        "by_kind": array(obj({"kind": enum(GARBAGE_KINDS), "bins": COUNT}))}),
        "parking": obj({"lots": COUNT, "spaces": COUNT,
                        "items": array(obj({"id": string(), "name": string(),
                                            "spaces": COUNT}))}),
        "parcels": obj({
            "count": COUNT, **AREA,
            "by_status": array(obj({"status": enum(choices(catalogue, "parcels", "status")),
                                    **AREA})),
            "items": array(obj({"id": string(), "name": string(),
                                "status": enum(choices(catalogue, "parcels", "status")),
                                "share": SHARE, **AREA}),
                           "parcels by the part of each that lies inside"),
        }),
        "projects": obj({"count": COUNT, "items": array(obj({
            "id": string(), "name": string(),
            "category": enum(choices(catalogue, "projects", "category")),
            "status": enum(choices(catalogue, "projects", "status"))}))}),
    })


def _coverage_schema() -> Schema:
    shares = {"area_m2": number(minimum=0), "garbage_share": SHARE, "reading_share": SHARE}
    area = nullable(ref("Geometry"))
    return obj({
        "garbage": obj({"label": string(), "radius_m": number(enum=[GARBAGE_WALK_M]),
                        "sites": COUNT, "geometry": area}),
        "reading": obj({"label": string(), "radius_m": number(enum=[READING_CIRCLE_M]),
                        "sites": array(string(), "the reading sites' names"),
                        "geometry": area}),
        "communities": array(obj({"id": string(), "name": string(), **shares})),
        "total": obj({"name": string(), **shares}),
    })


def _choropleth_schema() -> Schema:
    color = string(pattern="^#[0-9a-f]{6}$")
    return obj({
        "type": enum(["FeatureCollection"]),
        "indicator": obj({"key": enum([i.key for i in INDICATORS]), "label": string(),
                          "unit": string()}),
        "classes": array(obj({"min": number(), "max": number(), "color": color}),
                         "equal-interval classes, low to high", minItems=1,
                         maxItems=len(CHOROPLETH_COLORS)),
        "features": array(obj({
            "type": enum(["Feature"]), "id": string(), "geometry": ref("Geometry"),
            "properties": obj({"name": string(), "value": number(),
                               "class": integer("index in classes", minimum=0,
                                                maximum=len(CHOROPLETH_COLORS) - 1),
                               "color": color}),
        })),
    })


def _measure_schema() -> Schema:
    return {"oneOf": [
        obj({"geometry_type": enum(LINE_TYPES), "length_m": number(minimum=0)}),
        obj({"geometry_type": enum(AREA_TYPES), "perimeter_m": number(minimum=0), **AREA}),
    ]}


def analysis_section(catalogue: Sequence[Layer]) -> Section:
    names = [layer.name for layer in catalogue]
    communities = choices(catalogue, "communities", "name")
    limits = (f"at most {MAX_VERTICES} vertices and {MAX_AREA_M2 / 1e6:g} km², inside Jinan, "
              "valid (not self-intersecting)")
    lonlat = [query("lon", number(), "longitude (WGS84) of a point in the community"),
              query("lat", number(), "latitude (WGS84) of a point in the community")]
    summary_area = operation(
        TAG, "summarizeArea", "What lies inside a drawn polygon", method="post",
        body=request_body(_geometry_input(AREA_TYPES),
                          f"a GeoJSON Polygon or MultiPolygon (WGS84): {limits}",
                          {"polygon": EXAMPLE_POLYGON,
                           "feature": {"type": "Feature", "geometry": EXAMPLE_POLYGON,
                                       "properties": {}}}),
        ok=json_content(ref("AreaSummary")), error_codes=(400, 413),
        description="Area in m², 亩 and km² (EPSG:4548); venues by kind and status with open "
                    "hazards; garbage points and bins by kind; parking lots and spaces; "
                    "parcels and their area inside; projects. `community` is null.")
    summary_community = operation(
        TAG, "summarizeCommunity", "What lies inside a community, with its outline",
        parameters=[query("community", enum(communities), "the community's name "
                          "(takes precedence over lon/lat)", example=communities[0]),
                    *lonlat],
        ok=json_content(ref("AreaSummary")), error_codes=(400, 404),
        description="Give `community`, or `lon` and `lat` of a point inside one. Neither is "
                    "400; an unknown community or a point in no community is 404.")
    paths = {
        "/api/summary": summary_community | summary_area,
        "/api/measure": operation(
            TAG, "measureGeometry", "Length of a line, or area and perimeter of a polygon",
            method="post",
            body=request_body(_geometry_input(LINE_TYPES + AREA_TYPES),
                              f"a GeoJSON LineString or Polygon (or Multi-): {limits}",
                              {"line": EXAMPLE_LINE, "polygon": EXAMPLE_POLYGON}),
            ok=json_content(_measure_schema()), error_codes=(400, 413),
            description="Measured in metres in EPSG:4548; areas also in 亩 and km²."),
        "/api/choropleth": operation(
            TAG, "getChoropleth", "The communities coloured by an indicator",
            parameters=[query("indicator", enum([i.key for i in INDICATORS]),
                              "; ".join(f"{i.key}: {i.label}({i.unit})" for i in INDICATORS),
                              required=True)],
            ok=json_content(_choropleth_schema()),
            description="GeoJSON of the communities with each one's `value`, `class` and "
                        "`color`, and the equal-interval `classes` (ColorBrewer YlOrRd)."),
        "/api/coverage": operation(
            TAG, "getCoverage", "Service coverage of garbage points and reading sites",
            ok=json_content(_coverage_schema()), error_codes=(),
            description=f"The {GARBAGE_WALK_M} m walking radius of the garbage points and the "
                        f"{READING_CIRCLE_M} m reading circles (WGS84 geometry), and the share "
                        "of each community and of the whole sub-district they cover."),
        "/api/export": operation(
            TAG, "exportFeatures", "A download of the chosen layers' features",
            parameters=[
                query("layers", array(enum(names), minItems=1),
                      "the layers, comma-separated", required=True, explode=False,
                      example=["venues", "garbage"]),
                query("community", enum(communities),
                      "only features of this community (layers without one are kept whole)",
                      allow_empty=True),
                query("bbox", BBOX_TEXT, "minx,miny,maxx,maxy in lon/lat: only the features "
                      "that intersect it", allow_empty=True),
                query("format", {**enum(FORMATS), "default": FORMATS[0]},
                      "geojson (each feature with its `layer`) or csv (UTF-8 with BOM, "
                      "Chinese headers, lon/lat of a point on each feature)"),
            ],
            ok=json_content(ref("ExportFeatureCollection"), "application/geo+json")
            | {"text/csv": {"schema": string()}},
            ok_description="the file, as an attachment (Content-Disposition)"),
    }
    export_collection = obj({
        "type": enum(["FeatureCollection"]),
        "features": array(obj({
            "type": enum(["Feature"]), "id": string(), "geometry": ref("Geometry"),
            "properties": obj({"layer": enum(names)}, required=["layer"],
                              description="the layer's properties (see the OGC "
                                          "collections' schemas), and its name"),
        })),
    })
    return Section(TAG, "The planners' spatial analysis: summaries of an area or a community, "
                        "measures, choropleths, coverage and exports",
                   paths, {"AreaSummary": _summary_schema(catalogue),
                           "ExportFeatureCollection": export_collection})
