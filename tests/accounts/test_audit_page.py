"""/admin/audit reads well: Beijing time, objects in Chinese, contents as labelled fields."""

import datetime as dt
import re

from layers.accounts.audit_view import beijing_time, summary_fields
from tests.conftest import client_as, make_app


def test_the_page_shows_beijing_time_and_labelled_fields(tmp_path):
    app = make_app(tmp_path / "inspections.sqlite")  # its own: other tests end sessions
    users = app.extensions["users"]
    if users.get("audit-zhang") is None:
        users.create("audit-zhang", "test-password-1", "inspector", "张审计", by="tests")
    users.set_role("audit-zhang", "leader", by="tests")
    admin = client_as(app, "admin")
    entries = admin.get("/api/audit?action=user.role&actor=tests").get_json()["entries"]
    entry = next(e for e in entries if e["object_id"] == "audit-zhang")
    utc = dt.datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
    html = admin.get("/admin/audit?action=user.role&actor=tests").get_data(as_text=True)
    row = re.search(r'<tr data-action="user.role">(.*?)</tr>', html, re.S).group(1)
    local = (utc + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    assert f">{local}</time>" in row  # Beijing time, not UTC
    assert "用户 audit-zhang" in row  # 对象 in Chinese
    assert "原为:</span>巡查员" in row and "改为:</span>领导" in row  # not JSON
    assert "{" not in row and "&#34;" not in row
    assert "(北京时间)" in html and "UTC" not in html


def test_summaries_and_times():
    assert beijing_time("2026-11-25T17:30:00.000Z") == "2026-11-26 01:30:00"
    assert summary_fields("inspection.create", {
        "venue_id": "V0001", "hazards": [], "result": "合格", "date": "2026-11-25"}) == [
        ("场所编号", "V0001"), ("日期", "2026-11-25"), ("检查结果", "合格"), ("隐患", "无")]
    assert summary_fields("login.failure", {"reason": "wrong password", "count": 2,
                                            "last": "2026-11-25T00:00:00.000Z"}) == [
        ("原因", "密码错误"), ("次数", "2"), ("最近一次", "2026-11-25 08:00:00")]


def test_filter_dates_are_beijing_days():
    from layers.records.audit import parse_query

    query = parse_query({"since": "2026-11-25", "until": "2026-11-25"})
    assert query.since == "2026-11-24T16:00:00.000Z"  # 00:00 in Beijing
    assert query.until == "2026-11-25T16:00:00.000Z"  # the whole Beijing day
    assert parse_query({"since": "2026-11-25T08:00:00"}).since == "2026-11-25T00:00:00.000Z"
    assert parse_query({"since": "2026-11-25T08:00:00Z"}).since == "2026-11-25T08:00:00.000Z"
