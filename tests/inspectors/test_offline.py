"""/inspect offline: the service worker's list of files, and the phone's queue replayed
(the same requests, with their keys, from a new session) stored once, on both stores."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask

from layers.inspectors.offline import page_assets, shell
from tests.conftest import log_in, make_app
from tests.records.test_records import counts

PASSWORD = "correct-horse-1"
WORKER_LINE = re.compile(r"^self\.HUAISHU_OFFLINE = (\{.*\});$", re.MULTILINE)


def worker_config(response):
    return json.loads(WORKER_LINE.search(response.get_data(as_text=True)).group(1))


def test_the_worker_lists_the_page_and_every_file_it_loads(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"  # the browser compares it anew
    config = worker_config(response)
    assert config["page"] == "/inspect" and re.fullmatch(r"[0-9a-f]{16}", config["version"])
    page = client.get("/inspect").get_data(as_text=True)
    tags = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/static/[^"]+)"', page)
    assert tags and set(tags) <= set(config["assets"])
    assert "/static/js/inspect-offline.js" in config["assets"]
    # What the stylesheets load (Leaflet's control icons) is cached too.
    assert "/static/node_modules/leaflet/dist/images/layers.png" in config["assets"]
    for path in config["assets"]:
        with client.get(path) as asset:
            assert asset.status_code == 200, path
    assert not any(a.startswith(("http:", "https:", "//")) for a in config["assets"])
    # The worker script itself, and the policy that lets the page register it.
    assert "self.addEventListener(\"fetch\"" in response.get_data(as_text=True)
    csp = client.get("/inspect").headers["Content-Security-Policy"]
    assert "worker-src 'self'" in csp


def test_visitors_get_the_worker_as_they_get_the_page(app):
    anonymous = app.test_client()
    assert anonymous.get("/inspect").status_code == 200
    assert anonymous.get("/sw.js").status_code == 200


def make_static(tmp_path, css='.a { background: url("img/x.png"); }'):
    (tmp_path / "js").mkdir()
    (tmp_path / "img").mkdir()
    (tmp_path / "js" / "sw.js").write_text("// worker", encoding="utf-8")
    (tmp_path / "js" / "page.js").write_text("// one", encoding="utf-8")
    (tmp_path / "img" / "x.png").write_bytes(b"png")
    (tmp_path / "a.css").write_text(css, encoding="utf-8")
    return Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")


PAGE = ('<link rel="stylesheet" href="/static/a.css"><link rel="icon" href="/static/img/x.png">'
        '<script src="/static/js/page.js"></script><script>inline()</script>'
        '<a href="/static/not-loaded.pdf">x</a><link rel="canonical" href="/inspect">')


def test_the_version_follows_the_files(tmp_path):
    app = make_static(tmp_path)
    first = shell(app, lambda: PAGE)
    assert first["assets"] == ["/static/a.css", "/static/img/x.png", "/static/js/page.js"]
    assert shell(app, lambda: "") is first  # once per process
    (tmp_path / "js" / "page.js").write_text("// two", encoding="utf-8")
    del app.extensions["offline_shell"]
    assert shell(app, lambda: PAGE)["version"] != first["version"]


def test_a_file_the_page_refers_to_must_exist(tmp_path):
    make_static(tmp_path, css=".a { background: url(img/missing.png) }")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        page_assets(PAGE, "/static", tmp_path)


# -- the queue replayed: each record stored once ----------------------------------------

@pytest.fixture
def records_app(tmp_path, store_backend):
    app = make_app(tmp_path / "inspections.sqlite")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    return app


def send(client, path, body, key):
    return client.post(path, data=json.dumps(body, ensure_ascii=False),
                       content_type="application/json", headers={"Idempotency-Key": key})


def test_a_queue_sent_twice_from_a_new_session_is_stored_once(records_app):
    """The phone sent its queue, the answers were lost, the session expired: after a new
    login it sends the same requests with the same keys. Nothing is stored twice."""
    app = records_app
    client = log_in(app.test_client(), "zhangwei", password=PASSWORD)
    venue_id = app.test_client().get("/api/layers/venues").get_json()["features"][0]["id"]
    found = {"venue_id": venue_id, "inspector": "张伟", "date": "2026-11-20",
             "result": "发现隐患", "note": "地下室,没有信号",
             "hazards": [{"category": "消防安全", "description": "灭火器过期",
                          "deadline": "2026-12-10"}],
             "position": {"lon": 116.961, "lat": 36.665, "accuracy_m": 12.0}}
    before = counts(app)
    first = send(client, "/api/inspections", found, "offline-0001")
    assert first.status_code == 201, first.get_json()
    hazard_id = first.get_json()["inspection"]["hazards"][0]["id"]
    steps = [("/api/inspections", found, "offline-0001"),
             (f"/api/hazards/{hazard_id}/status", {"status": "整改中"}, "offline-0002"),
             ("/api/rechecks", {"venue_id": venue_id, "inspector": "张伟", "date": "2026-11-24",
                                "note": "", "closed": [hazard_id]}, "offline-0003")]
    answers = [send(client, *step) for step in steps[1:]]
    assert [a.status_code for a in answers] == [201, 201]
    stored = counts(app)
    assert stored == (before[0] + 2, before[1] + 1, before[2] + 3)

    again = log_in(app.test_client(), "zhangwei", password=PASSWORD)  # a new session
    replies = [send(again, *step) for step in steps]
    assert [r.status_code for r in replies] == [201, 201, 201]
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in replies)
    assert replies[0].get_json()["inspection"] == first.get_json()["inspection"]
    assert counts(app) == stored
    history = again.get(f"/api/venues/{venue_id}/history").get_json()
    assert [i["note"] for i in history["inspections"]].count("地下室,没有信号") == 1


def test_a_queued_step_refused_on_sending_stores_nothing(records_app):
    """A step kept on the phone while someone else moved the hazard on: 409 in Chinese,
    nothing stored, and it can be discarded (or sent again) without harm."""
    app = records_app
    client = log_in(app.test_client(), "zhangwei", password=PASSWORD)
    venue_id = app.test_client().get("/api/layers/venues").get_json()["features"][0]["id"]
    made = send(client, "/api/inspections", {
        "venue_id": venue_id, "inspector": "张伟", "date": "2026-11-20", "result": "发现隐患",
        "hazards": [{"category": "消防安全", "description": "通道堵塞",
                     "deadline": "2026-12-10"}]}, "offline-0101")
    hazard_id = made.get_json()["inspection"]["hazards"][0]["id"]
    assert send(client, f"/api/hazards/{hazard_id}/status", {"status": "整改中"},
                "someone-else").status_code == 201
    before = counts(app)
    for _ in range(2):  # refused, and again when the inspector retries
        refused = send(client, f"/api/hazards/{hazard_id}/status", {"status": "整改中"},
                       "offline-0102")
        assert refused.status_code == 409
        assert refused.get_json()["error"].startswith(f"隐患 {hazard_id} 现为整改中")
    assert counts(app) == before
