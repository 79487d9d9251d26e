import pytest

from server import create_app
from tests.liveserver import LiveServer, LiveServerProcess

TODAY = "2026-11-25"  # the shipped history is illustrative up to this date
# Tests serve plain HTTP on loopback: the session cookie may not be Secure-only there.
TEST_CONFIG = {"TESTING": True, "TODAY": TODAY, "SESSION_COOKIE_SECURE": False}
PASSWORD = "test-password-1"


def make_app(db_path, **config):
    return create_app({**TEST_CONFIG, "INSPECTIONS_DB": db_path, **config})


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
def app(tmp_path_factory):
    """The app over the shipped geodata and a fresh inspection store."""
    return make_app(tmp_path_factory.mktemp("db") / "inspections.sqlite")


_SESSIONS: dict[tuple[int, str], tuple[str, str]] = {}


def client_as(app, role: str | None):
    """A test client of `app`, logged in as a user of `role` (None: not logged in).
    Each app logs each role in once (POST /login); later clients reuse its session."""
    client = app.test_client()
    if role is not None:
        key = (id(app), role)
        if key not in _SESSIONS:
            log_in(client, f"test-{role}", role)
            _SESSIONS[key] = (client.get_cookie("session").value,
                              client.environ_base["HTTP_X_CSRFTOKEN"])
        cookie, token = _SESSIONS[key]
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
