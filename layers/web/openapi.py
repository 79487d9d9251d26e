"""The app's one OpenAPI 3.0 document, as the app serves it, and the schemas of layer features.

layers/openapi.py assembles the document from every feature's section (it sits
above the features, as server.py does) and server.py hands it to the app with
`init_app`; the OGC API serves it at /ogc/api with `app_document`, so no feature
imports another's section. The schemas of a layer's features here are made
from the catalogue (the OGC section uses them, one per layer).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from layers.catalogue.entries import MEASURE_LABELS, Layer
from layers.catalogue.live import LiveProperty, live_properties
from layers.web.openapi_helpers import Schema, field_schema, ref

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"


def live_property_schema(p: LiveProperty) -> Schema:
    """The schema of a property the service adds (catalogue.live), with its note."""
    schema = field_schema(p)
    if p.type == "str" and p.choices:
        del schema["maxLength"]
    if p.note:
        schema["description"] += f"({p.note})"
    return schema


def properties_schema(layer: Layer) -> Schema:
    props = {f.name: field_schema(f) for f in layer.fields}
    measures = {"Polygon": ("area_m2", "area_mu"), "LineString": ("length_m",)}
    for name in measures.get(layer.geometry, ()):
        props[name] = {"type": "number", "minimum": 0,
                       "description": MEASURE_LABELS[name] + ",按 EPSG:4548 计算"}
    props |= {p.name: live_property_schema(p) for p in live_properties(layer)}
    return {"type": "object", "properties": props,
            "required": [f.name for f in layer.fields if f.required]}


GEOMETRY_TYPES_OF = {"Point": ["Point"], "LineString": ["LineString", "MultiLineString"],
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
                                        "enum": GEOMETRY_TYPES_OF[layer.geometry]},
                               "coordinates": {"type": "array"}},
            },
            "properties": ref(f"{name}Properties"),
            "links": {"type": "array", "items": ref("Link")},
        },
    }


def init_app(app: Flask, document: Callable[[str], Schema]) -> None:
    """Hand the app its OpenAPI document: `document(server_url)`."""
    app.extensions["openapi_document"] = document


def app_document(server_url: str) -> Schema:
    """The current app's OpenAPI document, with `server_url` as its server."""
    document: Callable[[str], Schema] = current_app.extensions["openapi_document"]
    return document(server_url)
