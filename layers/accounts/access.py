"""Who may do what: the catalogue's declarations, enforced on every request.

`layers/catalogue/entries.py` declares which roles may see each layer (`Layer.roles`)
and use each group of routes (`ROUTE_GROUPS`, by Flask endpoint). Here one
`before_request` hook, for every route present and future:

1. finds the route's group; a route that no group declares is refused (403)
   and logged, so forgetting a declaration closes a route rather than opens it;
2. checks the request's roles: a logged-in user has their role; nobody logged
   in is `anonymous` plus ANONYMOUS_ROLE (config: "viewer" by default, so the
   public map works; "none" to require a login for everything but /login).
   The role admin may use everything. Refused: 401 when nobody is logged in
   (pages show the login form), 403 for a user of another role;
3. checks the CSRF token (Flask-WTF) of every POST, PUT, PATCH and DELETE but
   the READ_ONLY_POSTS: the form field `csrf_token` or the header X-CSRFToken.
   A missing or wrong token is 400 (JSON under /api and /ogc);
4. notes the roles for `web.get_store()`, which then serves only the layers
   those roles may see.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from layers.accounts.sessions import (
    BasicUnauthorized,
    basic_auth_applies,
    current_user,
    is_ogc_edit,
)
from layers.catalogue.entries import ANONYMOUS, READ_ONLY_POSTS, ROLES, ROUTE_GROUPS, RouteGroup
from layers.errors import BadRequest, Forbidden, Unauthorized
from layers.web.context import error_response
from layers.web.error_pages import error_answer, wants_json

log = logging.getLogger(__name__)

ANONYMOUS_ROLES = ("viewer", "none")  # what ANONYMOUS_ROLE may be
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CSRF_MESSAGE = ("页面已过期或缺少安全校验,请刷新页面后重试 (CSRF token missing or invalid "
                "({reason}): get one from GET /api/csrf (with the session cookie it sets) and "
                "send it in the X-CSRFToken header, or as the form field csrf_token)")

csrf = CSRFProtect()

_EXACT = {e: group for group in ROUTE_GROUPS for e in group.endpoints if not e.endswith(".*")}
_BLUEPRINTS = {e[:-2]: group for group in ROUTE_GROUPS for e in group.endpoints
               if e.endswith(".*")}


def route_group(endpoint: str) -> RouteGroup | None:
    """The group that declares `endpoint`: its own entry, else its blueprint's."""
    if endpoint in _EXACT:
        return _EXACT[endpoint]
    blueprint = endpoint.rpartition(".")[0]
    return _BLUEPRINTS.get(blueprint) if blueprint else None


def anonymous_roles() -> frozenset[str]:
    role = current_app.config.get("ANONYMOUS_ROLE") or "none"
    return frozenset({ANONYMOUS} | ({role} if role in ROLES else set()))


def request_roles() -> frozenset[str]:
    """The roles of this request: the user's, or those of anonymous visitors."""
    user = current_user()
    return frozenset({user.role}) if user else anonymous_roles()


def may(group: RouteGroup | None, roles: frozenset[str]) -> bool:
    return group is not None and ("admin" in roles or bool(group.roles & roles))


def may_use(endpoint: str) -> bool:
    """Whether this request's user may use `endpoint` (templates: the header's links)."""
    return may(route_group(endpoint), request_roles())


def check_request() -> Any:
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route: routing's own 404/405 follows
    group = route_group(endpoint)
    if group is not None and ANONYMOUS in group.roles:  # open to all: no need to ask who
        return _check_csrf(endpoint)
    roles = request_roles()
    if group is None:
        log.error("refused %s %s: endpoint %s is declared in no ROUTE_GROUPS entry",
                  request.method, request.path, endpoint)
    if not may(group, roles):
        return refuse(group)
    g.roles = roles
    return _check_csrf(endpoint)


def _check_csrf(endpoint: str) -> None:
    if basic_auth_applies():
        return  # no cookie: the credentials come with the request (JSON bodies only)
    if request.method in UNSAFE_METHODS and endpoint not in READ_ONLY_POSTS:
        if request.mimetype == "multipart/form-data" and None in request.form:
            # a part whose name does not parse: Flask-WTF's token lookup would fail on it
            raise BadRequest("表单中有无法识别的字段名 (a multipart part has no readable name)")
        csrf.protect()


def refuse(group: RouteGroup | None) -> Any:
    user = current_user()
    what = group.title if group else "此页面"
    if user is None and is_ogc_edit():  # QGIS, OWSLib: Basic credentials will do
        raise BasicUnauthorized(f"请先登录:{what}需要管理员账号 (an edit needs an admin: send "
                                "HTTP Basic credentials or log in (/login))")
    if wants_json():
        if user is None:
            raise Unauthorized(f"请先登录:{what}需要相应权限 (log in first (/login): "
                               f"{request.path} needs a role ({_roles_text(group)}))")
        raise Forbidden(f"当前账号({user.display_name},{user.role_label})没有使用「{what}」的权限 "
                        f"({user.name} is {user.role}; {request.path} needs the role "
                        f"{_roles_text(group)})")
    if user is None:
        next_url = request.full_path.rstrip("?") if request.method == "GET" else "/"
        return render_template("accounts/login.html", title="登录", next_url=next_url, error=None,
                               notice=f"请先登录:{what}需要相应权限。", name=""), 401
    return error_answer(f"当前账号({user.display_name},{user.role_label})没有使用「{what}」"
                        "的权限。如需开通,请联系街道管理员。", 403)


def _roles_text(group: RouteGroup | None) -> str:
    if group is None:
        return "none: this route is not declared"
    return " or ".join(r for r in (*ROLES,) if r in group.roles) or "admin"


def csrf_failed(e: CSRFError) -> Any:
    reason = e.description or "bad token"
    if wants_json():
        return error_response(CSRF_MESSAGE.format(reason=reason.rstrip(".")), 400)
    if request.endpoint == "auth.login":
        return render_template("accounts/login.html", title="登录", next_url="/", name="",
                               notice=None, error="页面已过期,请重新输入用户名和密码后登录。"), 400
    return render_template("message.html", title="请求已失效", heading="请求已失效",
                           message="页面已过期或请求缺少安全校验(CSRF),请返回上一页刷新后重试。"
                           ), 400


def init_app(app: Flask) -> None:
    role = app.config.get("ANONYMOUS_ROLE")
    if (role or "none") not in ANONYMOUS_ROLES:
        raise ValueError(f"ANONYMOUS_ROLE must be one of {', '.join(ANONYMOUS_ROLES)}, "
                         f"not {role!r}")
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # check_request calls protect()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a token lives as long as the session
    csrf.init_app(app)
    app.before_request(check_request)
    app.register_error_handler(CSRFError, csrf_failed)
    app.jinja_env.globals["may_use"] = may_use
    app.jinja_env.globals["current_user"] = current_user
