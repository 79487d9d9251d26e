"""Behind a trusted proxy the login limits and the audit log see the client's address;
a forged X-Forwarded-For from any other peer is ignored (both stores)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_app
from tests.storesql import rows

PROXY = "10.0.0.1"


@pytest.fixture
def app(tmp_path, store_backend):
    app = make_app(tmp_path / "db.sqlite", TRUSTED_PROXIES=[PROXY],
                   LOGIN_MAX_FAILURES_PER_ADDRESS=3, LOGIN_MAX_FAILURES_PER_PAIR=50)
    for name in ("wang", "li", "zhao", "chen"):
        app.extensions["users"].create(name, "right-password-1", "viewer")
    return app


def attempt(app, name, peer, forwarded=None, password="wrong-password"):
    client = app.test_client()
    environ = {"REMOTE_ADDR": peer}
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    token = client.get("/api/csrf", environ_base=environ,
                       headers=headers).get_json()["csrf_token"]
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": token},
                       environ_base=environ, headers=headers).status_code


def failure_addresses(app):
    return [json.loads(r["summary"])["address"] for r in rows(
        app, "SELECT summary FROM audit_log WHERE action = 'login.failure' ORDER BY id")]


def test_the_limits_count_the_client_behind_the_proxy_not_the_proxy(app):
    for name in ("wang", "li", "zhao"):
        assert attempt(app, name, PROXY, "198.51.100.7") == 401
    # That client is limited now, under any name; another client of the same proxy is not.
    assert attempt(app, "chen", PROXY, "198.51.100.7", "right-password-1") == 429
    assert attempt(app, "chen", PROXY, "198.51.100.8", "right-password-1") == 302
    assert set(failure_addresses(app)) == {"198.51.100.7"}


def test_a_forged_header_from_an_untrusted_peer_is_ignored(app):
    for i, name in enumerate(("wang", "li", "zhao")):  # "another client", says the header
        assert attempt(app, name, "203.0.113.9", f"198.51.100.{i + 10}") == 401
    assert attempt(app, "chen", "203.0.113.9", "198.51.100.99", "right-password-1") == 429
    assert set(failure_addresses(app)) == {"203.0.113.9"}
    # A client who forges a proxy's hop still counts as itself (the right-most
    # untrusted address), not as the address it wrote.
    assert attempt(app, "wang", PROXY, f"203.0.113.50, {PROXY}") == 401
    assert failure_addresses(app)[-1] == "203.0.113.50"
