"""A corpus of hostile inputs thrown at every route of the app, present and future.

The routes come from `app.url_map`, the field names from the layer catalogue and
the SQLite store's own tables, so routes, fields and tables added later are
covered without touching this file. The requests are sent as a logged-in admin,
who may use every route, so that they reach each route's own checks (recording
an inspection, changing a user ...) rather than stop at the refusal a visitor
gets; only /logout, which ends that session, is walked as a visitor (as are the
other login routes). For every request:

- the status is below 500;
- under /api an error is the JSON `{"ok": false, "error": ..., "status": ...}`;
- an HTML answer does not echo the hostile script unescaped;
- every answer carries the Content-Security-Policy;
and after each family of requests nothing is stored: the row count of every
table of the SQLite store and every file of the data directory are unchanged.

Every body here is invalid as a whole: wherever a route reads a field it finds
something hostile (a script in *every* text field at once, a list where a value
belongs, a self-intersecting geometry ...), so no well-behaved route stores it.
Each body goes with every method a route declares; with GET only the bodies that
could trip a route reading one (too large, not UTF-8, malformed JSON, not an object)
are sent, as rendering every page (PDFs included) for each of the rest would only
slow the walk. POST, PUT, PATCH and DELETE where a route does not declare them get
the bodies checked before routing (`UNDECLARED_BODIES`).
Script in one text field of an otherwise valid write is refused too (400, nothing
stored: `test_script_in_one_text_field_of_a_valid_write_is_refused`); layer data
from files may hold such text, and pages show it as text (tests/browser).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import request
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from layers.catalogue.entries import CATALOGUE
from tests.conftest import csrf_token, log_in, make_app

GEODATA = Path(__file__).resolve().parents[2] / "geodata"
SCRIPT = '<script>alert("hs-xss")</script>'
IMG_SCRIPT = '<img src=x onerror=alert("hs-xss")>'
STATE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# Text put in place of each path parameter.
ODD_PATH_TEXT = [
    SCRIPT, IMG_SCRIPT, "../../../etc/passwd", "..", ".", "%00", "\x00", "NaN", "Infinity",
    "-1", "0", "9" * 400, "1e999", "x" * 2000, "名称 含 空格", "' OR '1'='1", "\u202e\ufeff",
    "a/b", "{}", "null",
]

# Query parameter names that routes here, or an OGC API, plausibly read.
QUERY_NAMES = [
    "bbox", "bbox-crs", "crs", "lon", "lat", "lng", "x", "y", "point", "coords", "radius",
    "radius_m", "distance", "r", "limit", "offset", "page", "per_page", "q", "search", "layer",
    "layers", "kind", "type", "status", "community", "grid", "date", "from", "to", "since",
    "until", "datetime", "id", "ids", "venue", "venue_id", "format", "f", "sort", "order",
    "fields", "properties", "next", "role", "user",
]
QUERY_VALUES = [
    "NaN", "nan", "Infinity", "-Infinity", "inf", "1e309", "-1e309", "1e999999", "9" * 5000,
    "-1", "0", "", " ", "null", "[]", "{}", "true", SCRIPT, IMG_SCRIPT, "../../etc/passwd",
    "36.67,116.96", "36.65,116.95,36.69,116.98", "1,2,3", "a,b,c,d", "181,91,182,92",
    "2026-02-30", "名称", "\x00", "0x10", "1_000",
]

# Values put in every field of a JSON object at once.
FIELD_VALUES: list[Any] = [
    [], {}, True, None, -1, 10**30, 1e308, -1e308, "", " ", SCRIPT, IMG_SCRIPT, "NaN",
    "Infinity", "-Infinity", "1e999", "36.67,116.96", [36.67, 116.96], [999, 999],
    "2026-02-30", "9999-99-99", {"$gt": ""}, [[[[[[[[]]]]]]]],
]
COMMON_FIELDS = [
    "id", "lon", "lat", "lng", "x", "y", "point", "coordinates", "geometry", "radius", "bbox",
    "layer", "name", "title", "note", "description", "status", "date", "kind", "venue_id",
    "inspection_id", "result", "hazards", "username", "password", "role", "csrf_token",
    "next", "properties", "features", "type",
]

_POINT = [116.962, 36.668]  # inside the sub-district
GEOMETRIES: dict[str, Any] = {
    "self-intersecting polygon": {"type": "Polygon", "coordinates": [[
        [116.960, 36.660], [116.965, 36.665], [116.965, 36.660], [116.960, 36.665],
        [116.960, 36.660]]]},
    "unclosed ring": {"type": "Polygon", "coordinates": [[
        [116.960, 36.660], [116.965, 36.660], [116.965, 36.665], [116.960, 36.665]]]},
    "ring of two points": {"type": "Polygon", "coordinates": [[_POINT, _POINT]]},
    "empty coordinates": {"type": "Polygon", "coordinates": []},
    "polygon with point coordinates": {"type": "Polygon", "coordinates": _POINT},
    "swapped axes": {"type": "Point", "coordinates": [36.668, 116.962]},
    "NaN as text": {"type": "Point", "coordinates": ["NaN", "Infinity"]},
    "huge numbers": {"type": "Point", "coordinates": [1e308, -1e308]},
    "out of range": {"type": "Point", "coordinates": [181, 91]},
    "null island": {"type": "Point", "coordinates": [0, 0]},
    "outside Jinan (Beijing)": {"type": "Point", "coordinates": [116.397, 39.909]},
    "one ordinate": {"type": "Point", "coordinates": [116.962]},
    "nested point": {"type": "Point", "coordinates": [_POINT]},
    "null coordinates": {"type": "Point", "coordinates": [None, None]},
    "unknown type": {"type": "Circle", "coordinates": _POINT, "radius": 50},
    "no type": {"coordinates": _POINT},
    "line of one point": {"type": "LineString", "coordinates": [_POINT]},
    "overlapping multipolygon": {"type": "MultiPolygon", "coordinates": [
        [[[116.96, 36.66], [116.965, 36.66], [116.965, 36.665], [116.96, 36.66]]],
        [[[116.96, 36.66], [116.965, 36.66], [116.965, 36.665], [116.96, 36.66]]]]},
    "nested collections": {"type": "GeometryCollection", "geometries": [
        {"type": "GeometryCollection", "geometries": [{"type": "GeometryCollection"}]}]},
    "20000 vertices": {"type": "LineString", "coordinates": [
        [116.96 + i * 1e-7, 36.66] for i in range(20000)]},
}


@dataclass(frozen=True)
class Body:
    label: str
    data: bytes
    content_type: str = "application/json"
    expect: int | None = None  # the exact status every route must give, if any
    with_get: bool = False  # sent with GET too (see the docstring)


@dataclass
class Request:
    label: str
    method: str
    url: str
    body: Body | None = None
    environ: dict[str, str] = field(default_factory=dict)


# -- the app and what it stores -------------------------------------------------

@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, store_backend):
    """An app over its own copy of the data, so that no route can harm the shipped files."""
    root = tmp_path_factory.mktemp("hostile")
    data_dir = root / "geodata"
    shutil.copytree(GEODATA, data_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    # An upload's own limit, small enough for a body over it to be sent quickly.
    return make_app(root / "inspections.sqlite", DATA_DIR=data_dir,
                    IMPORT_MAX_CONTENT_LENGTH=2 * 1024 * 1024)


def db_path(app) -> Path:
    return Path(app.config["INSPECTIONS_DB"])


def query(app, sql: str) -> list[tuple]:
    """Rows of a read on the app's store: SQLite, or PostgreSQL with DATABASE_URL."""
    if "database" in app.extensions:
        with app.extensions["database"].transaction() as db:
            return [tuple(r) for r in db.execute(sql)]
    with closing(sqlite3.connect(db_path(app))) as db:
        return [tuple(r) for r in db.execute(sql)]


def tables(app) -> dict[str, list[dict[str, Any]]]:
    """Each table of the store with its columns ({"name", "pk"})."""
    if "database" not in app.extensions:
        names = [r[0] for r in query(app, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                          " AND name NOT LIKE 'sqlite_%'")]
        return {name: [{"name": c[1], "pk": bool(c[5])}
                       for c in query(app, f'PRAGMA table_info("{name}")')] for name in names}
    columns = query(app, "SELECT c.table_name, c.column_name, k.column_name IS NOT NULL"
                         " FROM information_schema.columns c"
                         " JOIN information_schema.tables t USING (table_schema, table_name)"
                         " LEFT JOIN information_schema.table_constraints p"
                         "  ON p.table_schema = c.table_schema AND p.table_name = c.table_name"
                         "  AND p.constraint_type = 'PRIMARY KEY'"
                         " LEFT JOIN information_schema.key_column_usage k"
                         "  ON k.constraint_name = p.constraint_name"
                         "  AND k.table_schema = c.table_schema AND k.column_name = c.column_name"
                         " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
                         "  AND c.table_name <> 'spatial_ref_sys'"
                         " ORDER BY c.table_name, c.ordinal_position")
    found: dict[str, list[dict[str, Any]]] = {}
    for table, column, pk in columns:
        found.setdefault(table, []).append({"name": column, "pk": pk})
    return found


# A well-formed, valid feature sent to the OGC API's edit routes (Part 4) as the admin
# is a legitimate edit even when its text is a script (shown escaped: `judge` checks
# every page): the layers' versions and their audit rows are not part of the invariant.
EDIT_TABLES = ("layer_versions", "layer_heads")


def stored_state(app) -> dict[str, Any]:
    """Row counts of every table (but the layers' versions and the audit rows of edits)
    and a digest of every data file."""
    counts = {name: query(app, f'SELECT count(*) FROM "{name}"')[0][0] for name in tables(app)
              if name not in EDIT_TABLES and not name.startswith("layer_")}
    counts["audit_log"] = query(app, "SELECT count(*) FROM audit_log WHERE action <>"
                                     " 'layer.edit'")[0][0]
    data_dir = Path(app.config["DATA_DIR"])
    files = {str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(data_dir.rglob("*")) if p.is_file()}
    return {"rows": counts, "files": files}


def field_names(app) -> list[str]:
    names = dict.fromkeys(COMMON_FIELDS)
    for layer in CATALOGUE:
        names.update(dict.fromkeys(f.name for f in layer.fields))
    for columns in tables(app).values():
        names.update(dict.fromkeys(c["name"] for c in columns))
    return list(names)


# -- building requests ------------------------------------------------------------

def fill(rule: Rule, values: dict[str, str]) -> str:
    """The rule's URL with each parameter replaced by its (percent-encoded) text."""
    url = rule.rule
    for name, converter in rule._converters.items():
        safe = "/" if type(converter).__name__ == "PathConverter" else ""
        url = _replace_argument(url, name, quote(values[name], safe=safe))
    return url


def _replace_argument(url: str, name: str, text: str) -> str:
    start = url.index("<")
    while True:
        end = url.index(">", start)
        if url[start + 1:end].split(":")[-1] == name:
            return url[:start] + text + url[end + 1:]
        start = url.index("<", end)


def candidate_values(app) -> list[dict[str, str]]:
    """Path values likely to name something real: layer names, feature and record ids."""
    store = app.extensions["layer_store"]
    pairs = []
    for loaded in store:
        first_id = str(loaded.features[0]["id"]) if len(loaded) else "1"
        pairs.append((loaded.name, first_id))
    for name, columns in tables(app).items():
        key = next((c["name"] for c in columns if c["pk"]), "rowid")
        rows = query(app, f'SELECT "{key}" FROM "{name}" LIMIT 1')
        if rows:
            pairs.append((str(rows[0][0]), str(rows[0][0])))
    pairs.append(("1", "1"))
    return [{"first": a, "second": b} for a, b in pairs]


def plausible_url(app, client, rule: Rule, candidates: list[dict[str, str]]) -> str:
    """The rule filled with the first candidate that a GET finds (or the first one)."""
    if not rule.arguments:
        return rule.rule
    args = sorted(rule.arguments, key=rule.rule.index)
    options = []
    for candidate in candidates:
        options.append({a: candidate["first"] for a in args})  # the same text everywhere
        options.append({a: candidate["first"] if i == 0 else candidate["second"]
                        for i, a in enumerate(args)})  # e.g. <layer>/<feature id>
    urls = list(dict.fromkeys(fill(rule, o) for o in options))
    if "GET" in rule.methods:
        for url in urls:
            with client.get(url) as response:
                if response.status_code < 400:
                    return url
    return urls[0]


def json_body(label: str, value: Any) -> Body:
    return Body(label, json.dumps(value, ensure_ascii=False).encode())


def over_the_limit(limit: int) -> Body:
    return Body("over the limit", b"[" + b"0," * (limit // 2) + b"0]", expect=413, with_get=True)


def route_body_limit(app, rule: Rule) -> int:
    """MAX_CONTENT_LENGTH, or the larger limit an upload route declares (hardening.body_limit)."""
    key = getattr(app.view_functions[rule.endpoint], "body_limit_key", "MAX_CONTENT_LENGTH")
    return app.config[key]


def bodies(app) -> Iterator[Body]:
    limit = app.config["MAX_CONTENT_LENGTH"]
    names = field_names(app)
    yield over_the_limit(limit)
    for content_type in ("application/json", "application/x-www-form-urlencoded",
                         "text/plain", "application/geo+json"):
        yield Body(f"not UTF-8 ({content_type})", b'{"note": "\xff\xfe\xc3("}', content_type,
                   expect=400, with_get=True)
    yield Body("not UTF-8 (percent-encoded form)", b"note=%FF%FE",
               "application/x-www-form-urlencoded", expect=400, with_get=True)
    for text in ['{"a":', "{'a': 1}", "[1, 2", "", "\x00", '{"a": 1}}', '{"a" 1}', "NaN",
                 '{"lon": NaN, "lat": Infinity}', '{"lon": -Infinity}', '{"lon": 1e400}',
                 "[" * 100_000, '{"n": ' + "9" * 5000 + "}", '{"a": 1, "a": [2]}']:
        yield Body(f"malformed JSON {text[:20]!r}", text.encode(), with_get=True)
    for value in ([], "text", 42, None, True, [{}], {}):
        yield Body(f"JSON {value!r} instead of an object", json.dumps(value).encode(),
                   with_get=True)
    text_len = max(10, limit // (8 * len(names)))
    for value in [*FIELD_VALUES, "x" * text_len]:
        yield json_body(f"every field = {str(value)[:30]!r}", {n: value for n in names})
        yield Body(f"form, every field = {str(value)[:30]!r}",
                   urlencode({n: json.dumps(value) if not isinstance(value, str) else value
                              for n in names}).encode(), "application/x-www-form-urlencoded")
    scripted = {n: SCRIPT for n in names}
    for label, geometry in GEOMETRIES.items():
        feature = {"type": "Feature", "id": SCRIPT, "geometry": geometry, "properties": scripted}
        yield json_body(f"geometry: {label}", geometry)
        yield json_body(f"feature: {label}", feature)
        yield json_body(f"collection: {label}", {"type": "FeatureCollection",
                                                 "features": [feature]})
        yield json_body(f"fields + geometry: {label}", {**scripted, "geometry": geometry})
    boundary = "hs-boundary"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                 f"filename=\"../../{SCRIPT}.geojson\"\r\nContent-Type: application/geo+json"
                 f"\r\n\r\n{json.dumps(GEOMETRIES['self-intersecting polygon'])}\r\n"
                 f"--{boundary}--\r\n").encode()
    yield Body("multipart upload, hostile file name", multipart,
               f"multipart/form-data; boundary={boundary}")
    yield Body("multipart, broken", b"--x\r\nnot a part", "multipart/form-data; boundary=x")


def rules(app) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


# Walked as a visitor, not as the admin: logging out (here or everywhere, or an admin
# ending a user's sessions) ends sessions (and is audited); the other login routes answer
# a visitor otherwise than a user.
SESSION_ENDING = ("auth.logout", "auth.logout_everywhere", "admin.end_sessions")
VISITOR_ROUTES = (*SESSION_ENDING, "auth.login", "auth.me", "auth.csrf_token")


def admin_rules(app) -> list[Rule]:
    return [r for r in rules(app) if r.endpoint not in SESSION_ENDING]


def visitor_rules(app) -> list[Rule]:
    return [r for r in rules(app) if r.endpoint in VISITOR_ROUTES]


def admin_client(app):
    """A client logged in as an admin (who may use every route), with the session's CSRF
    token in the header X-CSRFToken, as the pages send it: JSON bodies get past the CSRF
    check to the routes (form bodies carry a hostile csrf_token field and do not)."""
    return log_in(app.test_client(), "hs-admin", "admin")


def visitor_client(app):
    """A client nobody is logged in to, with its session's CSRF token in the header."""
    client = app.test_client()
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def path_requests(app, rule: Rule) -> Iterator[Request]:
    methods = sorted(rule.methods | {"POST"})
    if rule.arguments:
        for text in ODD_PATH_TEXT:
            url = fill(rule, dict.fromkeys(rule.arguments, text))
            for method in methods:
                yield Request(f"path text {text[:20]!r}", method, url)
    # Bytes that are not UTF-8, as a real server puts them in PATH_INFO.
    raw = fill(rule, dict.fromkeys(rule.arguments, "x")) + "\xff"
    yield Request("path not UTF-8", "GET", "/", Body("none", b"", expect=400),
                  environ={"PATH_INFO": raw})


def query_requests(url: str, rule: Rule) -> Iterator[Request]:
    methods = sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))
    queries = [(f"every query parameter = {v[:20]!r}", urlencode(dict.fromkeys(QUERY_NAMES, v)))
               for v in QUERY_VALUES]
    queries += [
        ("swapped axes", "bbox=36.65,116.95,36.69,116.98&lon=36.67&lat=116.96&x=36.67&y=116.96"
                         "&point=36.67,116.96&coords=36.67,116.96"),
        ("repeated parameters", "bbox=1&bbox=2,3&lon=1&lon=x&limit=1&limit=-1"),
        ("parameters without values", "bbox&lon&lat&limit&&=&==="),
        ("long value", urlencode({"q": "x" * 50_000, "bbox": "1," * 20_000})),
    ]
    for (label, query), method in itertools.product(queries, methods):
        yield Request(label, method, f"{url}?{query}")
    yield Request("query not UTF-8", "GET", f"{url}?bbox=%FF%FE&q=%C3%28",
                  Body("none", b"", expect=400))


# The bodies a method a route does not declare gets: those checked before routing (size,
# encoding) and the first malformed one. Routing refuses such a method (405) after the
# app's own before-request checks, which every declared POST also meets with the whole
# corpus; the rest of the corpus would only repeat those checks route after route.
UNDECLARED_BODIES = 8


def body_requests(app, url: str, rule: Rule, corpus: list[Body]) -> Iterator[Request]:
    declared = [m for m in sorted(rule.methods) if m not in ("HEAD", "OPTIONS")]
    limit = route_body_limit(app, rule)
    if limit != app.config["MAX_CONTENT_LENGTH"]:  # an upload: over its own limit
        corpus = [over_the_limit(limit) if b.label == "over the limit" else b for b in corpus]
    for body, method in itertools.product(corpus, declared):
        if method != "GET" or body.with_get:
            yield Request(body.label, method, url, body)
    for method in STATE_METHODS:  # methods a route does not declare: 405 (or 413/400 first)
        if method not in rule.methods:
            for body in corpus[:UNDECLARED_BODIES]:
                yield Request(body.label, method, url, body)


# -- sending and judging ---------------------------------------------------------------

def problems_of(client, requests: Iterable[Request]) -> Iterator[str]:
    for r in requests:
        kwargs: dict[str, Any] = {"method": r.method, "environ_overrides": r.environ}
        if r.body is not None and r.body.data:
            kwargs.update(data=r.body.data, content_type=r.body.content_type)
        with client.open(r.url, **kwargs) as response:
            problem = judge(r, response)
        if problem:
            yield f"{r.method} {r.environ.get('PATH_INFO', r.url)[:120]} [{r.label}]: {problem}"


def judge(r: Request, response) -> str | None:
    status = response.status_code
    data = response.get_data()
    if status >= 500:
        return f"{status} {data[:300]!r}"
    expect = r.body.expect if r.body else None
    if expect is not None and status != expect:
        return f"{status}, expected {expect}: {data[:200]!r}"
    if "Content-Security-Policy" not in response.headers:
        return "no Content-Security-Policy header"
    path = r.environ.get("PATH_INFO", r.url)
    if path.startswith("/api/") and status >= 400 and r.method != "HEAD":
        try:
            body = json.loads(data)
        except ValueError:
            return f"{status} error that is not JSON: {data[:200]!r}"
        if not (isinstance(body, dict) and body.get("ok") is False
                and body.get("status") == status and isinstance(body.get("error"), str)
                and body["error"]):
            return f"{status} error not in the API's shape: {data[:200]!r}"
    if response.mimetype == "text/html" and any(s.encode() in data for s in (SCRIPT, IMG_SCRIPT)):
        return "hostile script echoed unescaped in HTML"
    return None


def run_family(app, client, requests: Iterable[Request]) -> tuple[list[str], int]:
    before = stored_state(app)
    sent = []
    problems = list(problems_of(client, _counting(requests, sent)))
    after = stored_state(app)
    if after != before:
        problems.append(f"stored state changed: {before} -> {after}")
    return problems, len(sent)


def _counting(requests: Iterable[Request], sent: list[Request]) -> Iterator[Request]:
    for r in requests:
        sent.append(r)
        yield r


def report(problems: list[str]) -> str:
    return f"{len(problems)} problems:\n" + "\n".join(problems[:60])


# -- the tests ---------------------------------------------------------------------------

def test_the_walk_covers_every_route(hostile_app):
    paths = {r.rule for r in rules(hostile_app)}
    assert {"/", "/api/layers", "/api/layers/<name>", "/static/<path:filename>"} <= paths
    walked = {r.endpoint for r in admin_rules(hostile_app) + visitor_rules(hostile_app)}
    assert walked == {r.endpoint for r in rules(hostile_app)}


def test_odd_path_parameters(hostile_app):
    client = admin_client(hostile_app)
    requests = itertools.chain.from_iterable(path_requests(hostile_app, r)
                                             for r in admin_rules(hostile_app))
    problems, sent = run_family(hostile_app, client, requests)
    assert sent > 100 and not problems, report(problems)


def test_hostile_query_strings(hostile_app):
    client = admin_client(hostile_app)
    candidates = candidate_values(hostile_app)

    def requests():
        for rule in admin_rules(hostile_app):
            if not rule.rule.startswith("/static/"):
                yield from query_requests(plausible_url(hostile_app, client, rule, candidates),
                                          rule)

    problems, sent = run_family(hostile_app, client, requests())
    assert sent > 100 and not problems, report(problems)


def test_hostile_bodies(hostile_app):
    client = admin_client(hostile_app)
    candidates = candidate_values(hostile_app)
    corpus = list(bodies(hostile_app))

    def requests():
        for rule in admin_rules(hostile_app):
            url = plausible_url(hostile_app, client, rule, candidates)
            yield from body_requests(hostile_app, url, rule, corpus)

    problems, sent = run_family(hostile_app, client, requests())
    assert sent > 500 and not problems, report(problems)


def test_hostile_bodies_and_paths_on_the_login_routes_as_a_visitor(hostile_app):
    client = visitor_client(hostile_app)
    corpus = list(bodies(hostile_app))

    def requests():
        for rule in visitor_rules(hostile_app):
            yield from path_requests(hostile_app, rule)
            yield from query_requests(rule.rule, rule)
            yield from body_requests(hostile_app, rule.rule, rule, corpus)

    problems, sent = run_family(hostile_app, client, requests())
    assert sent > 100 and not problems, report(problems)


def test_plausible_urls_reach_the_routes(hostile_app):
    """The walk reaches past routing: a layer route is filled with a real layer name."""
    client = admin_client(hostile_app)
    rule = next(r for r in rules(hostile_app) if r.rule == "/api/layers/<name>")
    url = plausible_url(hostile_app, client, rule, candidate_values(hostile_app))
    assert client.get(url).status_code == 200


def test_the_walk_reaches_the_routes_behind_a_login(hostile_app):
    """As the admin, a write gets to the route's own validation (400, not 401/403) and the
    leaders' and admins' pages answer; a visitor is refused them."""
    client = admin_client(hostile_app)
    body = client.post("/api/inspections", json={}).get_json()
    assert body["status"] == 400 and "venue" in body["error"]
    assert client.post("/admin/users", json={}).status_code == 400  # the form's own check
    for path in ("/admin/users", "/api/audit", "/api/parcels", "/dashboard"):
        assert client.get(path).status_code == 200, path
        assert visitor_client(hostile_app).get(path).status_code == 401, path


VALID_WRITES = {  # path -> a valid body (JSON, or a form for /admin/users)
    "/api/inspections": {"venue_id": "V0001", "inspector": "张伟", "result": "合格",
                         "note": "店主在场"},
    "/api/inspections#hazard": {"venue_id": "V0001", "inspector": "张伟", "result": "发现隐患",
                                "hazards": [{"category": "消防安全", "description": "灭火器过期",
                                             "deadline": "2026-12-10"}]},
    "/api/rechecks": {"venue_id": "V0001", "inspector": "张伟", "note": "已复查", "closed": []},
    "/admin/users": {"name": "hs-new", "display_name": "王丽", "role": "viewer",
                     "password": "hs-password-1"},
}
TEXT_FIELDS = [("/api/inspections", ("inspector",)), ("/api/inspections", ("note",)),
               ("/api/inspections#hazard", ("hazards", 0, "description")),
               ("/api/rechecks", ("inspector",)), ("/api/rechecks", ("note",)),
               ("/admin/users", ("display_name",))]


def with_text(body: Any, where: tuple, text: str) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = f"{target[where[-1]]} {text}"
    return body


def send_write(client, path: str, body: dict[str, Any]):
    path = path.split("#")[0]
    if path == "/admin/users":
        return client.post(path, data={**body, "csrf_token": csrf_token(client)})
    return client.post(path, json=body)


@pytest.mark.parametrize("text", [SCRIPT, IMG_SCRIPT, "</textarea>", "<!-- x -->"])
@pytest.mark.parametrize(("path", "where"), TEXT_FIELDS)
def test_script_in_one_text_field_of_a_valid_write_is_refused(hostile_app, path, where, text):
    client = admin_client(hostile_app)
    before = stored_state(hostile_app)
    response = send_write(client, path, with_text(VALID_WRITES[path], where, text))
    assert response.status_code == 400
    assert "HTML" in response.get_data(as_text=True)
    assert stored_state(hostile_app) == before


def test_the_same_writes_without_script_are_stored(tmp_path):
    """The writes above are valid but for the script: without it they are stored, and a
    "<" that starts no markup is plain text."""
    app = make_app(tmp_path / "inspections.sqlite")
    client = admin_client(app)
    for path, body in VALID_WRITES.items():
        if path == "/api/inspections":
            body = with_text(body, ("note",), "<小卖部> 灭火器<2个 a < b")
        if path == "/api/rechecks":  # the hazard found above is being rectified
            found = client.get("/api/venues/V0001/history").get_json()["inspections"][0]
            hazard_id = found["hazards"][0]["id"]
            assert client.post(f"/api/hazards/{hazard_id}/status",
                               json={"status": "整改中"}).status_code == 201
            body = {**body, "closed": [hazard_id]}
        response = send_write(client, path, body)
        assert response.status_code in (201, 303), (path, response.get_data(as_text=True))
    note = client.get("/api/venues/V0001/history").get_json()["inspections"]
    assert any(i["note"] == "店主在场 <小卖部> 灭火器<2个 a < b" for i in note)


def test_the_judge_catches_what_it_should():
    """The checks themselves can fail: a 500, a non-JSON API error, an echoed script."""
    r = Request("x", "GET", "/api/x")
    ok_headers = {"Content-Security-Policy": "default-src 'self'"}
    assert judge(r, Response("boom", 500, headers=ok_headers))
    assert judge(r, Response("<p>no</p>", 400, headers=ok_headers))
    assert judge(r, Response('{"error": "x"}', 400, headers=ok_headers))
    assert judge(r, Response('{"ok": false, "error": "x", "status": 400}', 400)) \
        == "no Content-Security-Policy header"
    assert judge(r, Response('{"ok": false, "error": "x", "status": 400}', 400,
                             headers=ok_headers)) is None
    page = Request("x", "GET", "/page")
    assert judge(page, Response(f"<p>{SCRIPT}</p>", 404, mimetype="text/html",
                                headers=ok_headers))
    assert judge(Request("x", "POST", "/api/x", Body("b", b"x", expect=413)),
                 Response('{"ok": false, "error": "x", "status": 400}', 400,
                          headers=ok_headers))


def test_the_walk_catches_a_careless_route(tmp_path):
    """A route that stores whatever it is sent, or fails on a bad number, is found out,
    also where only an admin may use it."""
    app = make_app(tmp_path / "db.sqlite")

    @app.post("/api/careless", endpoint="admin.careless_post")  # declared for admins only
    def careless_post():
        request.get_json(silent=True)
        with closing(sqlite3.connect(db_path(app))) as db, db:
            db.execute("INSERT INTO inspections (id, venue_id, date, inspector, result)"
                       " VALUES (?, 'V0001', '2026-11-25', 'x', '合格')", (str(uuid.uuid4()),))
        return {"ok": True}

    @app.get("/api/careless/<int:n>", endpoint="api.careless_get")
    def careless_get(n):
        return {"lon": float(request.args.get("lon", "1")) + n}

    client = admin_client(app)
    candidates = candidate_values(app)
    corpus = list(bodies(app))
    post_rule = next(r for r in rules(app) if r.rule == "/api/careless")
    get_rule = next(r for r in rules(app) if r.rule == "/api/careless/<int:n>")

    problems, _ = run_family(app, client, body_requests(app, "/api/careless", post_rule, corpus))
    assert any(p.startswith("stored state changed") for p in problems)
    url = plausible_url(app, client, get_rule, candidates)
    problems, _ = run_family(app, client, query_requests(url, get_rule))
    assert any(" 500 " in p or ": 500" in p for p in problems), problems[:3]
