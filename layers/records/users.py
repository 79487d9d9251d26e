"""Users: the model, the checks of names, roles and passwords, hashing, and the rules of
their changes and of logging in, over any store.

`Accounts` is the `UserStore` the app uses, whichever database holds the rows
(`AccountTables`: layers/stores/embedded/users.py, layers/stores/postgis/users.py).
Passwords are kept as werkzeug hashes (scrypt). Every change is one transaction
with its audit row; changing a user's password or role, or disabling them, bumps
their session epoch and so ends their sessions (layers/accounts/sessions.py).
A login is rate-limited (login_limits.py) and audited, success and failure, in
the transaction that counts the failure.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.security import check_password_hash, generate_password_hash

from layers.catalogue.entries import ROLES
from layers.catalogue.usertext import refuse_markup
from layers.errors import BadRequest, Conflict, NotFound
from layers.records import audit, login_limits

if TYPE_CHECKING:
    from layers.records.audit import AuditQuery
    from layers.stores.interfaces import AccountTables, AccountWrites, AuditSink

USER_NAME = re.compile(r"[A-Za-z0-9_.-]{2,32}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200
# A login lasts PERMANENT_SESSION_LIFETIME after its last request (the cookie); its row on
# the server is forgotten this long after the login, whatever the use (log in again).
SESSION_MAX_AGE_S = 30 * 24 * 3600
session_clock = time.time  # tests replace it to move time on
ROLE_LABELS = {"viewer": "查看", "inspector": "巡查员", "leader": "领导", "admin": "管理员"}


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


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@functools.cache
def _decoy_hash() -> str:
    """A hash of no one's password, made as every password's is (scrypt)."""
    return hash_password(secrets.token_hex(16))


class Accounts:
    """The users, their changes (each audited by `by`) and logins, over one store's tables."""

    def __init__(self, tables: AccountTables, limits: login_limits.Limits | None = None):
        self.tables = tables
        self.limits = limits or login_limits.Limits()

    # --- reads ----------------------------------------------------------------------

    def get(self, name: str) -> User | None:
        with self.tables.reading() as db:
            return db.user(name)

    def all(self) -> list[User]:
        with self.tables.reading() as db:
            return db.users()

    def audit_log(self, query: AuditQuery) -> dict[str, Any]:
        """A page of the audit log (audit.search)."""
        with self.tables.reading() as db:
            return audit.search(db, query)

    @contextmanager
    def audit_transaction(self) -> Iterator[AuditSink]:
        """A transaction for the audit row of a change made outside the store (a layer
        file swapped in, a reload): committed when the block ends, rolled back on error."""
        with self.tables.writing(lock=False) as db:
            yield db

    # --- changes ------------------------------------------------------------------------

    def create(self, name: str, password: str, role: str, display_name: str | None = None,
               by: str | None = None) -> User:
        check_name(name)
        check_role(role)
        check_password(password)
        display = (display_name or name).strip()
        check_display_name(display)
        with self.tables.writing() as db:
            if not db.insert_user(name, display, role, hash_password(password)):
                raise Conflict(f"用户名已存在 (a user named {name!r} exists already)")
            audit.record(db, by, "user.create", "user", name,
                         {"display_name": display, "role": role})
        return User(name, display, role)

    def set_role(self, name: str, role: str, by: str) -> User:
        check_role(role)
        with self.tables.writing() as db:
            user = _existing(db, name)
            if user.role == role:
                return user
            if user.role == "admin" and not user.disabled and db.active_admins() <= 1:
                raise Conflict("至少要保留一个启用的管理员 (the last admin keeps the role admin)")
            db.set_role(name, role)
            audit.record(db, by, "user.role", "user", name, {"from": user.role, "to": role})
            return _existing(db, name)

    def set_password(self, name: str, password: str, by: str) -> None:
        check_password(password)
        with self.tables.writing() as db:
            _existing(db, name)
            db.set_password_hash(name, hash_password(password))
            audit.record(db, by, "user.password", "user", name, {})

    def set_disabled(self, name: str, disabled: bool, by: str) -> User:
        with self.tables.writing() as db:
            user = _existing(db, name)
            if user.disabled == disabled:
                return user
            if disabled and user.role == "admin" and db.active_admins() <= 1:
                raise Conflict("不能停用最后一个管理员 (the last admin cannot be disabled)")
            db.set_disabled(name, disabled)
            audit.record(db, by, "user.disable" if disabled else "user.enable", "user", name,
                         {})
            return _existing(db, name)

    # --- logging in ---------------------------------------------------------------

    def login(self, name: str, password: str, address: str, device: str | None = None
              ) -> User | int | None:
        """The user, or the seconds to wait when rate-limited, or None: refused.
        `device`: the id of this user's device cookie, when the browser has one.

        The attempt is audited, and a failure counted, in one transaction; refused
        attempts are summarised, one audit row per name and address (or device) within
        the window, with their count."""
        where = {"address": login_limits.source(address, device)}
        window = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.limits.window_s)
        with self.tables.writing() as db:
            wait = login_limits.retry_after(db, name, address, self.limits, device)
            if wait is not None:
                audit.summarise(db, name, "login.limited", login_limits.key(name),
                                {**where, "retry_after_s": wait}, "address", window)
                return wait
            user = db.user(name)
            stored_hash = db.password_hash(name) if user is not None else None
            # An unknown name costs a hash check too: the time taken does not tell which
            # names exist.
            matches = check_password_hash(stored_hash or _decoy_hash(), password)
            if user is None or not matches or user.disabled:
                login_limits.note_failure(db, name, address, self.limits, device)
                reason = ("unknown user" if user is None else
                          "disabled" if user.disabled else "wrong password")
                audit.summarise(db, name, "login.failure", login_limits.key(name),
                                {**where, "reason": reason}, "address", window)
                return None
            login_limits.clear(db, name, address, device)
            audit.record(db, name, "login.success", "user", name, where)
            return user

    # --- sessions -------------------------------------------------------------------

    def open_session(self, name: str) -> str:
        """A new server-side session of `name` (after a login): its id, for the cookie.
        Sessions older than SESSION_MAX_AGE_S are forgotten on the way."""
        sid = secrets.token_urlsafe(32)
        now = session_clock()
        with self.tables.writing(lock=False) as db:
            db.end_sessions(name, started_before=now - SESSION_MAX_AGE_S)
            db.add_session(sid, name, now)
        return sid

    def session_user(self, sid: str, name: str) -> User | None:
        """The user of a live session `sid` of `name`; None once it has been ended."""
        with self.tables.reading() as db:
            return db.user(name) if db.session_name(sid) == name else None

    def end_session(self, sid: str, name: str) -> None:
        """Log out: this session ends on the server (its cookie no longer works)."""
        with self.tables.writing(lock=False) as db:
            db.end_session(sid)
            audit.record(db, name, "logout", "user", name, {})

    def end_sessions(self, name: str, by: str) -> int:
        """Log `name` out everywhere (every device); how many sessions ended."""
        with self.tables.writing(lock=False) as db:
            _existing(db, name)
            ended = db.end_sessions(name)
            audit.record(db, by, "user.logout_all", "user", name, {"sessions": ended})
        return ended


def _existing(db: AccountWrites, name: str) -> User:
    user = db.user(name)
    if user is None:
        raise NotFound(f"没有用户 {name!r} (no user named {name!r})")
    return user
