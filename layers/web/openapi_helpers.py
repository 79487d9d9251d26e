"""Building blocks of the OpenAPI document's sections (layers/openapi.py assembles it).

A section describes one blueprint's routes with `operation` (parameters from
`query` and `path_param`, bodies from `request_body`, answers from
`json_content`, error statuses from `errors`) and names shared schemas with
`ref`. Each feature's openapi.py (and layers/data/openapi.py) imports these;
the schemas and security schemes every section may refer to are here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from layers.catalogue.entries import Field, Layer

Schema = dict[str, Any]


@dataclass(frozen=True)
class Section:
    """A part of the API: a tag for its operations, its paths and component schemas."""

    tag: str
    description: str
    paths: dict[str, Schema]
    schemas: dict[str, Schema] = field(default_factory=dict)


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def query(name: str, schema: Schema, description: str, *, required: bool = False,
          explode: bool = True, example: Any = None, allow_empty: bool = False) -> Schema:
    """A query parameter; `explode=False` for a comma-separated array (a=x,y);
    `allow_empty` when the server takes an empty value as the parameter's absence (a
    page's form sends `bbox=` when no box is drawn)."""
    parameter = {"name": name, "in": "query", "required": required,
                 "description": description, "schema": schema}
    if allow_empty:
        parameter |= {"allowEmptyValue": True,
                      "description": description + " (empty: as if absent)"}
    if not explode:
        parameter |= {"style": "form", "explode": False}
    if example is not None:
        parameter["example"] = example
    return parameter


def path_param(name: str, schema: Schema, description: str, *, example: Any = None
               ) -> Schema:
    parameter = {"name": name, "in": "path", "required": True, "description": description,
                 "schema": schema}
    if example is not None:
        parameter["example"] = example
    return parameter


def json_content(schema: Schema, media_type: str = "application/json") -> Schema:
    return {media_type: {"schema": schema}}


def request_body(schema: Schema, description: str,
                 examples: Mapping[str, Any] | None = None) -> Schema:
    """A required JSON request body; `examples` (name -> value) are sent by schemathesis too."""
    media: Schema = {"schema": schema}
    if examples:
        media["examples"] = {name: {"value": value} for name, value in examples.items()}
    return {"required": True, "description": description,
            "content": {"application/json": media}}


# The header of the record-writing POSTs (layers/records/idempotency.py).
IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "one random key per submission (e.g. a UUID): a retry with the same key "
                   "(same user, same request) within 24 h gets the first answer, with the "
                   "header Idempotent-Replayed: true, and stores nothing new",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200,
               "pattern": "^[\\x21-\\x7e]{1,200}$"}}


HTML_CONTENT: Schema = {"text/html": {"schema": {"type": "string"}}}

_ERROR_TEXT = {400: "bad request: a parameter is missing or wrong (the message says which)",
               401: "not logged in: log in at /login, then send the session cookie",
               403: "logged in, but the user's role may not do this",
               404: "not found",
               409: "the request does not fit the current state (the message says why)",
               413: "the request body is larger than the server accepts",
               422: "this Idempotency-Key was sent before with another request",
               429: "too many failed logins from this address: retry after Retry-After seconds",
               503: "the database is unreachable or busy: retry after Retry-After seconds"}


def errors(*codes: int) -> dict[str, Schema]:
    """Responses for the error statuses, all with the one error shape of the app."""
    return {str(c): {"description": _ERROR_TEXT[c], "content": json_content(ref("Error"))}
            for c in codes}


def operation(tag: str, operation_id: str, summary: str, *, parameters: Sequence[Schema] = (),
              ok: Schema, ok_description: str = "OK", error_codes: Sequence[int] = (400,),
              description: str = "", method: str = "get", ok_status: int = 200,
              body: Schema | None = None,
              security: Sequence[Mapping[str, list[str]]] | None = None) -> Schema:
    """An operation answering `ok_status` with `ok` (a content map) or one of `error_codes`.

    `body` comes from `request_body`; `security` lists the alternatives of
    security schemes (e.g. `[{"cookieAuth": []}]`). Join two methods of one
    path with `|`.
    """
    op: Schema = {
        "tags": [tag],
        "operationId": operation_id,
        "summary": summary,
        "parameters": list(parameters),
        "responses": {str(ok_status): {"description": ok_description, "content": ok},
                      **errors(*error_codes)},
    }
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = body
    if security is not None:
        op["security"] = [dict(alternative) for alternative in security]
    return {method: op}


def field_schema(f: Field) -> Schema:
    """The JSON schema of one catalogue field's values."""
    schema: Schema
    if f.type == "str":
        schema = {"type": "string", "maxLength": f.max_length}
        if f.choices:
            schema["enum"] = list(f.choices)
        if f.pattern:
            schema["pattern"] = f"^(?:{f.pattern})$"
    elif f.type in ("int", "float"):
        schema = {"type": "integer" if f.type == "int" else "number"}
        if f.minimum is not None:
            schema["minimum"] = f.minimum
    elif f.type == "bool":
        schema = {"type": "boolean"}
    elif f.type == "date":
        schema = {"type": "string", "format": "date"}
    else:  # list
        schema = {"type": "array", "minItems": 1, "uniqueItems": True,
                  "items": {"type": "string", "enum": list(f.choices)}}
    schema["description"] = f.label + (f"({f.unit})" if f.unit else "")
    if not f.required:
        schema["nullable"] = True
    return schema


def camel(name: str) -> str:
    return name[:1].upper() + name[1:]


def layer_properties_ref(layer_name: str) -> Schema:
    """The schema of a layer's feature properties (made per layer by the OGC section)."""
    return ref(f"{camel(layer_name)}Properties")


def obj(properties: Mapping[str, Schema], *, required: Sequence[str] | None = None,
        nullable: bool = False, description: str = "") -> Schema:
    """An object schema; every property is required unless `required` says otherwise."""
    schema: Schema = {"type": "object", "properties": dict(properties),
                      "required": list(properties if required is None else required)}
    if not schema["required"]:
        del schema["required"]
    if nullable:
        schema["nullable"] = True
    if description:
        schema["description"] = description
    return schema


def array(items: Schema, description: str = "", **limits: Any) -> Schema:
    schema: Schema = {"type": "array", "items": items, **limits}
    if description:
        schema["description"] = description
    return schema


def string(description: str = "", **limits: Any) -> Schema:
    schema: Schema = {"type": "string", **limits}
    if description:
        schema["description"] = description
    return schema


def number(description: str = "", **limits: Any) -> Schema:
    schema: Schema = {"type": "number", **limits}
    if description:
        schema["description"] = description
    return schema


def integer(description: str = "", **limits: Any) -> Schema:
    schema: Schema = {"type": "integer", **limits}
    if description:
        schema["description"] = description
    return schema


def enum(values: Sequence[str], description: str = "") -> Schema:
    return string(description, enum=list(values))


COUNT: Schema = {"type": "integer", "minimum": 0}
METRES: Schema = {"type": "number", "minimum": 0, "description": "metres (EPSG:4548)"}
DATE: Schema = {"type": "string", "format": "date"}
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon")

# A position, and the coordinates of each geometry type, as the geometry parser reads them.
POSITION: Schema = {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"},
                    "description": "lon, lat (WGS84 degrees)"}
_LINE: Schema = {"type": "array", "minItems": 2, "items": POSITION}
_RING: Schema = {"type": "array", "minItems": 4, "items": POSITION,
                 "description": "a closed ring: the last position repeats the first"}
_POLYGON: Schema = {"type": "array", "minItems": 1, "items": _RING}
COORDINATES: dict[str, Schema] = {
    "Point": POSITION,
    "MultiPoint": {"type": "array", "minItems": 1, "items": POSITION},
    "LineString": _LINE,
    "MultiLineString": {"type": "array", "minItems": 1, "items": _LINE},
    "Polygon": _POLYGON,
    "MultiPolygon": {"type": "array", "minItems": 1, "items": _POLYGON},
}


def geometry_of(types: Sequence[str]) -> Schema:
    """A GeoJSON geometry of one of `types`, with the coordinates' nesting of each."""
    kinds = [{"type": "object", "required": ["type", "coordinates"],
              "properties": {"type": {"type": "string", "enum": [kind]},
                             "coordinates": COORDINATES[kind]}} for kind in types]
    return kinds[0] if len(kinds) == 1 else {"anyOf": kinds}


# A bbox in a query string: four numbers, comma-separated (minx,miny,maxx,maxy in lon/lat).
_DECIMAL = r"-?(0|[1-9][0-9]{0,2})(\.[0-9]{1,12})?"
BBOX_TEXT: Schema = {"type": "string", "pattern": f"^{_DECIMAL}(,{_DECIMAL}){{3}}$",
                     "example": "116.95,36.65,116.98,36.69"}

# An instant of the audit log's filters: an ISO date or an RFC 3339 date-time.
INSTANT_TEXT: Schema = {"anyOf": [{"type": "string", "format": "date"},
                                  {"type": "string", "format": "date-time"}]}

COMMON_SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object", "required": ["ok", "error", "status"],
        "properties": {"ok": {"type": "boolean", "enum": [False]},
                       "error": {"type": "string", "description": "what is wrong, for people"},
                       "status": {"type": "integer", "description": "the HTTP status"}},
    },
    "Link": {
        "type": "object", "required": ["href", "rel"],
        "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                       "type": {"type": "string"}, "title": {"type": "string"}},
    },
    "Bbox": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"},
             "description": "minx, miny, maxx, maxy (lon/lat, WGS84)"},
    "Geometry": {
        "type": "object", "required": ["type", "coordinates"],
        "description": "a GeoJSON geometry in WGS84 lon/lat",
        "properties": {"type": {"type": "string", "enum": list(GEOMETRY_TYPES)},
                       "coordinates": {"type": "array"}},
    },
}


# The security schemes of the operations that need a login (accounts: auth.py, access.py).
COOKIE_AUTH = "cookieAuth"
CSRF_TOKEN = "csrfToken"
BASIC_AUTH = "basicAuth"
SECURITY_SCHEMES: dict[str, Schema] = {
    COOKIE_AUTH: {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "the signed session cookie set by logging in (POST /login with the form "
                       "fields name and password); writes need the role inspector or admin"},
    CSRF_TOKEN: {
        "type": "apiKey", "in": "header", "name": "X-CSRFToken",
        "description": "the session's CSRF token (GET /api/csrf); every write sends it"},
    BASIC_AUTH: {
        "type": "http", "scheme": "basic",
        "description": "an admin's user name and password, for the OGC API - Features Part 4 "
                       "edits only (POST, PUT, PATCH, DELETE under /ogc/; QGIS, OWSLib): "
                       "checked like a login (rate limits, audit), no session or CSRF token"},
}


def nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def layer_of(catalogue: Sequence[Layer], name: str) -> Layer:
    """The layer called `name` in the catalogue a document is built from."""
    return next(layer for layer in catalogue if layer.name == name)


def choices(catalogue: Sequence[Layer], layer_name: str, field_name: str) -> list[str]:
    """The allowed values of a layer's field, as the catalogue declares them."""
    return list(layer_of(catalogue, layer_name).field(field_name).choices)


def requires_login(paths: dict[str, Schema], security: Sequence[Mapping[str, list[str]]]
                   ) -> dict[str, Schema]:
    """`paths` with every operation behind `security`, answering 401 (nobody logged in)
    and 403 (a role that may not) besides its own statuses."""
    guarded: dict[str, Schema] = {}
    for path, methods in paths.items():
        guarded[path] = {}
        for method, op in methods.items():
            responses = {**op["responses"], **errors(401, 403)}
            guarded[path][method] = {**op, "responses": responses,
                                     "security": [dict(s) for s in security]}
    return guarded
