"""Logging in: users CLI, login/logout, the session cookie and key."""

import stat

import pytest

from tests.conftest import csrf_token, make_app

PASSWORD = "correct-horse-1"


@pytest.fixture
def app(tmp_path, store_backend):
    return make_app(tmp_path / "inspections.sqlite")


def create(app, *args, password=PASSWORD):
    runner = app.test_cli_runner()
    return runner.invoke(args=["users", "create", *args, "--password-stdin"],
                         input=password + "\n")


def test_cli_creates_and_lists_users(app):
    result = create(app, "zhangwei", "--role", "inspector", "--display-name", "张伟")
    assert result.exit_code == 0, result.output
    assert "created user zhangwei (张伟, role inspector)" in result.output
    listed = app.test_cli_runner().invoke(args=["users", "list"])
    assert "zhangwei\tinspector\t张伟" in listed.output


def test_cli_asks_for_the_password_twice(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "wangfang"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "role inspector" in result.output  # the default role
    client = app.test_client()
    assert client.post("/login", data={"name": "wangfang", "password": PASSWORD,
                                       "csrf_token": csrf_token(client)}).status_code == 302


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["zhangwei"], PASSWORD, "exists already"),
        (["x"], PASSWORD, "2 to 32"),
        (["zhang wei"], PASSWORD, "2 to 32"),
        (["lisi"], "short", "8 to 200"),
        (["lisi", "--display-name", "长" * 51], PASSWORD, "1 to 50"),
    ],
)
def test_cli_refuses_bad_users(app, args, password, message):
    assert create(app, "zhangwei").exit_code == 0
    result = create(app, *args, password=password)
    assert result.exit_code != 0
    assert message in result.output


def test_cli_refuses_an_unknown_role(app):
    result = create(app, "lisi", "--role", "boss")
    assert result.exit_code != 0 and "boss" in result.output


def test_login_page_is_chinese_and_logs_in(app):
    create(app, "zhangwei", "--display-name", "张伟")
    client = app.test_client()
    page = client.get("/login?next=/inspect%3Fvenue%3DV0001")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="zh-CN">' in html
    assert "用户名" in html and "密码" in html
    assert 'value="/inspect?venue=V0001"' in html
    assert client.get("/api/me").get_json() == {"user": None}

    response = client.post("/login", data={"name": "zhangwei", "password": PASSWORD,
                                           "next": "/inspect?venue=V0001",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.location == "/inspect?venue=V0001"
    me = client.get("/api/me").get_json()["user"]
    assert me == {"name": "zhangwei", "display_name": "张伟", "role": "inspector",
                  "role_label": "巡查员"}
    assert "张伟" in client.get("/inspect").get_data(as_text=True)

    assert client.post("/logout").status_code == 400  # no CSRF token: not logged out
    assert client.get("/api/me").get_json()["user"]["name"] == "zhangwei"
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert client.get("/api/me").get_json() == {"user": None}


@pytest.mark.parametrize(("name", "password", "status", "message"), [
    ("zhangwei", "wrong-password", 401, "用户名或密码不正确"),
    ("nobody", PASSWORD, 401, "用户名或密码不正确"),
    ("", "", 400, "请输入用户名和密码")])
def test_wrong_credentials_are_refused(app, name, password, status, message):
    create(app, "zhangwei")
    client = app.test_client()
    response = client.post("/login", data={"name": name, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert client.get("/api/me").get_json() == {"user": None}


@pytest.mark.parametrize("name", ["zhangwei", "nobody"])
def test_an_unknown_name_costs_a_password_check_too(app, monkeypatch, name):
    """Refusing a name that does not exist takes as long as a wrong password (one scrypt
    check), so the time of an answer does not tell which names exist."""
    from layers.records import users as auth

    create(app, "zhangwei")
    checked = []
    real_check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash",
                        lambda h, p: checked.append(h.split("$")[0]) or real_check(h, p))
    client = app.test_client()
    response = client.post("/login", data={"name": name, "password": "wrong-password",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert len(checked) == 1 and checked[0].startswith("scrypt:")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_login_never_sends_you_to_another_site(app, target):
    create(app, "zhangwei")
    client = app.test_client()
    response = client.post("/login", data={"name": "zhangwei", "password": PASSWORD,
                                           "next": target, "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.location == "/"


def test_the_session_cookie_is_http_only_and_same_site(app):
    create(app, "zhangwei")
    client = app.test_client()
    response = client.post("/login", data={"name": "zhangwei", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the tests' setting: plain HTTP on loopback


def test_a_session_ends_after_its_lifetime_without_requests(app, monkeypatch):
    import itsdangerous

    create(app, "zhangwei")
    client = app.test_client()
    response = client.post("/login", data={"name": "zhangwei", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert "Expires=" in response.headers["Set-Cookie"]
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600
    now = itsdangerous.TimestampSigner.get_timestamp

    def later(seconds):
        monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp",
                            lambda self: now(self) + seconds)

    later(11 * 3600)  # a request within the lifetime renews the cookie
    assert client.get("/api/me").get_json()["user"]["name"] == "zhangwei"
    later(22 * 3600)  # 11 h after that request: still logged in
    assert client.get("/api/me").get_json()["user"]["name"] == "zhangwei"
    later(35 * 3600)  # 13 h without a request: logged out
    assert client.get("/api/me").get_json() == {"user": None}


def test_the_session_cookie_is_secure_by_default(tmp_path):
    app = make_app(tmp_path / "inspections.sqlite", SESSION_COOKIE_SECURE=True)
    create(app, "zhangwei")
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/login", data={"name": "zhangwei", "password": PASSWORD,
                                           "csrf_token": token})
    assert "; Secure" in response.headers["Set-Cookie"]
    from server import DEFAULTS
    assert DEFAULTS["SESSION_COOKIE_SECURE"] is True


def test_a_secret_key_is_made_once_and_kept(tmp_path):
    first = make_app(tmp_path / "inspections.sqlite")
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and len(first.config["SECRET_KEY"]) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = make_app(tmp_path / "inspections.sqlite")
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_a_configured_secret_key_is_used_and_nothing_written(tmp_path):
    app = make_app(tmp_path / "inspections.sqlite", SECRET_KEY="from-config")
    assert app.config["SECRET_KEY"] == "from-config"
    assert not (tmp_path / "secret_key").exists()
