"""The one OpenAPI 3.0 document of the whole HTTP API: the app's /api and the OGC API at /ogc.

The document is made of sections, one per blueprint, each in its feature's
openapi.py and written with the helpers of layers/web/openapi_helpers.py
(`operation`, `query`, `path_param`, `request_body`, `json_content`, `errors`).
This module sits above the features (as server.py does): it alone imports every
section, so that no feature imports another's. To describe a new blueprint's
endpoints, write a function `(catalogue) -> Section` next to its routes and add
it to `SECTIONS`; a test fails while an /api or /ogc route is missing from the
document. server.py hands `openapi_document` to the app (layers/web/openapi.py),
the OGC API serves it at /ogc/api (its service-desc), and GDAL, QGIS and the
schemathesis test read it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from layers.accounts.openapi import admin_section
from layers.catalogue.entries import CATALOGUE, Layer
from layers.data.openapi import layers_api_section
from layers.inspectors.openapi import inspect_section
from layers.ogc.openapi import ogc_section
from layers.planners.openapi import analysis_section
from layers.review.openapi import review_section
from layers.web.health import health_section
from layers.web.openapi_helpers import COMMON_SCHEMAS, SECURITY_SCHEMES, Schema, Section

# Every part of the API, in the order of the document. Add new sections here.
SECTIONS: tuple[Callable[[Sequence[Layer]], Section], ...] = (
    layers_api_section,
    analysis_section,
    inspect_section,
    review_section,
    admin_section,
    ogc_section,
    health_section,
)


@functools.cache
def _document(catalogue: tuple[Layer, ...]) -> Schema:
    paths: Schema = {}
    schemas: Schema = dict(COMMON_SCHEMAS)
    tags = []
    for build in SECTIONS:
        section = build(catalogue)
        clash = (set(paths) & set(section.paths)) | (set(schemas) & set(section.schemas))
        if clash:
            raise ValueError(f"section {section.tag} redefines {sorted(clash)}")
        paths |= section.paths
        schemas |= section.schemas
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
        "components": {"schemas": schemas, "securitySchemes": dict(SECURITY_SCHEMES)},
    }


def openapi_document(server_url: str) -> Schema:
    """The document, with `server_url` (e.g. the request's URL root) as its server."""
    return {**_document(tuple(CATALOGUE)), "servers": [{"url": server_url.rstrip("/")}]}
