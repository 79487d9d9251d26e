"""The one OpenAPI 3.0 document: valid, complete, and true to the app (schemathesis)."""

import atexit
import re
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from layers.openapi import SECTIONS, openapi_document
from layers.web.openapi_helpers import Section, operation, query
from tests.conftest import csrf_token, log_in, make_app


def test_the_document_is_valid_openapi_3(client):
    response = client.get("/ogc/api")
    assert response.headers["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.0")
    assert document["servers"] == [{"url": "http://localhost"}]


def _variable(m: re.Match) -> str:
    """The regular expression of a Flask rule's variable: a choice of any(), else a segment."""
    choice = re.fullmatch(r"<any\((.*)\):\w+>", m.group(0))
    if choice:
        return "(" + "|".join(re.escape(c.strip()) for c in choice.group(1).split(",")) + ")"
    return "[^/]+"


def test_every_api_route_is_documented(app):
    """Every method of every route under /api or /ogc needs its operation in the section of
    its blueprint (layers/openapi.py): a route whose path is documented for GET but which
    also takes POST is missing too."""
    paths = openapi_document("http://localhost")["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/ogc/")):
            continue
        # /api/layers/<name> is documented as /api/layers/{name},
        # /ogc/collections/<collection_id> as one path per collection, and
        # /api/<any(parcels, projects):kind> as /api/parcels and /api/projects.
        pattern = re.sub(r"<[^>]+>", _variable, rule.rule.replace(".", r"\."))
        documented = [methods for path, methods in paths.items() if re.fullmatch(pattern, path)]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if not documented or not all(method.lower() in m for m in documented):
                missing.append(f"{method} {rule.rule}")
    assert missing == []


def test_the_edits_are_documented_with_their_headers_and_security():
    document = openapi_document("http://localhost")
    items = document["paths"]["/ogc/collections/venues/items"]
    item = document["paths"]["/ogc/collections/venues/items/{featureId}"]
    assert set(items) == {"get", "post"} and set(item) == {"get", "put", "patch", "delete"}
    created = items["post"]["responses"]["201"]
    assert set(created["headers"]) == {"Location", "ETag"}
    assert set(item["delete"]["responses"]) >= {"204", "400", "401", "403", "404", "409"}
    assert "WWW-Authenticate" in item["put"]["responses"]["401"]["headers"]
    assert items["post"]["security"] == [{"cookieAuth": [], "csrfToken": []},
                                         {"basicAuth": []}]
    assert document["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
    assert "If-Match" in [p["name"] for p in item["patch"]["parameters"]]
    body = document["components"]["schemas"]["VenuesFeatureInput"]
    properties = body["properties"]["properties"]
    assert properties["additionalProperties"] is False
    assert properties["properties"]["category"]["enum"] == ["九小场所", "企业"]
    assert "category" in properties["required"]
    assert "required" not in document["components"]["schemas"]["VenuesFeaturePatch"][
        "properties"]["properties"]


def test_a_section_is_easy_to_add():
    extra = Section("extra", "an example", {"/api/extra": operation(
        "extra", "getExtra", "an example", parameters=[query("q", {"type": "string"}, "q")],
        ok={"application/json": {"schema": {"type": "object"}}})})
    document = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                "paths": extra.paths, "components": {"schemas": {}}}
    validate(document | {"components": {"schemas": {"Error": {"type": "object"}}}})
    assert all(callable(build) for build in SECTIONS)


# Loaded at import: schemathesis.pytest.from_fixture does not work with pytest 9.
_DB_DIR = Path(tempfile.mkdtemp(prefix="huaishu-schemathesis-"))
atexit.register(shutil.rmtree, _DB_DIR, ignore_errors=True)
_APP = make_app(_DB_DIR / "inspections.sqlite")
# The Part 4 edits of every collection come from one generator over the catalogue
# (layers/ogc/openapi.py), and test_the_edits_are_documented_with_their_headers_and_security
# checks that every collection has them. Generated edits are sent to one collection of
# each geometry type: sent to all 16, they took 6.5 of the 9 minutes of these runs.
EDITS_SENT = ("venues", "roads", "parcels")


def fewer_edits(document):
    """The document's operations, the edits of EDITS_SENT's collections only."""
    return document.exclude(
        path_regex=rf"^/ogc/collections/(?!({'|'.join(EDITS_SENT)})/)[^/]+/items",
        method=["POST", "PUT", "PATCH", "DELETE"])


schema = fewer_edits(schemathesis.openapi.from_wsgi("/ogc/api", _APP))


def _admin_session(app):
    """The session cookie and CSRF header of an admin logged in to the app."""
    client = log_in(app.test_client(), "schemathesis", "admin")
    token = csrf_token(client)
    return {"session": client.get_cookie("session").value}, {"X-CSRFToken": token}


ADMIN_COOKIE, ADMIN_CSRF = _admin_session(_APP)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@schema.parametrize()
@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_document(case):
    """Generated requests get no 500, and every answer is one the document describes.

    Operations with a security requirement are sent as generated (no valid
    session: 401) and again as a logged-in admin with the session's CSRF token,
    so that their bodies are validated and their successful answers checked too
    (the explicit examples of the document are records of the shipped history).
    """
    case.call_and_validate(checks=CHECKS)
    if case.operation.definition.raw.get("security"):
        case.call_and_validate(checks=CHECKS, cookies=ADMIN_COOKIE, headers=ADMIN_CSRF)


# What the server refuses for a reason JSON Schema cannot state (an order between two
# values, a reference to a record that does not exist, one parameter requiring another):
# the only refusals a request valid by the document may get. Each is a 4xx in Chinese.
SEMANTIC_REFUSALS = (
    "范围 bbox 的最小值不能大于最大值",        # minx <= maxx, miny <= maxy
    "范围 bbox 的第二个数(下角)不能大于第四个数",  # OGC bbox: lower corner <= upper corner
    "范围 bbox 超出经纬度范围",               # lat within -90..90 (items share one range)
    "bbox 超出",                         # outside the area of use of bbox-crs
    "给了 bbox-crs 却没有 bbox",            # bbox-crs needs bbox
    "datetime 区间的结束早于开始",            # an interval's start before its end
    "没有编号为",                          # a venue or hazard id that does not exist
    "未知类型",                            # /api/nearby: a kind of another layer
    "图层 garbage 没有可筛选的类型",            # /api/nearby: kind with a layer of no kinds
    "第 1 条隐患:整改期限",                    # a hazard's deadline not before the inspection
    "范围超出济南市",                        # positions in Jinan (items share one range)
    "请指定社区",                          # /api/summary: community, or lon and lat
    "缺少参数 经度 lon", "缺少参数 纬度 lat",     # lon and lat come together
    "此 Idempotency-Key 已用于另一请求",       # one key per submission
    # a venue found or moved in the street (inspectors/venue_edits.py): inside the
    # sub-district (a polygon), closed since a day not in the future
    "要素不符合图层「安全监管场所」的要求,未保存:几何 [geometry]:位于街道辖区以外",
    "停业日期不能",
    "要素编号不能修改",                       # Part 4: a body's id is the featureId's, if given
    "更正的内容与原记录相同",                    # a correction must change the stored record
    "作废记录时不能同时更正其内容",                # a void excludes the other fields
    "检查日期 ",                              # ... 晚于今天: not after today (the server's day)
    "status 只能筛选场所图层",                  # /api/nearby: status needs the venues layer
    "表单字段 record 不是有效的 JSON",          # multipart: the record's JSON text (a string
                                           # in the schema, which cannot say "valid JSON")
)


# An edit (OGC API - Features Part 4) that the catalogue refuses lists its reasons; each
# must be one a schema cannot state: where a geometry lies, whether it is valid (no
# self-intersection), a rule between two properties of a layer (catalogue.entries).
INVALID_FEATURE = "要素不符合图层「"
SEMANTIC_FEATURE_PROBLEMS = (
    "位于街道辖区以外",                # inside the sub-district's boundary
    "位于济南以外",                   # lon, lat in Jinan (a position's items share one range)
    "几何无效",                      # a valid geometry: no self-intersection, no repeated points
    "bins=",                       # garbage: the bins of each kind add up to bins
    "kinds ",                      # garbage: kinds are the kinds with bins
    "a 九小场所 must", "a firm (企业) must",  # venues: the kind belongs to the category
)


def _semantic(message: str) -> bool:
    """Whether a refusal is one of the SEMANTIC_REFUSALS, or an invalid feature whose every
    reason is one of the SEMANTIC_FEATURE_PROBLEMS."""
    if message.startswith(SEMANTIC_REFUSALS):
        return True
    if not message.startswith(INVALID_FEATURE):
        return False
    reasons = message.partition(":")[2].rpartition(" (the feature is not valid")[0]
    return all(any(p in reason for p in SEMANTIC_FEATURE_PROBLEMS)
               for reason in reasons.split(";"))


# The same document, generating only requests it allows (no unknown parameters).
positive = fewer_edits(schemathesis.openapi.from_wsgi("/ogc/api", _APP))
positive.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE],
                                  allow_extra_parameters=False)


@positive.parametrize()
@settings(max_examples=10, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_request_valid_by_the_document_is_accepted(case):
    """schemathesis' positive data: a request the document allows is answered, not
    refused with 400, unless for one of the SEMANTIC_REFUSALS above (so the document
    states every constraint the server enforces that a schema can state)."""
    if case.operation.definition.raw.get("security"):
        response = case.call(cookies=ADMIN_COOKIE, headers=ADMIN_CSRF)
    else:
        response = case.call()
    if case.media_type == "multipart/form-data":
        # the multipart form's `record` is the JSON body as text: a string to the schema,
        # whose content it cannot state (the JSON variant of the operation is checked)
        return
    if response.status_code in (400, 422):
        message = response.json().get("error", "")
        assert _semantic(message), (
            f"{case.operation.label} refused a request valid by its document: "
            f"{case.query or case.body!r}: {message}")


# Examples per operation of the negative run (about 200 operations): 5 or 3 take the same
# time (~105 s here, 2026-12-07), which goes to schemathesis' per-operation work.
NEGATIVE_EXAMPLES = 5

# The same document, generating only requests it forbids: a wrong type, a number out of
# range, a value not in an enum, a string not matching its pattern, a required parameter
# or body field missing (no unknown parameters: OpenAPI allows those by default).
# The security schemes are left out of it: schemathesis would mutate the session cookie
# and the CSRF header as parameters, which the test then sends as an admin's (the refusals
# without a login are tests/accounts'). Operations with a security requirement are sent
# as an admin, so that it is the data, not the login, that is refused.
negative = schemathesis.openapi.from_wsgi("/ogc/api", _APP)
SECURED = {(path, method) for path, methods in negative.raw_schema["paths"].items()
           for method, op in methods.items() if op.get("security")}
for _methods in negative.raw_schema["paths"].values():
    for _op in _methods.values():
        _op.pop("security", None)
negative.raw_schema["components"].pop("securitySchemes")
negative.config.generation.update(modes=[schemathesis.GenerationMode.NEGATIVE],
                                  allow_extra_parameters=False)
negative.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
    expected_statuses=["4xx"])
negative = fewer_edits(negative)
REJECTION = [not_a_server_error, negative_data_rejection]


@negative.parametrize()
@settings(max_examples=NEGATIVE_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_request_invalid_by_the_document_is_refused(case):
    """schemathesis' negative data: a request the document forbids is refused with a 4xx
    (never answered 200, never a 5xx), as an admin where the operation needs a login (so
    that it is the data, not the login, that is refused). schemathesis' own check leaves
    out a mutation that its serialization makes valid again (a one-item array as a query
    string, "1" for an integer)."""
    assert SECURED  # the edits, the records' writes, the audit log...
    if (case.operation.path, case.method.lower()) in SECURED:
        case.call_and_validate(checks=REJECTION, cookies=ADMIN_COOKIE, headers=ADMIN_CSRF)
    else:
        case.call_and_validate(checks=REJECTION)
