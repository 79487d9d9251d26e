import pytest

from server import create_app


@pytest.fixture(scope="session")
def app():
    """The app over the shipped geodata (loaded once: the data is read-only)."""
    app = create_app({"TESTING": True})
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def store(app):
    return app.extensions["layer_store"]
