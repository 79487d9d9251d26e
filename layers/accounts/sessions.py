"""The session: who is logged in, the signed cookie that says so, and its key.

Logging in (routes.py) opens a session on the server (a row of `sessions`, its id
random) and puts its id, the user's name and their session epoch in Flask's signed
session cookie (HttpOnly, SameSite=Lax, Secure unless SESSION_COOKIE_SECURE is
false, expiring PERMANENT_SESSION_LIFETIME after the last request). Logging out
deletes the row, so a cookie kept from before is refused everywhere; "log out
everywhere" (the user, or an admin for them) deletes all their rows. Changing a
user's password or role, or disabling them, bumps the epoch and so ends their
sessions too. Clients of the OGC API - Features Part 4 edits (QGIS, OWSLib) have no
session: their edits (POST, PUT, PATCH, DELETE under /ogc/) may carry HTTP Basic
credentials instead, checked like a login (rate limits, audit) on each edit; nothing
else takes them. `current_user()` is the one way to ask who is
logged in, `get_users()` the app's accounts store (opened by
layers/stores/opening.py).

While the database is unreachable (PostGIS outage) the session cannot be checked,
yet pages that need no database must keep working for logged-in users too. Then
the user is the one this process last saw for that session (`RecentUsers`), else
the one the signed cookie names (its role and name, written at login; a role
change bumps the epoch, so they stay true to the cookie's epoch): valid but not
re-checked. A session ended just before the outage may thus read in-memory pages
until the database is back; it can change nothing, since every write needs the
database.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import cast

from flask import Flask, current_app, g, request, session

from layers.errors import DatabaseUnavailable, TooManyRequests, Unauthorized
from layers.records.users import MAX_PASSWORD_LENGTH, ROLE_LABELS, User
from layers.stores.interfaces import UserStore


def get_users() -> UserStore:
    return cast(UserStore, current_app.extensions["users"])


class RecentUsers:
    """The users this process last found for recent sessions (bounded, thread-safe)."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._users: OrderedDict[tuple[str, str], tuple[User | None, float]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, sid: str, name: str, user: User | None) -> None:
        with self._lock:
            self._users[(sid, name)] = (user, time.monotonic())
            self._users.move_to_end((sid, name))
            while len(self._users) > self.size:
                self._users.popitem(last=False)

    def recall(self, sid: str, name: str, max_age_s: float) -> tuple[User | None] | None:
        """(the user last seen, or None if the session was found ended), or None if
        this process has not checked the session within `max_age_s`."""
        with self._lock:
            seen = self._users.get((sid, name))
        if seen is None or time.monotonic() - seen[1] > max_age_s:
            return None
        return (seen[0],)


def current_user() -> User | None:
    """The logged-in user of this request, or None (also for a session that was logged
    out, a disabled user, or a session from before their password or role changed)."""
    if "user" not in g and basic_auth_applies():
        g.user = None  # while the credentials are checked (an error page asks again)
        g.user = _basic_user()
    if "user" not in g:
        name, sid, epoch = session.get("user"), session.get("sid"), session.get("epoch")
        user = None
        if isinstance(name, str) and isinstance(sid, str):
            recent: RecentUsers = current_app.extensions.setdefault("recent_users",
                                                                    RecentUsers())
            try:
                user = get_users().session_user(sid, name)
                recent.remember(sid, name, user)
            except DatabaseUnavailable:
                user = _unchecked_user(recent, sid, name)
        g.user = user if user and not user.disabled and user.epoch == epoch else None
    return cast(User | None, g.user)


# The methods of the OGC API's Part 4 edits, which take HTTP Basic credentials.
EDIT_METHODS = ("POST", "PUT", "PATCH", "DELETE")
BASIC_REALM = 'Basic realm="huaishu", charset="UTF-8"'


class BasicUnauthorized(Unauthorized):
    """401 for an API client: with the challenge that tells it to send Basic credentials."""

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": BASIC_REALM}


def is_ogc_edit() -> bool:
    return request.method in EDIT_METHODS and request.path.startswith("/ogc/")


def basic_auth_applies() -> bool:
    """Whether this request is an OGC edit carrying HTTP Basic credentials."""
    auth = request.authorization
    return auth is not None and auth.type == "basic" and is_ogc_edit()


def _basic_user() -> User:
    auth = request.authorization
    assert auth is not None
    name, password = (auth.username or "").strip(), auth.password or ""
    refused = BasicUnauthorized("用户名或密码不正确 (HTTP Basic: wrong user name or password)")
    if not name or not password or len(name) > 100 or len(password) > MAX_PASSWORD_LENGTH:
        raise refused
    outcome = get_users().login(name, password, request.remote_addr or "unknown")
    if isinstance(outcome, int):
        minutes = max(1, -(-outcome // 60))
        raise TooManyRequests(f"登录失败次数过多,请 {minutes} 分钟后再试 (too many failed "
                              f"logins; retry after {outcome} s)", outcome)
    if outcome is None:
        raise refused
    return outcome


def _unchecked_user(recent: RecentUsers, sid: str, name: str) -> User | None:
    """The session's user while the database cannot say: see the module's notes."""
    seen = recent.recall(sid, name, current_app.permanent_session_lifetime.total_seconds())
    if seen is not None:
        return seen[0]
    role, display, epoch = session.get("role"), session.get("display"), session.get("epoch")
    if role not in ROLE_LABELS or not isinstance(epoch, int):
        return None
    return User(name, display if isinstance(display, str) else name, str(role), epoch=epoch)


def secret_key(app: Flask) -> str:
    """SECRET_KEY from the config, else one generated once and kept in the instance
    directory (beside INSPECTIONS_DB), so that sessions survive restarts."""
    configured = app.config.get("SECRET_KEY")
    if configured:
        return str(configured)
    path = Path(app.config.get("SECRET_KEY_FILE")
                or Path(app.config["INSPECTIONS_DB"]).parent / "secret_key")
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    with open(path, "x", encoding="ascii") as f:  # "x": never overwrite a key
        path.chmod(0o600)
        f.write(key)
    return key


def init_app(app: Flask) -> None:
    """The session cookie's key and flags."""
    app.config["SECRET_KEY"] = secret_key(app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
