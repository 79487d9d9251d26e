import os
from pathlib import Path

import pytest

from server import create_app
from tests import pgcluster
from tests.liveserver import LiveServer, LiveServerProcess

# Fixtures shared across packages: the fake tile server (basemaps, browser tests).
pytest_plugins = ["tests.basemaps.tileserver"]

GEODATA = Path(__file__).resolve().parents[1] / "geodata"
TODAY = "2026-11-25"  # the shipped history is illustrative up to this date
# Tests serve plain HTTP on loopback: the session cookie may not be Secure-only there.
# The per-client budget is off: every test client is 127.0.0.1 (tests/web/test_budget.py
# turns it on).
TEST_CONFIG = {"TESTING": True, "TODAY": TODAY, "SESSION_COOKIE_SECURE": False,
               "CLIENT_RATE": 0}
PASSWORD = "test-password-1"

# Every test that uses the `app` fixture, or asks for `store_backend`, runs once per store:
# the embedded one (SQLite + in-process STRtrees) and PostGIS (a throwaway cluster).
STORE_BACKENDS = ("sqlite", "postgis")
_state = {"backend": "sqlite", "cluster": None, "templates": {}, "apps": [], "urls": {}}


def _shipped(data_dir, pattern: str) -> bool:
    """Whether DATA_DIR's files of `pattern` are the shipped ones (a template holds them)."""
    if data_dir is None:
        return True
    for path in GEODATA.glob(pattern):
        other = Path(data_dir) / path.name
        if not other.exists() or other.read_bytes() != path.read_bytes():
            return False
    return True


def _template(data_dir) -> str | None:
    """The template database a new PostGIS test database is cloned from: the shipped
    layers and records, the shipped layers alone (the records then seed from DATA_DIR's
    own CSV files), or none (an empty database that DATA_DIR's files seed)."""
    if not _shipped(data_dir, "*.geojson"):
        return None
    return _state["templates"]["records" if _shipped(data_dir, "*.csv") else "layers"]


def make_app(db_path, **config):
    """An app over a fresh inspection store: a SQLite file at db_path, or (while a test
    runs against PostGIS) a database cloned from the template with the layers in (an
    empty one, which DATA_DIR's files seed, when they are not the shipped ones), one
    per db_path (so that a second app on the same path is a restart on the same store)."""
    if _state["backend"] == "postgis" and "DATABASE_URL" not in config:
        urls = _state["urls"]
        if str(db_path) not in urls:
            urls[str(db_path)] = _state["cluster"].create_database(
                _template(config.get("DATA_DIR")))
        config = {"DATABASE_URL": urls[str(db_path)], "DATABASE_POOL_SIZE": 4, **config}
    app = create_app({**TEST_CONFIG, "INSPECTIONS_DB": db_path, **config})
    if "database" in app.extensions:
        _state["apps"].append(app)
    return app


def close_apps(since=0):
    while len(_state["apps"]) > since:
        _state["apps"].pop().extensions["database"].close()


def csrf_token(client) -> str:
    """The CSRF token of the client's session (as a script gets it: GET /api/csrf)."""
    return client.get("/api/csrf").get_json()["csrf_token"]


def csrf_headers(client) -> dict[str, str]:
    return {"X-CSRFToken": csrf_token(client)}


def ensure_user(app, name: str, role: str, password: str = PASSWORD) -> None:
    users = app.extensions["users"]
    if users.get(name) is None:
        users.create(name, password, role, by="tests")


def log_in(client, name: str, role: str | None = None, password: str = PASSWORD):
    """Log the test client in through POST /login (with its CSRF token); the user is made
    first when a role is given. Returns the client, which then sends the session cookie
    and, in the header X-CSRFToken, the new session's CSRF token (as the pages' script
    does), so that a test's writes need nothing more."""
    if role is not None:
        ensure_user(client.application, name, role, password)
    response = client.post("/login", data={"name": name, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


@pytest.fixture(scope="session")
def postgis_cluster(tmp_path_factory):
    """A PostgreSQL 15 + PostGIS cluster for this session, and two template databases
    holding the schema and the shipped layers, one with the shipped records too (each
    app gets a clone of one: `_template`)."""
    problem = pgcluster.missing()
    if problem:
        if os.environ.get("HUAISHU_SKIP_POSTGIS") == "1":
            pytest.skip(problem)
        pytest.fail(problem, pytrace=False)
    cluster = pgcluster.PgCluster().start()
    try:
        for kind in ("records", "layers"):
            template_url = cluster.create_database()
            app = create_app({"TESTING": True, "TODAY": TODAY, "DATABASE_URL": template_url,
                              "INSPECTIONS_DB": tmp_path_factory.mktemp("template") / "unused"})
            with app.extensions["database"].transaction() as db:
                db.execute("TRUNCATE users, audit_log, login_failures")
                if kind == "layers":  # the records: seeded per clone from its DATA_DIR
                    db.execute("TRUNCATE photos, inspection_corrections, inspection_positions,"
                               " hazard_events, hazards, inspections")
            app.extensions["database"].close()
            _state["templates"][kind] = template_url.rsplit("/", 1)[1]
        _state["cluster"] = cluster
        yield cluster
    finally:
        close_apps()
        _state["cluster"] = None
        cluster.stop()


@pytest.fixture(scope="session", params=STORE_BACKENDS)
def store_backend(request):
    """Which store the apps of this test use: "sqlite" or "postgis"."""
    if request.param == "postgis":
        request.getfixturevalue("postgis_cluster")
    _state["backend"] = request.param
    return request.param


@pytest.fixture
def postgis_only(postgis_cluster):
    """A test of what only the PostGIS store has (a connection pool, row locks): the apps
    it makes are built over PostGIS, and it runs once (not skipped on SQLite)."""
    return "postgis"


@pytest.fixture(autouse=True)
def _apps_use_the_store_backend(request):
    """make_app in a test (or its fixtures) builds its app over the test's store; the
    PostGIS apps it made are closed after it."""
    if "postgis_only" in request.fixturenames:
        _state["backend"] = request.getfixturevalue("postgis_only")
    elif "store_backend" in request.fixturenames:
        _state["backend"] = request.getfixturevalue("store_backend")
    else:
        _state["backend"] = "sqlite"
    made = len(_state["apps"])
    yield
    close_apps(made)
    _state["backend"] = "sqlite"


@pytest.fixture(scope="session")
def app(tmp_path_factory, store_backend):
    """The app over the shipped geodata and a fresh inspection store (once per store)."""
    return make_app(tmp_path_factory.mktemp("db") / "inspections.sqlite")


def client_as(app, role: str | None):
    """A test client of `app`, logged in as a user of `role` (None: not logged in).
    Each app logs each role in once (POST /login); later clients reuse its session
    (kept on the app: an id() would be reused by a later app)."""
    client = app.test_client()
    if role is not None:
        sessions = app.extensions.setdefault("test_sessions", {})
        if role not in sessions:
            log_in(client, f"test-{role}", role)
            sessions[role] = (client.get_cookie("session").value,
                              client.environ_base["HTTP_X_CSRFTOKEN"])
        cookie, token = sessions[role]
        client.set_cookie("session", cookie)
        client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return client


@pytest.fixture
def client(app, request):
    """A test client; logged in with the role a test module names in CLIENT_ROLE (e.g. the
    leaders' pages: CLIENT_ROLE = "leader"), else anonymous."""
    return client_as(app, getattr(request.module, "CLIENT_ROLE", None))


@pytest.fixture(scope="session")
def store(app):
    return app.extensions["layer_store"]


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("live-db") / "inspections.sqlite")


@pytest.fixture(scope="session")
def live_server(live_app):
    """The app over the shipped data on a loopback port (browser and GDAL tests)."""
    with LiveServer(live_app) as server:
        yield server


@pytest.fixture(scope="session")
def live_server_process(tmp_path_factory):
    """The app over the shipped data, served by a child process (GDAL tests)."""
    db = tmp_path_factory.mktemp("live-process-db") / "inspections.sqlite"
    with LiveServerProcess({**TEST_CONFIG, "INSPECTIONS_DB": db}) as server:
        yield server


def pytest_collection_modifyitems(items):
    """schemathesis names each operation's test `test_x[GET /api/...]`, but under pytest 9
    its node id stays `...::test_x` for every operation: pytest-xdist, which schedules and
    reports by node id, then ran one operation per test function. Each gets its own id."""
    from _pytest.nodeid import coerce_node_id

    for item in items:
        if type(item).__name__ == "SchemathesisFunction" and "[" in item.name \
                and not item.nodeid.endswith("]"):
            item._id = coerce_node_id(f"{item.parent.nodeid}::{item.name}")
