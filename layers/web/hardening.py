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
  allows scripts only from the app itself or carrying the response's nonce;
  `Cache-Control: no-store` on what is private (the admins' pages, /api/me,
  /api/csrf, /api/audit, login and logout, and every answer to a logged-in user);
- the client's address: behind a proxy of TRUSTED_PROXIES (addresses or networks),
  the address the proxy says it served (X-Forwarded-For), else the connection's
  (`ClientAddress`, a WSGI middleware); the login limits, the per-client budget
  and the audit log all see that address;
- the server's own name: a request whose Host is not trusted (loopback, the host
  of EXTERNAL_URL, ALLOWED_HOSTS) is refused with 400; with EXTERNAL_URL set,
  every link and redirect the app makes starts with it, whatever Host a request
  carried (`ExternalURL`, a WSGI middleware).

Settings (server.py DEFAULTS): MAX_CONTENT_LENGTH, CSP_TILE_SOURCES (besides the
configured basemaps that pages load directly, layers/basemaps/), EXTERNAL_URL,
ALLOWED_HOSTS, TRUSTED_PROXIES. Error bodies are the app's usual JSON under /api (see
`web.register_error_handlers`).

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

import contextlib
import ipaddress
import math
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask, Response, current_app, g, request, session
from flask.json.provider import DefaultJSONProvider
from jinja2.ext import Extension
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from layers.basemaps.routes import page_origins
from layers.web import health

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}

F = TypeVar("F", bound=Callable[..., Any])

TEXT_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# Paths whose answers are private whoever asks (see `add_security_headers`).
PRIVATE_PATHS = ("/admin", "/api/me", "/api/csrf", "/api/audit", "/login", "/logout")


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ClientAddress(app.wsgi_app, proxies)  # type: ignore[method-assign]
    external = app.config.get("EXTERNAL_URL")
    if external:
        app.wsgi_app = ExternalURL(app.wsgi_app, external)  # type: ignore[method-assign]
    app.extensions["trusted_hosts"] = trusted_hosts(external, app.config["ALLOWED_HOSTS"])
    strict = StrictJSONProvider(app)
    strict.ensure_ascii = app.json.ensure_ascii  # type: ignore[attr-defined]
    app.json = strict
    app.jinja_env.add_extension(ScriptNonceExtension)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonced"] = nonced
    app.before_request(refuse_untrusted_host)
    app.before_request(refuse_malformed_request)
    app.after_request(add_security_headers)


# -- the client's address and the server's own name ------------------------------

class ClientAddress:
    """WSGI middleware: REMOTE_ADDR is the client's address when the request came through
    a trusted proxy: the right-most address of X-Forwarded-For that is not a trusted
    proxy itself (a client can write anything to the left of what its proxy appends)."""

    def __init__(self, app: Callable[..., Any], trusted: Iterable[str]):
        self.app = app
        try:
            self.trusted = tuple(ipaddress.ip_network(t.strip(), strict=False)
                                 for t in trusted)
        except ValueError as e:
            raise ValueError(f"TRUSTED_PROXIES: {e}") from None

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded and self.is_trusted(peer):
            environ["huaishu.proxy_addr"] = peer
            for address in reversed([a.strip() for a in forwarded.split(",")]):
                if not self.is_trusted(address):
                    with contextlib.suppress(ValueError):  # not an address: keep the proxy's
                        environ["REMOTE_ADDR"] = str(ipaddress.ip_address(address))
                    break
        return self.app(environ, start_response)


def trusted_hosts(external_url: str | None, configured: Iterable[str]) -> tuple[str, ...]:
    """The host names requests may carry: loopback, EXTERNAL_URL's, ALLOWED_HOSTS."""
    hosts = [*LOOPBACK_HOSTS, *configured]
    if external_url:
        hosts.append(urlsplit(external_url).hostname or "")
    return tuple(host.lower() for host in hosts if host)


class ExternalURL:
    """WSGI middleware: the request as EXTERNAL_URL names the service (scheme, host and
    port), so that every link and redirect starts with it, not with the Host header."""

    def __init__(self, app: Callable[..., Any], external_url: str):
        parts = urlsplit(external_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or \
                parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"EXTERNAL_URL must be scheme://host[:port], not {external_url!r}")
        self.app, self.scheme, self.host = app, parts.scheme, parts.netloc

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["huaishu.request_host"] = environ.get("HTTP_HOST", "")
        environ["wsgi.url_scheme"] = self.scheme
        environ["HTTP_HOST"] = self.host
        return self.app(environ, start_response)


def host_name(host: str) -> str:
    """The name of a Host header without its port: `[::1]:8080` is `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refuse_untrusted_host() -> None:
    """400 for a Host the service does not answer to (links must never carry it). A name
    of ALLOWED_HOSTS that starts with a dot allows its subdomains."""
    if request.path in health.PATHS:  # a load balancer probes by address
        return
    host = request.environ.get("huaishu.request_host", request.host)
    name = host_name(host)
    trusted = current_app.extensions["trusted_hosts"]
    if not name or not any(name == t or (t.startswith(".") and name.endswith(t))
                           for t in trusted):
        raise BadRequest(f"主机名 {name[:100]} 不是本服务的地址 (untrusted Host; the operator "
                         "sets HUAISHU_EXTERNAL_URL or HUAISHU_ALLOWED_HOSTS)")


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
        raise RequestEntityTooLarge(f"请求内容过大,最多 {limit:,} 字节 (the request body is "
                                    f"larger than {limit} bytes)")
    # PATH_INFO is already percent-decoded, as bytes in a latin-1 str (PEP 3333).
    if not is_utf8(request.environ.get("PATH_INFO", "").encode("latin-1", "replace")):
        raise BadRequest("请求路径不是有效的 UTF-8 (the request path is not valid UTF-8)")
    if not is_utf8(unquote_to_bytes(request.query_string.replace(b"+", b" "))):
        raise BadRequest("查询参数不是有效的 UTF-8 (the query string is not valid UTF-8)")
    if _is_text_body(request.mimetype):
        body = request.get_data(cache=True)  # cached: routes and form parsing read it again
        if request.mimetype == "application/x-www-form-urlencoded":
            body = unquote_to_bytes(body.replace(b"+", b" "))
        if not is_utf8(body):
            raise BadRequest("请求内容不是有效的 UTF-8 (the request body is not valid UTF-8)")


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
    # blob: the photos chosen on /inspect, shown before they are sent (object URLs)
    images = " ".join(("'self'", "data:", "blob:", *tile_sources))
    return "; ".join((
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        "connect-src 'self'",
        "worker-src 'self'",  # /inspect's service worker (/sw.js), nothing else
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
    if "Cache-Control" not in response.headers and (
            request.path.startswith(PRIVATE_PATHS) or session.get("user")):
        response.headers["Cache-Control"] = "no-store"
    return response


_SCRIPT_TAG = re.compile(r"<script(?![^>]*\bnonce=)(?=[\s>])", re.IGNORECASE)


def nonced(html: str) -> Markup:
    """Trusted HTML (folium's own output) with this response's nonce on its scripts."""
    return Markup(_SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', str(html)))


class ScriptNonceExtension(Extension):
    """Gives every `<script` tag written in a template's source the response's nonce."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _SCRIPT_TAG.sub('<script nonce="{{ csp_nonce() }}"', source)
