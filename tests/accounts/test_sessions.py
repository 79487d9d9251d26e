"""Logging out ends the session on the server (layers/accounts/sessions.py): a cookie kept
from before is refused everywhere; a user, or an admin for them, logs out everywhere."""

import pytest

from layers.records import users
from tests.conftest import csrf_token, ensure_user, log_in
from tests.storesql import rows


def copy_of(client, app):
    """Another client holding the same cookies (what an attacker kept, or a second tab)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    other.environ_base["HTTP_X_CSRFTOKEN"] = client.environ_base["HTTP_X_CSRFTOKEN"]
    return other


def me(client):
    return client.get("/api/me").get_json()["user"]


def test_a_cookie_kept_from_before_logout_is_refused(app):
    admin = log_in(app.test_client(), "sess-admin-1", "admin")
    kept = copy_of(admin, app)
    assert kept.get("/api/audit").status_code == 200
    out = admin.post("/logout", data={"csrf_token": csrf_token(admin)})
    assert out.status_code == 302
    assert kept.get("/api/audit").status_code == 401
    assert me(kept) is None
    assert kept.get("/admin/users").status_code == 401


def test_logging_out_ends_only_this_session(app):
    phone = log_in(app.test_client(), "sess-insp-1", "inspector")
    desk = log_in(app.test_client(), "sess-insp-1")
    phone.post("/logout", data={"csrf_token": csrf_token(phone)})
    assert me(phone) is None
    assert me(desk)["name"] == "sess-insp-1"


def test_log_out_everywhere(app):
    phone = log_in(app.test_client(), "sess-insp-2", "inspector")
    desk = log_in(app.test_client(), "sess-insp-2")
    out = desk.post("/logout/everywhere", data={"csrf_token": csrf_token(desk)})
    assert out.status_code == 302
    assert me(phone) is None and me(desk) is None
    again = log_in(app.test_client(), "sess-insp-2")  # a new login works as before
    assert me(again)["name"] == "sess-insp-2"


def test_an_admin_logs_a_user_out_everywhere(app):
    lost_phone = log_in(app.test_client(), "sess-insp-3", "inspector")
    admin = log_in(app.test_client(), "sess-admin-2", "admin")
    page = admin.post("/admin/users/sess-insp-3/logout",
                      data={"csrf_token": csrf_token(admin)}, follow_redirects=True)
    assert page.status_code == 200
    assert "已让 sess-insp-3 在所有设备上退出登录" in page.get_data(as_text=True)
    assert me(lost_phone) is None
    logged = rows(app, "SELECT actor, object_id FROM audit_log WHERE action = ? ORDER BY id",
                  "user.logout_all")
    assert logged and logged[-1] == {"actor": "sess-admin-2", "object_id": "sess-insp-3"}


def test_ending_the_sessions_of_nobody_is_404(app):
    admin = log_in(app.test_client(), "sess-admin-3", "admin")
    page = admin.post("/admin/users/nobody-at-all/logout", data={"csrf_token": csrf_token(admin)})
    assert page.status_code == 404


def test_only_admins_end_others_sessions(app):
    ensure_user(app, "sess-insp-4", "inspector")
    inspector = log_in(app.test_client(), "sess-insp-5", "inspector")
    refused = inspector.post("/admin/users/sess-insp-4/logout",
                             data={"csrf_token": csrf_token(inspector)})
    assert refused.status_code == 403


def test_old_sessions_are_forgotten(app, monkeypatch):
    old = log_in(app.test_client(), "sess-insp-6", "inspector")
    now = users.session_clock()
    monkeypatch.setattr(users, "session_clock", lambda: now + users.SESSION_MAX_AGE_S + 60)
    log_in(app.test_client(), "sess-insp-7", "inspector")  # any login sweeps old rows
    assert me(old) is None


@pytest.mark.parametrize("field", ["sid", "user"])
def test_a_session_cookie_without_its_server_side_half_is_nobody(app, field):
    client = log_in(app.test_client(), "sess-insp-8", "inspector")
    with client.session_transaction() as session:
        session[field] = "forged" if field == "sid" else "sess-admin-1"
    assert me(client) is None
