"""Corrections of inspection records: who may, what a void or a correction does to the
hazard flow and the statuses, the history and the audit log, and bad input; both stores."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from layers.records import corrections
from layers.stores.embedded.schema import RECORDS_SCHEMA
from layers.stores.opening import embedded_records
from tests.conftest import TODAY, log_in, make_app
from tests.records.test_records import CHINESE_FIRST, error_of
from tests.storesql import rows, value

PASSWORD = "correct-horse-1"
EARLIER = (dt.date.fromisoformat(TODAY) - dt.timedelta(days=3)).isoformat()


@pytest.fixture
def app(tmp_path, store_backend):
    """A fresh app per test: these tests write."""
    app = make_app(tmp_path / "inspections.sqlite")
    users = app.extensions["users"]
    users.create("zhangwei", PASSWORD, "inspector", "张伟")
    users.create("lina", PASSWORD, "inspector", "李娜")
    users.create("guanli", PASSWORD, "admin", "王管理")
    return app


def login(app, name="zhangwei"):
    return log_in(app.test_client(), name, password=PASSWORD)


@pytest.fixture
def inspector(app):
    return login(app)


def venues_with_status(client, status):
    features = client.get("/api/layers/venues").get_json()["features"]
    return [f["id"] for f in features if f["properties"]["status"] == status]


def status_of(client, venue_id):
    return client.get(f"/api/venues/{venue_id}/history").get_json()["venue"]["properties"]


def history(client, venue_id):
    return client.get(f"/api/venues/{venue_id}/history").get_json()


def record(client, venue_id, hazards=True, **changes):
    payload = {"venue_id": venue_id, "inspector": "张伟", "note": "店主在场",
               "result": "发现隐患" if hazards else "合格",
               "hazards": [{"category": "消防安全", "description": "灭火器过期",
                            "deadline": "2026-12-10"}] if hazards else [], **changes}
    response = client.post("/api/inspections", json=payload)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["inspection"]


def correct(client, inspection_id, key=None, **body):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/inspections/{inspection_id}/corrections",
                       data=json.dumps(body, ensure_ascii=False),
                       content_type="application/json", headers=headers)


def stored_state(app):
    """Everything a refused correction must leave as it was."""
    return (rows(app, "SELECT * FROM inspections ORDER BY id"),
            rows(app, "SELECT * FROM hazards ORDER BY id"),
            value(app, "SELECT count(*) FROM hazard_events"),
            value(app, "SELECT count(*) FROM inspection_corrections"),
            value(app, "SELECT count(*) FROM audit_log"
                       " WHERE substr(action, 1, 11) = 'inspection.'"))


def audit_rows(app, inspection_id):
    return rows(app, "SELECT actor, action, summary FROM audit_log WHERE object_id = ?"
                     " AND action IN ('inspection.correct',"
                     " 'inspection.void') ORDER BY id", inspection_id)


def test_the_author_corrects_the_date_and_the_history_shows_old_new_who_why(app, inspector):
    venue_id = venues_with_status(inspector, "逾期未检")[0]
    stored = record(inspector, venue_id, hazards=False)
    inspections_before = value(app, "SELECT count(*) FROM inspections")
    response = correct(inspector, stored["id"], date=EARLIER, reason="日期选错了")
    assert response.status_code == 201, response.get_data(as_text=True)
    corrected = response.get_json()["inspection"]
    assert corrected["date"] == EARLIER and not corrected["voided"]
    [c] = corrected["corrections"]
    assert c["changes"] == {"date": {"old": TODAY, "new": EARLIER}}
    assert (c["actor"], c["actor_name"], c["reason"], c["void"]) == ("zhangwei", "张伟",
                                                                     "日期选错了", False)
    assert c["at"][:4] == str(dt.datetime.now(dt.UTC).year)
    # The record's current values are the corrected ones; nothing was added or deleted.
    assert value(app, "SELECT date FROM inspections WHERE id = ?", stored["id"]) == EARLIER
    assert value(app, "SELECT count(*) FROM inspections") == inspections_before
    assert status_of(inspector, venue_id)["last_inspection"] == EARLIER
    shown = next(i for i in history(inspector, venue_id)["inspections"] if i["id"] == stored["id"])
    assert shown["corrections"] == [c] and shown["correctable"] is True
    [row] = audit_rows(app, stored["id"])
    assert (row["actor"], row["action"]) == ("zhangwei", "inspection.correct")
    summary = json.loads(row["summary"])
    assert summary["reason"] == "日期选错了"
    assert summary["changes"] == {"date": {"old": TODAY, "new": EARLIER}}
    # The audit page lists it with its label.
    admin = login(app, "guanli")
    entries = admin.get("/api/audit?action=inspection.correct").get_json()["entries"]
    assert [e["object_id"] for e in entries] == [stored["id"]]
    assert entries[0]["action_label"] == "更正检查记录"


def test_voiding_an_inspection_voids_its_hazards_and_the_statuses_follow(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    before = status_of(inspector, venue_id)
    admin = login(app, "guanli")
    figures_before = admin.get("/api/records/figures").get_json()
    stored = record(inspector, venue_id)
    [hazard] = stored["hazards"]
    assert status_of(inspector, venue_id)["status"] == "隐患未改"
    figures = admin.get("/api/records/figures").get_json()
    assert figures["open_hazards"] == figures_before["open_hazards"] + 1
    assert figures["inspections_this_month"] == figures_before["inspections_this_month"] + 1
    counts = (value(app, "SELECT count(*) FROM inspections"),
              value(app, "SELECT count(*) FROM hazards"))
    year_before = app.extensions["inspections"].inspections_since(dt.date(2026, 1, 1))

    response = correct(inspector, stored["id"], void=True, reason="误点了提交")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    voided = body["inspection"]
    assert voided["voided"] is True and voided["void_reason"] == "误点了提交"
    assert voided["hazards"][0]["voided"] == 1
    props = body["venue"]["properties"]
    assert props["status"] == "合格" and props["open_hazards"] == 0
    assert props["last_inspection"] == before["last_inspection"]
    # Nothing deleted: the rows stay, marked; the history shows the void.
    assert (value(app, "SELECT count(*) FROM inspections"),
            value(app, "SELECT count(*) FROM hazards")) == counts
    shown = history(inspector, venue_id)
    assert shown["open_hazards"] == []
    item = next(i for i in shown["inspections"] if i["id"] == stored["id"])
    assert item["voided"] is True and item["correctable"] is False
    assert item["corrections"][0]["void"] is True
    # The figures and lists count it no more.
    assert app.extensions["inspections"].inspections_since(dt.date(2026, 1, 1)) \
        == year_before - 1
    figures = admin.get("/api/records/figures").get_json()  # the leaders' dashboard
    for name in ("open_hazards", "inspections_this_month", "inspections_this_year",
                 "rectification_overdue", "inspection_overdue"):
        assert figures[name] == figures_before[name], name
    layer = inspector.get("/api/layers/venues").get_json()["features"]
    assert next(f for f in layer if f["id"] == venue_id)["properties"]["status"] == "合格"
    error = error_of(inspector.post(f"/api/hazards/{hazard['id']}/status",
                                    json={"status": "整改中"}), 409)
    assert error.startswith(f"隐患 {hazard['id']} 所属的检查已作废")
    [row] = audit_rows(app, stored["id"])
    assert row["action"] == "inspection.void"
    assert json.loads(row["summary"])["hazards_voided"] == [hazard["id"]]


def test_a_void_brings_an_overdue_venue_back_to_overdue(app, inspector):
    venue_id = venues_with_status(inspector, "逾期未检")[0]
    stored = record(inspector, venue_id, hazards=False)
    assert status_of(inspector, venue_id)["status"] == "合格"
    assert correct(inspector, stored["id"], void=True, reason="场所走错了").status_code == 201
    assert status_of(inspector, venue_id)["status"] == "逾期未检"
    overdue = inspector.get("/api/overdue").get_json()["features"]
    assert venue_id in [f["id"] for f in overdue]


def test_a_void_is_refused_while_a_later_step_depends_on_its_hazards(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id)
    hazard_id = stored["hazards"][0]["id"]
    assert inspector.post(f"/api/hazards/{hazard_id}/status",
                          json={"status": "整改中"}).status_code == 201
    before = stored_state(app)
    for body in ({"void": True}, {"result": "合格"}, {"venue_id": "V0002"}):
        error = error_of(correct(inspector, stored["id"], reason="写错了", **body), 409)
        assert error.startswith(f"此检查登记的隐患 {hazard_id}（整改中） 已有后续的整改记录")
    assert stored_state(app) == before
    # The note can still say what was wrong.
    assert correct(inspector, stored["id"], note="隐患描述有误,见复查",
                   reason="补充说明").status_code == 201


def test_voiding_a_recheck_reopens_the_hazards_it_closed(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    hazard_id = record(inspector, venue_id)["hazards"][0]["id"]
    assert inspector.post(f"/api/hazards/{hazard_id}/status",
                          json={"status": "整改中"}).status_code == 201
    recheck = inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [hazard_id]}).get_json()
    assert recheck["venue"]["properties"]["status"] == "合格"
    recheck_id = recheck["inspection"]["id"]
    error = error_of(correct(inspector, recheck_id, result="发现隐患", reason="x"), 409)
    assert error.startswith("复查的结果由其关闭的隐患决定")
    response = correct(inspector, recheck_id, void=True, reason="隐患其实未整改完")
    assert response.status_code == 201
    assert response.get_json()["venue"]["properties"]["status"] == "隐患未改"
    [open_hazard] = history(inspector, venue_id)["open_hazards"]
    assert open_hazard["id"] == hazard_id and open_hazard["status"] == "整改中"
    assert open_hazard["rectified"] is None
    assert [e["status"] for e in open_hazard["events"]] == ["立案", "整改中", "已整改", "整改中"]
    assert json.loads(audit_rows(app, recheck_id)[0]["summary"])["hazards_reopened"] \
        == [hazard_id]


def test_correcting_the_result_to_passed_voids_the_hazards(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id)
    before = stored_state(app)
    error = error_of(correct(inspector, stored["id"], result="发现隐患", reason="x"), 400)
    assert error.startswith("更正的内容与原记录相同")
    response = correct(inspector, stored["id"], result="合格", reason="灭火器其实在有效期内")
    assert response.status_code == 201
    body = response.get_json()
    assert body["inspection"]["result"] == "合格" and not body["inspection"]["voided"]
    assert body["venue"]["properties"]["status"] == "合格"
    assert value(app, "SELECT voided FROM hazards WHERE id = ?",
                 stored["hazards"][0]["id"]) == 1
    assert stored_state(app)[3] == before[3] + 1
    clean = record(inspector, venue_id, hazards=False)
    error = error_of(correct(inspector, clean["id"], result="发现隐患", reason="漏记隐患"), 400)
    assert error.startswith("不能把结果更正为发现隐患")


def test_correcting_the_venue_moves_the_record_and_its_hazards(app, inspector):
    first, second = venues_with_status(inspector, "合格")[:2]
    stored = record(inspector, first)
    response = correct(inspector, stored["id"], venue_id=second, reason="选错了场所")
    assert response.status_code == 201
    assert response.get_json()["venue"]["id"] == second
    assert status_of(inspector, first)["status"] == "合格"
    assert status_of(inspector, second)["status"] == "隐患未改"
    assert stored["id"] not in [i["id"] for i in history(inspector, first)["inspections"]]
    moved = history(inspector, second)
    assert [h["id"] for h in moved["open_hazards"]] == [stored["hazards"][0]["id"]]
    item = next(i for i in moved["inspections"] if i["id"] == stored["id"])
    change = item["corrections"][0]["changes"]["venue_id"]
    assert (change["old"], change["new"]) == (first, second)
    layer = {f["id"]: f for f in inspector.get("/api/layers/venues").get_json()["features"]}
    assert change["old_name"] == layer[first]["properties"]["name"]
    assert change["new_name"] == layer[second]["properties"]["name"]


def test_correcting_the_date_moves_the_hazards_date_found(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id)
    hazard_id = stored["hazards"][0]["id"]
    late = "2026-12-11"  # after the deadline 2026-12-10 (and after TODAY: checked first)
    error_of(correct(inspector, stored["id"], date=late, reason="x"), 400)
    assert correct(inspector, stored["id"], date=EARLIER, reason="日期写错").status_code == 201
    hazard = inspector.get(f"/api/venues/{venue_id}/history").get_json()["open_hazards"][0]
    assert hazard["id"] == hazard_id and hazard["found"] == EARLIER
    assert hazard["events"][0]["date"] == EARLIER


def test_notes_are_corrected_and_cleared(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id, hazards=False)
    assert correct(inspector, stored["id"], note="店主不在", reason="记错").status_code == 201
    response = correct(inspector, stored["id"], note="", reason="备注不需要")
    assert response.status_code == 201
    ins = response.get_json()["inspection"]
    assert ins["note"] is None
    assert [c["changes"]["note"] for c in ins["corrections"]] == [
        {"old": "店主在场", "new": "店主不在"}, {"old": "店主不在", "new": None}]


def test_an_admin_corrects_any_record_at_any_time(app, inspector, monkeypatch):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id, hazards=False)
    other = venues_with_status(inspector, "合格")[1]
    seeded = history(inspector, other)["inspections"][0]  # shipped: nobody's
    assert seeded["recorded_by"] is None
    lina, admin = login(app, "lina"), login(app, "guanli")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    monkeypatch.setattr(corrections, "now", lambda: later)
    assert history(inspector, venue_id)["inspections"][0]["correctable"] is False
    assert history(admin, venue_id)["inspections"][0]["correctable"] is True
    assert history(lina, venue_id)["inspections"][0]["correctable"] is False
    for target in (stored["id"], seeded["id"]):
        response = correct(admin, target, note="管理员核实", reason="核实后更正")
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["inspection"]["corrections"][-1]["actor"] == "guanli"


def test_visitors_see_corrections_without_the_accounts(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id, hazards=False)
    assert correct(inspector, stored["id"], note="店主不在", reason="记错").status_code == 201
    seen = history(app.test_client(), venue_id)
    item = next(i for i in seen["inspections"] if i["id"] == stored["id"])
    [c] = item["corrections"]
    assert c["reason"] == "记错" and "actor" not in c and "actor_name" not in c
    assert "correctable" not in item


def test_a_retried_correction_with_the_same_key_is_stored_once(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id, hazards=False)
    first = correct(inspector, stored["id"], key="fix-1", note="店主不在", reason="记错")
    again = correct(inspector, stored["id"], key="fix-1", note="店主不在", reason="记错")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["inspection"] == first.get_json()["inspection"]
    assert value(app, "SELECT count(*) FROM inspection_corrections") == 1
    assert len(audit_rows(app, stored["id"])) == 1


BAD = [  # (body, status, the message's start)
    ({"void": True}, 400, "作废记录须填写原因"),
    ({"void": True, "reason": "   "}, 400, "作废记录须填写原因"),
    ({"note": "x"}, 400, "更正记录须填写原因"),
    ({"inspector": "李四", "reason": "x"}, 400, "不能更正 'inspector'"),
    ({"reason": "x"}, 400, "请给出要更正的内容"),
    ({"void": True, "note": "x", "reason": "x"}, 400, "作废记录时不能同时更正其内容"),
    ({"void": "yes", "reason": "x"}, 400, "作废 void 须为 true 或 false"),
    ({"date": "2099-01-01", "reason": "x"}, 400, "检查日期 2099-01-01 晚于今天"),
    ({"date": "昨天", "reason": "x"}, 400, "检查日期 '昨天' 不是有效日期"),
    ({"date": 20261120, "reason": "x"}, 400, "检查日期须为日期"),
    ({"venue_id": "V9999", "reason": "x"}, 400, "没有编号为 'V9999' 的场所"),
    ({"result": "不合格", "reason": "x"}, 400, "检查结果须为 合格、发现隐患 之一"),
    ({"note": "店主在场", "reason": "x"}, 400, "更正的内容与原记录相同"),
    ({"note": "<script>alert(1)</script>", "reason": "x"}, 400, "备注"),
    ({"note": "x", "reason": "长" * 501}, 400, "更正原因有 501 个字符"),
]


@pytest.mark.parametrize(("body", "status", "start"), BAD)
def test_bad_corrections_are_4xx_in_chinese_and_store_nothing(app, inspector, body, status,
                                                               start):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id, hazards=False)
    before = stored_state(app)
    error = error_of(correct(inspector, stored["id"], **body), status)
    assert error.startswith(start), error
    assert stored_state(app) == before


def test_who_may_correct(app, inspector, monkeypatch):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id, hazards=False)
    before = stored_state(app)
    body = {"note": "改", "reason": "记错"}
    # Not logged in: 401; CSRF as for the other writes.
    anonymous = correct(app.test_client(), stored["id"], **body)
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"].startswith("请先登录")
    stale = login(app, "zhangwei")
    stale.environ_base["HTTP_X_CSRFTOKEN"] = "stale"
    assert error_of(correct(stale, stored["id"], **body), 400).startswith("页面已过期")
    # Someone else's record: 403.
    error = error_of(correct(login(app, "lina"), stored["id"], **body), 403)
    assert error.startswith("只能更正自己记录的检查")
    # A leader may not write records at all.
    app.extensions["users"].create("lingdao", PASSWORD, "leader", "李领导")
    assert correct(login(app, "lingdao"), stored["id"], **body).status_code == 403
    # After 24 hours, not even the author.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=24, minutes=1)
    monkeypatch.setattr(corrections, "now", lambda: later)
    error = error_of(correct(inspector, stored["id"], **body), 403)
    assert error.startswith("记录已超过 24 小时,只有管理员可以更正")
    assert stored_state(app) == before
    # An unknown record: 404.
    error_of(correct(inspector, "INS999999", **body), 404)


def test_a_voided_record_cannot_be_corrected(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id, hazards=False)
    assert correct(inspector, stored["id"], void=True, reason="重复记录").status_code == 201
    before = stored_state(app)
    admin = login(app, "guanli")
    for client, body in ((inspector, {"note": "x"}), (admin, {"void": True})):
        error = error_of(correct(client, stored["id"], reason="再改", **body), 409)
        assert error.startswith(f"检查 {stored['id']} 已作废,不能再更正")
    assert stored_state(app) == before


def test_messages_read_chinese_first():
    assert CHINESE_FIRST.match(corrections.refusal(
        "a", "2026-01-01T00:00:00.000Z", corrections.Corrector("b", "B", False),
        dt.datetime.now(dt.UTC)).message)


def test_a_store_made_before_corrections_is_upgraded(tmp_path):
    """A SQLite store from before: its records count as not voided, and can be voided."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(RECORDS_SCHEMA)  # the tables as first released
        db.execute("INSERT INTO inspections (id, venue_id, date, inspector, result)"
                   " VALUES ('INS000001', 'V0001', '2026-01-01', '张伟', '合格')")
    store = embedded_records(path)
    [item] = store.history("V0001")["inspections"]
    assert item["voided"] is False and item["corrections"] == []
    assert store.last_inspections() == {"V0001": "2026-01-01"}
    admin = corrections.Corrector("guanli", "王管理", admin=True)
    voided = store.correct_inspection("INS000001", corrections.Correction("重复", void=True),
                                      admin, dt.date(2026, 11, 25))
    assert voided["voided"] is True
    assert store.last_inspections() == {}


def test_a_voided_hazard_past_its_deadline_is_not_overdue(app, inspector):
    venue_id = venues_with_status(inspector, "合格")[0]
    stored = record(inspector, venue_id, date="2026-11-01", hazards=True)
    assert correct(inspector, stored["id"], date="2026-11-02", reason="x").status_code == 201
    late = inspector.post("/api/inspections", json={
        "venue_id": venue_id, "inspector": "张伟", "result": "发现隐患", "date": "2026-11-01",
        "hazards": [{"category": "用电安全", "description": "插线板串接",
                     "deadline": "2026-11-10"}]}).get_json()["inspection"]
    assert status_of(inspector, venue_id)["status"] == "超期未整改"
    response = correct(inspector, late["id"], void=True, reason="记到别的店了")
    assert response.status_code == 201
    assert response.get_json()["venue"]["properties"]["status"] == "隐患未改"  # the first
    shown = history(inspector, venue_id)
    item = next(i for i in shown["inspections"] if i["id"] == late["id"])
    assert item["hazards"][0]["overdue_days"] is None
    assert late["hazards"][0]["id"] not in [h["id"] for h in shown["open_hazards"]]
    late_list = inspector.get("/api/overdue?of=rectification").get_json()["features"]
    assert venue_id not in [f["id"] for f in late_list]
