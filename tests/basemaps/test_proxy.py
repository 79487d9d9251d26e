"""The tile proxy against the fake tile server: cache, key, refusals, failures, limits."""

import os
import time

import pytest

from layers.basemaps import proxy as proxy_module
from layers.basemaps.area import TileArea, lonlat_to_tile
from layers.basemaps.cache import TileCache, image_type
from layers.basemaps.routes import tile_area
from layers.web.ratelimit import TokenBuckets
from tests.basemaps.tileserver import KEY, png_tile
from tests.conftest import make_app

CENTRE = (116.965, 36.668)  # inside the sub-district


def centre_tile(z=15):
    return (z, *lonlat_to_tile(*CENTRE, z))


def get(client, layer_id, z, x, y):
    return client.get(f"/tiles/{layer_id}/{z}/{x}/{y}")


def test_a_tile_is_fetched_once_then_served_from_the_cache(tiles_app, tile_server):
    client = tiles_app.test_client()
    z, x, y = centre_tile()
    first = get(client, "office", z, x, y)
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert first.data == png_tile(z, x, y) and first.headers["X-Tile-Cache"] == "miss"
    again = get(client, "office", z, x, y)
    assert again.data == first.data and again.headers["X-Tile-Cache"] == "hit"
    assert tile_server.requests == {f"/img/{z}/{x}/{y}.png": 1}
    labels = get(client, "office-labels", z, x, y)
    assert labels.status_code == 200 and tile_server.requests[f"/cia/{z}/{x}/{y}.png"] == 1
    assert (tiles_app.config["TILE_CACHE_DIR"] / "office" / str(z) / str(x) / f"{y}.tile"
            ).read_bytes() == first.data


def test_the_key_reaches_the_source_and_no_page_or_header(tiles_app, tile_server):
    client = tiles_app.test_client()
    z, x, y = centre_tile()
    response = get(client, "office", z, x, y)
    assert tile_server.queries == [f"tk={KEY}"]  # added on the server
    assert KEY not in str(response.headers)
    for path in ("/", "/inspect", "/print?basemap=office", "/api/layers", "/ogc/api"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert KEY not in page.get_data(as_text=True) and KEY not in str(page.headers), path
    assert '"/tiles/office-labels/{z}/{x}/{y}"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("path", "status", "text"), [
    ("/tiles/unknown/15/0/0", 404, "未配置的底图"),
    ("/tiles/osm/15/0/0", 404, "未配置的底图"),  # not among this app's sources
    ("/tiles/plain-labels/15/0/0", 404, "未配置的底图"),  # plain has no labels
    ("/tiles/office/15/1.5/0", 400, "须为非负整数"),
    ("/tiles/office/15/-1/0", 400, "须为非负整数"),
    ("/tiles/office/z/0/0", 400, "须为非负整数"),
    ("/tiles/office/9/421/195", 400, "缩放级别 9"),
    ("/tiles/office/19/0/0", 400, "缩放级别 19"),
    ("/tiles/plain/18/0/0", 400, "缩放级别 18"),  # its own max_zoom is 17
    ("/tiles/office/15/0/0", 400, "不在允许的范围"),
    ("/tiles/office/15/99999999/0", 400, "不在允许的范围"),
])
def test_requests_outside_what_is_allowed_are_refused_without_a_fetch(tiles_app, tile_server,
                                                                      path, status, text):
    response = tiles_app.test_client().get(path)
    assert response.status_code == status and text in response.get_json()["error"]
    assert tile_server.total == 0


def test_the_allowed_area_is_the_sub_district_and_its_margin(tiles_app):
    with tiles_app.app_context():
        area = tile_area()
    boundary = tiles_app.extensions["layer_store"].get("boundary").bbox
    west, south, east, north = area.bbox
    # 2 km on every side: about 0.0224° of longitude and 0.018° of latitude at 36.7°N
    assert boundary[0] - west == pytest.approx(0.0224, abs=0.001)
    assert north - boundary[3] == pytest.approx(0.018, abs=0.001)
    assert (area.min_zoom, area.max_zoom) == (10, 18)
    x0, y0, x1, y1 = area.tile_range(18)
    assert area.allows(18, x0, y0) and area.allows(18, x1, y1)
    assert not area.allows(18, x0 - 1, y0) and not area.allows(18, x1, y1 + 1)


def test_a_configured_area_replaces_the_sub_district(tmp_path, tile_server):
    app = make_app(tmp_path / "db.sqlite", BASEMAPS=tile_server.sources(), OFFICE_KEY=KEY,
                   TILE_CACHE_DIR=tmp_path / "tiles", TILE_AREA=(117.0, 36.0, 117.01, 36.01),
                   TILE_ZOOMS=(12, 14))
    client = app.test_client()
    assert get(client, "plain", *centre_tile(14)).status_code == 400
    assert get(client, "plain", 14, *lonlat_to_tile(117.005, 36.005, 14)).status_code == 200


@pytest.mark.parametrize("mode", ["error", "html"])
def test_source_errors_and_bodies_that_are_not_images_are_not_cached(tiles_app, tile_server,
                                                                     mode):
    client = tiles_app.test_client()
    tile_server.mode = mode
    z, x, y = centre_tile()
    response = get(client, "office", z, x, y)
    assert response.status_code == 502 and "底图服务暂时无法访问" in response.get_json()["error"]
    assert not (tiles_app.config["TILE_CACHE_DIR"] / "office").exists()
    tile_server.mode = "ok"
    assert get(client, "office", z, x, y).headers["X-Tile-Cache"] == "miss"


def test_a_cached_tile_is_served_when_the_source_is_down_even_when_old(tiles_app, tile_server):
    client = tiles_app.test_client()
    z, x, y = centre_tile()
    assert get(client, "office", z, x, y).status_code == 200
    tile_server.stop()
    assert get(client, "office", z, x, y).headers["X-Tile-Cache"] == "hit"
    path = tiles_app.config["TILE_CACHE_DIR"] / "office" / str(z) / str(x) / f"{y}.tile"
    old = time.time() - tiles_app.config["TILE_CACHE_MAX_AGE_S"] - 60
    os.utime(path, (old, old))
    stale = get(client, "office", z, x, y)
    assert stale.status_code == 200 and stale.headers["X-Tile-Cache"] == "stale"
    assert stale.data == png_tile(z, x, y)
    missing = get(client, "office", z, x + 1, y)
    assert missing.status_code == 502


def test_an_expired_tile_is_fetched_again(tiles_app, tile_server):
    client = tiles_app.test_client()
    z, x, y = centre_tile()
    get(client, "plain", z, x, y)
    path = tiles_app.config["TILE_CACHE_DIR"] / "plain" / str(z) / str(x) / f"{y}.tile"
    old = time.time() - tiles_app.config["TILE_CACHE_MAX_AGE_S"] - 60
    os.utime(path, (old, old))
    assert get(client, "plain", z, x, y).headers["X-Tile-Cache"] == "miss"
    assert tile_server.requests[f"/vec/{z}/{x}/{y}.png"] == 2
    assert time.time() - path.stat().st_mtime < 60


def test_a_full_cache_evicts_the_oldest_tiles_and_every_request_succeeds(tmp_path,
                                                                        tile_server):
    tile_bytes = len(png_tile(*centre_tile()))
    app = make_app(tmp_path / "db.sqlite", BASEMAPS=tile_server.sources(), OFFICE_KEY=KEY,
                   TILE_CACHE_DIR=tmp_path / "tiles", TILE_CACHE_MAX_BYTES=tile_bytes * 5)
    client = app.test_client()
    z, x, y = centre_tile()
    for n in range(12):
        tx, ty = x + (n % 4) - 2, y + n // 4 - 1
        assert get(client, "plain", z, tx, ty).status_code == 200
        path = tmp_path / "tiles" / "plain" / str(z) / str(tx) / f"{ty}.tile"
        if path.exists():  # a distinct age per tile (filesystem times can be coarse)
            os.utime(path, (time.time() - 1000 + n, time.time() - 1000 + n))
    cache = app.extensions["tile_proxy"].cache
    assert cache.total_bytes() <= tile_bytes * 5
    assert (tmp_path / "tiles" / "plain" / str(z) / str(x + 1) / f"{y + 1}.tile").exists()  # last
    assert not (tmp_path / "tiles" / "plain" / str(z) / str(x - 2) / f"{y - 1}.tile").exists()


def test_a_cache_that_cannot_be_written_still_answers(tmp_path, tile_server):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    app = make_app(tmp_path / "db.sqlite", BASEMAPS=tile_server.sources(), OFFICE_KEY=KEY,
                   TILE_CACHE_DIR=blocker)
    z, x, y = centre_tile()
    response = get(app.test_client(), "plain", z, x, y)
    assert response.status_code == 200 and response.data == png_tile(z, x, y, "vec")


def test_a_client_past_its_limit_gets_429_with_retry_after(tmp_path, tile_server):
    app = make_app(tmp_path / "db.sqlite", BASEMAPS=tile_server.sources(), OFFICE_KEY=KEY,
                   TILE_CACHE_DIR=tmp_path / "tiles", TILE_RATE_PER_S=0.5, TILE_RATE_BURST=3)
    client = app.test_client()
    z, x, y = centre_tile()
    assert [get(client, "plain", z, x + n, y).status_code for n in (-1, 0, 1)] == [200] * 3
    refused = get(client, "plain", z, x, y - 1)
    assert refused.status_code == 429 and "请求过于频繁" in refused.get_json()["error"]
    assert refused.headers["Retry-After"] == "2"
    assert tile_server.total == 3  # refused before the fetch
    assert get(client, "plain", z, x, y).status_code == 200  # cached: costs nothing
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert get(other, "plain", z, x, y - 1).status_code == 200  # per address


def test_token_buckets_refill_at_their_rate():
    buckets = TokenBuckets(rate=2, burst=2)
    assert buckets.take("a", now=0) is None and buckets.take("a", now=0) is None
    assert buckets.take("a", now=0) == 1
    assert buckets.take("a", now=0.5) is None  # one token back after half a second
    small = TokenBuckets(rate=1, burst=1, max_clients=2)
    for n, address in enumerate(("a", "b", "c", "d")):
        assert small.take(address, now=n * 10) is None
    assert len(small._buckets) <= 2


def test_image_types_and_tile_ranges():
    assert image_type(png_tile(1, 0, 0)) == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_type(b"<html>") is None and image_type(b"") is None
    assert lonlat_to_tile(0, 0, 1) == (1, 1) and lonlat_to_tile(-180, 85.1, 3) == (0, 0)
    area = TileArea((116.9, 36.6, 117.0, 36.7), 12, 13)
    assert area.count([12, 13]) == len(list(area.tiles([12, 13])))


def test_cache_stats_and_clear(tmp_path):
    cache = TileCache(tmp_path, max_bytes=10_000, max_age_s=60)
    cache.write("a", 1, 0, 0, b"x" * 10)
    cache.write("a-labels", 1, 0, 1, b"y" * 20)
    stats = cache.stats()
    assert stats["a"]["tiles"] == 1 and stats["a-labels"]["bytes"] == 20
    assert cache.clear(["a-labels"]) == (1, 20) and set(cache.stats()) == {"a"}
    assert cache.clear() == (1, 10) and cache.stats() == {}


def test_an_unreachable_source_is_not_tried_again_for_a_while(tiles_app, tile_server,
                                                              monkeypatch):
    client = tiles_app.test_client()
    z, x, y = centre_tile()
    assert get(client, "plain", z, x, y).status_code == 200
    path = tiles_app.config["TILE_CACHE_DIR"] / "plain" / str(z) / str(x) / f"{y}.tile"
    old = time.time() - tiles_app.config["TILE_CACHE_MAX_AGE_S"] - 60
    os.utime(path, (old, old))
    tile_server.mode = "error"  # an error status: the source is up, the tile is not
    assert get(client, "plain", z, x, y).headers["X-Tile-Cache"] == "stale"
    assert get(client, "plain", z, x, y).headers["X-Tile-Cache"] == "stale"
    assert tile_server.total == 3  # tried each time
    tile_server.stop()  # unreachable: tried three times in a row, then the cache alone
    for _ in range(3):
        assert get(client, "plain", z, x, y).headers["X-Tile-Cache"] == "stale"
    proxy = tiles_app.extensions["tile_proxy"]
    assert proxy._down_until["plain"] > time.monotonic()
    attempts = []
    real_fetch = proxy_module.fetch
    monkeypatch.setattr(proxy_module, "fetch",
                        lambda url, timeout: attempts.append(url) or real_fetch(url, timeout))
    stale = get(client, "plain", z, x, y)
    assert stale.headers["X-Tile-Cache"] == "stale"
    assert stale.headers["Cache-Control"] == "private, max-age=300"
    assert get(client, "plain", z, x + 1, y).status_code == 502
    assert attempts == []  # neither tried the source
    proxy._down_until["plain"] = 0.0  # the wait is over
    assert get(client, "plain", z, x, y).headers["X-Tile-Cache"] == "stale"
    assert len(attempts) == 1
