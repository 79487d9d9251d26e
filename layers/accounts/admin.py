"""The admins' pages: users (/admin/users) and the audit log (/admin/audit, GET /api/audit).

Only the role admin may use these routes (catalogue.ROUTE_GROUPS, enforced by
access.py). Every form carries the CSRF token; every change to a user is one
transaction with its audit row (users.Accounts). Routes stay thin.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from layers.accounts import audit_view
from layers.accounts.sessions import current_user, get_users
from layers.catalogue.entries import ROLES
from layers.errors import ApiError
from layers.records import audit
from layers.records.users import ROLE_LABELS, User

bp = Blueprint("admin", __name__)


def _actor() -> str:
    user = current_user()
    return user.name if user else audit.ANONYMOUS_ACTOR


def _users_page(status: int = 200, error: str | None = None,
               form: dict[str, str] | None = None) -> ResponseReturnValue:
    users: list[User] = get_users().all()
    return render_template("accounts/users.html", title="用户管理", users=users, roles=ROLES,
                           role_labels=ROLE_LABELS, error=error, form=form or {},
                           me=current_user()), status


def _done(message: str) -> ResponseReturnValue:
    flash(message)
    return redirect(url_for("admin.users_page"), 303)


@bp.get("/admin/users")
def users_page() -> ResponseReturnValue:
    return _users_page()


@bp.post("/admin/users")
def create_user() -> ResponseReturnValue:
    form = request.form
    try:
        user = get_users().create(form.get("name", "").strip(), form.get("password", ""),
                                  form.get("role", ""), form.get("display_name"), by=_actor())
    except ApiError as e:
        kept = {k: form.get(k, "") for k in ("name", "display_name", "role")}
        return _users_page(e.status, e.message, kept)
    return _done(f"已创建用户 {user.name}({user.display_name},{user.role_label})")


@bp.post("/admin/users/<name>/role")
def set_role(name: str) -> ResponseReturnValue:
    try:
        user = get_users().set_role(name, request.form.get("role", ""), by=_actor())
    except ApiError as e:
        return _users_page(e.status, e.message)
    return _done(f"{user.name} 的角色已改为{user.role_label}")


@bp.post("/admin/users/<name>/password")
def set_password(name: str) -> ResponseReturnValue:
    try:
        get_users().set_password(name, request.form.get("password", ""), by=_actor())
    except ApiError as e:
        return _users_page(e.status, e.message)
    return _done(f"已重置 {name} 的密码")


@bp.post("/admin/users/<name>/disabled")
def set_disabled(name: str) -> ResponseReturnValue:
    value = request.form.get("disabled")
    if value not in ("0", "1"):
        return _users_page(400, "disabled 必须是 0 或 1 (disabled must be 0 or 1)")
    try:
        user = get_users().set_disabled(name, value == "1", by=_actor())
    except ApiError as e:
        return _users_page(e.status, e.message)
    return _done(f"已{'停用' if user.disabled else '启用'}用户 {user.name}")


@bp.post("/admin/users/<name>/logout")
def end_sessions(name: str) -> ResponseReturnValue:
    """Log a user out on every device (a lost phone, a shared computer)."""
    try:
        ended = get_users().end_sessions(name, by=_actor())
    except ApiError as e:
        return _users_page(e.status, e.message)
    return _done(f"已让 {name} 在所有设备上退出登录(结束 {ended} 个会话)")


def _search(args: Any) -> tuple[audit.AuditQuery, dict[str, Any]]:
    query = audit.parse_query(args)
    return query, get_users().audit_log(query)


@bp.get("/api/audit")
def api_audit() -> ResponseReturnValue:
    query, found = _search(request.args)
    links = {}
    if query.offset + query.limit < found["total"]:
        links["next"] = url_for("admin.api_audit", **query.as_args(), limit=query.limit,
                                offset=query.offset + query.limit)
    if query.offset > 0:
        links["prev"] = url_for("admin.api_audit", **query.as_args(), limit=query.limit,
                                offset=max(query.offset - query.limit, 0))
    return jsonify({**found, "query": query.as_args(), "links": links})


@bp.get("/admin/audit")
def audit_page() -> ResponseReturnValue:
    try:
        query, found = _search(request.args)
        error = None
    except ApiError as e:
        query, error = audit.AuditQuery(), e.message
        found = get_users().audit_log(query)
    pages = {}
    if query.offset + query.limit < found["total"]:
        pages["next"] = url_for("admin.audit_page", **query.as_args(),
                                offset=query.offset + query.limit)
    if query.offset > 0:
        pages["prev"] = url_for("admin.audit_page", **query.as_args(),
                                offset=max(query.offset - query.limit, 0))
    return render_template("accounts/audit.html", title="审计日志", found=found, query=query,
                           rows=audit_view.page_rows(found["entries"]),
                           actions=audit.ACTIONS, pages=pages,
                           error=error), 400 if error else 200


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
