"""Accounts: users, logging in and out, the session cookie, the users CLI.

Users live in a `users` table of the app's SQLite file (INSPECTIONS_DB), with
werkzeug password hashes (scrypt). Logging in puts the user's name and their
session epoch in Flask's signed session cookie (HttpOnly, SameSite=Lax, Secure
unless SESSION_COOKIE_SECURE is false, expiring PERMANENT_SESSION_LIFETIME after
the last request); changing a user's password or role, or
disabling them, bumps the epoch and so ends their sessions.

Logins are rate-limited per user name and per client address (login_limits.py)
and written to the audit log (audit.py), success and failure, in the same
transaction as the rate limiter's row. Which role may use what is declared in
the catalogue and enforced by access.py; `current_user()` is the one way to
ask who is logged in. Users are made on the command line (the first admin) and
on /admin/users (admin.py):

    flask --app server users create-admin NAME          # asks for the password
    flask --app server users create NAME --role inspector [--display-name 张伟]
"""

from __future__ import annotations

import functools
import getpass
import os
import re
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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
from flask_wtf.csrf import generate_csrf
from werkzeug.security import check_password_hash, generate_password_hash

from layers.accounts import login_limits
from layers.catalogue.entries import ROLES
from layers.catalogue.usertext import refuse_markup
from layers.errors import ApiError, BadRequest, Conflict, NotFound
from layers.records import audit

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
# Columns added after the minimal login, for stores made before them.
ADDED_COLUMNS = {"disabled": "INTEGER NOT NULL DEFAULT 0", "epoch": "INTEGER NOT NULL DEFAULT 0"}


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    role: str
    disabled: bool = False
    epoch: int = 0

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "display_name": self.display_name, "role": self.role,
                "role_label": self.role_label}


def check_name(name: str) -> None:
    if not USER_NAME.fullmatch(name):
        raise BadRequest("用户名为2至32个字母、数字或 _ . - (a user name is 2 to 32 letters, "
                         "digits, '_', '.' or '-')")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise BadRequest(f"未知角色 (role must be one of {', '.join(ROLES)}, not {role!r})")


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadRequest(f"密码为{MIN_PASSWORD_LENGTH}至{MAX_PASSWORD_LENGTH}个字符 (a password "
                         f"has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters)")


def check_display_name(display: str) -> None:
    if not display or len(display) > 50:
        raise BadRequest("显示名称为1至50个字符 (a display name has 1 to 50 characters)")
    refuse_markup(display, "显示名称 (display name)")


class UserStore:
    """The users table; every change is one transaction with its audit row."""

    def __init__(self, path: Path, limits: login_limits.Limits | None = None):
        self.path = Path(path)
        self.limits = limits or login_limits.Limits()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.executescript(SCHEMA)
            columns = {r["name"] for r in db.execute("PRAGMA table_info(users)")}
            for column, decl in ADDED_COLUMNS.items():
                if column not in columns:
                    db.execute(f"ALTER TABLE users ADD COLUMN {column} {decl}")
            audit.ensure_schema(db)
            login_limits.ensure_schema(db)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction: committed on success, rolled back on error."""
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=FULL")
        try:
            with db:
                yield db
        finally:
            db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            yield db

    # --- reads ----------------------------------------------------------------------

    def get(self, name: str) -> User | None:
        with self.connect() as db:
            return _user(db, name)

    def all(self) -> list[User]:
        with self.connect() as db:
            rows = db.execute("SELECT name, display_name, role, disabled, epoch FROM users"
                              " ORDER BY name")
            return [_from_row(r) for r in rows]

    def admins(self, db: sqlite3.Connection) -> int:
        return db.execute("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0"
                          ).fetchone()[0]

    # --- changes (each audited by `by`) -----------------------------------------------

    def create(self, name: str, password: str, role: str, display_name: str | None = None,
               by: str | None = None) -> User:
        check_name(name)
        check_role(role)
        check_password(password)
        display = (display_name or name).strip()
        check_display_name(display)
        with self.write() as db:
            try:
                db.execute(
                    "INSERT INTO users (name, display_name, role, password_hash)"
                    " VALUES (?, ?, ?, ?)",
                    (name, display, role, generate_password_hash(password)),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"用户名已存在 (a user named {name!r} exists already)") from None
            audit.record(db, by, "user.create", "user", name,
                         {"display_name": display, "role": role})
        return User(name, display, role)

    def set_role(self, name: str, role: str, by: str) -> User:
        check_role(role)
        with self.write() as db:
            user = self._existing(db, name)
            if user.role == role:
                return user
            if user.role == "admin" and not user.disabled and self.admins(db) <= 1:
                raise Conflict("至少要保留一个启用的管理员 (the last admin keeps the role admin)")
            db.execute("UPDATE users SET role = ?, epoch = epoch + 1 WHERE name = ?",
                       (role, name))
            audit.record(db, by, "user.role", "user", name, {"from": user.role, "to": role})
            return _user(db, name)  # type: ignore[return-value]

    def set_password(self, name: str, password: str, by: str) -> None:
        check_password(password)
        with self.write() as db:
            self._existing(db, name)
            db.execute("UPDATE users SET password_hash = ?, epoch = epoch + 1 WHERE name = ?",
                       (generate_password_hash(password), name))
            audit.record(db, by, "user.password", "user", name, {})

    def set_disabled(self, name: str, disabled: bool, by: str) -> User:
        with self.write() as db:
            user = self._existing(db, name)
            if user.disabled == disabled:
                return user
            if disabled and user.role == "admin" and self.admins(db) <= 1:
                raise Conflict("不能停用最后一个管理员 (the last admin cannot be disabled)")
            db.execute("UPDATE users SET disabled = ?, epoch = epoch + 1 WHERE name = ?",
                       (int(disabled), name))
            audit.record(db, by, "user.disable" if disabled else "user.enable", "user", name,
                         {})
            return _user(db, name)  # type: ignore[return-value]

    def _existing(self, db: sqlite3.Connection, name: str) -> User:
        user = _user(db, name)
        if user is None:
            raise NotFound(f"没有用户 {name!r} (no user named {name!r})")
        return user

    # --- logging in ---------------------------------------------------------------

    def login(self, name: str, password: str, address: str) -> User | int | None:
        """The user, or the seconds to wait when rate-limited, or None: refused.

        The attempt is audited, and a failure counted, in one transaction."""
        with self.write() as db:
            wait = login_limits.retry_after(db, name, address, self.limits)
            if wait is not None:
                audit.record(db, name, "login.limited", "user", name,
                             {"address": address, "retry_after_s": wait})
                return wait
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
            # An unknown name costs a hash check too: the time taken does not tell which
            # names exist.
            matches = check_password_hash(row["password_hash"] if row else _decoy_hash(),
                                          password)
            ok = row is not None and matches and not row["disabled"]
            if not ok:
                login_limits.note_failure(db, name, address, self.limits)
                reason = ("unknown user" if row is None else
                          "disabled" if row["disabled"] else "wrong password")
                audit.record(db, name, "login.failure", "user", name,
                             {"address": address, "reason": reason})
                return None
            login_limits.clear_name(db, name)
            audit.record(db, name, "login.success", "user", name, {"address": address})
            return _from_row(row)

    def note_logout(self, name: str) -> None:
        with self.write() as db:
            audit.record(db, name, "logout", "user", name, {})


@functools.cache
def _decoy_hash() -> str:
    """A hash of no one's password, made as every password's is (scrypt)."""
    return generate_password_hash(secrets.token_hex(16))


def _from_row(row: sqlite3.Row) -> User:
    return User(row["name"], row["display_name"], row["role"], bool(row["disabled"]),
                row["epoch"])


def _user(db: sqlite3.Connection, name: str) -> User | None:
    row = db.execute("SELECT name, display_name, role, disabled, epoch FROM users"
                     " WHERE name = ?", (name,)).fetchone()
    return _from_row(row) if row else None


def get_users() -> UserStore:
    return current_app.extensions["users"]


def current_user() -> User | None:
    """The logged-in user of this request, or None (also for a disabled user, or a
    session from before their password or role changed)."""
    if "user" not in g:
        name, epoch = session.get("user"), session.get("epoch")
        user = get_users().get(name) if isinstance(name, str) else None
        g.user = user if user and not user.disabled and user.epoch == epoch else None
    return g.user


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
                headers: dict[str, str] | None = None):
    html = render_template("accounts/login.html", title="登录", next_url=next_url, name=name,
                           error=error, notice=None)
    return html, status, headers or {}


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"), "/")
    if request.method == "GET":
        return _login_page(200, next_url)
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    if not name or not password:
        return _login_page(400, next_url, name, "请输入用户名和密码")
    if len(name) > 100 or len(password) > MAX_PASSWORD_LENGTH:
        return _login_page(401, next_url, "", "用户名或密码不正确")
    outcome = get_users().login(name, password, request.remote_addr or "unknown")
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
    session["epoch"] = outcome.epoch
    return redirect(next_url)


@bp.post("/logout")
def logout():
    user = current_user()
    if user is not None:
        get_users().note_logout(user.name)
    session.clear()
    return redirect(safe_next(request.form.get("next"), "/"))


@bp.get("/api/me")
def me():
    user = current_user()
    return jsonify({"user": user.as_json() if user else None})


@bp.get("/api/csrf")
def csrf_token():
    """A CSRF token for scripts: send it back in the X-CSRFToken header, with the session
    cookie this response sets (the token is tied to the session)."""
    return jsonify({"csrf_token": generate_csrf(), "header": "X-CSRFToken"})


users_cli = AppGroup("users", help="Accounts: the first admin, users, their roles.")


def cli_actor(by: str | None) -> str:
    """Who runs a command, for the audit log: --by, else the operating system's user."""
    if by:
        return by
    try:
        return f"{getpass.getuser()} (cli)"
    except (OSError, KeyError):
        return "cli"


def read_password(password_stdin: bool, password_env: str | None) -> str:
    if password_env:
        if password_env not in os.environ:
            raise click.ClickException(f"the environment variable {password_env} is not set")
        return os.environ[password_env]
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _create(name: str, role: str, display_name: str | None, password_stdin: bool,
            password_env: str | None, by: str | None) -> None:
    try:
        check_name(name)  # before asking for a password
        password = read_password(password_stdin, password_env)
        user = get_users().create(name, password, role, display_name, by=cli_actor(by))
    except ApiError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"created user {user.name} ({user.display_name}, role {user.role})")


PASSWORD_OPTIONS = [
    click.option("--password-stdin", is_flag=True, help="Read the password from standard input."),
    click.option("--password-env", metavar="VAR",
                 help="Read the password from the environment variable VAR (for scripts)."),
    click.option("--by", help="Who creates the user, for the audit log (default: the OS user)."),
    click.option("--display-name", help="The name shown and proposed as inspector, e.g. 张伟."),
]


def password_options(command: Callable) -> Callable:
    for option in reversed(PASSWORD_OPTIONS):
        command = option(command)
    return command


@users_cli.command("create-admin")
@click.argument("name")
@password_options
def create_admin(name: str, display_name: str | None, password_stdin: bool,
                 password_env: str | None, by: str | None) -> None:
    """Create the admin NAME (the first one, say); the password is asked for twice."""
    _create(name, "admin", display_name, password_stdin, password_env, by)


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="inspector", show_default=True)
@password_options
def create_user(name: str, role: str, display_name: str | None, password_stdin: bool,
                password_env: str | None, by: str | None) -> None:
    """Create the user NAME; the password is asked for (or read from stdin or a variable)."""
    _create(name, role, display_name, password_stdin, password_env, by)


@users_cli.command("list")
def list_users() -> None:
    """List the users, their roles and whether they are disabled."""
    for user in get_users().all():
        state = "\tdisabled" if user.disabled else ""
        click.echo(f"{user.name}\t{user.role}\t{user.display_name}{state}")


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
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    limits = login_limits.Limits(
        per_name=int(app.config["LOGIN_MAX_FAILURES_PER_NAME"]),
        per_address=int(app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
        window_s=float(app.config["LOGIN_WINDOW_S"]))
    if "users" in app.extensions:  # PostGIS (layers/stores/opening.py) has set it
        app.extensions["users"].limits = limits
    else:
        app.extensions["users"] = UserStore(Path(app.config["INSPECTIONS_DB"]), limits)
    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
