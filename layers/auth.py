"""Minimal accounts: who may record inspections.

Users live in a `users` table of the app's SQLite file (INSPECTIONS_DB), with
werkzeug password hashes; logging in puts the user's name in Flask's signed
session cookie. `role_required("inspector")` guards the API routes that write
(401 when nobody is logged in, 403 for another role; the role `admin` may do
everything). Users are made on the command line:

    flask --app server users create NAME --role inspector [--display-name 张伟]

The accounts issue (roles per layer, CSRF tokens, audit log) replaces this
module; the rest of the app only uses `current_user()` and `role_required`.
Until then, writes are JSON-only (a cross-site HTML form cannot send
application/json) and the session cookie is SameSite=Lax.
"""

from __future__ import annotations

import functools
import re
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from flask.cli import AppGroup
from werkzeug.security import check_password_hash, generate_password_hash

from .catalogue import ROLES
from .errors import ApiError, BadRequest, Conflict, Forbidden, Unauthorized

USER_NAME = re.compile(r"[A-Za-z0-9_.-]{2,32}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200
ROLE_LABELS = {"viewer": "查看", "inspector": "巡查员", "leader": "领导", "admin": "管理员"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    role: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "display_name": self.display_name, "role": self.role,
                "role_label": ROLE_LABELS.get(self.role, self.role)}


class UserStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def create(self, name: str, password: str, role: str, display_name: str | None = None
               ) -> User:
        if not USER_NAME.fullmatch(name):
            raise BadRequest("a user name is 2 to 32 letters, digits, '_', '.' or '-'")
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise BadRequest(f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} "
                             "characters")
        display = (display_name or name).strip()
        if not display or len(display) > 50:
            raise BadRequest("a display name has 1 to 50 characters")
        with self._connect() as db:
            try:
                db.execute(
                    "INSERT INTO users (name, display_name, role, password_hash)"
                    " VALUES (?, ?, ?, ?)",
                    (name, display, role, generate_password_hash(password)),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"a user named {name!r} exists already") from None
        return User(name, display, role)

    def get(self, name: str) -> User | None:
        with self._connect() as db:
            row = db.execute("SELECT name, display_name, role FROM users WHERE name = ?",
                             (name,)).fetchone()
        return User(**dict(row)) if row else None

    def authenticate(self, name: str, password: str) -> User | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        if row is None or not check_password_hash(row["password_hash"], password):
            return None
        return User(row["name"], row["display_name"], row["role"])

    def all(self) -> list[User]:
        with self._connect() as db:
            rows = db.execute("SELECT name, display_name, role FROM users ORDER BY name")
            return [User(**dict(r)) for r in rows]


def get_users() -> UserStore:
    return current_app.extensions["users"]


def current_user() -> User | None:
    """The logged-in user of this request, or None."""
    if "user" not in g:
        name = session.get("user")
        g.user = get_users().get(name) if isinstance(name, str) else None
    return g.user


F = TypeVar("F", bound=Callable[..., Any])


def role_required(*roles: str) -> Callable[[F], F]:
    """Guard a route: 401 when nobody is logged in, 403 when the role is not allowed."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                raise Unauthorized("log in first (/login)")
            if user.role not in roles and user.role != "admin":
                raise Forbidden(f"this needs the role {' or '.join(roles)}; "
                                f"{user.name} is {user.role}")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after login (never another site)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"), "/inspect")
    if request.method == "GET":
        return render_template("login.html", title="登录", next_url=next_url, error=None,
                               user=current_user())
    name = request.form.get("name", "").strip()
    user = get_users().authenticate(name, request.form.get("password", ""))
    if user is None:
        return render_template("login.html", title="登录", next_url=next_url, name=name,
                               error="用户名或密码不正确", user=None), 401
    session.clear()
    session["user"] = user.name
    return redirect(next_url)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(safe_next(request.form.get("next"), "/inspect"))


@bp.get("/api/me")
def me():
    user = current_user()
    return jsonify({"user": user.as_json() if user else None})


users_cli = AppGroup("users", help="Accounts that may log in (inspectors record inspections).")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="inspector", show_default=True)
@click.option("--display-name", help="The name shown and proposed as inspector, e.g. 张伟.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(name: str, role: str, display_name: str | None, password_stdin: bool) -> None:
    """Create the user NAME; the password is asked for (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = get_users().create(name, password, role, display_name)
    except ApiError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"created user {user.name} ({user.display_name}, role {user.role})")


@users_cli.command("list")
def list_users() -> None:
    """List the users and their roles."""
    for user in get_users().all():
        click.echo(f"{user.name}\t{user.role}\t{user.display_name}")


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
    app.config["SECRET_KEY"] = secret_key(app)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if "users" not in app.extensions:  # PostGIS (layers/stores.py) may have set it
        app.extensions["users"] = UserStore(Path(app.config["INSPECTIONS_DB"]))
    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
