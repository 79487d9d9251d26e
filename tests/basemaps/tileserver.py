"""A fake tile server on 127.0.0.1 for the tests: PNG tiles made with Pillow, a count
of the requests, and switches for failing (errors, bodies that are not images)."""

from __future__ import annotations

import io
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.conftest import make_app

KEY = "fake-tile-key-5d1e"


def png_tile(z: int, x: int, y: int, tile_set: str = "img") -> bytes:
    """A 256 x 256 PNG whose colour depends on the tile and its set (so tiles differ)."""
    shade = ord(tile_set[0])
    image = Image.new("RGB", (256, 256), ((x * 37 + shade) % 256, (y * 53) % 256,
                                          (z * 29) % 256))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class FakeTileServer:
    """Serves /<set>/<z>/<x>/<y>.png; `requests` counts the paths asked for (without the
    query), `queries` keeps the query strings. `mode`: "ok", "error" (500), "html" (a
    200 answer that is not an image)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.queries: list[str] = []
        self.mode = "ok"
        self.fail_after: int | None = None  # serve this many tiles, then answer 500
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                with server._lock:
                    server.requests[parts.path] += 1
                    server.queries.append(parts.query)
                    failing = server.fail_after is not None and server.fail_after <= 0
                    if server.fail_after is not None:
                        server.fail_after -= 1
                if server.mode == "error" or failing:
                    self.send_error(500)
                    return
                if server.mode == "html":
                    body, media_type = b"<html>quota exceeded</html>", "text/html"
                else:
                    try:
                        tile_set, z, x, y = (parts.path.strip("/").removesuffix(".png")
                                             .split("/"))
                        body = png_tile(int(z), int(x), int(y), tile_set)
                        media_type = "image/png"
                    except ValueError:
                        self.send_error(404)
                        return
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.request_queue_size = 128  # a page asks for many tiles at once
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FakeTileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port: fetches are refused from now on."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def sources(self, **extra: object) -> list[dict[str, object]]:
        """BASEMAPS for an app: a keyed imagery source with labels, and a plain map."""
        return [
            {"key": "office", "name": "办公室影像", "kind": "imagery",
             "url": self.url + "/img/{z}/{x}/{y}.png?tk={key}",
             "labels_url": self.url + "/cia/{z}/{x}/{y}.png?tk={key}",
             "attribution": "测试影像", "needs_key": True, "key_setting": "OFFICE_KEY",
             **extra},
            {"key": "plain", "name": "办公室矢量", "url": self.url + "/vec/{z}/{x}/{y}.png",
             "attribution": "测试矢量", "max_zoom": 17},
        ]


@pytest.fixture
def tile_server():
    """A fake tile server for one test (stopped after it unless the test stopped it)."""
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
