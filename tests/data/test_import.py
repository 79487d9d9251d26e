"""`flask layers import` and `validate`: every format and CRS option, every kind of problem,
and the old data intact after any failure or interruption."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import shape

from layers.geo import chinacoords
from layers.stores.embedded.versions import SqliteVersionTables
from tests.conftest import make_app
from tests.layerfiles import (
    Cli,
    assert_same_features,
    copy_geodata,
    head,
    shipped,
    shipped_frame,
    stored,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path):
    return copy_geodata(tmp_path / "geodata")


@pytest.fixture
def cli(data_dir, tmp_path):
    return Cli(data_dir, tmp_path / "inspections.sqlite")


def venues_table(x, y, x_name="lon", y_name="lat") -> pd.DataFrame:
    """The shipped venues as a spreadsheet-like table with the given coordinates."""
    frame = pd.DataFrame(shipped_frame("venues").drop(columns="geometry"))
    frame.insert(1, x_name, x)
    frame.insert(2, y_name, y)
    return frame


def venue_lonlat():
    points = [shape(f["geometry"]) for f in shipped("venues")]
    return np.array([p.x for p in points]), np.array([p.y for p in points])


def assert_unchanged(cli, name, before):
    assert head(cli, name) == before


# ------------------------------------------------------------------ formats and CRSs
def test_geojson_reimport_of_the_current_content_makes_no_version(cli, data_dir):
    result = cli("import", ROOT / "geodata" / "venues.geojson", "--layer", "venues")
    assert result.exit_code == 0, result.output
    assert "holds what layer venues holds already; no new version" in result.output
    assert head(cli, "venues") == 1
    assert stored(cli, "venues") == shipped("venues")


def test_geojson_with_a_legacy_crs_member_is_reprojected(cli, data_dir, tmp_path):
    frame = shipped_frame("parcels", "EPSG:4548")
    collection = json.loads(frame.to_json(drop_id=True))
    for feature, row in zip(collection["features"], frame.itertuples(), strict=True):
        feature["id"] = feature["properties"].pop("id")
        assert row.id == feature["id"]
    collection["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4548"}}
    source = tmp_path / "parcels-4548.geojson"
    source.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    result = cli("import", source, "--layer", "parcels")
    assert result.exit_code == 0, result.output
    assert "reprojected from EPSG:4548" in result.output
    assert_same_features(stored(cli, "parcels"), shipped("parcels"), tolerance=1.5e-7)


def test_geopackage_in_cgcs2000_gauss_kruger(cli, data_dir, tmp_path):
    source = tmp_path / "survey.gpkg"
    pyogrio.write_dataframe(shipped_frame("parking", "EPSG:4548"), source, layer="停车场")
    result = cli("import", source, "--layer", "parking")
    assert result.exit_code == 0, result.output
    assert_same_features(stored(cli, "parking"), shipped("parking"), tolerance=1.5e-7)


def test_geopackage_with_several_layers_needs_source_layer(cli, data_dir, tmp_path):
    source = tmp_path / "two.gpkg"
    pyogrio.write_dataframe(shipped_frame("parking"), source, layer="a")
    pyogrio.write_dataframe(shipped_frame("parking"), source, layer="b", append=True)
    before = head(cli, "parking")
    result = cli("import", source, "--layer", "parking")
    assert result.exit_code == 1
    assert "含有 2 个图层(a、b),请在「源图层」中选择一个 (holds 2 layers: a, b; choose one with " \
        "--source-layer)" in result.output
    assert_unchanged(cli, "parking", before)
    result = cli("import", source, "--layer", "parking", "--source-layer", "b")
    assert result.exit_code == 0, result.output


def test_zipped_shapefile_in_cgcs2000(cli, data_dir, tmp_path):
    work = tmp_path / "shp"
    work.mkdir()
    frame = shipped_frame("garbage", "EPSG:4490").rename(columns={
        "bins_recyclable": "bins_recyc", "bins_hazardous": "bins_hazar",
        "bins_kitchen": "bins_kitch", "bins_residual": "bins_resid"})
    pyogrio.write_dataframe(frame, work / "garbage.shp", encoding="UTF-8")
    source = tmp_path / "garbage.zip"
    with zipfile.ZipFile(source, "w") as z:
        for part in work.iterdir():
            z.write(part, f"survey/{part.name}")
    result = cli("import", source, "--layer", "garbage")
    assert result.exit_code == 0, result.output
    assert_same_features(stored(cli, "garbage"), shipped("garbage"))


def test_shapefile_without_prj_needs_crs(cli, data_dir, tmp_path):
    work = tmp_path / "shp"
    work.mkdir()
    pyogrio.write_dataframe(shipped_frame("roads"), work / "roads.shp", encoding="UTF-8")
    (work / "roads.prj").unlink()
    source = tmp_path / "roads.zip"
    with zipfile.ZipFile(source, "w") as z:
        for part in work.iterdir():
            z.write(part, part.name)
    before = head(cli, "roads")
    result = cli("import", source, "--layer", "roads")
    assert result.exit_code == 1
    assert "no .prj (no CRS); say which with --crs" in result.output
    assert_unchanged(cli, "roads", before)
    result = cli("import", source, "--layer", "roads", "--crs", "EPSG:4326")
    assert result.exit_code == 0, result.output
    assert_same_features(stored(cli, "roads"), shipped("roads"))


def test_kml(cli, data_dir, tmp_path):
    source = tmp_path / "parking.kml"
    pyogrio.write_dataframe(shipped_frame("parking"), source, driver="LIBKML")
    result = cli("import", source, "--layer", "parking")
    assert result.exit_code == 0, result.output
    assert_same_features(stored(cli, "parking"), shipped("parking"))


def test_csv_with_gcj02_coordinates(cli, data_dir, tmp_path):
    lon, lat = chinacoords.wgs84_to_gcj02(*venue_lonlat())
    source = tmp_path / "amap.csv"
    venues_table(lon, lat).to_csv(source, index=False)
    result = cli("import", source, "--layer", "venues", "--crs", "gcj02")
    assert result.exit_code == 0, result.output
    assert "converted from GCJ02" in result.output
    assert_same_features(stored(cli, "venues"), shipped("venues"))


def test_csv_in_gbk_with_projected_columns(cli, data_dir, tmp_path):
    frame = shipped_frame("venues", "EPSG:4548")
    table = venues_table(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(),
                         "东坐标", "北坐标")
    source = tmp_path / "excel.csv"
    table.to_csv(source, index=False, encoding="gbk")
    result = cli("import", source, "--layer", "venues", "--crs", "4548",
                 "--lon-column", "东坐标", "--lat-column", "北坐标")
    assert result.exit_code == 0, result.output
    assert "GB18030" in result.output
    assert_same_features(stored(cli, "venues"), shipped("venues"), tolerance=1.5e-7)


def test_csv_with_wkt_polygons(cli, data_dir, tmp_path):
    frame = shipped_frame("parcels")
    table = pd.DataFrame(frame.drop(columns="geometry"))
    table["wkt"] = frame.geometry.to_wkt(rounding_precision=-1)
    source = tmp_path / "parcels.csv"
    table.to_csv(source, index=False)
    result = cli("import", source, "--layer", "parcels", "--crs", "wgs84")
    assert result.exit_code == 0, result.output
    assert_same_features(stored(cli, "parcels"), shipped("parcels"))


def test_xlsx_with_bd09_and_chinese_headers(cli, data_dir, tmp_path):
    from layers.catalogue.entries import get_layer

    layer = get_layer("venues")
    lon, lat = chinacoords.wgs84_to_bd09(*venue_lonlat())
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "百度坐标"
    sheet.append(["编号", "经度", "纬度"] + [f.label for f in layer.fields])
    for feature, x, y in zip(shipped("venues"), lon, lat, strict=True):
        p = feature["properties"]
        sheet.append([feature["id"], float(x), float(y)]
                     + ["是" if p.get(f.name) is True else "否" if p.get(f.name) is False
                        else p.get(f.name) for f in layer.fields])  # closed_on: none, blank
    source = tmp_path / "baidu.xlsx"
    book.save(source)
    result = cli("import", source, "--layer", "venues", "--crs", "bd09", "--id-column", "编号",
                 "--sheet", "百度坐标")
    assert result.exit_code == 0, result.output
    assert_same_features(stored(cli, "venues"), shipped("venues"))


def test_xlsx_typed_cells_become_the_schema_types(cli, data_dir, tmp_path):
    import datetime as dt

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "lon", "lat", "code", "name", "community", "kinds", "bins",
                  "bins_recyclable", "bins_hazardous", "bins_kitchen", "bins_residual", "built"])
    sheet.append(["G900", 116.962, 36.668, 3701040305000900, "测试投放点", "裕北社区",
                  "可回收物、其他垃圾", 4.0, 2, 0, 0, 2, dt.datetime(2023, 5, 6)])
    source = tmp_path / "one.xlsx"
    book.save(source)
    result = cli("import", source, "--layer", "garbage", "--crs", "wgs84")
    assert result.exit_code == 0, result.output
    (feature,) = stored(cli, "garbage")
    assert feature["id"] == "G900"
    assert feature["properties"] == {
        "code": "3701040305000900", "name": "测试投放点", "community": "裕北社区",
        "kinds": ["可回收物", "其他垃圾"], "bins": 4, "bins_recyclable": 2,
        "bins_hazardous": 0, "bins_kitchen": 0, "bins_residual": 2, "built": "2023-05-06"}
    assert feature["geometry"] == {"type": "Point", "coordinates": [116.962, 36.668]}


def test_computed_columns_of_an_api_download_are_dropped(cli, data_dir, tmp_path):
    client = cli.app.test_client()
    source = tmp_path / "from-api.geojson"
    source.write_bytes(client.get("/api/layers/venues").data)
    result = cli("import", source, "--layer", "venues")
    assert result.exit_code == 0, result.output
    assert ("ignored the columns the service computes itself: due_soon, last_inspection, "
            "next_due, open_hazards, overdue, overdue_hazards, rectification_overdue_days, "
            "status") in result.output
    assert_same_features(stored(cli, "venues"), shipped("venues"))


# ------------------------------------------------------------------ problems
def test_every_problem_is_reported_with_row_and_field(cli, data_dir, tmp_path):
    table = venues_table(*venue_lonlat()).astype(
        {"lon": object, "lat": object, "quancheng_app": object})
    table.loc[0, "kind"] = "大商场"  # row 2: not a kind
    table.loc[3, "lon"] = "abc"  # row 5: not a number
    table.loc[4, "community"] = ""  # row 6: required
    table.loc[5, ["lon", "lat"]] = [36.665, 116.96]  # row 7: swapped
    table.loc[6, "quancheng_app"] = "maybe"  # row 8
    table.loc[7, "id"] = "V0001"  # row 9: duplicate of row 2
    table.loc[8, ["lon", "lat"]] = [116.99, 36.70]  # row 10: outside the sub-district
    table["电话"] = ""  # not a field
    source = tmp_path / "bad.csv"
    table.to_csv(source, index=False)
    before = head(cli, "venues")
    result = cli("import", source, "--layer", "venues", "--crs", "wgs84")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "bad.csv 有 8 个问题,未导入图层 venues (8 problem(s) in bad.csv for layer " \
        "venues):"
    expected = [
        "bad.csv: 电话: 不是图层「安全监管场所」的字段,表头须为字段名或中文名:",
        "bad.csv: 第 2 行(编号 V0001): kind: 不是可选值:'大商场',可选 ",
        "bad.csv: 第 5 行(编号 V0004): geometry: 坐标 lon/lat 不是数值:'abc', '",
        "bad.csv: 第 6 行(编号 V0005): community: 为必填项 (is required)",
        "bad.csv: 第 7 行(编号 V0006): geometry: 位于济南以外,经纬度是否颠倒?",
        "bad.csv: 第 8 行(编号 V0007): quancheng_app: 须为 是 或 否,而不是 'maybe'",
        "bad.csv: 第 9 行(编号 V0001): id: 与第 2 行的编号重复 (is also the id of 第 2 行)",
        "bad.csv: 第 10 行(编号 V0009): geometry: 位于街道辖区以外(或部分在外)",
    ]
    problems = lines[1:-1]
    assert len(problems) == len(expected)
    for line, text in zip(problems, expected, strict=True):
        assert line.strip().startswith(text), (line, text)
    assert "(are lon and lat swapped?)" in problems[4]
    assert "未导入,图层未改变 (nothing was imported; the layer is unchanged)" in result.stderr
    assert_unchanged(cli, "venues", before)


def test_validate_is_a_dry_run(cli, data_dir, tmp_path):
    before = head(cli, "parking")
    source = tmp_path / "parking.gpkg"
    frame = shipped_frame("parking").iloc[:3]
    pyogrio.write_dataframe(frame, source)
    result = cli("validate", source, "--layer", "parking")
    assert result.exit_code == 0, result.output
    assert "3 feature(s) in parking.gpkg are valid for layer parking; nothing was written" \
        in result.output
    assert_unchanged(cli, "parking", before)
    frame = frame.drop(columns="spaces")
    pyogrio.write_dataframe(frame, source)
    result = cli("validate", source, "--layer", "parking")
    assert result.exit_code == 1
    assert "parking.gpkg: spaces: 缺少必填字段「泊位(个,示意)」的列" in result.stderr
    assert "(is required)" not in result.stderr  # said once for the file, not per row
    assert_unchanged(cli, "parking", before)


def test_wrong_geometry_type(cli, data_dir):
    result = cli("validate", ROOT / "geodata" / "parcels.geojson", "--layer", "venues")
    assert result.exit_code == 1
    assert "第 1 个要素(编号 P01): geometry: 几何类型为 Polygon,本图层只接受 Point" in result.stderr


@pytest.mark.parametrize(("crs", "message"), [
    ("EPSG:999999", "EPSG knows no such code"),
    ("mars", "give an EPSG code"),
    ("", "give an EPSG code"),  # an empty --crs is not "no --crs"
])
def test_bad_crs_option(cli, data_dir, crs, message):
    result = cli("validate", ROOT / "geodata" / "venues.geojson", "--layer", "venues",
                 "--crs", crs)
    assert result.exit_code == 1
    assert message in result.stderr


def test_offset_of_projected_coordinates_is_refused(cli, tmp_path):
    source = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(shipped_frame("parking", "EPSG:4548"), source)
    result = cli("validate", source, "--layer", "parking", "--crs", "gcj02")
    assert result.exit_code == 1
    assert "gcj02 is an offset of lon/lat, but the file's coordinates are projected" \
        in result.stderr


@pytest.mark.parametrize(("name", "content", "message"), [
    ("data.txt", "x", "unknown format '.txt'"),
    ("broken.geojson", "{", "is not valid JSON"),
    ("list.geojson", "[]", "is not a GeoJSON FeatureCollection"),
    ("broken.gpkg", "not a database", "GDAL cannot read it as GeoPackage"),
    ("broken.xlsx", "not a workbook", "is not an XLSX workbook"),
    ("empty.zip", None, "the zip holds no .shp file"),
    ("nocrs.csv", "name,lon,lat\na,116.96,36.67\n", "表格不带坐标系,请选择坐标系"),
    ("nocoords.csv", "id,name\nK1,a\n", "no coordinate columns"),
    ("latin.csv", b"id,lon,lat\n\x80\x80,1,2\n", "is neither UTF-8 nor GB18030 (GBK) text"),
    ("deep.geojson", "[" * 100000 + "]" * 100000, "is nested too deeply to be GeoJSON"),
    ("bogus.geojson", '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "K1", '
                      '"properties": {}, "geometry": {"type": "Bogus", "coordinates": [1]}}]}',
     "第 1 个要素(编号 K1): geometry: 几何无法读取 (cannot be read: Unknown geometry type: "
     "'bogus')"),
])
def test_unreadable_files(cli, data_dir, tmp_path, name, content, message):
    source = tmp_path / name
    if content is None:
        with zipfile.ZipFile(source, "w") as z:
            z.writestr("readme.txt", "nothing")
    elif isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content, encoding="utf-8")
    before = head(cli, "parking")
    result = cli("import", source, "--layer", "parking")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a report, not a traceback
    assert message in result.stderr
    assert_unchanged(cli, "parking", before)


def test_a_boundary_that_leaves_layers_outside_is_refused(cli, data_dir, tmp_path):
    boundary = shipped("boundary")
    outline = shape(boundary[0]["geometry"])
    minx, miny, maxx, maxy = outline.bounds
    smaller = shapely.clip_by_rect(outline, minx, miny, maxx, (miny + maxy) / 2)
    boundary[0]["geometry"] = json.loads(shapely.to_geojson(smaller))
    source = tmp_path / "boundary.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": boundary},
                                 ensure_ascii=False), encoding="utf-8")
    before = head(cli, "boundary")
    result = cli("import", source, "--layer", "boundary")
    assert result.exit_code == 1
    assert "按此边界,venues.geojson: feature V" in result.stderr
    assert "(that layer would no longer be valid)" in result.stderr
    assert_unchanged(cli, "boundary", before)


def test_removing_venues_with_records_warns(cli, data_dir, tmp_path):
    features = shipped("venues")[10:]
    source = tmp_path / "fewer.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                 ensure_ascii=False), encoding="utf-8")
    result = cli("import", source, "--layer", "venues")
    assert result.exit_code == 0, result.output
    assert "注意 (warning): 10 个有检查记录的场所不在文件中:V0001," in result.output
    assert "(10 venue(s) with inspection records are not in the file: V0001," in result.output
    assert len(stored(cli, "venues")) == 343


def test_large_files_show_a_progress_bar(cli, data_dir, tmp_path):
    venues = shipped("venues")
    many = [{**venues[i % len(venues)], "id": f"W{i:05d}"} for i in range(1200)]
    source = tmp_path / "many.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": many},
                                 ensure_ascii=False), encoding="utf-8")
    result = cli("import", source, "--layer", "venues")
    assert result.exit_code == 0, result.output
    assert "checking many.geojson" in result.stderr
    small = cli("validate", ROOT / "geodata" / "venues.geojson", "--layer", "venues")
    assert "checking" not in small.stderr


# ------------------------------------------------------------------ atomicity
def fewer_parking(tmp_path):
    source = tmp_path / "parking-fewer.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection",
                                  "features": shipped("parking")[:3]}), encoding="utf-8")
    return source


def test_failure_while_replacing_leaves_the_old_version(cli, tmp_path, monkeypatch):
    before = head(cli, "parking")

    def fail(*args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SqliteVersionTables, "write_current", fail)
    result = cli("import", fewer_parking(tmp_path), "--layer", "parking")
    assert result.exit_code == 1  # a message, not a traceback
    assert "写入数据库失败,图层未改变:database or disk is full" in result.stderr
    assert_unchanged(cli, "parking", before)
    assert len(stored(cli, "parking")) == 8


def test_interrupt_while_writing_leaves_the_old_version(cli, tmp_path, monkeypatch):
    before = head(cli, "parking")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(SqliteVersionTables, "write_current", interrupted)
    result = cli("import", ROOT / "geodata" / "venues.geojson", "--layer", "parking")
    assert result.exit_code == 1  # venues are not parking: refused before writing
    result = cli("import", fewer_parking(tmp_path), "--layer", "parking")
    assert result.exit_code == 1 and "Aborted!" in result.output  # click's answer to Ctrl-C
    assert_unchanged(cli, "parking", before)


KILLED_IMPORT = """
import os, signal, sys
from pathlib import Path
from layers.stores.embedded.versions import SqliteVersionTables
from server import create_app

def die(*args):  # the new version's rows are written, not yet committed
    os.kill(os.getpid(), signal.SIGKILL)

SqliteVersionTables.write_current = die
app = create_app({"DATA_DIR": Path(sys.argv[1]), "INSPECTIONS_DB": Path(sys.argv[2])})
app.test_cli_runner().invoke(args=["layers", "import", sys.argv[3], "--layer", "parking"])
"""


def test_killed_import_leaves_the_old_version_whole(data_dir, tmp_path):
    source = tmp_path / "parking.gpkg"
    pyogrio.write_dataframe(shipped_frame("parking").iloc[:2], source)
    process = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, data_dir, tmp_path / "i.sqlite", source],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=120)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    cli = Cli(data_dir, tmp_path / "i.sqlite")  # a restart on the same database
    assert head(cli, "parking") == 1
    assert len(stored(cli, "parking")) == 8
    assert len(cli.app.extensions["layer_store"].get("parking")) == 8
    assert [v.version for v in cli.app.extensions["layer_history"].versions("parking")] == [1]


KILLED_POSTGIS_IMPORT = """
import os, signal, sys
from pathlib import Path
from layers.stores.postgis.layers import PostgisVersionTables
from server import create_app

def die(self, loaded):  # the new version's rows and half the table are written
    self.db.execute("DELETE FROM layer_parking")
    os.kill(os.getpid(), signal.SIGKILL)

PostgisVersionTables.write_current = die
app = create_app({"DATA_DIR": Path(sys.argv[1]), "INSPECTIONS_DB": Path(sys.argv[2]),
                  "DATABASE_URL": sys.argv[4]})
app.test_cli_runner().invoke(args=["layers", "import", sys.argv[3], "--layer", "parking"])
"""


def test_killed_import_on_postgis_leaves_the_old_version_whole(data_dir, tmp_path,
                                                               postgis_cluster):
    url = postgis_cluster.create_database()
    source = tmp_path / "parking.gpkg"
    pyogrio.write_dataframe(shipped_frame("parking").iloc[:2], source)
    process = subprocess.run(
        [sys.executable, "-c", KILLED_POSTGIS_IMPORT, data_dir, tmp_path / "i.sqlite", source,
         url], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        timeout=180)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=data_dir, DATABASE_URL=url)
    assert head(app, "parking") == 1 and len(stored(app, "parking")) == 8
    with app.extensions["database"].transaction() as db:
        assert db.execute("SELECT count(*) FROM layer_parking").fetchone()[0] == 8
    box = ",".join(map(str, app.extensions["layer_store"].get("boundary").bbox))
    served = app.test_client().get(f"/api/layers/parking?bbox={box}").get_json()["features"]
    assert len(served) == 8  # the bbox query reads layer_parking in PostGIS


def test_a_layer_that_does_not_seed_is_imported_without_the_app(data_dir, tmp_path):
    (data_dir / "venues.geojson").write_text("{", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HUAISHU_DATA_DIR": str(data_dir),
           "HUAISHU_INSPECTIONS_DB": str(tmp_path / "i.sqlite")}
    process = subprocess.run(
        [sys.executable, "-m", "layers.cli", "import", ROOT / "geodata" / "venues.geojson",
         "--layer", "venues"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert "as version 1" in process.stdout
    cli = Cli(data_dir, tmp_path / "i.sqlite")  # the app starts: every layer has a version
    assert len(cli.app.extensions["layer_store"].get("venues")) == 353
