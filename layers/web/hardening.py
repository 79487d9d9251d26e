"""Request hardening that every route gets, present and future, in one place.

`init_app(app)` (called by create_app) adds:

- a body size limit (`MAX_CONTENT_LENGTH`, or the larger one a route declares with
  `@body_limit(...)`, an upload): a larger declared body is refused with 413
  before any route sees it, whether or not the route reads a body;
- strict UTF-8: a path, query string or text body (JSON, form, text/*) that is
  not valid UTF-8 is refused with 400 instead of being read with U+FFFD;
- strict JSON: `NaN`, `Infinity` and numbers too large for a float (`1e400`)
  are not JSON (RFC 8259); a body holding them is refused with 400, so no
  route can receive a non-finite number from JSON (nor a RecursionError from
  `[[[[...`);
- security headers on every response, with a Content-Security-Policy that
  allows scripts only from the app itself or carrying the response's nonce.

Settings (server.py DEFAULTS): MAX_CONTENT_LENGTH, CSP_TILE_SOURCES (besides the
configured basemaps that pages load directly, layers/basemaps/). Error
bodies are the app's usual JSON under /api (see `web.register_error_handlers`).

Scripts and the CSP nonce: template source is trusted (data only arrives
through variables), so a Jinja preprocessor gives every literal `<script` tag in
a template the nonce; templates need nothing special. HTML made by folium and
placed with `|safe` is not template source: place it with `|nonced` instead,
which adds the nonce to its `<script>` tags (folium's output is ours, layer
data is never inlined into it). Inline styles remain allowed (`style-src
'unsafe-inline'`): folium writes `<style>` blocks and Leaflet and the legend use
style attributes, which nonces cannot cover; styles cannot run script.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from jinja2.ext import Extension
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from layers.basemaps.routes import page_origins

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}

F = TypeVar("F", bound=Callable[..., Any])

TEXT_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")


def init_app(app: Flask) -> None:
    strict = StrictJSONProvider(app)
    strict.ensure_ascii = app.json.ensure_ascii  # type: ignore[attr-defined]
    app.json = strict
    app.jinja_env.add_extension(ScriptNonceExtension)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonced"] = nonced
    app.before_request(refuse_malformed_request)
    app.after_request(add_security_headers)


# -- requests -----------------------------------------------------------------

def body_limit(config_key: str) -> Callable[[F], F]:
    """Give a route (an upload) the body limit `app.config[config_key]` instead of
    MAX_CONTENT_LENGTH; form parsing then reads up to that limit too."""
    def mark(view: F) -> F:
        view.body_limit_key = config_key  # type: ignore[attr-defined]
        return view
    return mark


def refuse_malformed_request() -> None:
    """Runs before routing errors and every route: refuse what no route should read."""
    view = current_app.view_functions.get(request.endpoint or "")
    key = getattr(view, "body_limit_key", None)
    if key is not None:
        request.max_content_length = int(current_app.config[key])
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"the request body is larger than {limit} bytes")
    # PATH_INFO is already percent-decoded, as bytes in a latin-1 str (PEP 3333).
    if not is_utf8(request.environ.get("PATH_INFO", "").encode("latin-1", "replace")):
        raise BadRequest("the request path is not valid UTF-8")
    if not is_utf8(unquote_to_bytes(request.query_string.replace(b"+", b" "))):
        raise BadRequest("the query string is not valid UTF-8")
    if _is_text_body(request.mimetype):
        body = request.get_data(cache=True)  # cached: routes and form parsing read it again
        if request.mimetype == "application/x-www-form-urlencoded":
            body = unquote_to_bytes(body.replace(b"+", b" "))
        if not is_utf8(body):
            raise BadRequest("the request body is not valid UTF-8")


def _is_text_body(mimetype: str) -> bool:
    return (mimetype in TEXT_BODY_TYPES or mimetype.startswith("text/")
            or mimetype.endswith("+json"))


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """JSON as RFC 8259 has it: no NaN / Infinity, no number that overflows a float.
    Nesting deep enough to exhaust the parser's recursion is a ValueError too.
    Flask turns the ValueError into 400 Bad Request in `request.get_json()`.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_constant", _refuse_constant)
        kwargs.setdefault("parse_float", _finite_float)
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


# -- responses ----------------------------------------------------------------

def csp_nonce() -> str:
    """This response's script nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str | None, tile_sources: tuple[str, ...]) -> str:
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    images = " ".join(("'self'", "data:", *tile_sources))
    return "; ".join((
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ))


def add_security_headers(response: Response) -> Response:
    nonce = g.get("csp_nonce")
    tiles = page_origins() + tuple(current_app.config["CSP_TILE_SOURCES"])
    response.headers["Content-Security-Policy"] = content_security_policy(nonce, tiles)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


_SCRIPT_TAG = re.compile(r"<script(?![^>]*\bnonce=)(?=[\s>])", re.IGNORECASE)


def nonced(html: str) -> Markup:
    """Trusted HTML (folium's own output) with this response's nonce on its scripts."""
    return Markup(_SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', str(html)))


class ScriptNonceExtension(Extension):
    """Gives every `<script` tag written in a template's source the response's nonce."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _SCRIPT_TAG.sub('<script nonce="{{ csp_nonce() }}"', source)
