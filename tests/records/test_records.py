"""Recording inspections and the hazard flow: API, validation, atomicity, persistence."""

import datetime as dt
import re
import sqlite3
import threading
import time

import pytest

from layers.errors import BadRequest
from layers.records import inspections as ins
from layers.stores.embedded.database import SqliteFile
from layers.stores.embedded.records import SqliteRecordWrites
from layers.stores.embedded.schema import RECORDS_SCHEMA
from layers.stores.opening import embedded_records
from layers.web import context as web
from tests.conftest import TODAY, log_in, make_app
from tests.storesql import value

PASSWORD = "correct-horse-1"
# The page shows the server's messages as they are: Chinese first, the English after it.
CHINESE_FIRST = re.compile(r"[\u4e00-\u9fff][^()]*? \(.*[A-Za-z].*\)$")


def error_of(response, status):
    """The response's message, after checking its status and that it reads Chinese first."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status
    assert CHINESE_FIRST.match(body["error"]), body["error"]
    return body["error"]


@pytest.fixture
def app(tmp_path, store_backend):
    """A fresh app per test: these tests write."""
    app = make_app(tmp_path / "inspections.sqlite")
    users = app.extensions["users"]
    users.create("zhangwei", PASSWORD, "inspector", "张伟")
    return app


def login(client, name="zhangwei"):
    return log_in(client, name, password=PASSWORD)


@pytest.fixture
def inspector(app):
    return login(app.test_client())


def counts(app):
    return tuple(value(app, f"SELECT count(*) FROM {t}")  # SQLite or PostgreSQL
                 for t in ("inspections", "hazards", "hazard_events"))


def venue(client, venue_id):
    return client.get(f"/api/venues/{venue_id}/history").get_json()["venue"]["properties"]


def a_venue_with_status(client, status):
    features = client.get("/api/layers/venues").get_json()["features"]
    return next(f["id"] for f in features if f["properties"]["status"] == status)


def hazard(**changes):
    return {"category": "消防安全", "description": "灭火器过期", "deadline": "2026-12-10",
            **changes}


def record(client, target, **changes):
    payload = {"venue_id": target, "inspector": "张伟", "result": "发现隐患",
               "hazards": [hazard()], "note": "店主在场", **changes}
    return client.post("/api/inspections", json=payload)


def test_recording_needs_an_inspector(app):
    client = app.test_client()
    venue_id = a_venue_with_status(client, "合格")
    before = counts(app)
    response = record(client, venue_id)
    assert response.status_code == 401
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 401
    assert body["error"].startswith("请先登录") and "log in first (/login)" in body["error"]
    app.extensions["users"].create("lingdao", PASSWORD, "leader", "李领导")
    leader = login(app.test_client(), "lingdao")
    response = record(leader, venue_id)
    assert response.status_code == 403 and "inspector" in response.get_json()["error"]
    assert app.test_client().post("/api/rechecks", json={}).status_code == 401
    assert app.test_client().post("/api/hazards/HZ00001/status", json={}).status_code == 401
    assert counts(app) == before
    assert venue(client, venue_id)["status"] == "合格"


def test_a_write_with_a_stale_csrf_token_says_so_in_chinese(app, inspector):
    """E.g. the page was open while the inspector logged in again in another tab."""
    venue_id = a_venue_with_status(inspector, "合格")
    before = counts(app)
    inspector.environ_base["HTTP_X_CSRFTOKEN"] = "stale"
    error = error_of(record(inspector, venue_id), 400)
    assert error.startswith("页面已过期或缺少安全校验,请刷新页面后重试 (CSRF token missing or")
    assert counts(app) == before


def test_an_inspection_with_a_hazard_changes_the_status_everywhere(app, inspector):
    venue_id = a_venue_with_status(inspector, "合格")
    before = counts(app)
    response = record(inspector, venue_id)
    assert response.status_code == 201
    body = response.get_json()
    stored = body["inspection"]
    assert stored["date"] == TODAY and stored["recorded_by"] == "zhangwei"
    assert stored["result"] == "发现隐患" and stored["note"] == "店主在场"
    [found] = stored["hazards"]
    assert found["status"] == "立案" and found["found"] == TODAY
    assert body["venue"]["properties"]["status"] == "隐患未改"
    assert counts(app) == (before[0] + 1, before[1] + 1, before[2] + 1)
    # The layer API (every map) and the nearby list follow.
    layer = inspector.get("/api/layers/venues").get_json()["features"]
    assert next(f for f in layer if f["id"] == venue_id)["properties"]["status"] == "隐患未改"
    lon, lat = next(f for f in layer if f["id"] == venue_id)["geometry"]["coordinates"]
    near = inspector.get(f"/api/nearby?lon={lon}&lat={lat}&radius_m=50&status=hazard")
    assert venue_id in [f["id"] for f in near.get_json()["features"]]
    assert venue(inspector, venue_id)["last_inspection"] == TODAY


def test_a_clean_inspection_brings_an_overdue_venue_back(app, inspector):
    venue_id = a_venue_with_status(inspector, "逾期未检")
    response = record(inspector, venue_id, result="合格", hazards=[])
    assert response.status_code == 201
    props = response.get_json()["venue"]["properties"]
    assert props["status"] == "合格" and not props["overdue"]
    assert venue_id not in [f["id"] for f in inspector.get("/api/overdue").get_json()["features"]]


def test_a_hazard_past_its_deadline_is_overdue_for_rectification(app, inspector):
    """超期未整改: open past its 整改期限, on the venue, its history, lists, filters, OGC."""
    venue_id = a_venue_with_status(inspector, "合格")
    stored = record(inspector, venue_id, date="2026-11-01",
                    hazards=[hazard(deadline="2026-11-10"), hazard(deadline="2026-12-10")]
                    ).get_json()["inspection"]
    late, on_time = (h["id"] for h in stored["hazards"])
    props = venue(inspector, venue_id)
    assert props["status"] == "超期未整改"
    assert props["open_hazards"] == 2 and props["overdue_hazards"] == 1
    assert props["rectification_overdue_days"] == 15  # 2026-11-10 .. TODAY 2026-11-25
    history = inspector.get(f"/api/venues/{venue_id}/history").get_json()
    days = {h["id"]: h["overdue_days"] for h in history["open_hazards"]}
    assert days == {late: 15, on_time: None}
    assert {h["id"]: h["overdue_days"] for h in history["inspections"][0]["hazards"]} == days
    # Its own list, nearest first from a point; the filter of /api/nearby; the OGC items.
    lon, lat = inspector.get(f"/api/venues/{venue_id}/history").get_json()[
        "venue"]["geometry"]["coordinates"]
    listed = inspector.get(f"/api/overdue?of=rectification&lon={lon}&lat={lat}").get_json()
    assert listed["features"][0]["id"] == venue_id
    assert listed["query"]["of"] == "rectification"
    assert all(f["properties"]["overdue_hazards"] > 0 for f in listed["features"])
    distances = [f["properties"]["distance_m"] for f in listed["features"]]
    assert distances == sorted(distances)
    unordered = inspector.get("/api/overdue?of=rectification").get_json()["features"]
    overdue_days = [f["properties"]["rectification_overdue_days"] for f in unordered]
    assert overdue_days == sorted(overdue_days, reverse=True)
    assert {f["id"] for f in unordered} == {f["id"] for f in listed["features"]}
    near = inspector.get(f"/api/nearby?lon={lon}&lat={lat}&radius_m=50&status=late").get_json()
    assert venue_id in [f["id"] for f in near["features"]]
    item = inspector.get(f"/ogc/collections/venues/items/{venue_id}?f=json").get_json()
    assert item["properties"]["status"] == "超期未整改"
    assert item["properties"]["rectification_overdue_days"] == 15
    # Rectification under way is still late; the re-check that closes it ends that.
    assert inspector.post(f"/api/hazards/{late}/status",
                          json={"status": "整改中"}).status_code == 201
    assert venue(inspector, venue_id)["status"] == "超期未整改"
    assert inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [late]}).status_code == 201
    props = venue(inspector, venue_id)
    assert props["status"] == "隐患未改" and props["overdue_hazards"] == 0
    assert props["rectification_overdue_days"] == 0
    history = inspector.get(f"/api/venues/{venue_id}/history").get_json()
    assert [h["overdue_days"] for h in history["open_hazards"]] == [None]


def test_an_unknown_overdue_list_is_400_in_chinese(client):
    error = error_of(client.get("/api/overdue?of=hazards"), 400)
    assert error.startswith("列表须为 inspection（逾期未检）或 rectification（超期未整改）")


def test_the_phones_position_is_kept_and_measured_to_the_venue(app, inspector):
    """Position: stored with the record; the history gives the distance to the venue and
    marks a record made more than 200 m away 非现场记录; visitors do not see it."""
    venue_id = a_venue_with_status(inspector, "合格")
    history = inspector.get(f"/api/venues/{venue_id}/history").get_json()
    lon, lat = history["venue"]["geometry"]["coordinates"]
    near = {"lon": round(lon + 0.0003, 7), "lat": lat, "accuracy_m": 12.5}  # about 27 m east
    body = record(inspector, venue_id, result="合格", hazards=[], position=near).get_json()
    assert body["inspection"]["position"] == near
    far = {"lon": lon, "lat": round(lat + 0.005, 7)}  # about 555 m north
    found = record(inspector, venue_id, position=far).get_json()["inspection"]["hazards"][0]
    assert inspector.post(f"/api/hazards/{found['id']}/status",
                          json={"status": "整改中"}).status_code == 201
    recheck = inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [found["id"]], "position": far})
    assert recheck.get_json()["inspection"]["position"] == {**far, "accuracy_m": None}
    record(inspector, venue_id, result="合格", hazards=[])  # the browser gave none
    shown = inspector.get(f"/api/venues/{venue_id}/history").get_json()["inspections"]
    none, away, _, here = shown[:4]  # newest first: none, the re-check, the hazard, near
    assert none["position"] is None
    assert shown[2]["position"]["off_site"] is True
    assert away["position"]["off_site"] is True
    assert away["position"]["distance_m"] == pytest.approx(555, abs=5)
    assert away["position"]["accuracy_m"] is None
    assert here["position"]["off_site"] is False
    assert here["position"]["distance_m"] == pytest.approx(27, abs=3)
    visitor = app.test_client().get(f"/api/venues/{venue_id}/history").get_json()
    assert all("position" not in i for i in visitor["inspections"])


@pytest.mark.parametrize(("position", "message"), [
    ("here", "位置须为对象"),
    ({"lon": 116.96}, "位置的纬度须为 -90 到 90 之间的数"),
    ({"lon": "116.96", "lat": 36.66}, "位置的经度须为"),
    ({"lon": 116.96, "lat": 36.66, "accuracy_m": -1}, "位置的精度（米）须为"),
    ({"lon": 116.96, "lat": 36.66, "accuracy_m": True}, "位置的精度（米）须为"),
    ({"lon": 516.96, "lat": 36.66}, "位置的经度须为 -180 到 180 之间的数"),
])
def test_a_bad_position_is_400_in_chinese_and_nothing_is_stored(app, inspector, position,
                                                                 message):
    venue_id = a_venue_with_status(inspector, "合格")
    before = counts(app)
    error = error_of(record(inspector, venue_id, position=position), 400)
    assert error.startswith(message)
    assert counts(app) == before


def test_the_hazard_flow_and_the_recheck_that_closes_it(app, inspector):
    venue_id = a_venue_with_status(inspector, "合格")
    stored = record(inspector, venue_id, hazards=[hazard(), hazard(
        category="疏散通道", description="安全出口堆放杂物")]).get_json()["inspection"]
    first, second = (h["id"] for h in stored["hazards"])

    # A re-check cannot close a hazard that is only filed (立案).
    response = inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [first]})
    assert error_of(response, 409).startswith(f"场所 {venue_id} 没有整改中的隐患,无需复查 (")

    # 立案 → 整改中, once.
    response = inspector.post(f"/api/hazards/{first}/status", json={"status": "整改中"})
    assert response.status_code == 201
    assert response.get_json()["hazard"]["status"] == "整改中"
    again = inspector.post(f"/api/hazards/{first}/status", json={"status": "整改中"})
    assert error_of(again, 409).startswith(
        f"隐患 {first} 现为整改中,只有立案的隐患才能标记为整改中 (hazard {first} is 整改中;")
    closing = inspector.post(f"/api/hazards/{first}/status", json={"status": "已整改"})
    assert error_of(closing, 400).startswith("隐患由复查关闭为已整改,请提交复查 (")
    assert "re-check" in closing.get_json()["error"]
    wrong = inspector.post(f"/api/hazards/{first}/status", json={"status": "优秀"})
    assert error_of(wrong, 400).startswith("状态只能改为整改中,而不是 '优秀' (status must be")
    missing = inspector.post("/api/hazards/HZ99999/status", json={"status": "整改中"})
    assert error_of(missing, 404) == "没有编号为 'HZ99999' 的隐患 (no hazard with id 'HZ99999')"

    # A hazard only filed (立案) cannot be closed while another is being rectified.
    response = inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [first, second]})
    assert error_of(response, 409).startswith(
        f"隐患 {second} 现为立案,复查只能关闭整改中的隐患 (hazard {second} is 立案;")

    # A re-check closes the first; the second is still open, so still 隐患未改.
    response = inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [first], "note": "已更换灭火器"})
    assert response.status_code == 201
    recheck = response.get_json()["inspection"]
    assert recheck["campaign"] == "复查" and recheck["result"] == "发现隐患"
    assert [h["id"] for h in recheck["closed_hazards"]] == [first]
    assert response.get_json()["venue"]["properties"]["status"] == "隐患未改"

    # The second goes through the same flow and the venue is 合格 again.
    inspector.post(f"/api/hazards/{second}/status", json={"status": "整改中"})
    response = inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [second]})
    assert response.get_json()["inspection"]["result"] == "合格"
    assert response.get_json()["venue"]["properties"]["status"] == "合格"

    history = inspector.get(f"/api/venues/{venue_id}/history").get_json()
    assert history["open_hazards"] == []
    assert [i["campaign"] for i in history["inspections"][:3]] == ["复查", "复查", None]
    closed = history["inspections"][2]["hazards"][0]
    assert closed["status"] == "已整改" and closed["rectified"] == TODAY
    assert [e["status"] for e in closed["events"]] == ["立案", "整改中", "已整改"]
    assert closed["events"][-1]["inspection_id"] == history["inspections"][1]["id"]

    # Nothing left to re-check.
    response = inspector.post("/api/rechecks", json={"venue_id": venue_id, "inspector": "张伟"})
    assert "没有整改中的隐患" in error_of(response, 409)


def test_a_recheck_only_closes_hazards_of_its_venue(app, inspector):
    one, other = [f["id"] for f in inspector.get("/api/layers/venues").get_json()["features"]
                  if f["properties"]["status"] == "合格"][:2]
    h1 = record(inspector, one).get_json()["inspection"]["hazards"][0]["id"]
    h2 = record(inspector, other).get_json()["inspection"]["hazards"][0]["id"]
    for h in (h1, h2):
        inspector.post(f"/api/hazards/{h}/status", json={"status": "整改中"})
    before = counts(app)
    response = inspector.post("/api/rechecks", json={
        "venue_id": one, "inspector": "张伟", "closed": [h1, h2]})
    assert error_of(response, 400) == f"场所 {one} 没有隐患 {h2} (venue {one} has no hazard {h2})"
    assert counts(app) == before
    assert inspector.get(f"/api/venues/{one}/history").get_json()["open_hazards"][0]["status"] \
        == "整改中"


LONG = "长" * 51


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"inspector": ""}, "检查人不能为空 (inspector must not be empty)"),
        ({"inspector": "   "}, "检查人不能为空 (inspector must not be empty)"),
        ({"inspector": None}, "检查人不能为空 (inspector must not be empty)"),
        ({"inspector": LONG}, "检查人有 51 个字符,最多 50 个 (inspector is 51 characters long; "
                              "at most 50 are allowed)"),
        ({"inspector": 7}, "检查人须为文本 (inspector must be text)"),
        ({"inspector": "张\x00伟"}, "检查人含有控制字符 (inspector holds control characters)"),
        ({"note": "长" * 501}, "备注有 501 个字符,最多 500 个 (note is 501 characters long"),
        ({"note": "<script>alert(1)</script>"}, "备注 (note): 不能包含 HTML 标记 (must be plain"),
        ({"date": "2026-11-26"}, "检查日期 2026-11-26 晚于今天 2026-11-25 (date 2026-11-26 is "
                                 "in the future; today is 2026-11-25)"),
        ({"date": "2026-13-01"}, "检查日期 '2026-13-01' 不是有效日期,应为 YYYY-MM-DD "
                                 "(date '2026-13-01' is not a date YYYY-MM-DD)"),
        ({"date": "yesterday"}, "检查日期 'yesterday' 不是有效日期"),
        ({"date": 20261101}, "检查日期须为日期 YYYY-MM-DD (date must be a date YYYY-MM-DD)"),
        ({"date": "1999-12-31"}, "检查日期 1999-12-31 早于 2000-01-01 (date 1999-12-31 is before "
                                 "2000-01-01)"),
        ({"venue_id": "V9999"}, "没有编号为 'V9999' 的场所 (no venue with id 'V9999')"),
        ({"venue_id": ""}, "缺少场所编号 venue_id (venue_id is missing)"),
        ({"venue_id": ["V0001"]}, "场所编号须为文本,如 V0001 (venue_id must be a venue's id as "
                                  "text, e.g. V0001, not list)"),
        ({"result": "优秀"}, "检查结果须为 合格、发现隐患 之一,而不是 '优秀' (result must be one "
                             "of 合格, 发现隐患, not '优秀')"),
        ({"result": "发现隐患", "hazards": []}, "检查结果为发现隐患时,至少要登记一条隐患 "
                                                "(result 发现隐患 needs at least one hazard)"),
        ({"result": "合格"}, "检查结果为合格时不能登记隐患,请选发现隐患 (result 合格 cannot list"),
        ({"hazards": "灭火器过期"}, "隐患须为列表,每条含隐患类别、隐患描述和整改期限 (hazards "
                                    "must be a list"),
        ({"hazards": ["灭火器过期"]}, "第 1 条隐患须为对象,含隐患类别、隐患描述和整改期限 "
                                      "(hazard 1 must be an object"),
        ({"hazards": [hazard(category="治安")]}, "第 1 条隐患:隐患类别须为 消防安全、用电安全、"
                                                 "燃气安全、疏散通道、建筑安全、其他 之一,而不是 "
                                                 "'治安' (hazard 1: category must be one of"),
        ({"hazards": [hazard(description="")]}, "第 1 条隐患:隐患描述不能为空 (hazard 1: "
                                                "description must not be empty)"),
        ({"hazards": [hazard(description="长" * 201)]}, "第 1 条隐患:隐患描述有 201 个字符,最多 "
                                                        "200 个 (hazard 1: description is 201"),
        ({"hazards": [hazard(description="<b>x</b>")]}, "第 1 条隐患:隐患描述 (hazard 1: "
                                                        "description): 不能包含 HTML 标记"),
        ({"hazards": [hazard(deadline="2026-11-24")]}, "第 1 条隐患:整改期限 2026-11-24 早于检查"
                                                       "日期 2026-11-25 (hazard 1: deadline "
                                                       "2026-11-24 is before the inspection date"),
        ({"hazards": [hazard(deadline="2028-01-01")]}, "第 1 条隐患:整改期限 2028-01-01 距检查日"
                                                       "期 2026-11-25 超过 365 天 (hazard 1: "
                                                       "deadline 2028-01-01 is more than 365 days"),
        ({"hazards": [hazard(deadline="2026-02-30")]}, "第 1 条隐患:整改期限 '2026-02-30' 不是"
                                                       "有效日期"),
        ({"hazards": [hazard(deadline=None)]}, "第 1 条隐患:缺少整改期限 (hazard 1: deadline is "
                                               "missing; give a date YYYY-MM-DD)"),
        ({"hazards": [hazard()] * 21}, "一次检查最多登记 20 条隐患 (at most 20 hazards per "
                                       "inspection)"),
        # The second hazard is bad: the first must not be stored either.
        ({"hazards": [hazard(), hazard(category="?")]}, "第 2 条隐患:隐患类别须为"),
    ],
)
def test_bad_records_are_400_and_store_nothing(app, inspector, changes, message):
    venue_id = a_venue_with_status(inspector, "合格")
    before = counts(app)
    response = record(inspector, venue_id, **changes)
    error = error_of(response, 400)
    assert message in error, error
    assert counts(app) == before
    assert venue(inspector, venue_id)["status"] == "合格"


@pytest.mark.parametrize(
    ("body", "kwargs"),
    [("not json", {"content_type": "application/json"}),
     ("[1, 2]", {"content_type": "application/json"}),
     ('{"venue_id": "V0001"}', {"content_type": "text/plain"})],
)
def test_a_body_that_is_not_a_json_object_is_400(app, inspector, body, kwargs):
    before = counts(app)
    response = inspector.post("/api/inspections", data=body, **kwargs)
    error = error_of(response, 400)
    assert error.startswith("请求体") and "JSON object" in error
    assert counts(app) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"date": "2026-11-26"}, "复查日期 2026-11-26 晚于今天 2026-11-25 (date 2026-11-26 is in "
                              "the future"),
     ({"inspector": ""}, "复查人不能为空 (inspector must not be empty)"),
     ({"closed": "HZ00001"}, "已整改的隐患须为隐患编号的列表 (closed must be a list of hazard "
                             "ids)"),
     ({"closed": ["HZ1", "HZ1"]}, "已整改的隐患中有重复的编号 (closed lists a hazard more than "
                                  "once)"),
     ({"note": "长" * 501}, "备注有 501 个字符,最多 500 个 (note is 501 characters long"),
     ({"venue_id": "V9999"}, "没有编号为 'V9999' 的场所 (no venue with id 'V9999')")],
)
def test_bad_rechecks_are_400(app, inspector, changes, message):
    venue_id = a_venue_with_status(inspector, "合格")
    hazard_id = record(inspector, venue_id).get_json()["inspection"]["hazards"][0]["id"]
    inspector.post(f"/api/hazards/{hazard_id}/status", json={"status": "整改中"})
    before = counts(app)
    response = inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [hazard_id], **changes})
    error = error_of(response, 400)
    assert message in error, error
    assert counts(app) == before


def test_a_recheck_before_the_hazard_was_found_is_400(app, inspector):
    venue_id = a_venue_with_status(inspector, "合格")
    hazard_id = record(inspector, venue_id).get_json()["inspection"]["hazards"][0]["id"]
    inspector.post(f"/api/hazards/{hazard_id}/status", json={"status": "整改中"})
    response = inspector.post("/api/rechecks", json={
        "venue_id": venue_id, "inspector": "张伟", "closed": [hazard_id], "date": "2026-11-01"})
    assert error_of(response, 400) == (
        f"复查日期 2026-11-01 早于隐患 {hazard_id} 的发现日期 2026-11-25 (re-check date "
        f"2026-11-01 is before hazard {hazard_id} was found on 2026-11-25)")


def test_history_of_an_unknown_venue_is_404(client):
    response = client.get("/api/venues/V9999/history")
    assert error_of(response, 404) == "没有编号为 'V9999' 的场所 (no venue with id 'V9999')"


def test_history_names_accounts_only_to_logged_in_users(app, inspector):
    """A visitor sees what was recorded and the inspector written on it, but not the
    accounts behind it: the login name (recorded_by), the user who moved a hazard on."""
    venue_id = a_venue_with_status(inspector, "合格")
    stored = record(inspector, venue_id, inspector="李检查").get_json()["inspection"]
    hazard_id = stored["hazards"][0]["id"]
    assert inspector.post(f"/api/hazards/{hazard_id}/status",
                          json={"status": "整改中"}).status_code == 201
    url = f"/api/venues/{venue_id}/history"

    seen = app.test_client().get(url)
    text = seen.get_data(as_text=True)
    assert seen.status_code == 200 and "zhangwei" not in text and "张伟" not in text
    latest = seen.get_json()["inspections"][0]
    assert latest["id"] == stored["id"] and latest["inspector"] == "李检查"
    assert "recorded_by" not in latest
    [open_hazard] = seen.get_json()["open_hazards"]
    assert [e["status"] for e in open_hazard["events"]] == ["立案", "整改中"]
    assert all("actor" not in e for h in (open_hazard, *latest["hazards"]) for e in h["events"])

    app.extensions["users"].create("chakan", PASSWORD, "viewer", "王查看")
    for client in (inspector, login(app.test_client(), "chakan")):  # any logged-in user
        body = client.get(url).get_json()
        assert body["inspections"][0]["recorded_by"] == "zhangwei"
        assert [e["actor"] for e in body["open_hazards"][0]["events"]] == ["李检查", "张伟"]


def test_history_is_newest_first(client):
    body = client.get("/api/venues/V0001/history").get_json()
    dates = [i["date"] for i in body["inspections"]]
    assert dates and dates == sorted(dates, reverse=True)
    assert body["inspection_count"] == len(dates)
    assert body["venue"]["properties"]["last_inspection"] == dates[0]


def test_records_survive_a_restart(tmp_path, store_backend):
    db = tmp_path / "inspections.sqlite"
    first = make_app(db)
    first.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    client = login(first.test_client())
    venue_id = a_venue_with_status(client, "合格")
    stored = record(client, venue_id, note="重启前记录").get_json()["inspection"]
    seeded = counts(first)

    second = make_app(db)  # a new process on the same file: no re-seeding, same records
    assert counts(second) == seeded
    again = second.test_client()
    history = again.get(f"/api/venues/{venue_id}/history").get_json()
    assert history["inspections"][0]["id"] == stored["id"]
    assert history["inspections"][0]["note"] == "重启前记录"
    assert history["venue"]["properties"]["status"] == "隐患未改"
    layer = again.get("/api/layers/venues").get_json()["features"]
    assert next(f for f in layer if f["id"] == venue_id)["properties"]["status"] == "隐患未改"
    # The user and the session key survive too.
    logged_in = login(again)
    assert logged_in.get("/api/me").get_json()["user"]["name"] == "zhangwei"
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_a_write_that_fails_halfway_leaves_nothing(tmp_path, monkeypatch):
    store = embedded_records(tmp_path / "s.sqlite")
    new = ins.parse_inspection(
        {"venue_id": "V0001", "inspector": "张伟", "result": "发现隐患",
         "hazards": [hazard(), hazard()]}, ins.dt.date(2026, 11, 25), lambda v: True)
    calls = []

    def failing_event(*args):
        calls.append(args)
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SqliteRecordWrites, "add_hazard_event", failing_event)
    with pytest.raises(sqlite3.OperationalError):
        store.record_inspection(new)
    assert store.history("V0001")["inspection_count"] == 0
    with SqliteFile(tmp_path / "s.sqlite").connect() as db:
        assert db.execute("SELECT count(*) FROM hazards").fetchone()[0] == 0


def test_concurrent_writers_get_distinct_ids(tmp_path):
    path = tmp_path / "s.sqlite"
    embedded_records(path)
    today = ins.dt.date(2026, 11, 25)
    errors, ids = [], []

    def write(n):
        store = embedded_records(path)  # as another process would
        try:
            for _ in range(5):
                new = ins.parse_inspection(
                    {"venue_id": f"V{n:04d}", "inspector": "张伟", "result": "发现隐患",
                     "hazards": [hazard()]}, today, lambda v: True)
                stored = store.record_inspection(new)
                ids.append((stored["id"], stored["hazards"][0]["id"]))
        except Exception as e:  # collected, asserted below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({i for i, _ in ids}) == len({h for _, h in ids}) == 30


def test_new_ids_continue_the_shipped_sequences(app, inspector):
    venue_id = a_venue_with_status(inspector, "合格")
    stored = record(inspector, venue_id).get_json()["inspection"]
    last_seeded = value(app, "SELECT max(id) FROM inspections WHERE id != ?", stored["id"])
    assert stored["id"] == f"INS{int(last_seeded[3:]) + 1:06d}"
    assert stored["hazards"][0]["id"].startswith("HZ")


def test_a_store_made_before_recorded_by_is_upgraded(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(RECORDS_SCHEMA)  # the tables as first released: no recorded_by
        db.execute("INSERT INTO inspections (id, venue_id, date, inspector, result)"
                   " VALUES ('INS000001', 'V0001', '2026-01-01', '张伟', '合格')")
    store = embedded_records(path)
    with SqliteFile(path).connect() as db:
        columns = {row["name"] for row in db.execute("PRAGMA table_info(inspections)")}
    assert "recorded_by" in columns
    assert store.history("V0001")["inspections"][0]["recorded_by"] is None


def test_parse_inspection_defaults_the_date_to_today():
    new = ins.parse_inspection({"venue_id": "V1", "inspector": " 张伟 ", "result": "合格"},
                               ins.dt.date(2026, 11, 25), lambda v: True)
    assert new.date == "2026-11-25" and new.inspector == "张伟" and new.note is None
    with pytest.raises(BadRequest, match="没有编号为 'V1' 的场所"):
        ins.parse_inspection({"venue_id": "V1", "inspector": "张伟", "result": "合格"},
                             ins.dt.date(2026, 11, 25), lambda v: False)


def test_today_is_the_date_in_jinan_whatever_the_server_time_zone():
    # 17:30 UTC on 30 November is 01:30 on 1 December in Jinan (UTC+8).
    assert web.local_date(dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 1)
    assert web.local_date(dt.datetime(2026, 11, 30, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 11, 30)


def test_without_a_pinned_today_records_take_the_jinan_date(tmp_path, monkeypatch):
    app = make_app(tmp_path / "inspections.sqlite", TODAY=None)
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    client = login(app.test_client())
    monkeypatch.setattr(web, "local_date", lambda moment=None: dt.date(2026, 12, 1))
    venue_id = a_venue_with_status(client, "合格")
    stored = record(client, venue_id, result="合格", hazards=[]).get_json()["inspection"]
    assert stored["date"] == "2026-12-01"
    response = record(client, venue_id, result="合格", hazards=[], date="2026-12-02")
    assert error_of(response, 400).startswith(
        "检查日期 2026-12-02 晚于今天 2026-12-01 (date 2026-12-02 is in the future; "
        "today is 2026-12-01)")


def test_the_whole_tables_statuses_are_read_once_a_second_and_afresh_after_a_write(
        tmp_path, store_backend, monkeypatch):
    """Above FEW_VENUES a view's statuses come from grouped queries over all the records
    (0.5 s at 1M inspections): read at most once per WHOLE_STATUSES_TTL_S, except that a
    write through this process makes the next read fresh; another server (here a second
    app on the same store) shows the write once its reading is older than that."""
    from layers.records import book

    monkeypatch.setattr(book, "FEW_VENUES", 0)  # every view reads the whole tables
    monkeypatch.setattr(book, "WHOLE_STATUSES_TTL_S", 5.0)
    db = tmp_path / "inspections.sqlite"
    first, second = make_app(db), make_app(db)
    first.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    writer, other = login(first.test_client()), second.test_client()

    reads = []
    for app in (first, second):
        tables = app.extensions["inspections"].tables
        monkeypatch.setattr(tables, "reading", lambda original=tables.reading: (
            reads.append(1), original())[1])

    def status_on(client, venue_id):
        features = client.get("/api/layers/venues").get_json()["features"]
        return next(f for f in features if f["id"] == venue_id)["properties"]["status"]

    venue_id = a_venue_with_status(writer, "合格")
    assert status_on(other, venue_id) == "合格"
    reads.clear()
    assert status_on(writer, venue_id) == status_on(other, venue_id) == "合格"
    assert reads == []  # both within their second: no query
    assert record(writer, venue_id).status_code == 201
    assert status_on(writer, venue_id) == "隐患未改"  # its own write: read afresh
    assert len(reads) == 1
    assert status_on(other, venue_id) == "合格"  # the other server, within its second
    deadline = time.monotonic() + 20
    while status_on(other, venue_id) != "隐患未改":
        assert time.monotonic() < deadline, "the other server never read the write"
        time.sleep(0.2)


def test_a_large_views_statuses_read_by_index_a_chunk_at_a_time_are_the_whole_tables(
        tmp_path, store_backend, monkeypatch):
    """Up to FEW_VENUES × INDEXED_CHUNKS venues, statuses are read by index a chunk of
    FEW_VENUES at a time (a large view's cost follows its venues): the same statuses as
    the grouped queries over the whole tables, hazards and late ones included."""
    from layers.catalogue.live import VENUE_LIVE_NAMES
    from layers.records import book

    app = make_app(tmp_path / "inspections.sqlite")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    writer = login(app.test_client())
    assert record(writer, a_venue_with_status(writer, "合格")).status_code == 201
    records = app.extensions["inspections"]
    chunks: list[int] = []
    real = records.tables.glancing

    def statuses_by(few: int, chunks_at_most: int) -> dict:
        monkeypatch.setattr(book, "FEW_VENUES", few)
        monkeypatch.setattr(book, "INDEXED_CHUNKS", chunks_at_most)
        features = writer.get("/api/layers/venues").get_json()["features"]
        return {f["id"]: {k: f["properties"].get(k) for k in VENUE_LIVE_NAMES}
                for f in features}

    monkeypatch.setattr(records.tables, "glancing",
                        lambda: (chunks.append(1), real())[1])
    whole = statuses_by(0, 20)
    assert chunks == []  # the grouped tables
    chunked = statuses_by(7, 100)  # 353 venues: 51 chunks of 7
    assert len(chunks) == 1  # one connection, every chunk on it
    assert chunked == whole
    assert {s["status"] for s in whole.values()} >= {"合格", "隐患未改", "超期未整改", "逾期未检"}
