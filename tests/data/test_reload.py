"""A running server serves an import on its next request; bad files leave it serving the old."""

import json
import logging

import pytest

from tests.conftest import client_as, make_app
from tests.layerfiles import Cli, copy_geodata, shipped


@pytest.fixture
def data_dir(tmp_path):
    return copy_geodata(tmp_path / "geodata")


@pytest.fixture
def served(data_dir, tmp_path, store_backend):
    app = make_app(tmp_path / "served.sqlite", DATA_DIR=data_dir)
    app.extensions["layer_reloader"].interval = 0  # check on every request
    return app.test_client()


def count(client, name):
    return len(client.get(f"/ogc/collections/{name}/items?limit=1000").get_json()["features"])


def test_an_import_is_served_without_a_restart(served, data_dir, tmp_path):
    assert count(served, "parking") == 8
    source = tmp_path / "parking.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": shipped("parking")[:5]},
                                 ensure_ascii=False), encoding="utf-8")
    result = Cli(data_dir, tmp_path / "cli.sqlite")("import", source, "--layer", "parking")
    assert result.exit_code == 0, result.output
    assert count(served, "parking") == 5
    assert served.get("/api/layers").get_json()["layers"][4]["count"] == 5


def test_a_broken_file_keeps_the_old_data(served, data_dir, caplog):
    (data_dir / "parking.geojson").write_text("{", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="layers.data.reload"):
        assert count(served, "parking") == 8
    assert "layer files changed (parking) but do not load" in caplog.text
    assert "parking.geojson: is not valid JSON" in caplog.text


def test_reloading_can_be_turned_off(data_dir, tmp_path):
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=data_dir, RELOAD_LAYERS=False)
    assert "layer_reloader" not in app.extensions
    (data_dir / "parking.geojson").write_text("{", encoding="utf-8")
    assert count(app.test_client(), "parking") == 8


def test_surroundings_and_briefs_follow_an_import(data_dir, tmp_path, store_backend):
    """The leaders' queries around a site use the data served, not the data of start-up."""
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
    source = tmp_path / "parcels.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [*parcels, added]},
                                 ensure_ascii=False), encoding="utf-8")
    result = Cli(data_dir, tmp_path / "cli.sqlite")("import", source, "--layer", "parcels")
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
