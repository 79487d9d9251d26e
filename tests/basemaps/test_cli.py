"""flask tiles seed|stats|clear against the fake tile server."""

from layers.basemaps.routes import tile_area
from tests.basemaps.tileserver import KEY
from tests.conftest import make_app


def expected_tiles(app, zooms):
    with app.app_context():
        return tile_area().count(zooms)


def test_seed_fetches_every_tile_of_the_area_and_its_labels_once(tiles_app, tile_server):
    runner = tiles_app.test_cli_runner()
    result = runner.invoke(args=["tiles", "seed", "office", "--zooms", "12-14"])
    assert result.exit_code == 0, result.output
    count = expected_tiles(tiles_app, [12, 13, 14])
    assert tile_server.total == 2 * count  # the imagery and its labels
    assert set(tile_server.requests.values()) == {1}
    assert f"共 {2 * count} 个瓦片" in result.output
    assert f"fetched {2 * count} tiles" in result.output
    assert "下载瓦片" in result.output  # the progress bar's label
    cached = tiles_app.extensions["tile_proxy"].cache.stats()
    assert cached["office"]["tiles"] == cached["office-labels"]["tiles"] == count
    # Offline, every seeded tile is served from the cache.
    tile_server.stop()
    with tiles_app.app_context():
        x0, y0, x1, y1 = tile_area().tile_range(14)
    client = tiles_app.test_client()
    for x, y in ((x0, y0), (x1, y1)):
        assert client.get(f"/tiles/office-labels/14/{x}/{y}").status_code == 200


def test_seed_resumes_after_an_interruption(tiles_app, tile_server):
    runner = tiles_app.test_cli_runner()
    count = 2 * expected_tiles(tiles_app, [12, 13, 14])
    tile_server.fail_after = count // 3  # the network goes away a third of the way
    first = runner.invoke(args=["tiles", "seed", "office", "--zooms", "12-14"])
    assert first.exit_code == 1 and "再次运行可继续" in first.output
    assert f"下载 {count // 3} 个瓦片" in first.output
    tile_server.fail_after = None
    tile_server.requests.clear()
    second = runner.invoke(args=["tiles", "seed", "office", "--zooms", "12-14"])
    assert second.exit_code == 0, second.output
    assert tile_server.total == count - count // 3  # only what was missing
    assert f"已缓存 {count // 3} 个" in second.output
    tile_server.requests.clear()
    third = runner.invoke(args=["tiles", "seed", "office", "--zooms", "12-14"])
    assert third.exit_code == 0 and tile_server.total == 0 and "待下载 0 个" in third.output


def test_seed_refuses_what_it_may_not_fetch(tmp_path, tile_server):
    app = make_app(tmp_path / "db.sqlite", TIANDITU_KEY=KEY, TILE_CACHE_DIR=tmp_path / "tiles",
                   BASEMAPS=[*tile_server.sources()[1:], {
                       "key": "osm", "name": "OpenStreetMap", "seed": False,
                       "url": tile_server.url + "/osm/{z}/{x}/{y}.png"}])
    runner = app.test_cli_runner()
    for args, text in (
            (["nope"], "未配置经代理的底图 'nope'"),
            (["osm"], "不允许批量下载"),
            (["plain", "--zooms", "9-12"], "缩放级别须在 10-17 之内"),
            (["plain", "--zooms", "16-18"], "缩放级别须在 10-17 之内"),  # its max_zoom
            (["plain", "--zooms", "twelve"], "应为 12-18 或 15")):
        result = runner.invoke(args=["tiles", "seed", *args])
        assert result.exit_code != 0 and text in result.output, (args, result.output)
    assert tile_server.total == 0


def test_stats_and_clear(tiles_app, tile_server):
    runner = tiles_app.test_cli_runner()
    runner.invoke(args=["tiles", "seed", "plain", "--zooms", "12-13"])
    runner.invoke(args=["tiles", "seed", "office", "--zooms", "12"])
    count = expected_tiles(tiles_app, [12, 13])
    stats = runner.invoke(args=["tiles", "stats"])
    assert stats.exit_code == 0
    assert f"plain: {count} 个瓦片" in stats.output and "office-labels:" in stats.output
    cleared = runner.invoke(args=["tiles", "clear", "office"])
    assert cleared.exit_code == 0 and "已删除" in cleared.output
    assert set(tiles_app.extensions["tile_proxy"].cache.stats()) == {"plain"}
    runner.invoke(args=["tiles", "clear"])
    assert tiles_app.extensions["tile_proxy"].cache.stats() == {}
