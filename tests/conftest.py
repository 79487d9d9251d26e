import pytest

from server import create_app
from tests.liveserver import LiveServer, LiveServerProcess

TODAY = "2026-11-25"  # the shipped history is illustrative up to this date


def make_app(db_path, **config):
    return create_app({"TESTING": True, "INSPECTIONS_DB": db_path, "TODAY": TODAY, **config})


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The app over the shipped geodata and a fresh inspection store."""
    return make_app(tmp_path_factory.mktemp("db") / "inspections.sqlite")


@pytest.fixture
def client(app):
    return app.test_client()


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
    with LiveServerProcess({"TESTING": True, "INSPECTIONS_DB": db, "TODAY": TODAY}) as server:
        yield server
