"""DATABASE_STATEMENT_TIMEOUT_S: a request's statement that runs too long (here, waiting
for a venue lock another session holds) is cancelled, answered 503 in Chinese with
Retry-After, and changes nothing; loading and writing whole layers are not limited."""

from __future__ import annotations

import time

import psycopg

from layers.stores.postgis.database import VENUE_LOCK_CLASS
from layers.stores.postgis.layers import PostgisVersions
from tests.conftest import log_in, make_app


def test_a_write_stuck_behind_a_lock_is_cancelled_with_a_503_and_stores_nothing(
        postgis_only, tmp_path):
    app = make_app(tmp_path / "records", DATABASE_STATEMENT_TIMEOUT_S=0.5)
    client = app.test_client()
    log_in(client, "inspector1", "inspector")
    venue = client.get("/api/layers/venues").get_json()["features"][0]["id"]
    before = len(client.get(f"/api/venues/{venue}/history").get_json()["inspections"])
    url = app.config["DATABASE_URL"]
    with psycopg.connect(url, autocommit=False) as other:  # a session stuck holding the lock
        other.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                      (VENUE_LOCK_CLASS, venue))
        start = time.monotonic()
        response = client.post("/api/inspections", json={
            "venue_id": venue, "inspector": "张伟", "result": "合格"})
        waited = time.monotonic() - start
        other.rollback()
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"].startswith("数据库处理超时,未做任何更改")
    assert response.headers["Retry-After"] == "2"
    assert waited < 5
    history = client.get(f"/api/venues/{venue}/history").get_json()
    assert len(history["inspections"]) == before
    again = client.post("/api/inspections", json={
        "venue_id": venue, "inspector": "张伟", "result": "合格"})
    assert again.status_code == 201


def test_loading_and_writing_layers_are_not_limited(postgis_only, tmp_path):
    """Requests' statements have the timeout; reading and writing whole layers (a start,
    the following of versions, imports and restores) have none."""
    app = make_app(tmp_path / "records", DATABASE_STATEMENT_TIMEOUT_S=0.5)
    database = app.extensions["database"]
    versions = PostgisVersions(database)

    def timeout(db) -> str:
        return str(db.execute("SHOW statement_timeout").fetchone()[0])

    with database.transaction() as db:
        assert timeout(db) == "500ms"
    with versions.reading() as tables:
        assert timeout(tables.db) == "0"
    with versions.writing() as tables:
        assert timeout(tables.db) == "0"
    with database.transaction() as db:  # SET LOCAL: the pooled connection is limited again
        assert timeout(db) == "500ms"
    assert versions.heads()["venues"] >= 1
