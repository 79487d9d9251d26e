import pytest

from tests.basemaps.tileserver import KEY, FakeTileServer
from tests.conftest import make_app


@pytest.fixture
def tile_server():
    server = FakeTileServer().start()
    yield server
    if server.thread.is_alive():
        server.stop()


@pytest.fixture
def tiles_app(tmp_path, tile_server):
    """An app (embedded store: the proxy does not depend on it) whose basemaps are the
    fake server's, with its own tile cache."""
    return make_app(tmp_path / "db.sqlite", BASEMAPS=tile_server.sources(), OFFICE_KEY=KEY,
                    TILE_CACHE_DIR=tmp_path / "tiles")
