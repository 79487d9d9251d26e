"""Every server follows the layers' versions in the one database: a change made through
any server (or the CLI) is served by the others within 2 s, without a restart; a
server started with stale files reverts nothing; restores travel the same way."""

import json
import time

import mapbox_vector_tile
import pytest

from tests.conftest import client_as, csrf_token, log_in, make_app
from tests.layerfiles import Cli, copy_geodata, head, shipped

NEW_VENUE = {"type": "Feature", "id": "V9001",
             "properties": {**shipped("venues")[0]["properties"], "name": "新开的网吧"},
             "geometry": {"type": "Point", "coordinates": [116.96502, 36.67141]}}


@pytest.fixture
def servers(tmp_path, store_backend):
    """Two app servers (A and B) over one database, each with its own copy of the files."""
    db = tmp_path / "shared.sqlite"
    a = make_app(db, DATA_DIR=copy_geodata(tmp_path / "a"))
    b = make_app(db, DATA_DIR=copy_geodata(tmp_path / "b"))
    return a, b


def write(tmp_path, name, features):
    source = tmp_path / f"{name}-{len(features)}.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                 ensure_ascii=False), encoding="utf-8")
    return source


def venue_routes(client) -> dict[str, bool]:
    """Whether each route serves the new venue."""
    lon, lat = NEW_VENUE["geometry"]["coordinates"]
    layers = {row["name"]: row["count"] for row in client.get("/api/layers").get_json()["layers"]}
    bbox = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
    in_bbox = client.get(f"/api/layers/venues?bbox={bbox}").get_json()["features"]
    nearby = client.get(f"/api/nearby?layer=venues&lon={lon}&lat={lat}&radius_m=50"
                        ).get_json()["features"]
    items = client.get("/ogc/collections/venues/items?limit=1000").get_json()
    # The zoom-16 tile there (row 25,583, column 54,060): tiles are cached per layer version.
    tile = client.get("/ogc/collections/venues/tiles/WebMercatorQuad/16/25583/54060").data
    return {
        "layers": layers["venues"] == 354,
        "bbox": "V9001" in {f["id"] for f in in_bbox},
        "nearby": "V9001" in {f["id"] for f in nearby},
        "ogc item": client.get("/ogc/collections/venues/items/V9001").status_code == 200,
        "ogc items": items["numberMatched"] == 354,
        "map page data": "V9001" in {f["id"] for f in client.get("/api/layers/venues")
                                     .get_json()["features"]},
        "tile": "V9001" in {f["properties"]["id"] for f in
                            mapbox_vector_tile.decode(tile).get("venues", {"features": []})
                            ["features"]},
    }


def wait_for(check, seconds):
    """Seconds until check() holds (polling), or fail with its last answer."""
    start = time.monotonic()
    while True:
        got = check()
        if got is True or (isinstance(got, dict) and all(got.values())):
            return time.monotonic() - start
        assert time.monotonic() - start < seconds, got
        time.sleep(0.05)


def test_an_import_on_a_is_served_by_b_within_2_s(servers, tmp_path):
    a, b = servers
    on_b = b.test_client()
    assert not any(venue_routes(on_b).values())
    result = Cli(tmp_path / "a", tmp_path / "shared.sqlite")(
        "import", write(tmp_path, "venues", [*shipped("venues"), NEW_VENUE]),
        "--layer", "venues", "--by", "wangli")
    assert result.exit_code == 0, result.output
    assert "as version 2" in result.output
    waited = wait_for(lambda: venue_routes(on_b), 2.0)
    print(f"B served the import from every route after {waited:.2f} s")
    assert all(venue_routes(a.test_client()).values())


def test_a_restart_with_stale_files_reverts_nothing(servers, tmp_path):
    a, _ = servers
    admin = log_in(a.test_client(), "chief", "admin")
    answer = admin.post("/admin/layers/import", content_type="multipart/form-data", data={
        "layer": "venues", "crs": "", "action": "import", "csrf_token": csrf_token(admin),
        "file": (write(tmp_path, "venues", [*shipped("venues"), NEW_VENUE]).open("rb"),
                 "venues.geojson")})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    assert all(venue_routes(a.test_client()).values())  # A follows its own change at once
    # B restarts with its old files (353 venues): the database keeps version 2.
    restarted = make_app(tmp_path / "shared.sqlite", DATA_DIR=tmp_path / "b")
    assert all(venue_routes(restarted.test_client()).values())
    assert head(restarted, "venues") == 2
    assert [v.version for v in restarted.extensions["layer_history"].versions("venues")] == [2, 1]


def test_a_restore_on_b_is_seen_on_a(servers, tmp_path):
    a, b = servers
    result = Cli(tmp_path / "a", tmp_path / "shared.sqlite")(
        "import", write(tmp_path, "venues", [*shipped("venues"), NEW_VENUE]), "--layer", "venues")
    assert result.exit_code == 0, result.output
    wait_for(lambda: venue_routes(a.test_client()), 2.0)
    admin = log_in(b.test_client(), "chief", "admin")
    answer = admin.post("/admin/layers/venues/restore", data={
        "version": "1", "csrf_token": csrf_token(admin)})
    assert answer.status_code == 303
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "已将图层「" in page and "恢复为版本 1 的内容,成为版本 3" in page
    on_a = a.test_client()
    waited = wait_for(lambda: not any(venue_routes(on_a).values()), 2.0)
    print(f"A served the restore after {waited:.2f} s")
    history = a.extensions["layer_history"]
    restored = history.version("venues", 3)
    assert (restored.action, restored.removed, restored.added) == ("layer.restore", ["V9001"], [])
    assert history.features("venues", 3)[1] == history.features("venues", 1)[1]


def test_db_load_of_older_files_is_refused_and_names_the_newer_version(servers, tmp_path):
    a, _ = servers
    result = Cli(tmp_path / "a", tmp_path / "shared.sqlite")(
        "import", write(tmp_path, "venues", [*shipped("venues"), NEW_VENUE]), "--layer", "venues")
    assert result.exit_code == 0, result.output
    stale = make_app(tmp_path / "shared.sqlite", DATA_DIR=tmp_path / "b")
    loaded = stale.test_cli_runner().invoke(args=["db", "load"])
    assert loaded.exit_code == 1
    assert "旧版本 1 相同,而当前版本 2 更新" in loaded.stderr
    assert head(stale, "venues") == 2
    # The same file through the import is refused the same way; a restore is the way back.
    again = Cli(tmp_path / "a", tmp_path / "shared.sqlite")(
        "import", write(tmp_path, "venues", shipped("venues")), "--layer", "venues")
    assert again.exit_code == 1 and "当前版本 2 更新" in again.stderr


def test_reloading_can_be_turned_off(tmp_path):
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=copy_geodata(tmp_path / "g"),
                   RELOAD_LAYERS=False)
    assert "layer_reloader" not in app.extensions
    result = Cli(tmp_path / "g", tmp_path / "i.sqlite")(
        "import", write(tmp_path, "parking", shipped("parking")[:5]), "--layer", "parking")
    assert result.exit_code == 0, result.output
    count = len(app.test_client().get("/ogc/collections/parking/items").get_json()["features"])
    assert count == 8


def test_surroundings_and_briefs_follow_an_import(tmp_path, store_backend):
    """The leaders' queries around a site use the data served, not the data of start-up."""
    data_dir = copy_geodata(tmp_path / "geodata")
    app = make_app(tmp_path / "leader.sqlite", DATA_DIR=data_dir)
    app.extensions["layer_reloader"].interval = 0
    leader = client_as(app, "leader")
    assert leader.get("/api/parcels/P07/surroundings").status_code == 200
    before = leader.get("/api/parcels/P01/surroundings").get_json()
    parcels = shipped("parcels")
    moved = next(f for f in parcels if f["id"] == "P02")  # 八里桥蔬菜市场, 40 m from P01
    parcels = [f for f in parcels if f["id"] not in ("P02", "P07")]
    added = json.loads(json.dumps(moved))
    added["id"] = "P08"
    added["properties"]["name"] = "新增地块"
    result = Cli(data_dir, tmp_path / "leader.sqlite")(
        "import", write(tmp_path, "parcels", [*parcels, added]), "--layer", "parcels")
    assert result.exit_code == 0, result.output

    assert {r["id"] for r in leader.get("/api/parcels").get_json()["rows"]} == {
        "P01", "P03", "P04", "P05", "P06", "P08"}
    assert leader.get("/api/parcels/P07/surroundings").status_code == 404
    around = leader.get("/api/parcels/P08/surroundings").get_json()
    assert around["site"]["name"] == "新增地块"
    after = leader.get("/api/parcels/P01/surroundings").get_json()
    assert "P02" in {s["id"] for s in before["sites"]}
    assert {s["id"] for s in after["sites"] if s["layer"] == "parcels"} == (
        {s["id"] for s in before["sites"] if s["layer"] == "parcels"} - {"P02", "P07"} | {"P08"})
    brief = leader.get("/parcels/P08/brief")
    assert brief.status_code == 200 and "新增地块" in brief.get_data(as_text=True)


def server_config(tmp_path, name, store_backend):
    """The configuration of a server process over the test's one database."""
    config = {"TESTING": True, "TODAY": "2026-11-25", "CLIENT_RATE": 0,
              "INSPECTIONS_DB": tmp_path / "shared.sqlite",
              "DATA_DIR": copy_geodata(tmp_path / name)}
    if store_backend == "postgis":
        app = make_app(tmp_path / "shared.sqlite")  # the one database of this test
        config["DATABASE_URL"] = app.config["DATABASE_URL"]
    return config


def served_count(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{url}/api/layers", timeout=10) as answer:
        layers = json.load(answer)["layers"]
    return next(row["count"] for row in layers if row["name"] == "venues")


def test_two_server_processes_follow_imports_and_restores_within_2_s(tmp_path, store_backend):
    from tests.liveserver import LiveServerProcess

    a_config = server_config(tmp_path, "a", store_backend)
    b_config = {**a_config, "DATA_DIR": copy_geodata(tmp_path / "b")}
    with LiveServerProcess(a_config) as a, LiveServerProcess(b_config) as b:
        assert served_count(a.url) == served_count(b.url) == 353
        cli = Cli(tmp_path / "a", tmp_path / "shared.sqlite")
        result = cli("import", write(tmp_path, "venues", [*shipped("venues"), NEW_VENUE]),
                     "--layer", "venues")
        assert result.exit_code == 0, result.output
        waited = wait_for(lambda: served_count(a.url) == served_count(b.url) == 354, 2.0)
        print(f"both processes served the import after {waited:.2f} s")
        assert cli("restore", "venues", "1").exit_code == 0
        wait_for(lambda: served_count(a.url) == served_count(b.url) == 353, 2.0)


def test_a_head_that_does_not_load_is_read_once_not_every_second(tmp_path, monkeypatch):
    """A version that no longer fits the catalogue keeps the old one served, logged once,
    and is not read and validated again at every check until the head moves on."""
    from layers.catalogue.validate import LayerDataError, Problem

    app = make_app(tmp_path / "db.sqlite", DATA_DIR=copy_geodata(tmp_path / "geodata"))
    reloader, history = app.extensions["layer_reloader"], app.extensions["layer_history"]
    reloader.interval = 0
    served = app.extensions["layer_store"].get("venues").version
    made = history.commit(app.extensions["layer_store"].get("venues").layer,
                          [*shipped("venues"), NEW_VENUE], "tester", "layer.import", "测试")
    reads = []

    def unfit(layer, version=None):
        reads.append((layer.name, version))
        raise LayerDataError([Problem("venues", None, "does not fit")])

    monkeypatch.setattr(history, "loaded", unfit)
    for _ in range(3):
        reloader.check()
    assert reads == [("venues", made.version)]
    assert app.extensions["layer_store"].get("venues").version == served
