"""`flask layers export`: every format holds the features, and imports back unchanged."""

import json
import zipfile

import pyogrio
import pytest

from layers.catalogue.entries import CATALOGUE
from layers.data.importer import check_import
from layers.data.sources import ReadOptions
from tests.layerfiles import Cli, assert_same_features, copy_geodata, layers_of, shipped

SUFFIXES = {"geojson": ".geojson", "gpkg": ".gpkg", "csv": ".csv", "shp": ".zip"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return copy_geodata(tmp_path_factory.mktemp("export") / "geodata")


@pytest.fixture(scope="module")
def cli(data_dir, tmp_path_factory):
    return Cli(data_dir, tmp_path_factory.mktemp("export-db") / "inspections.sqlite")


@pytest.mark.parametrize("fmt", list(SUFFIXES))
@pytest.mark.parametrize("name", [layer.name for layer in CATALOGUE])
def test_round_trip(cli, data_dir, tmp_path, name, fmt):
    output = tmp_path / f"{name}{SUFFIXES[fmt]}"
    result = cli("export", name, "--format", fmt, "--output", output)
    assert result.exit_code == 0, result.output
    assert f"exported {len(shipped(name))} feature(s) of {name}" in result.output
    report = check_import(output, name, layers_of(data_dir),
                          ReadOptions(crs="wgs84" if fmt == "csv" else None))
    assert report.ok, [str(p) for p in report.problems]
    assert_same_features(report.features, shipped(name))


def test_measures_are_exported(cli, tmp_path):
    output = tmp_path / "parcels.gpkg"
    assert cli("export", "parcels", "-o", output).exit_code == 0  # format from the suffix
    frame = pyogrio.read_dataframe(output)
    assert frame.crs.to_epsg() == 4326
    assert {"area_m2", "area_mu"} <= set(frame.columns)
    assert frame["area_mu"].round(2).tolist() == (frame["area_m2"] / (2000 / 3)).round(2).tolist()


def test_csv_is_excel_friendly(cli, tmp_path):
    output = tmp_path / "garbage.csv"
    assert cli("export", "garbage", "-o", output).exit_code == 0
    raw = output.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark
    header, first = raw.decode("utf-8-sig").splitlines()[:2]
    assert header.startswith("id,lon,lat,code,name,community,kinds,")
    assert "可回收物、有害垃圾、厨余垃圾、其他垃圾" in first
    output = tmp_path / "roads.csv"
    assert cli("export", "roads", "-o", output).exit_code == 0
    header, first = output.read_text(encoding="utf-8-sig").splitlines()[:2]
    assert header.endswith(",length_m,wkt") and "LINESTRING" in first


def test_zipped_shapefile(cli, tmp_path):
    output = tmp_path / "projects.zip"
    assert cli("export", "projects", "--format", "shp", "-o", output).exit_code == 0
    with zipfile.ZipFile(output) as z:
        names = sorted(z.namelist())
        assert names == ["projects.cpg", "projects.dbf", "projects.prj", "projects.shp",
                         "projects.shx"]
        assert z.read("projects.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
    frame = pyogrio.read_dataframe(f"/vsizip/{output}")
    assert all(len(c) <= 10 for c in frame.columns)
    assert {"investment", "investme_1", "investme_2"} <= set(frame.columns)
    assert "三箭和平广场" in frame["name"].tolist()


def test_text_too_long_for_a_shapefile(tmp_path):
    data_dir = copy_geodata(tmp_path / "geodata")
    collection = json.loads((data_dir / "projects.geojson").read_text(encoding="utf-8"))
    collection["features"][0]["properties"]["description"] = "长" * 100  # 300 bytes
    (data_dir / "projects.geojson").write_text(json.dumps(collection, ensure_ascii=False),
                                               encoding="utf-8")
    cli = Cli(data_dir, tmp_path / "i.sqlite")
    output = tmp_path / "projects.zip"
    output.write_bytes(b"an older export")
    result = cli("export", "projects", "-o", output)
    assert result.exit_code == 1
    assert "a Shapefile holds at most 254 bytes of text per value" in result.output
    assert "feature J01: description (300 bytes)" in result.output
    assert output.read_bytes() == b"an older export"
    assert cli("export", "projects", "-o", tmp_path / "projects.gpkg").exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "venues.txt"], "cannot tell the format from 'venues.txt'"),
    (["--format", "shp", "-o", "venues.shp"], "a Shapefile is exported zipped"),
])
def test_export_errors(cli, tmp_path, args, message):
    args = [str(tmp_path / a) if a.startswith("venues.") else a for a in args]
    result = cli("export", "venues", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert not list(tmp_path.iterdir())


def test_export_where_nothing_can_be_written(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    output = blocker / "venues.geojson"
    result = cli("export", "venues", "-o", output)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert f"cannot write {output}: File exists ({blocker})" in result.output
