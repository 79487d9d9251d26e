"""The session: who is logged in, the signed cookie that says so, and its key.

Logging in (routes.py) opens a session on the server (a row of `sessions`, its id
random) and puts its id, the user's name and their session epoch in Flask's signed
session cookie (HttpOnly, SameSite=Lax, Secure unless SESSION_COOKIE_SECURE is
false, expiring PERMANENT_SESSION_LIFETIME after the last request). Logging out
deletes the row, so a cookie kept from before is refused everywhere; "log out
everywhere" (the user, or an admin for them) deletes all their rows. Changing a
user's password or role, or disabling them, bumps the epoch and so ends their
sessions too. `current_user()` is the one way to ask who is
logged in, `get_users()` the app's accounts store (opened by
layers/stores/opening.py).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import cast

from flask import Flask, current_app, g, session

from layers.records.users import User
from layers.stores.interfaces import UserStore


def get_users() -> UserStore:
    return cast(UserStore, current_app.extensions["users"])


def current_user() -> User | None:
    """The logged-in user of this request, or None (also for a session that was logged
    out, a disabled user, or a session from before their password or role changed)."""
    if "user" not in g:
        name, sid, epoch = session.get("user"), session.get("sid"), session.get("epoch")
        user = (get_users().session_user(sid, name)
                if isinstance(name, str) and isinstance(sid, str) else None)
        g.user = user if user and not user.disabled and user.epoch == epoch else None
    return cast(User | None, g.user)


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
