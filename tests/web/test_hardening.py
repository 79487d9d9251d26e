"""What layers/web/hardening.py and the error handlers give every route."""

import logging
import re

import pytest
from flask import request
from werkzeug.exceptions import BadRequest

from tests.conftest import make_app

CLIENT_ROLE = "admin"  # the `client` fixture logs in with this role (tests/conftest.py)
SCRIPT_TAG = re.compile(rb"<script\b[^>]*>", re.IGNORECASE)


def assert_json_error(response, status):
    assert response.status_code == status, response.data[:300]
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    return body


def test_body_over_the_limit_is_413_even_where_no_body_is_read(app, client):
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert_json_error(client.get("/api/layers", data=too_big), 413)
    # Refused before routing: a POST to a GET-only route is 413, not 405.
    assert_json_error(client.post("/api/layers/venues", data=too_big), 413)


def test_body_at_the_limit_passes(app, client):
    response = client.get("/api/layers", data=b"x" * app.config["MAX_CONTENT_LENGTH"])
    assert response.status_code == 200


@pytest.mark.parametrize("content_type", [
    "application/json", "application/x-www-form-urlencoded", "text/plain; charset=utf-8",
    "application/geo+json",
])
def test_body_that_is_not_utf8_is_400(client, content_type):
    body = b"note=%FF%FE" if "form" in content_type else b'{"note": "\xff\xfe"}'
    response = client.post("/api/layers", data=body, content_type=content_type)
    assert "UTF-8" in assert_json_error(response, 400)["error"]


def test_binary_upload_is_not_taken_for_text(client):
    response = client.get("/api/layers", data=b"\xff\xfe\x00",
                          content_type="application/octet-stream")
    assert response.status_code == 200


def test_query_string_that_is_not_utf8_is_400(client):
    assert "query string" in assert_json_error(
        client.get("/api/layers/venues?bbox=%FF,%FE"), 400)["error"]


def test_utf8_query_string_is_read(client):
    response = client.get("/api/layers/venues?bbox=116.9,36.6,117,36.7&名称=%E4%B8%AD")
    assert response.status_code == 200


def test_path_that_is_not_utf8_is_400(client):
    # A real server puts the percent-decoded bytes in PATH_INFO (as latin-1);
    # the test client would decode them with U+FFFD first, so set it directly.
    response = client.get("/api/layers/x", environ_overrides={"PATH_INFO": "/api/layers/\xff"})
    assert "path" in assert_json_error(response, 400)["error"]


@pytest.mark.parametrize("text", [
    '{"lon": NaN}', '{"lat": Infinity}', '{"lat": -Infinity}', '{"lon": 1e400}',
    '{"lon": -1e400}', '[' * 100_000, '{"n": ' + "9" * 5000 + "}", '{"a": ', "{'a': 1}",
])
def test_json_that_is_not_rfc8259_is_400(app, text):
    with app.test_request_context("/api/x", method="POST", data=text,
                                  content_type="application/json"), \
            pytest.raises(BadRequest):
        request.get_json()


def test_finite_json_numbers_are_read(app):
    with app.app_context():
        assert app.json.loads('{"lon": 116.96, "lat": 36.67, "n": 3, "big": 1e300}') == {
            "lon": 116.96, "lat": 36.67, "n": 3, "big": 1e300}


def test_method_not_allowed_is_405_json_with_allow(client):
    response = client.delete("/api/layers/venues")
    assert_json_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}


def test_unexpected_error_is_500_json_without_traceback(tmp_path, caplog):
    app = make_app(tmp_path / "db.sqlite")

    @app.get("/api/boom", endpoint="api.boom")  # declared: a route of the maps' API
    def boom():
        raise RuntimeError("secret detail of the failure")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/boom")
    body = assert_json_error(response, 500)
    assert "secret detail" not in body["error"] and b"Traceback" not in response.data
    assert "secret detail of the failure" in caplog.text  # logged, with its traceback


@pytest.mark.parametrize("path", ["/", "/api/layers", "/api/layers/nope", "/nope",
                                  "/static/js/huaishu-map.js"])
def test_security_headers_on_every_response(client, path):
    with client.get(path) as response:
        headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'"
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["frame-ancestors"] == "'self'" and csp["object-src"] == "'none'"


def html_routes(app):
    """Every page route without path arguments: pages added later are checked too."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(
                ("/api/", "/static/")):
            yield rule.rule


def test_every_inline_script_of_every_page_carries_the_nonce(app, client):
    pages = list(html_routes(app))
    assert "/" in pages
    with_scripts = []
    for path in pages:
        response = client.get(path)
        tags = SCRIPT_TAG.findall(response.data)
        if response.mimetype != "text/html" or not tags:  # e.g. /login has no script
            continue
        with_scripts.append(path)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        assert nonce, path
        for tag in tags:
            assert f'nonce="{nonce.group(1)}"'.encode() in tag, (path, tag)
    assert {"/", "/inspect", "/dashboard", "/print"} <= set(with_scripts)


def test_nonce_changes_per_response(client):
    first, second = (client.get("/").headers["Content-Security-Policy"] for _ in range(2))
    assert first != second


def test_json_responses_have_no_nonce(client):
    assert "nonce" not in client.get("/api/layers").headers["Content-Security-Policy"]


def test_template_scripts_get_the_nonce_once(app):
    with app.test_request_context("/"):
        html = app.jinja_env.from_string(
            '<script src="/a.js"></script><script>1</script><script nonce="x">2</script>'
            "<scripts></scripts>"
        ).render()
        nonce = app.jinja_env.globals["csp_nonce"]()
    assert html == (f'<script nonce="{nonce}" src="/a.js"></script><script nonce="{nonce}">1'
                    '</script><script nonce="x">2</script><scripts></scripts>')
