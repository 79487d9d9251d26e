"""/healthz and /readyz for load balancers, on both stores (outages: test_outage.py)."""

from __future__ import annotations

from tests.conftest import make_app


def test_healthz_answers_without_touching_anything(store_backend, tmp_path):
    app = make_app(tmp_path / "db.sqlite")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "status": "alive"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_says_the_database_answers_and_the_layers_are_loaded(store_backend, tmp_path):
    app = make_app(tmp_path / "db.sqlite")
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready" and body["database"] == store_backend
    assert body["layers"] == len(app.extensions["layer_store"].names()) > 0


def test_probes_are_open_to_all_outside_the_budget_and_the_host_check(tmp_path):
    """A load balancer probes by address, often, and is nobody: with logins required,
    a budget of 1 request and an unknown Host, the probes still answer."""
    app = make_app(tmp_path / "db.sqlite", ANONYMOUS_ROLE="none", CLIENT_RATE=1,
                   CLIENT_BURST=1)
    client = app.test_client()
    for _ in range(5):
        for path in ("/healthz", "/readyz"):
            response = client.get(path, headers={"Host": "10.1.2.3:5001"})
            assert response.status_code == 200, (path, response.get_data(as_text=True))
    assert client.get("/", headers={"Host": "10.1.2.3:5001"}).status_code == 400


def test_readyz_is_503_in_chinese_when_the_sqlite_file_cannot_be_read(tmp_path):
    app = make_app(tmp_path / "db.sqlite")
    (tmp_path / "db.sqlite").write_bytes(b"not a database" * 100)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 503
    assert body["error"].startswith("服务暂不可用")
    assert app.test_client().get("/healthz").status_code == 200


def test_the_probes_are_in_the_openapi_document(tmp_path):
    document = make_app(tmp_path / "db.sqlite").test_client().get("/ogc/api").get_json()
    assert {"/healthz", "/readyz"} <= set(document["paths"])
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]
