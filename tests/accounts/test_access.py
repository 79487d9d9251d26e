"""Every route, tried as every role, answers as the catalogue declares.

The routes come from `app.url_map`, the expectations from the declaration in
layers/catalogue/entries.py (ROUTE_GROUPS, read here on its own, not through
layers/accounts/access.py): a route may be used (any status but 401/403, never a 500)
or is refused (401 for nobody logged in, 403 for a user of another role). A
route that no group declares fails `test_every_route_is_declared_once` and is
refused to everyone, admins included. Each test runs on both stores (`store_backend`):
the users are in SQLite or PostgreSQL, and with PostGIS the per-request layer queries
(bbox, nearby, a feature by id) are answered there, behind the same checks.
"""

from __future__ import annotations

import dataclasses

import pytest
from werkzeug.routing import Rule

from layers.catalogue.entries import ANONYMOUS, CATALOGUE, ROLES, ROUTE_GROUPS, RouteGroup
from tests.conftest import client_as, csrf_token, make_app

WHO = (ANONYMOUS, *ROLES)
# Path values that name something real in the shipped data (any value would do for a
# refusal, which comes before the route; these let allowed routes answer for real).
SAMPLE_VALUES = {"name": "venues", "collection_id": "venues", "feature_id": "V0001",
                 "venue_id": "V0001", "hazard_id": "HZ00001", "filename": "css/app.css",
                 "tms_id": "WebMercatorQuad", "z": 14, "y": 6396, "x": 13515, "photo_id": 1}


def declared(endpoint: str) -> list[RouteGroup]:
    """The groups declaring `endpoint`: by its own name, else by its blueprint's wildcard."""
    exact = [g for g in ROUTE_GROUPS if endpoint in g.endpoints]
    if exact:
        return exact
    blueprint = endpoint.rpartition(".")[0]
    return [g for g in ROUTE_GROUPS if f"{blueprint}.*" in g.endpoints] if blueprint else []


def allowed(endpoint: str, who: str, anonymous_role: str) -> bool:
    groups = declared(endpoint)
    if len(groups) != 1:
        return False
    roles = {who} if who != ANONYMOUS else {ANONYMOUS, anonymous_role}
    return "admin" in roles or bool(groups[0].roles & roles)


def url_of(rule: Rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        items = getattr(converter, "items", None)  # any(parcels, projects)
        values[name] = sorted(items)[0] if items else SAMPLE_VALUES.get(name, "x")
    if rule.endpoint.startswith("admin.") and "name" in values:
        values["name"] = "test-viewer"
    return rule.build(values, append_unknown=False)[1]


def methods(rule: Rule) -> list[str]:
    return sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))


# Routes that end sessions on the server: the role's cached login is made anew after them.
SESSION_ENDING = {"auth.logout", "auth.logout_everywhere", "admin.end_sessions"}


def problems(app, anonymous_role: str) -> list[str]:
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        url = url_of(rule)
        for who in WHO:
            for method in methods(rule):
                client = client_as(app, None if who == ANONYMOUS else who)
                headers = {"X-CSRFToken": csrf_token(client)} if method != "GET" else {}
                kwargs = {"json": {}} if method != "GET" else {}
                with client.open(url, method=method, headers=headers, **kwargs) as response:
                    status = response.status_code
                if rule.endpoint in SESSION_ENDING:
                    app.extensions.get("test_sessions", {}).clear()
                expect_ok = allowed(rule.endpoint, who, anonymous_role)
                refused = 401 if who == ANONYMOUS else 403
                if status >= 500 or (expect_ok and status in (401, 403)) or (
                        not expect_ok and status != refused):
                    found.append(f"{method} {url} as {who}: {status}, expected "
                                 f"{'not 401/403' if expect_ok else refused}")
    return found


@pytest.fixture(scope="module")
def app(tmp_path_factory, store_backend):
    return make_app(tmp_path_factory.mktemp("access") / "inspections.sqlite")


def test_every_route_is_declared_once(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {e: len(declared(e)) for e in endpoints if len(declared(e)) != 1} == {}


def test_the_declaration_names_known_roles_only():
    for group in ROUTE_GROUPS:
        assert group.roles <= {ANONYMOUS, *ROLES}, group.name
    for layer in CATALOGUE:
        assert layer.roles <= set(ROLES), layer.name


def test_every_route_as_every_role(app):
    assert problems(app, "viewer") == []


def test_every_route_as_every_role_when_visitors_must_log_in(tmp_path, store_backend):
    app = make_app(tmp_path / "inspections.sqlite", ANONYMOUS_ROLE="none")
    assert problems(app, "none") == []
    anonymous = app.test_client()
    assert anonymous.get("/").status_code == 401  # the login page, in place of the map
    assert "请先登录" in anonymous.get("/").get_data(as_text=True)
    assert anonymous.get("/login").status_code == 200


def test_what_the_walk_expects_follows_the_declaration(app):
    """The walk can fail: the leaders' table is refused to inspectors, open to leaders."""
    assert not allowed("review.site_table", "inspector", "viewer")
    assert allowed("review.site_table", "leader", "viewer")
    assert allowed("pages.index", ANONYMOUS, "viewer")
    assert not allowed("pages.index", ANONYMOUS, "none")
    assert allowed("auth.login", ANONYMOUS, "none")
    assert not allowed("inspect.api_record_inspection", "viewer", "viewer")
    assert all(allowed("admin.users_page", "admin", "viewer") for _ in ROLES)


def test_a_route_nobody_declared_is_refused_and_found(tmp_path, store_backend):
    app = make_app(tmp_path / "inspections.sqlite")

    @app.get("/api/forgotten")
    def forgotten():
        return {"ok": True}

    assert declared("forgotten") == []
    admin = client_as(app, "admin")
    assert admin.get("/api/forgotten").status_code == 403
    assert "GET /api/forgotten as admin: 403, expected not 401/403" not in problems(
        app, "viewer")  # refused as expected for an undeclared route ...
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert "forgotten" in {e for e in endpoints if len(declared(e)) != 1}  # ... and reported


def test_refusals_say_why(app):
    anonymous, inspector = client_as(app, None), client_as(app, "inspector")
    body = anonymous.get("/api/parcels").get_json()
    assert body["status"] == 401 and "log in first" in body["error"]
    body = inspector.get("/api/parcels").get_json()
    assert body["status"] == 403 and "leader or admin" in body["error"]
    page = anonymous.get("/parcels")
    assert page.status_code == 401 and "请先登录" in page.get_data(as_text=True)
    assert 'name="next" value="/parcels"' in page.get_data(as_text=True)
    page = inspector.get("/parcels")
    assert page.status_code == 403 and "无权访问" in page.get_data(as_text=True)


# -- layers ---------------------------------------------------------------------------

@pytest.fixture
def restricted(tmp_path, store_backend):
    """An app whose parcels layer only leaders (and admins) may see."""
    app = make_app(tmp_path / "inspections.sqlite")
    loaded = app.extensions["layer_store"].get("parcels")
    loaded.layer = dataclasses.replace(loaded.layer, roles=frozenset({"leader"}))
    return app


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("viewer", 403), ("inspector", 403),
                                             ("leader", 200), ("admin", 200)])
def test_a_layer_is_served_only_to_the_roles_it_names(restricted, who, status):
    client = client_as(restricted, who)
    names = [layer["name"] for layer in client.get("/api/layers").get_json()["layers"]]
    collections = [c["id"] for c in client.get("/ogc/collections?f=json").get_json()
                   ["collections"]]
    assert ("parcels" in names) == (status == 200)
    assert ("parcels" in collections) == (status == 200)
    assert "venues" in names and "venues" in collections
    assert client.get("/api/layers/parcels").status_code == status
    assert client.get("/ogc/collections/parcels/items?f=json").status_code == status
    export = client.get("/api/export?layers=parcels")
    # A layer the role may not see is not among the layers an export may name: 400.
    assert export.status_code == (200 if status == 200 else 400)
    page = client.get("/").get_data(as_text=True)
    assert ('"parcels"' in page) == (status == 200)  # the map's layer list


@pytest.mark.parametrize(("layer", "path"), [
    ("parking", "/api/nearby?lon=116.962&lat=36.668&layer=parking"),
    ("venues", "/api/nearby?lon=116.962&lat=36.668&layer=venues"),
    ("venues", "/api/venues/V0001/history"),
    ("venues", "/api/overdue"),
    ("communities", "/api/locate?lon=116.962&lat=36.668"),
    ("grid", "/api/locate?lon=116.962&lat=36.668"),
])
def test_the_inspectors_queries_serve_a_layer_only_to_the_roles_it_names(tmp_path, layer, path):
    """The queries that answer from the spatial index, not the layer store, check too."""
    app = make_app(tmp_path / "inspections.sqlite")
    loaded = app.extensions["layer_store"].get(layer)
    loaded.layer = dataclasses.replace(loaded.layer, roles=frozenset({"leader"}))
    for who, status in ((None, 401), ("viewer", 403), ("inspector", 403), ("leader", 200),
                        ("admin", 200)):
        response = client_as(app, who).get(path)
        assert response.status_code == status, (who, response.get_data(as_text=True)[:200])
        if status != 200:
            assert layer in response.get_json()["error"]
    inspector = client_as(app, "inspector")
    if layer == "venues":  # nor may an inspector record for a venue they may not see
        response = inspector.post("/api/inspections", json={
            "venue_id": "V0001", "inspector": "张伟", "result": "合格"})
        assert response.status_code == 403
