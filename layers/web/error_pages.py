"""Errors as users meet them: an HTML page in the site's layout for pages, JSON for the API.

Every error answer goes through `error_answer`: under /api and /ogc, and wherever the
client asks for JSON (Accept), the API's one error shape `{"ok": false, "error",
"status"}`; for any other URL a page in the site's layout (templates/error.html) with
the status's Chinese title, the message in Chinese and a way back. Werkzeug's own
English descriptions ("Not Found", "Method Not Allowed") are replaced by Chinese ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from flask import Response, jsonify, render_template, request
from markupsafe import escape

from layers.errors import chinese_part

log = logging.getLogger(__name__)

# Paths whose errors are always JSON: the API, the OGC API and the tile proxy (read by
# scripts and the map, not by people).
JSON_PATHS = ("/api/", "/ogc/", "/tiles/")

# Each status a user may meet: its page title and what it means, in Chinese first.
STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: ("请求有误", "请求的参数或内容有误 (bad request)"),
    401: ("请先登录", "此页面需要登录后使用 (log in first: /login)"),
    403: ("无权访问", "当前账号没有使用此页面的权限,如需开通请联系街道管理员 (forbidden)"),
    404: ("页面不存在", "没有找到这个地址,请检查链接是否完整 (the requested URL was not found)"),
    405: ("不支持此操作", "此地址不支持这种请求方式 (method not allowed)"),
    409: ("操作冲突", "数据已被修改,请刷新后重试 (conflict)"),
    413: ("内容过大", "上传或提交的内容超过了允许的大小 (request entity too large)"),
    415: ("格式不支持", "提交内容的格式不受支持 (unsupported media type)"),
    429: ("请求过于频繁", "请求过于频繁,请稍后再试 (too many requests)"),
    500: ("服务器出错", "服务器内部出错,已记录,请稍后再试或联系管理员 (internal error; it has "
                       "been logged)"),
    503: ("服务暂不可用", "服务暂时不可用,请稍后再试 (service unavailable)"),
}

_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def wants_json() -> bool:
    """Whether this request's errors are JSON: the API, the OGC API, or an Accept that
    prefers JSON."""
    return (request.path.startswith(JSON_PATHS)
            or request.accept_mimetypes.best in ("application/json", "application/geo+json"))


def status_text(status: int) -> tuple[str, str]:
    """The title and the default message of a status (4xx and 5xx without their own)."""
    if status in STATUS_TEXT:
        return STATUS_TEXT[status]
    return STATUS_TEXT[500] if status >= 500 else STATUS_TEXT[400]


def in_chinese(message: str | None, status: int) -> str:
    """`message` when it is Chinese first (Chinese before any English detail in
    parentheses: 「bins 须为…」 is), else the status's Chinese text followed by it
    (werkzeug's English descriptions; any message not written for users)."""
    text = (message or "").strip()
    if text and _CJK.search(text.partition(" (")[0]):
        return text
    default = status_text(status)[1]
    return f"{default}: {text}" if text else default


def error_answer(message: str | None, status: int,
                 headers: Mapping[str, str] | None = None) -> tuple[Response, int]:
    """The answer to an error: JSON or a page, as `wants_json` decides."""
    text = in_chinese(message, status)
    if wants_json():
        response = jsonify({"ok": False, "error": text, "status": status})
    else:
        response = Response(error_page(text, status), mimetype="text/html")
    for name, value in (headers or {}).items():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def error_page(message: str, status: int) -> str:
    """The page: in the site's layout, or (when even that fails, e.g. the database is
    down and the header cannot know the user) a plain page in Chinese with a way back."""
    title, _ = status_text(status)
    shown, detail = chinese_part(message)
    retry = None
    if status == 401:
        retry = request.full_path.rstrip("?") if request.method == "GET" else "/"
    try:
        return render_template("error.html", title=title, status=status, message=shown,
                               detail=detail, login_next=retry)
    except Exception:  # the page must not fail in turn: the plain page follows
        log.exception("the error page of %s could not be rendered", request.path)
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{escape(title)} · 中大槐树街道</title></head><body>"
            f'<h1>{escape(title)}</h1><p role="alert">{escape(shown)}</p>'
            f'<p><a href="/">返回一张图</a></p></body></html>')
