"""A PostGIS outage fails fast and stays partial (its own cluster: the others' tests go on).

With PostgreSQL stopped, what needs the database answers 503 with Retry-After and a
Chinese message within 2 s (JSON under /api and /ogc, a page otherwise); the maps,
the layers, static files, the OGC pages and /login keep answering, logged-in users
included; when PostgreSQL is back, service resumes within 5 s without a restart.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from layers.stores.postgis.database import Database, PostgisError
from server import create_app
from tests import pgcluster
from tests.conftest import TEST_CONFIG, log_in

FAST_S = 2.0  # an answer during the outage
BACK_S = 5.0  # service after the database returns


@pytest.fixture(scope="module")
def cluster():
    problem = pgcluster.missing()
    if problem:
        pytest.skip(problem)
    cluster = pgcluster.PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def app(cluster, tmp_path_factory):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": cluster.create_database(),
                      "DATABASE_POOL_SIZE": 3,
                      "INSPECTIONS_DB": tmp_path_factory.mktemp("outage") / "unused"})
    yield app
    app.extensions["database"].close()


def timed(client, method, path, **kwargs):
    start = time.monotonic()
    response = client.open(path, method=method, **kwargs)
    return response, time.monotonic() - start


def a_venue(client):
    return client.get("/api/layers/venues").get_json()["features"][0]["id"]


def record(client, venue_id):
    return timed(client, "POST", "/api/inspections",
                 json={"venue_id": venue_id, "inspector": "张伟", "result": "合格"})


def wait_ready(client, limit_s):
    start = time.monotonic()
    while time.monotonic() - start < limit_s + 5:
        if client.get("/readyz").status_code == 200:
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError("/readyz never answered 200 again")


def test_an_outage_fails_fast_keeps_the_maps_and_ends_by_itself(app, cluster):
    anonymous = app.test_client()
    inspector = log_in(app.test_client(), "outage-inspector", "inspector")
    admin = log_in(app.test_client(), "outage-admin", "admin")
    venue_id = a_venue(anonymous)
    assert record(inspector, venue_id)[0].status_code == 201
    cluster.pause()
    try:
        # What needs the database: 503 within 2 s, Retry-After, a Chinese message.
        for _ in range(3):  # the first finds the outage, the next ones know it
            response, took = record(inspector, venue_id)
            assert response.status_code == 503 and took < FAST_S, (response.status_code, took)
            assert int(response.headers["Retry-After"]) >= 1
            assert "数据库暂时无法连接" in response.get_json()["error"]
        response, took = timed(inspector, "GET", f"/api/venues/{venue_id}/history")
        assert response.status_code == 503 and took < FAST_S
        response, took = timed(admin, "GET", "/admin/users")  # a page: an HTML 503
        assert response.status_code == 503 and took < FAST_S
        assert response.mimetype == "text/html" and "Retry-After" in response.headers
        page = response.get_data(as_text=True)
        assert "服务暂不可用" in page
        response = anonymous.get("/readyz")
        assert response.status_code == 503 and "Retry-After" in response.headers
        assert anonymous.get("/healthz").status_code == 200
        # What does not: answered, for visitors and logged-in users alike.
        for client in (anonymous, inspector, admin):
            for path in ("/", "/api/layers", "/api/layers/roads", "/api/layers/venues",
                         "/ogc/collections", "/ogc/collections/venues/items?limit=5",
                         "/ogc/collections/roads/items?limit=5", "/login",
                         "/static/js/common.js"):
                response, took = timed(client, "GET", path)
                assert response.status_code == 200, (path, response.status_code,
                                                      response.get_data(as_text=True)[:300])
                assert took < FAST_S, (path, took)
                response.close()
        me = inspector.get("/api/me").get_json()  # the session's user, not re-checked
        assert me["user"]["name"] == "outage-inspector", me
    finally:
        cluster.resume()
    took = wait_ready(anonymous, BACK_S)
    assert took < BACK_S, took
    response, _ = record(inspector, venue_id)
    assert response.status_code == 201, response.get_json()


def test_a_server_started_during_an_outage_waits_for_the_database(cluster, caplog):
    url = cluster.create_database()
    with pytest.raises(PostgisError, match="cannot connect"):  # the CLI's way: no wait
        Database(url.replace(f":{cluster.port}/", ":1/")).open()
    cluster.pause()
    threading.Timer(3.0, cluster.resume).start()
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="layers.stores.postgis.database"):
        database = Database(url, 2).open(wait_s=60)
    try:
        assert 2.5 < time.monotonic() - start < 10
        assert any("数据库无法连接" in r.getMessage() and "retrying" in r.getMessage()
                   for r in caplog.records)
        with database.transaction() as db:
            assert db.execute("SELECT 1").fetchone() == (1,)
    finally:
        database.close()


def test_a_production_start_that_may_not_wait_says_why_without_a_traceback(
        monkeypatch, capsys, tmp_path):
    import server

    monkeypatch.setenv("HUAISHU_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    monkeypatch.setenv("HUAISHU_DATABASE_START_WAIT_S", "0")
    monkeypatch.setenv("HUAISHU_INSPECTIONS_DB", str(tmp_path / "unused.sqlite"))
    with pytest.raises(SystemExit) as ended:
        server.production_app()
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "服务未启动:数据库无法连接" in err and "Traceback" not in err
    assert server.start_waiting() == {}
    monkeypatch.delenv("HUAISHU_DATABASE_START_WAIT_S")
    assert server.start_waiting() == {"DATABASE_START_WAIT_S": float("inf")}
