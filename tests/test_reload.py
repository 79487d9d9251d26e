"""A running server serves an import on its next request; bad files leave it serving the old."""

import json
import logging

import pytest

from tests.conftest import make_app
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
    with caplog.at_level(logging.ERROR, logger="layers.reload"):
        assert count(served, "parking") == 8
    assert "layer files changed (parking) but do not load" in caplog.text
    assert "parking.geojson: is not valid JSON" in caplog.text


def test_reloading_can_be_turned_off(data_dir, tmp_path):
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=data_dir, RELOAD_LAYERS=False)
    assert "layer_reloader" not in app.extensions
    (data_dir / "parking.geojson").write_text("{", encoding="utf-8")
    assert count(app.test_client(), "parking") == 8
