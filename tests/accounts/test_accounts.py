"""Accounts end to end: create-admin, /admin/users, CSRF, the login rate limit, the audit log.

Each test runs on both stores (`store_backend`): the accounts and the audit log are in
SQLite or in PostgreSQL."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from layers.errors import Conflict
from layers.records import audit, login_limits
from layers.records import inspections as ins
from layers.stores.embedded.schema import RECORDS_SCHEMA
from tests import storesql
from tests.conftest import PASSWORD, client_as, csrf_token, log_in, make_app
from tests.layerfiles import Cli, copy_geodata, shipped

HOSTILE = '<script>alert("hs-xss")</script>'


@pytest.fixture
def app(tmp_path, store_backend):
    return make_app(tmp_path / "inspections.sqlite")


def audit_rows(app, action=None):
    found = storesql.rows(app, "SELECT * FROM audit_log ORDER BY id")  # SQLite or PostgreSQL
    return [dict(r) | {"summary": json.loads(r["summary"])} for r in found
            if action is None or r["action"] == action]


def form_post(client, url, **fields):
    """A form as the page sends it: with the CSRF token of the page's session."""
    return client.post(url, data={"csrf_token": csrf_token(client), **fields})


# -- the first admin -----------------------------------------------------------------

def test_create_admin_asks_for_the_password_twice(app):
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "chief"],
                                          input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "created user chief (chief, role admin)" in result.output
    assert client_as(app, None).get("/admin/users").status_code == 401
    admin = log_in(app.test_client(), "chief")
    assert admin.get("/admin/users").status_code == 200
    [row] = audit_rows(app, "user.create")
    assert row["actor"].endswith("(cli)") and row["summary"]["role"] == "admin"


def test_create_admin_reads_the_password_from_a_variable(app, monkeypatch):
    monkeypatch.setenv("ADMIN_PW", PASSWORD)
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "chief",
                                                "--password-env", "ADMIN_PW", "--by", "ops"])
    assert result.exit_code == 0, result.output
    assert audit_rows(app, "user.create")[0]["actor"] == "ops"
    log_in(app.test_client(), "chief")


@pytest.mark.parametrize(("args", "env", "message"), [
    (["x"], PASSWORD, "2 to 32"),
    (["chief boss"], PASSWORD, "2 to 32"),
    (["chief"], "short", "8 to 200"),
    (["chief", "--display-name", "长" * 51], PASSWORD, "1 to 50"),
    (["chief", "--password-env", "NOT_SET_ANYWHERE"], PASSWORD, "is not set"),
])
def test_create_admin_refuses_bad_input(app, monkeypatch, args, env, message):
    monkeypatch.setenv("ADMIN_PW", env)
    extra = [] if "--password-env" in args else ["--password-env", "ADMIN_PW"]
    result = app.test_cli_runner().invoke(args=["users", "create-admin", *args, *extra])
    assert result.exit_code != 0 and message in result.output
    assert app.extensions["users"].all() == []


def test_create_admin_refuses_a_taken_name(app, monkeypatch):
    monkeypatch.setenv("ADMIN_PW", PASSWORD)
    args = ["users", "create-admin", "chief", "--password-env", "ADMIN_PW"]
    assert app.test_cli_runner().invoke(args=args).exit_code == 0
    again = app.test_cli_runner().invoke(args=args)
    assert again.exit_code != 0 and "exists already" in again.output


# -- /admin/users ----------------------------------------------------------------------

def test_admin_manages_users_and_every_change_is_audited(app):
    admin = client_as(app, "admin")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "用户管理" in page and 'name="csrf_token"' in page

    created = form_post(admin, "/admin/users", name="liuyang", display_name="刘洋",
                        role="inspector", password="liuyang-pw-1")
    assert created.status_code == 303
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "已创建用户 liuyang(刘洋,巡查员)" in page

    inspector = log_in(app.test_client(), "liuyang", password="liuyang-pw-1")
    assert inspector.get("/api/me").get_json()["user"]["role"] == "inspector"

    assert form_post(admin, "/admin/users/liuyang/role", role="leader").status_code == 303
    assert inspector.get("/api/me").get_json()["user"] is None  # the old session ended
    leader = log_in(app.test_client(), "liuyang", password="liuyang-pw-1")
    assert leader.get("/parcels").status_code == 200

    assert form_post(admin, "/admin/users/liuyang/password",
                     password="new-password-2").status_code == 303
    assert leader.get("/api/me").get_json()["user"] is None
    log_in(app.test_client(), "liuyang", password="new-password-2")

    assert form_post(admin, "/admin/users/liuyang/disabled", disabled="1").status_code == 303
    refused = form_post(app.test_client(), "/login", name="liuyang", password="new-password-2")
    assert refused.status_code == 401
    assert "已停用" in admin.get("/admin/users").get_data(as_text=True)
    assert form_post(admin, "/admin/users/liuyang/disabled", disabled="0").status_code == 303
    log_in(app.test_client(), "liuyang", password="new-password-2")

    actions = [(r["actor"], r["action"], r["object_id"]) for r in audit_rows(app)
               if r["object_id"] == "liuyang" and r["action"].startswith("user.")]
    assert actions == [("test-admin", a, "liuyang") for a in (
        "user.create", "user.role", "user.password", "user.disable", "user.enable")]
    assert all("password" not in json.dumps(r["summary"]) or r["action"] == "user.password"
               for r in audit_rows(app))
    assert "new-password-2" not in json.dumps(audit_rows(app))


@pytest.mark.parametrize(("url", "fields", "status", "message"), [
    ("/admin/users", {"name": "x", "role": "viewer", "password": PASSWORD}, 400, "2至32"),
    ("/admin/users", {"name": "ok-name", "role": "boss", "password": PASSWORD}, 400, "未知角色"),
    ("/admin/users", {"name": "ok-name", "role": "viewer", "password": "short"}, 400, "8至200"),
    ("/admin/users", {"name": "test-admin", "role": "viewer", "password": PASSWORD}, 409,
     "已存在"),
    ("/admin/users/nobody/role", {"role": "viewer"}, 404, "没有用户"),
    ("/admin/users/test-admin/role", {"role": "viewer"}, 409, "至少要保留一个启用的管理员"),
    ("/admin/users/test-admin/disabled", {"disabled": "1"}, 409, "最后一个管理员"),
    ("/admin/users/test-admin/disabled", {"disabled": "yes"}, 400, "0 或 1"),
    ("/admin/users/test-admin/password", {"password": "short"}, 400, "8至200"),
])
def test_admin_forms_refuse_bad_input_in_chinese(app, url, fields, status, message):
    admin = client_as(app, "admin")
    before = audit_rows(app)
    response = form_post(admin, url, **fields)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert audit_rows(app) == before


def test_admin_forms_need_the_csrf_token(app):
    admin = client_as(app, "admin")
    admin.environ_base.pop("HTTP_X_CSRFTOKEN")
    response = admin.post("/admin/users", data={"name": "sneaky", "role": "admin",
                                                "password": PASSWORD})
    assert response.status_code == 400 and "请求已失效" in response.get_data(as_text=True)
    response = admin.post("/admin/users", data={"name": "sneaky", "role": "admin",
                                                "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert app.extensions["users"].get("sneaky") is None


# -- CSRF for the API ---------------------------------------------------------------------

def test_api_writes_need_the_sessions_csrf_token(app):
    inspector = client_as(app, "inspector")
    inspector.environ_base.pop("HTTP_X_CSRFTOKEN")
    body = {"venue_id": "V0001", "inspector": "张伟", "result": "合格"}
    response = inspector.post("/api/inspections", json=body)
    assert response.status_code == 400
    error = response.get_json()
    assert error["ok"] is False and "CSRF token missing" in error["error"]
    assert "X-CSRFToken" in error["error"] and "/api/csrf" in error["error"]
    other = client_as(app, None)  # a token of another session does not do
    response = inspector.post("/api/inspections", json=body,
                              headers={"X-CSRFToken": csrf_token(other)})
    assert response.status_code == 400
    response = inspector.post("/api/inspections", json=body,
                              headers={"X-CSRFToken": csrf_token(inspector)})
    assert response.status_code == 201


def test_a_script_logs_in_and_writes_as_the_readme_says(app):
    app.extensions["users"].create("script", PASSWORD, "inspector")
    script = app.test_client()
    token = script.get("/api/csrf").get_json()["csrf_token"]
    assert script.post("/login", data={"name": "script", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    token = script.get("/api/csrf").get_json()["csrf_token"]
    response = script.post("/api/inspections", headers={"X-CSRFToken": token},
                           json={"venue_id": "V0001", "inspector": "脚本", "result": "合格"})
    assert response.status_code == 201


def test_read_only_posts_need_no_token(app):
    square = {"type": "Polygon", "coordinates": [[[116.960, 36.660], [116.962, 36.660],
                                                  [116.962, 36.662], [116.960, 36.660]]]}
    anonymous = app.test_client()
    assert anonymous.post("/api/measure", json=square).status_code == 200
    assert anonymous.post("/api/summary", json=square).status_code == 200


# -- the login rate limit ------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(login_limits, "clock", lambda: now[0])
    return now


def attempt(client, name, password, address="10.0.0.1"):
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": csrf_token(client)},
                       environ_base={"REMOTE_ADDR": address})


def test_a_name_from_one_address_is_slowed_then_locked_after_five_failures(app, clock):
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector")
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "zhangwei", "wrong-password").status_code == 401
        clock[0] += 10
    locked = attempt(client, "zhangwei", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 900 - 50
    assert "登录失败次数过多,请 15 分钟后再试" in locked.get_data(as_text=True)
    assert attempt(client, "ZhangWei", PASSWORD).status_code == 429  # names by any case
    assert client.get("/api/me").get_json()["user"] is None
    # The owner, from their own address, is not locked out by these failures.
    assert attempt(app.test_client(), "zhangwei", PASSWORD, address="10.0.0.9"
                   ).status_code == 302
    clock[0] += 600
    assert int(attempt(client, "zhangwei", PASSWORD).headers["Retry-After"]) == 250
    clock[0] += 251
    assert attempt(client, "zhangwei", PASSWORD).status_code == 302
    # Refused attempts are summarised: one row per name and address, with a count.
    logins = [r for r in audit_rows(app) if r["action"].startswith("login")]
    assert [r["action"] for r in logins] == (
        ["login.failure", "login.limited", "login.success", "login.success"])
    assert logins[0]["summary"]["count"] == 5
    assert logins[1]["summary"]["count"] == 3


class FakeFailures:
    """`LoginFailures` in a list (the stores' own SQL is tested through the app)."""

    def __init__(self):
        self.rows = []

    def failure_times(self, after, limit, name=None, address=None):
        times = [at for n, a, at in self.rows if at > after
                 and (name is None or n == name) and (address is None or a == address)]
        return sorted(times, reverse=True)[:limit]

    def add_failure(self, name, address, at):
        self.rows.append((name, address, at))

    def forget_failures(self, until):
        self.rows = [row for row in self.rows if row[2] > until]

    def clear_failures(self, name, address):
        self.rows = [row for row in self.rows if row[:2] != (name, address)]


def test_failures_of_a_pair_wait_longer_each_time(clock):
    limits = login_limits.Limits()
    db = FakeFailures()
    waits = []
    for _ in range(5):
        login_limits.note_failure(db, "zhangwei", "10.0.0.1", limits)
        waits.append(login_limits.retry_after(db, "zhangwei", "10.0.0.1", limits))
    assert waits == [None, 1, 2, 4, 900]  # then locked for the window
    assert login_limits.retry_after(db, "zhangwei", "10.0.0.2", limits) is None
    clock[0] += 1.5  # the wait after the fourth failure is counted from it
    assert login_limits.retry_after(db, "zhangwei", "10.0.0.1", limits) == 899


def test_a_known_device_is_not_blocked_by_failures_from_elsewhere(tmp_path, clock):
    app = make_app(tmp_path / "inspections.sqlite", LOGIN_MAX_FAILURES_PER_NAME=10)
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector")
    owner = app.test_client()
    assert attempt(owner, "zhangwei", PASSWORD, address="10.0.0.5").status_code == 302
    owner.post("/logout", data={"csrf_token": csrf_token(owner)})
    for n in range(10):  # a guess spread over ten addresses reaches the name's ceiling
        assert attempt(app.test_client(), "zhangwei", "wrong", address=f"10.1.0.{n}"
                       ).status_code == 401
    assert attempt(app.test_client(), "zhangwei", PASSWORD, address="10.0.0.6"
                   ).status_code == 429  # a new browser waits
    assert attempt(owner, "zhangwei", PASSWORD, address="10.0.0.7").status_code == 302
    forged = app.test_client()
    forged.set_cookie("hs_device", owner.get_cookie("hs_device").value + "x")
    assert attempt(forged, "zhangwei", PASSWORD, address="10.0.0.8").status_code == 429


def test_an_address_is_locked_after_twenty_failures(app, clock):
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector")
    client = app.test_client()
    for n in range(20):
        assert attempt(client, f"guess{n}", "wrong-password").status_code == 401
    assert attempt(client, "zhangwei", PASSWORD).status_code == 429
    assert attempt(client, "zhangwei", PASSWORD, address="10.0.0.2").status_code == 302


def test_the_limit_holds_across_processes(tmp_path, clock, store_backend):
    """Two apps on one store stand for two gunicorn workers."""
    first = make_app(tmp_path / "inspections.sqlite")
    second = make_app(tmp_path / "inspections.sqlite")
    first.extensions["users"].create("zhangwei", PASSWORD, "inspector")
    for n in range(5):
        app = (first, second)[n % 2]
        assert attempt(app.test_client(), "zhangwei", "wrong").status_code == 401
        clock[0] += 10
    assert attempt(second.test_client(), "zhangwei", PASSWORD).status_code == 429
    assert attempt(first.test_client(), "zhangwei", PASSWORD).status_code == 429


def test_a_success_clears_the_names_failures(app, clock):
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector")
    client = app.test_client()
    for _ in range(4):
        assert attempt(client, "zhangwei", "wrong").status_code == 401
        clock[0] += 10
    assert attempt(client, "zhangwei", PASSWORD).status_code == 302
    for _ in range(4):
        assert attempt(app.test_client(), "zhangwei", "wrong").status_code == 401
        clock[0] += 10


# -- the audit log ---------------------------------------------------------------------------

def test_inspections_hazards_and_rechecks_are_audited(app):
    inspector = client_as(app, "inspector")
    filed = inspector.post("/api/inspections", json={
        "venue_id": "V0002", "inspector": "张伟", "result": "发现隐患",
        "hazards": [{"category": "消防安全", "description": "灭火器过期",
                     "deadline": "2026-12-10"}]}).get_json()["inspection"]
    hazard_id = filed["hazards"][0]["id"]
    assert inspector.post(f"/api/hazards/{hazard_id}/status",
                          json={"status": "整改中"}).status_code == 201
    recheck = inspector.post("/api/rechecks", json={
        "venue_id": "V0002", "inspector": "张伟", "closed": [hazard_id]}).get_json()
    rows = [r for r in audit_rows(app) if not r["action"].startswith(("login", "user"))]
    assert [(r["actor"], r["action"], r["object_id"]) for r in rows] == [
        ("test-inspector", "inspection.create", filed["id"]),
        ("test-inspector", "hazard.status", hazard_id),
        ("test-inspector", "recheck.create", recheck["inspection"]["id"])]
    assert rows[0]["summary"] == {"venue_id": "V0002", "date": "2026-11-25", "inspector": "张伟",
                                  "result": "发现隐患", "hazards": [hazard_id]}
    assert rows[1]["summary"]["to"] == "整改中"
    assert rows[2]["summary"]["closed"] == [hazard_id]


def test_the_audit_row_is_written_in_the_transaction_of_the_change(app, monkeypatch):
    store = app.extensions["inspections"]
    before = storesql.value(app, "SELECT count(*) FROM inspections")
    assert storesql.value(app, "SELECT count(*) FROM audit_log") == 0
    new = ins.parse_inspection({"venue_id": "V0001", "inspector": "张伟", "result": "合格"},
                               ins.dt.date(2026, 11, 25), lambda v: True)

    def broken(db, *args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(sqlite3.OperationalError):
        store.record_inspection(new, "zhangwei")
    assert storesql.value(app, "SELECT count(*) FROM inspections") == before
    monkeypatch.undo()
    with pytest.raises(Conflict):  # a refused change writes no audit row either
        store.record_recheck(ins.parse_recheck({"venue_id": "V0001", "inspector": "张伟",
                                                "closed": ["HZ1"]}, ins.dt.date(2026, 11, 25),
                                               lambda v: True), "zhangwei")
    stored = store.record_inspection(new, "zhangwei")
    rows = storesql.rows(app, "SELECT actor, action, object_id FROM audit_log")
    assert [tuple(r.values()) for r in rows] == [("zhangwei", "inspection.create", stored["id"])]


def test_imports_are_audited_with_their_version(tmp_path, store_backend):
    data_dir = copy_geodata(tmp_path / "geodata")
    db = tmp_path / "inspections.sqlite"
    served = make_app(db, DATA_DIR=data_dir)
    source = tmp_path / "parking.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": shipped("parking")[:5]},
                                 ensure_ascii=False), encoding="utf-8")
    result = Cli(data_dir, db)("import", source, "--layer", "parking", "--by", "wangli")
    assert result.exit_code == 0, result.output
    rows = audit_rows(served)
    assert [(r["actor"], r["action"], r["object_id"]) for r in rows[-1:]] == [
        ("wangli", "layer.import", "parking")]
    assert rows[-1]["summary"] == {
        "file": "parking.geojson", "features": 5, "version": 2, "before": 1,
        "reason": "导入 parking.geojson", "added": 0, "removed": 3, "changed": 0}
    bad = tmp_path / "bad.geojson"
    bad.write_text("{", encoding="utf-8")
    assert Cli(data_dir, db)("import", bad, "--layer", "parking").exit_code != 0
    assert len(audit_rows(served)) == len(rows)  # a refused import is not a change


def test_api_audit_filters_and_pages(app, clock):
    users = app.extensions["users"]
    for n in range(7):
        users.create(f"user{n}", PASSWORD, "viewer", by="chief")
    client = app.test_client()
    attempt(client, "user1", "wrong")
    admin = client_as(app, "admin")
    page = admin.get("/api/audit?action=user.create&actor=chief&limit=3").get_json()
    assert page["total"] == 7 and [e["object_id"] for e in page["entries"]] == [
        "user6", "user5", "user4"]
    assert page["links"]["next"] == "/api/audit?actor=chief&action=user.create&limit=3&offset=3"
    last = admin.get("/api/audit?action=user.create&actor=chief&limit=3&offset=6").get_json()
    assert [e["object_id"] for e in last["entries"]] == ["user0"] and "next" not in last["links"]
    failure = admin.get("/api/audit?action=login.failure").get_json()["entries"]
    assert failure[0]["summary"]["address"] == "10.0.0.1"
    assert failure[0]["summary"]["reason"] == "wrong password"
    assert failure[0]["summary"]["count"] == 1
    assert failure[0]["action_label"] == "登录失败"
    today = admin.get("/api/audit?since=2000-01-01&until=2100-01-01").get_json()["total"]
    assert today == len(audit_rows(app))
    assert admin.get("/api/audit?until=2000-01-01").get_json()["total"] == 0


@pytest.mark.parametrize("query", ["action=drop", "since=yesterday", "until=2026-02-30",
                                   "limit=0", "limit=501", "offset=-1", "limit=NaN",
                                   "since=9999-12-31&until=9999-12-31", "actor=" + "a" * 101])
def test_api_audit_refuses_bad_filters(app, query):
    response = client_as(app, "admin").get(f"/api/audit?{query}")
    assert response.status_code == 400 and response.get_json()["ok"] is False


def test_the_audit_page_is_chinese_filterable_and_escaped(app, clock):
    attempt(app.test_client(), HOSTILE, "wrong")
    admin = client_as(app, "admin")
    html = admin.get("/admin/audit?action=login.failure").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "审计日志" in html and "登录失败" in html
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert len(re.findall(r'<tr data-action="login.failure"', html)) == 1
    bad = admin.get("/admin/audit?since=not-a-date")
    assert bad.status_code == 400 and "不是有效的日期" in bad.get_data(as_text=True)


def test_the_header_shows_what_a_role_may_use(app):
    def links(who):
        html = client_as(app, who).get("/").get_data(as_text=True)
        nav = html.split('<nav class="hs-nav"', 1)[1].split("</nav>", 1)[0]
        return re.findall(r">([^<]+)</a>", nav), html

    anonymous, html = links(None)
    assert anonymous == ["一张图", "巡查", "数据服务", "帮助"] and ">登录</a>" in html
    viewer, html = links("viewer")
    assert viewer == ["一张图", "巡查", "数据服务", "帮助"] and "退出" in html
    assert "test-viewer" in html and "(查看)" in html
    leader, _ = links("leader")
    assert leader == ["一张图", "巡查", "闲置土地", "重点项目", "年度指标", "数据服务", "帮助"]
    admin, _ = links("admin")
    assert admin == ["一张图", "巡查", "闲置土地", "重点项目", "年度指标", "数据服务",
                     "用户管理", "图层数据", "审计日志", "帮助"]


def test_anonymous_role_must_be_viewer_or_none(tmp_path):
    with pytest.raises(ValueError, match="ANONYMOUS_ROLE"):
        make_app(tmp_path / "i.sqlite", ANONYMOUS_ROLE="admin")


def test_a_login_form_without_its_token_asks_to_log_in_again(app):
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector")
    client = app.test_client()
    response = client.post("/login", data={"name": "zhangwei", "password": PASSWORD})
    assert response.status_code == 400
    assert "页面已过期,请重新输入用户名和密码后登录" in response.get_data(as_text=True)
    assert client.get("/api/me").get_json()["user"] is None
    assert audit_rows(app, "login.success") == []


def test_a_restore_is_audited_and_brings_the_accounts_tables_back(app, tmp_path,
                                                                  store_backend):
    """A backup from before the accounts (no users, no audit log) restores to a working
    store: the accounts' tables are made again and the restore is the first audit row.
    With PostGIS `db restore` refuses (pg_restore is the tool) and changes nothing."""
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:
        db.executescript(RECORDS_SCHEMA)
    result = app.test_cli_runner().invoke(args=["db", "restore", str(old), "--by", "ops"])
    if store_backend == "postgis":
        assert result.exit_code != 0 and "pg_restore" in result.output
        assert audit_rows(app) == []
        return
    assert result.exit_code == 0, result.output
    [row] = audit_rows(app)
    assert (row["actor"], row["action"]) == ("ops", "db.restore")
    assert row["summary"]["file"] == str(old) and row["summary"]["inspections"] == 0
    admin = client_as(app, "admin")  # users can be made and log in again
    assert admin.get("/api/audit").get_json()["total"] >= 1
