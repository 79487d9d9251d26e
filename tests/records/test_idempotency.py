"""Idempotency-Key on the record-writing POSTs: a retry is answered once, on both stores."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest

from layers.records import idempotency
from layers.records.inspections import parse_inspection
from tests.conftest import TODAY, log_in, make_app
from tests.records.test_records import CHINESE_FIRST, counts, error_of
from tests.storesql import value

PASSWORD = "correct-horse-1"


@pytest.fixture
def app(tmp_path, store_backend):
    app = make_app(tmp_path / "inspections.sqlite")
    for name in ("zhangwei", "lina"):
        app.extensions["users"].create(name, PASSWORD, "inspector", name)
    return app


def login(app, name="zhangwei"):
    return log_in(app.test_client(), name, password=PASSWORD)


def a_venue(app):
    features = app.test_client().get("/api/layers/venues").get_json()["features"]
    return features[0]["id"]


def payload(venue_id, **changes):
    return {"venue_id": venue_id, "inspector": "张伟", "result": "发现隐患",
            "hazards": [{"category": "消防安全", "description": "灭火器过期",
                         "deadline": "2026-12-10"}], **changes}


def post(client, body, key, path="/api/inspections"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, data=json.dumps(body, ensure_ascii=False),
                       content_type="application/json", headers=headers)


def test_a_retry_with_the_same_key_returns_the_first_answer_and_stores_nothing(app):
    client, venue_id = login(app), a_venue(app)
    before = counts(app)
    first = post(client, payload(venue_id), "key-0001")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    after_first = counts(app)
    assert after_first == (before[0] + 1, before[1] + 1, before[2] + 1)
    for _ in range(2):
        again = post(client, payload(venue_id), "key-0001")
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json()["inspection"] == first.get_json()["inspection"]
    assert counts(app) == after_first
    other = post(client, payload(venue_id), "key-0002")  # a new submission: a new record
    assert other.status_code == 201
    assert other.get_json()["inspection"]["id"] != first.get_json()["inspection"]["id"]
    assert post(client, payload(venue_id), None).status_code == 201  # no key: as before
    assert counts(app)[0] == after_first[0] + 2


def test_keys_are_per_user(app):
    venue_id = a_venue(app)
    first = post(login(app, "zhangwei"), payload(venue_id), "shared-key")
    second = post(login(app, "lina"), payload(venue_id), "shared-key")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["inspection"]["id"] != second.get_json()["inspection"]["id"]


def test_the_same_key_with_another_request_is_422(app):
    client, venue_id = login(app), a_venue(app)
    assert post(client, payload(venue_id), "k-1").status_code == 201
    before = counts(app)
    message = error_of(post(client, payload(venue_id, note="另一次"), "k-1"), 422)
    assert "Idempotency-Key" in message
    assert counts(app) == before


@pytest.mark.parametrize("key", ["", "x" * 201, "含中文", "with space"])
def test_a_malformed_key_is_400(app, key):
    client, venue_id = login(app), a_venue(app)
    before = counts(app)
    response = post(client, payload(venue_id), key)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert CHINESE_FIRST.match(response.get_json()["error"])
    assert counts(app) == before


def test_a_refused_write_keeps_no_key(app):
    """A 409 stored nothing: its retry is a new attempt, judged anew."""
    client, venue_id = login(app), a_venue(app)
    hazard_id = post(client, payload(venue_id), None).get_json()["inspection"]["hazards"][0]["id"]
    path = f"/api/hazards/{hazard_id}/status"
    first = post(client, {"status": "整改中"}, "status-1", path)
    assert first.status_code == 201
    again = post(client, {"status": "整改中"}, "status-1", path)  # replayed, not 409
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["hazard"] == first.get_json()["hazard"]
    refused = post(client, {"status": "整改中"}, "status-2", path)
    assert refused.status_code == 409
    assert value(app, "SELECT count(*) FROM idempotency_keys WHERE key = 'status-2'") == 0


def test_a_write_committed_whose_answer_was_lost_is_answered_on_retry(app):
    """The commit succeeded, the answer did not reach the client (here: the store was
    written directly); the client's retry gets that record, and nothing new."""
    client, venue_id = login(app), a_venue(app)
    body = json.dumps(payload(venue_id), ensure_ascii=False).encode()
    done = idempotency.once("zhangwei", "lost-1", "POST", "/api/inspections", body)
    new = parse_inspection(payload(venue_id), dt.date.fromisoformat(TODAY), lambda _: True)
    stored = app.extensions["inspections"].record_inspection(new, "zhangwei", done)
    before = counts(app)
    retry = client.post("/api/inspections", data=body, content_type="application/json",
                        headers={"Idempotency-Key": "lost-1"})
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json()["inspection"]["id"] == stored["id"]
    assert counts(app) == before


def test_concurrent_retries_with_one_key_store_one_record(app):
    venue_id = a_venue(app)
    clients = [login(app) for _ in range(6)]
    before = counts(app)
    answers: list = [None] * len(clients)
    start = threading.Barrier(len(clients))

    def send(i):
        start.wait()
        answers[i] = post(clients[i], payload(venue_id), "burst-1")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a.status_code for a in answers] == [201] * len(clients)
    assert len({a.get_json()["inspection"]["id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" in a.headers for a in answers) == len(clients) - 1
    assert counts(app) == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_keys_expire_after_24_hours(app, monkeypatch):
    client, venue_id = login(app), a_venue(app)
    first = post(client, payload(venue_id), "old-key").get_json()["inspection"]["id"]
    later = time.time() + idempotency.KEY_TTL_S + 60
    monkeypatch.setattr(idempotency, "now", lambda: later)
    again = post(client, payload(venue_id), "old-key")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.get_json()["inspection"]["id"] != first
    assert value(app, "SELECT count(*) FROM idempotency_keys WHERE key = 'old-key'") == 1
