"""Logging in and out (the blueprint "auth"): /login, /logout, /api/me, /api/csrf.

Logins are rate-limited per user name and per client address (login_limits.py)
and written to the audit log, success and failure (users.py). Which role may use
what is declared in the catalogue and enforced by access.py. Users are made on the
command line (cli.py: the first admin) and on /admin/users (admin.py).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from layers.accounts import cli, sessions
from layers.accounts.sessions import current_user, get_users
from layers.records import login_limits
from layers.records.users import MAX_PASSWORD_LENGTH

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after login (never another site, never a header: no
    backslash, which browsers read as a slash, and no control character such as CR/LF)."""
    if not target or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _login_page(status: int, next_url: str, name: str = "", error: str | None = None,
                headers: dict[str, str] | None = None) -> ResponseReturnValue:
    html = render_template("accounts/login.html", title="登录", next_url=next_url, name=name,
                           error=error, notice=None)
    return html, status, headers or {}


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"), "/")
    if request.method == "GET":
        return _login_page(200, next_url)
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    if not name or not password:
        return _login_page(400, next_url, name, "请输入用户名和密码")
    if len(name) > 100 or len(password) > MAX_PASSWORD_LENGTH:
        return _login_page(401, next_url, "", "用户名或密码不正确")
    device = known_device(name)
    outcome = get_users().login(name, password, request.remote_addr or "unknown", device)
    if isinstance(outcome, int):
        minutes = max(1, -(-outcome // 60))
        return _login_page(429, next_url, name,
                           f"登录失败次数过多,请 {minutes} 分钟后再试。",
                           {"Retry-After": str(outcome)})
    if outcome is None:
        return _login_page(401, next_url, name, "用户名或密码不正确")
    session.clear()  # a new session: nothing from before the login carries over
    # Permanent: the cookie and its signature expire PERMANENT_SESSION_LIFETIME after
    # the last request, so a phone left logged in does not stay logged in for ever.
    session.permanent = True
    session["user"] = outcome.name
    session["sid"] = get_users().open_session(outcome.name)
    session["epoch"] = outcome.epoch
    # Read only while the database is unreachable (sessions.current_user).
    session["role"], session["display"] = outcome.role, outcome.display_name
    response = redirect(next_url)
    remember_device(response, outcome.name, device)
    return response


# A device that has logged in as a user before: a signed cookie naming the user and a
# random device id (login_limits.py: its attempts are counted apart, never blocked by
# failures from elsewhere). Signed with the session's key, so it cannot be forged.
DEVICE_COOKIE = "hs_device"
DEVICE_MAX_AGE_S = 365 * 24 * 3600


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="huaishu-device")


def known_device(name: str) -> str | None:
    """The id of this browser's device cookie if it was given at a login as `name`."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        data = _device_signer().loads(value, max_age=DEVICE_MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("n") != login_limits.key(name):
        return None
    device = data.get("d")
    return device if isinstance(device, str) else None


def remember_device(response: BaseResponse, name: str, device: str | None) -> None:
    value = _device_signer().dumps({"n": login_limits.key(name),
                                    "d": device or secrets.token_urlsafe(16)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE_S, httponly=True,
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE", True)),
                        samesite="Lax")


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """This session ends, on the server too: a copy of its cookie no longer works."""
    user = current_user()
    if user is not None:
        get_users().end_session(session["sid"], user.name)
    session.clear()
    return redirect(safe_next(request.form.get("next"), "/"))


@bp.post("/logout/everywhere")
def logout_everywhere() -> ResponseReturnValue:
    """Every session of this user ends: the phone left in the office too."""
    user = current_user()
    if user is not None:
        get_users().end_sessions(user.name, by=user.name)
    session.clear()
    return redirect(safe_next(request.form.get("next"), "/"))


@bp.get("/api/me")
def me() -> ResponseReturnValue:
    user = current_user()
    return jsonify({"user": user.as_json() if user else None})


@bp.get("/api/csrf")
def csrf_token() -> ResponseReturnValue:
    """A CSRF token for scripts: send it back in the X-CSRFToken header, with the session
    cookie this response sets (the token is tied to the session)."""
    return jsonify({"csrf_token": generate_csrf(), "header": "X-CSRFToken"})


def init_app(app: Flask) -> None:
    """The session cookie, the login routes and the users CLI (the accounts store itself
    is opened with the other stores, layers/stores/opening.py)."""
    sessions.init_app(app)
    app.register_blueprint(bp)
    app.cli.add_command(cli.users_cli)
