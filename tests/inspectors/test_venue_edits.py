"""Inspectors add a venue found in the street, mark one closed (已停业) or correct its
position, from /inspect: POST /api/venues, /api/venues/{id}/closure and
/api/venues/{id}/position. Each is one new version of the venues layer with who and why,
and its audit row; checked as an import is (in Chinese, inside the sub-district); made
on the version the page read (`base`), else 409 naming both versions. A closed venue
leaves the lists of work (overdue, due, hazards) and is drawn as 已停业."""

import pytest

from layers.catalogue.live import STATUS_CLOSED
from tests.conftest import client_as
from tests.layerfiles import INSIDE, edits_app, head


@pytest.fixture
def app(tmp_path, store_backend):
    return edits_app(tmp_path)


@pytest.fixture
def inspector(app):
    return client_as(app, "inspector")


def new_venue(base=1, lon=INSIDE[0], lat=INSIDE[1], **props):
    return {"base": base, "lon": lon, "lat": lat, "properties": {
        "name": "街边新开的小超市", "category": "九小场所", "kind": "小商店",
        "address": "经四路12号", **props}}


def versions(app):
    return app.extensions["layer_history"].versions("venues")


def audit(app):
    return client_as(app, "admin").get("/api/audit?action=layer.edit").get_json()["entries"]


def overdue_ids(client):
    return {f["id"] for f in client.get("/api/overdue").get_json()["features"]}


def test_an_inspector_adds_a_venue_found_in_the_street(app, inspector):
    answer = inspector.post("/api/venues", json=new_venue())
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    venue = body["venue"]
    assert venue["id"] == "V0354" and body["layer_version"] == 2
    assert venue["properties"]["name"] == "街边新开的小超市"
    assert venue["properties"]["community"]  # from where it lies
    assert venue["properties"]["quancheng_app"] is False
    assert venue["properties"]["status"] == "逾期未检"  # never inspected: due now
    near = inspector.get(f"/api/nearby?layer=venues&lon={INSIDE[0]}&lat={INSIDE[1]}"
                         "&radius_m=30").get_json()
    assert "V0354" in {f["id"] for f in near["features"]} and near["layer_version"] == 2
    made = versions(app)[0]
    assert (made.version, made.action, made.added) == (2, "layer.edit", ["V0354"])
    assert made.reason.startswith("巡查发现新场所:街边新开的小超市")
    rows = audit(app)
    assert len(rows) == 1 and rows[0]["actor"] == "test-inspector"


def test_a_venue_marked_closed_leaves_the_overdue_list(app, inspector):
    overdue = sorted(overdue_ids(inspector))
    vid = overdue[0]
    answer = inspector.post(f"/api/venues/{vid}/closure", json={
        "base": 1, "date": "2026-11-20", "reason": "店面已转让,人去楼空"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    props = answer.get_json()["venue"]["properties"]
    assert props["closed_on"] == "2026-11-20" and props["status"] == STATUS_CLOSED
    assert props["overdue"] is False and props["due_soon"] is False
    assert vid not in overdue_ids(inspector)
    assert len(overdue_ids(inspector)) == len(overdue) - 1
    history = inspector.get(f"/api/venues/{vid}/history").get_json()
    assert history["venue"]["properties"]["status"] == STATUS_CLOSED
    assert history["layer_version"] == 2
    made = versions(app)[0]
    assert made.changed == [vid] and made.reason == "巡查标记停业:店面已转让,人去楼空"
    assert len(audit(app)) == 1
    # still in the layer (its history is kept), drawn as closed; not in the status filters
    assert client_as(app, None).get("/api/layers/venues").status_code == 200
    filtered = inspector.get("/api/nearby?layer=venues&lon=116.965&lat=36.669&radius_m=5000"
                             "&status=overdue,due,hazard,late").get_json()
    assert vid not in {f["id"] for f in filtered["features"]}
    again = inspector.post(f"/api/venues/{vid}/closure", json={"base": 2, "reason": "再标"})
    assert again.status_code == 409 and "已于 2026-11-20 标记停业" in again.get_json()["error"]
    assert head(app, "venues") == 2


def test_an_inspector_corrects_a_venues_position(app, inspector):
    answer = inspector.post("/api/venues/V0001/position", json={
        "base": 1, "lon": INSIDE[0], "lat": INSIDE[1], "reason": "门牌在路对面"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["venue"]["geometry"]["coordinates"] == list(INSIDE)
    made = versions(app)[0]
    assert made.changed == ["V0001"] and made.reason == "巡查更正位置:门牌在路对面"
    assert len(audit(app)) == 1


def test_a_stale_base_is_409_only_when_the_venue_itself_changed(app, inspector):
    leader = client_as(app, "leader")  # leaders may too
    assert leader.post("/api/venues/V0002/position", json={
        "base": 1, "lon": INSIDE[0], "lat": INSIDE[1], "reason": "核对"}).status_code == 200
    stale = inspector.post("/api/venues/V0002/closure", json={"base": 1, "reason": "已关门"})
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert "要素 V0002 已在版本 2 被修改" in error and "已从版本 1 更新到版本 2" in error
    assert head(app, "venues") == 2 and len(audit(app)) == 1
    props = inspector.get("/api/venues/V0002/history").get_json()["venue"]["properties"]
    assert "closed_on" not in props
    # made on version 1 too, but of other venues (and a new one): applied on the head
    added = inspector.post("/api/venues", json=new_venue(base=1))
    assert added.status_code == 201 and added.get_json()["layer_version"] == 3
    closed = inspector.post("/api/venues/V0003/closure", json={"base": 1, "reason": "已关门"})
    assert closed.status_code == 200 and closed.get_json()["layer_version"] == 4
    assert [v.changed or v.added for v in versions(app)[:3]] == [
        ["V0003"], ["V0354"], ["V0002"]]
    assert len(audit(app)) == 3
    moved = inspector.get("/api/venues/V0002/history").get_json()["venue"]
    assert moved["geometry"]["coordinates"] == list(INSIDE)  # the leader's edit stands
    # a base after the head is no version the page can have read
    future = inspector.post("/api/venues/V0004/closure", json={"base": 9, "reason": "关"})
    assert future.status_code == 409 and "版本 9" in future.get_json()["error"]
    assert head(app, "venues") == 4


def test_two_edits_of_one_venue_from_one_base_exactly_one_wins(app, inspector):
    leader = client_as(app, "leader")
    first = leader.post("/api/venues/V0005/closure", json={"base": 1, "reason": "关门"})
    second = inspector.post("/api/venues/V0005/position", json={
        "base": 1, "lon": INSIDE[0], "lat": INSIDE[1], "reason": "位置"})
    assert (first.status_code, second.status_code) == (200, 409)
    assert head(app, "venues") == 2
    # the page reads the venue again (version 2) and moves it: it lands
    again = inspector.post("/api/venues/V0005/position", json={
        "base": 2, "lon": INSIDE[0], "lat": INSIDE[1], "reason": "位置"})
    assert again.status_code == 200
    props = again.get_json()["venue"]["properties"]
    assert props["closed_on"] and props["status"] == STATUS_CLOSED


@pytest.mark.parametrize(("url", "body", "message"), [
    ("/api/venues", new_venue(lon=117.3, lat=36.9), "位于街道辖区以外"),
    ("/api/venues", new_venue(lon=36.67, lat=116.96), "位于济南以外,经纬度是否颠倒"),
    ("/api/venues", new_venue(kind="商贸企业"), "a 九小场所 must have"),
    ("/api/venues", new_venue(name="  "), "场所名称 [name]:不能为空"),
    ("/api/venues", new_venue(name="<img src=x onerror=alert(1)>"), "不能包含 HTML 标记"),
    ("/api/venues", new_venue(closed_on="2026-01-01"), "不认识的字段:closed_on"),
    ("/api/venues", {**new_venue(), "base": None}, "缺少版本 base"),
    ("/api/venues", {**new_venue(), "base": 2**70}, "缺少版本 base"),
    ("/api/venues", {**new_venue(), "lon": "x"}, "经度 lon 须为数值"),
    ("/api/venues/V0001/position", {"base": 1, "lon": 117.3, "lat": 36.9, "reason": "错"},
     "位于街道辖区以外"),
    ("/api/venues/V0001/position", {"base": 1, "lon": INSIDE[0], "lat": INSIDE[1]},
     "请填写原因"),
    ("/api/venues/V0001/closure", {"base": 1, "date": "2026-12-31", "reason": "关"},
     "停业日期不能晚于今天"),
    ("/api/venues/V0001/closure", {"base": 1, "date": "2026-02-30", "reason": "关"},
     "不是有效日期"),
    ("/api/venues/V0001/closure", {"base": 1}, "请填写原因"),
])
def test_bad_input_is_400_in_chinese_and_stores_nothing(app, inspector, url, body, message):
    answer = inspector.post(url, json=body)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert message in answer.get_json()["error"]
    assert head(app, "venues") == 1 and audit(app) == []


def test_an_unknown_venue_is_404(app, inspector):
    assert inspector.post("/api/venues/NOPE/closure", json={
        "base": 1, "reason": "关"}).status_code == 404
    assert inspector.post("/api/venues/NOPE/position", json={
        "base": 1, "lon": INSIDE[0], "lat": INSIDE[1], "reason": "错"}).status_code == 404


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("viewer", 403)])
def test_only_inspectors_leaders_and_admins_edit_venues(app, role, status):
    client = client_as(app, role)
    answers = [client.post("/api/venues", json=new_venue()).status_code,
               client.post("/api/venues/V0001/closure", json={"base": 1, "reason": "关"}
                           ).status_code]
    assert all(a in (status, 400) for a in answers)  # no session: the CSRF check may answer
    assert head(app, "venues") == 1


def test_an_edit_needs_the_csrf_token(app):
    client = client_as(app, "inspector")
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    answer = client.post("/api/venues/V0001/closure", json={"base": 1, "reason": "关"})
    assert answer.status_code == 400 and "CSRF" in answer.get_json()["error"]
    assert head(app, "venues") == 1


def test_the_inspect_page_offers_it_to_those_who_may(app):
    page = client_as(app, "inspector").get("/inspect").get_data(as_text=True)
    assert '"canEditVenues": true' in page and '"venuesVersion": 1' in page
    assert '"canEditVenues": false' in client_as(app, None).get("/inspect").get_data(
        as_text=True)


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(app, inspector):
    """A save whose answer was lost is sent again with its key: the first answer, never
    a second venue or a 409 against its own first attempt."""
    key = {"Idempotency-Key": "venue-add-1"}
    first = inspector.post("/api/venues", json=new_venue(), headers=key)
    again = inspector.post("/api/venues", json=new_venue(), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.get_json()["venue"]["id"] == first.get_json()["venue"]["id"] == "V0354"
    assert again.get_json()["layer_version"] == 2
    assert again.get_json()["reason"] == first.get_json()["reason"]
    closing = {"Idempotency-Key": "venue-close-1"}
    body = {"base": 1, "reason": "已关门"}  # the page's base, kept across its retries
    assert inspector.post("/api/venues/V0007/closure", json=body,
                          headers=closing).status_code == 200
    retried = inspector.post("/api/venues/V0007/closure", json=body, headers=closing)
    assert retried.status_code == 200, retried.get_json()  # not 已于 … 标记停业
    assert retried.get_json()["layer_version"] == 3
    moving = {"Idempotency-Key": "venue-move-1"}
    move = {"base": 1, "lon": INSIDE[0], "lat": INSIDE[1], "reason": "门牌在路对面"}
    assert inspector.post("/api/venues/V0008/position", json=move,
                          headers=moving).status_code == 200
    assert inspector.post("/api/venues/V0008/position", json=move,
                          headers=moving).status_code == 200
    assert head(app, "venues") == 4 and len(audit(app)) == 3
    # the same key with another body: refused as record writes refuse it
    other = inspector.post("/api/venues", json=new_venue(name="另一家"), headers=key)
    assert other.status_code == 422 and "此 Idempotency-Key 已用于另一请求" in other.get_json()[
        "error"]
    # keys are per user: another user's same key is a new edit
    leader = client_as(app, "leader")
    assert leader.post("/api/venues", json=new_venue(name="另一家"),
                       headers=key).status_code == 201
    assert head(app, "venues") == 5
    # a refused attempt stores nothing, its key neither: the retry is a new attempt
    bad = {"Idempotency-Key": "venue-bad-1"}
    assert inspector.post("/api/venues", json=new_venue(lon=117.3, lat=36.9),
                          headers=bad).status_code == 400
    assert inspector.post("/api/venues", json=new_venue(lon=117.3, lat=36.9),
                          headers=bad).status_code == 400
    assert inspector.post("/api/venues", json=new_venue(), headers={
        "Idempotency-Key": "坏键"}).status_code == 400
    assert head(app, "venues") == 5


def test_concurrent_retries_with_one_key_make_one_venue(app):
    import threading
    client = client_as(app, "inspector")
    answers = []
    start = threading.Barrier(3)

    def send():
        start.wait()
        answers.append(client.post("/api/venues", json=new_venue(),
                                   headers={"Idempotency-Key": "race-1"}))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a.status_code for a in answers] == [201] * 3
    assert {a.get_json()["venue"]["id"] for a in answers} == {"V0354"}
    assert head(app, "venues") == 2 and len(audit(app)) == 1


def test_a_closed_venue_is_reopened_and_its_status_comes_back(app, inspector):
    vid = sorted(overdue_ids(inspector))[0]
    assert inspector.post(f"/api/venues/{vid}/closure", json={
        "base": 1, "reason": "停业装修"}).status_code == 200
    assert vid not in overdue_ids(inspector)
    not_closed = inspector.post("/api/venues/V0009/reopening", json={"base": 2, "reason": "开"})
    assert not_closed.status_code == 409 and "未标记停业,无需恢复营业" in not_closed.get_json()[
        "error"]
    assert inspector.post(f"/api/venues/{vid}/reopening", json={"base": 2}).status_code == 400
    answer = inspector.post(f"/api/venues/{vid}/reopening", json={
        "base": 2, "reason": "装修完毕,重新开业"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    props = answer.get_json()["venue"]["properties"]
    assert "closed_on" not in props and props["status"] == "逾期未检"
    assert answer.get_json()["layer_version"] == 3
    assert vid in overdue_ids(inspector)
    made = versions(app)[0]
    assert made.changed == [vid] and made.reason == "巡查恢复营业:装修完毕,重新开业"
    rows = audit(app)
    assert len(rows) == 2 and rows[0]["actor"] == "test-inspector"
    again = inspector.post(f"/api/venues/{vid}/reopening", json={"base": 3, "reason": "再开"})
    assert again.status_code == 409 and head(app, "venues") == 3
    assert inspector.post("/api/venues/NOPE/reopening", json={
        "base": 1, "reason": "开"}).status_code == 404
    assert client_as(app, "viewer").post(f"/api/venues/{vid}/reopening", json={
        "base": 3, "reason": "开"}).status_code == 403


def test_no_record_on_a_closed_venue_until_it_is_reopened(app, inspector):
    vid = "V0011"
    inspection = {"venue_id": vid, "inspector": "张伟", "result": "合格"}
    before = len(inspector.get(f"/api/venues/{vid}/history").get_json()["inspections"])
    assert inspector.post(f"/api/venues/{vid}/closure", json={
        "base": 1, "reason": "已关门"}).status_code == 200
    for url, body in (("/api/inspections", inspection),
                      ("/api/rechecks", {"venue_id": vid, "inspector": "张伟", "closed": []})):
        refused = inspector.post(url, json=body)
        assert refused.status_code == 409, refused.get_data(as_text=True)
        error = refused.get_json()["error"]
        assert error.startswith("该场所已停业，不能再记录检查；如已恢复营业，请先「恢复营业」")
    history = inspector.get(f"/api/venues/{vid}/history").get_json()
    assert len(history["inspections"]) == before  # nothing stored
    assert inspector.post(f"/api/venues/{vid}/reopening", json={
        "base": 2, "reason": "重新开业"}).status_code == 200
    recorded = inspector.post("/api/inspections", json=inspection)
    assert recorded.status_code == 201, recorded.get_data(as_text=True)
    assert recorded.get_json()["venue"]["properties"]["status"] != STATUS_CLOSED
    history = inspector.get(f"/api/venues/{vid}/history").get_json()
    assert len(history["inspections"]) == before + 1


def test_a_record_stored_before_the_venue_closed_is_replayed_to_its_retry(app, inspector):
    """A record whose answer was lost, then the venue closed: its retry with the same key
    gets the first answer, not the refusal (a new record is refused)."""
    vid, key = "V0012", {"Idempotency-Key": "record-before-closing"}
    inspection = {"venue_id": vid, "inspector": "张伟", "result": "合格"}
    first = inspector.post("/api/inspections", json=inspection, headers=key)
    assert first.status_code == 201
    assert inspector.post(f"/api/venues/{vid}/closure", json={
        "base": 1, "reason": "已关门"}).status_code == 200
    retried = inspector.post("/api/inspections", json=inspection, headers=key)
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.get_json()["inspection"]["id"] == first.get_json()["inspection"]["id"]
    fresh = inspector.post("/api/inspections", json=inspection, headers={
        "Idempotency-Key": "record-after-closing"})
    assert fresh.status_code == 409 and "该场所已停业" in fresh.get_json()["error"]
