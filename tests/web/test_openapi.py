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
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
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


def test_every_api_route_is_documented(app):
    """A blueprint's routes under /api or /ogc need their section in layers/openapi.py."""
    paths = openapi_document("http://localhost")["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/ogc/")):
            continue
        # /api/layers/<name> is documented as /api/layers/{name}, and
        # /ogc/collections/<collection_id> as one path per collection.
        pattern = re.sub(r"<[^>]+>", "[^/]+", re.escape(rule.rule))
        if not any(re.fullmatch(pattern, path) for path in paths):
            missing.append(rule.rule)
    assert missing == []


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
schema = schemathesis.openapi.from_wsgi("/ogc/api", _APP)


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
)


# The same document, generating only requests it allows (no unknown parameters).
positive = schemathesis.openapi.from_wsgi("/ogc/api", _APP)
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
    if response.status_code in (400, 422):
        message = response.json().get("error", "")
        assert message.startswith(SEMANTIC_REFUSALS), (
            f"{case.operation.label} refused a request valid by its document: "
            f"{case.query or case.body!r}: {message}")
