"""The files an office really receives, made here by code: GBK Shapefiles with and without a
.cpg, zips made on Windows with GBK file names, KML without ids, CSV and XLSX with Chinese
headers in GCJ-02 and BD-09, a lone .shp. Each imports with positions within 0.1 m of the
truth, or is refused with a Chinese message saying what to do."""

import io
import re
import zipfile
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import shape

from layers.catalogue.entries import CATALOGUE, get_layer
from layers.data.importer import check_import
from layers.data.layer_export import shapefile_names
from layers.data.sources import ReadOptions
from layers.errors import chinese_part
from layers.geo import chinacoords
from layers.geo.crs import to_metric
from tests.conftest import client_as, make_app
from tests.layerfiles import GEODATA, Cli, copy_geodata, layers_of, shipped, shipped_frame, stored

CJK = re.compile(r"[\u4e00-\u9fff]")
GCJ02_HINT = "坐标疑似为高德/腾讯(GCJ-02)坐标,按 GCJ-02 转换后全部位于辖区内"
BD09_HINT = "坐标疑似为百度(BD-09)坐标,按 BD-09 转换后全部位于辖区内"
PARTS_HINT = "请把 .shp、.shx、.dbf、.prj 一起打包成 zip 上传"


@pytest.fixture
def data_dir(tmp_path):
    return copy_geodata(tmp_path / "geodata")


def check(path, layer, data_dir, **options):
    """Check a file against the layers (the shipped ones: these tests change none)."""
    return check_import(path, layer, layers_of(GEODATA), ReadOptions(**options))


def assert_positions(features, truth, metres=0.1):
    """Same ids in order; every position within `metres` of the truth (EPSG:4548)."""
    assert [f["id"] for f in features] == [f["id"] for f in truth]
    for got, expected in zip(features, truth, strict=True):
        distance = to_metric(shape(got["geometry"])).hausdorff_distance(
            to_metric(shape(expected["geometry"])))
        assert distance < metres, (got["id"], distance)


def assert_properties(features, truth):
    for got, expected in zip(features, truth, strict=True):
        assert got["properties"] == expected["properties"], got["id"]


def chinese_problems(report):
    messages = [str(p.message) for p in report.problems]
    assert messages and all(CJK.match(m) for m in messages), messages
    return messages


# ------------------------------------------------------------------ Shapefiles and encodings
def venues_shapefile(folder: Path, encoding: str, cpg: bool, name: str = "venues") -> Path:
    """The shipped venues as a Shapefile in `encoding`, as contractors' tools write it."""
    frame = shipped_frame("venues").rename(columns=shapefile_names(get_layer("venues")))
    folder.mkdir(parents=True, exist_ok=True)
    shp = folder / f"{name}.shp"
    pyogrio.write_dataframe(frame, shp, encoding=encoding)
    if not cpg:
        shp.with_suffix(".cpg").unlink()
    assert shp.with_suffix(".dbf").read_bytes()[29] == 0  # no code page in the header
    return shp


def zipped(shp: Path, output: Path, names_in_gbk: bool = False) -> Path:
    """The Shapefile's parts zipped; `names_in_gbk`: as Windows zips Chinese names (GBK,
    without the UTF-8 flag)."""
    with zipfile.ZipFile(output, "w") as z:
        for part in sorted(shp.parent.glob(shp.stem + ".*")):
            info = zipfile.ZipInfo(part.name)
            if names_in_gbk:
                info = GbkZipInfo(part.name)
            z.writestr(info, part.read_bytes())
    return output


class GbkZipInfo(zipfile.ZipInfo):
    def _encodeFilenameFlags(self):  # noqa: N802 (zipfile's name)
        return self.filename.encode("gbk"), self.flag_bits


def test_gbk_shapefile_without_cpg_is_read_as_gb18030(data_dir, tmp_path):
    shp = venues_shapefile(tmp_path / "gbk", "GBK", cpg=False)
    report = check(zipped(shp, tmp_path / "venues.zip"), "venues", data_dir)
    assert report.ok, report.problems[:5]
    assert_positions(report.features, shipped("venues"))
    assert_properties(report.features, shipped("venues"))
    assert any("GBK/GB18030" in note for note in report.notes), report.notes


def test_gbk_shapefile_with_cpg_follows_the_cpg(data_dir, tmp_path):
    shp = venues_shapefile(tmp_path / "gbk", "GBK", cpg=True)
    report = check(zipped(shp, tmp_path / "venues.zip"), "venues", data_dir)
    assert report.ok, report.problems[:5]
    assert_properties(report.features, shipped("venues"))


def test_utf8_shapefile_without_cpg_is_read_as_utf8(data_dir, tmp_path):
    shp = venues_shapefile(tmp_path / "utf8", "UTF-8", cpg=False)
    report = check(zipped(shp, tmp_path / "venues.zip"), "venues", data_dir)
    assert report.ok, report.problems[:5]
    assert_properties(report.features, shipped("venues"))
    assert any("UTF-8" in note for note in report.notes), report.notes


def test_an_encoding_chosen_is_used_and_a_wrong_one_is_refused_in_chinese(data_dir, tmp_path):
    shp = venues_shapefile(tmp_path / "gbk", "GBK", cpg=False)
    report = check(zipped(shp, tmp_path / "venues.zip"), "venues", data_dir,
                   encoding="gb18030")
    assert report.ok and any("按所选" in note for note in report.notes)
    report = check(zipped(shp, tmp_path / "venues.zip"), "venues", data_dir, encoding="utf-8")
    assert not report.ok
    assert "不是 UTF-8 编码,请选择其他编码" in chinese_problems(report)[0]


def test_windows_zip_with_gbk_file_names(data_dir, tmp_path):
    shp = venues_shapefile(tmp_path / "gbk", "GBK", cpg=False, name="九小场所")
    archive = zipped(shp, tmp_path / "场所.zip", names_in_gbk=True)
    with zipfile.ZipFile(archive) as z:
        assert not any(i.flag_bits & 0x800 for i in z.infolist())  # as Windows writes it
    report = check(archive, "venues", data_dir)
    assert report.ok, report.problems[:5]
    assert_positions(report.features, shipped("venues"))
    assert_properties(report.features, shipped("venues"))


def test_a_lone_shp_is_refused_with_what_to_do(data_dir, tmp_path):
    shp = venues_shapefile(tmp_path / "gbk", "GBK", cpg=True)
    lone = tmp_path / "lone" / "venues.shp"
    lone.parent.mkdir()
    lone.write_bytes(shp.read_bytes())
    report = check(lone, "venues", data_dir)
    assert not report.ok
    assert PARTS_HINT in chinese_problems(report)[0]
    assert "SHAPE_RESTORE_SHX" not in chinese_part(report.problems[0].message)[0]


# ------------------------------------------------------------------ KML without ids
def google_earth_kml(name: str, path: Path, **extra: str) -> Path:
    """A shipped point layer as Google Earth or 奥维互动地图 saves it: Placemarks with a
    <name> and ExtendedData, and no ids."""
    placemarks = []
    for feature in shipped(name):
        props = dict(feature["properties"])
        data = "".join(f'<Data name="{escape(k)}"><value>{escape(_text(v))}</value></Data>'
                       for k, v in props.items() if k != "name")
        x, y = shape(feature["geometry"]).coords[0]
        placemarks.append(f"<Placemark><name>{escape(props['name'])}</name>"
                          f"<ExtendedData>{data}</ExtendedData>"
                          f"<Point><coordinates>{x},{y},0</coordinates></Point></Placemark>")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.'
                    'net/kml/2.2"><Document><name>标注</name>' + "".join(placemarks)
                    + "</Document></kml>", encoding="utf-8")
    return path


def _text(value) -> str:
    if isinstance(value, list):
        return "、".join(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def test_kml_without_ids_gets_ids_and_keeps_its_names(data_dir, tmp_path):
    truth = shipped("vending")
    kml = google_earth_kml("vending", tmp_path / "售货亭.kml")
    report = check(kml, "vending", data_dir)
    assert report.ok, report.problems[:5]
    assert [f["id"] for f in report.features] == [f"S{n:02d}" for n in range(1, len(truth) + 1)]
    assert [f["properties"]["name"] for f in report.features] == \
        [f["properties"]["name"] for f in truth]
    assert_positions([{**f, "id": t["id"]} for f, t in zip(report.features, truth, strict=True)],
                     truth)
    assert any("已按图层编号规则依次生成 S01–S08" in note for note in report.notes), report.notes
    again = check(kml, "vending", data_dir)  # the same file: the same ids
    assert [f["id"] for f in again.features] == [f["id"] for f in report.features]


def test_a_layer_of_official_codes_takes_no_made_up_ids(data_dir, tmp_path):
    frame = shipped_frame("grid").drop(columns="id")
    kml = tmp_path / "grid.kml"
    pyogrio.write_dataframe(frame.rename(columns={"name": "Name"}), kml, driver="KML")
    kml.write_text(re.sub(r' id="[^"]*"', "", kml.read_text(encoding="utf-8")),
                   encoding="utf-8")
    report = check(kml, "grid", data_dir)
    assert not report.ok and "不能自动生成" in chinese_problems(report)[0]


# ------------------------------------------------------------------ tables: headers and offsets
def labelled_table(name: str, system: str) -> pd.DataFrame:
    """A shipped point layer as an office's spreadsheet: Chinese headers (编号, 经度, 纬度,
    every field's label), positions in `system` (wgs84, gcj02, bd09)."""
    layer = get_layer(name)
    frame = pd.DataFrame(shipped_frame(name).drop(columns="geometry"))
    lon, lat = np.array([[shape(f["geometry"]).x, shape(f["geometry"]).y]
                         for f in shipped(name)]).T
    if system != "wgs84":
        lon, lat = chinacoords.from_wgs84(lon, lat, system)
    frame.insert(1, "经度", np.round(lon, 8))
    frame.insert(2, "纬度", np.round(lat, 8))
    labels = {f.name: f.label for f in layer.fields}
    return frame.rename(columns={"id": "编号", **labels})


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_tables_with_chinese_headers_in_offset_coordinates(data_dir, tmp_path, system, suffix):
    table = labelled_table("venues", system)
    path = tmp_path / f"场所{suffix}"
    if suffix == ".csv":
        table.to_csv(path, index=False, encoding="gbk")  # as Excel in China saves CSV
    else:
        table.to_excel(path, index=False)
    report = check(path, "venues", data_dir, crs=system)
    assert report.ok, report.problems[:5]
    assert_positions(report.features, shipped("venues"))
    assert_properties(report.features, shipped("venues"))
    # 坐标系 left at WGS84: refused, with the cause and the remedy
    report = check(path, "venues", data_dir, crs="wgs84")
    assert not report.ok
    hint = GCJ02_HINT if system == "gcj02" else BD09_HINT
    assert hint in [chinese_part(p.message)[0].split(";")[0] for p in report.problems]


def test_a_table_must_say_its_coordinate_system(data_dir, tmp_path):
    path = tmp_path / "场所.csv"
    labelled_table("venues", "wgs84").to_csv(path, index=False)
    report = check(path, "venues", data_dir)
    assert not report.ok
    assert chinese_problems(report)[0].startswith("表格不带坐标系,请选择坐标系")


def test_a_table_without_ids_gets_them(data_dir, tmp_path):
    path = tmp_path / "场所.csv"
    labelled_table("venues", "wgs84").drop(columns="编号").to_csv(path, index=False)
    report = check(path, "venues", data_dir, crs="wgs84")
    assert report.ok, report.problems[:5]
    assert_positions(report.features, shipped("venues"))  # V0001 ... in the file's order


def test_problems_name_the_row_the_id_and_the_field_in_chinese(data_dir, tmp_path):
    table = labelled_table("venues", "wgs84")
    table.loc[1, "场所类型"] = "大商场"
    path = tmp_path / "场所.csv"
    table.to_csv(path, index=False)
    report = check(path, "venues", data_dir, crs="wgs84")
    [problem] = report.problems
    assert problem.where == "第 3 行(编号 V0002)" and problem.field == "kind"
    assert chinese_part(problem.message)[0].startswith("不是可选值:'大商场',可选 ")


# ------------------------------------------------------------------ the web page
def test_the_page_shows_chinese_problems_without_cli_flags(tmp_path):
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=copy_geodata(tmp_path / "geodata"))
    client = client_as(app, "admin")
    table = labelled_table("venues", "gcj02").drop(columns="编号")
    table.loc[0, "场所类型"] = "大商场"
    body = table.to_csv(index=False).encode("utf-8")
    form = {"layer": "venues", "crs": "wgs84", "action": "validate", "id_column": "id",
            "encoding": "", "file": (io.BytesIO(body), "场所.csv")}
    response = client.post("/admin/layers/import", data=form,
                           content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert GCJ02_HINT in text and "第 2 行(编号 V0001)" in text and "场所类型 [kind]" in text
    assert "--" not in re.sub(r"<[^>]+>|<!--.*?-->", "", text.split('id="problems"')[1])
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", text)
    assert cells and all(CJK.match(message) for _, _, message in cells), cells[:3]
    # an encoding that the form does not offer
    form = {**form, "encoding": "latin-1", "file": (io.BytesIO(body), "a.csv")}
    response = client.post("/admin/layers/import", data=form,
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "未知的文字编码选项" in response.get_data(as_text=True)


def test_the_cli_takes_an_encoding_and_a_crs(tmp_path):
    data_dir = copy_geodata(tmp_path / "geodata")
    cli = Cli(data_dir, tmp_path / "i.sqlite")
    shp = venues_shapefile(tmp_path / "gbk", "GBK", cpg=False)
    result = cli("validate", zipped(shp, tmp_path / "v.zip"), "--layer", "venues",
                 "--encoding", "big5")
    assert result.exit_code != 0
    path = tmp_path / "场所.csv"
    labelled_table("venues", "bd09").to_csv(path, index=False)
    result = cli("import", path, "--layer", "venues", "--crs", "bd09")
    assert result.exit_code == 0, result.output
    assert_positions(stored(cli, "venues"), shipped("venues"))


# ------------------------------------------------------------------ the map's own exports
ALL_LAYERS = [layer.name for layer in CATALOGUE]
POINT_LAYERS = [layer.name for layer in CATALOGUE if layer.geometry == "Point"]


@pytest.mark.parametrize("name", ALL_LAYERS)
def test_the_maps_geojson_export_imports_back_unchanged(tmp_path, name):
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=copy_geodata(tmp_path / "geodata"))
    client = client_as(app, "admin")
    response = client.get(f"/api/export?layers={name}&format=geojson")
    assert response.status_code == 200
    path = tmp_path / f"{name}-export.geojson"
    path.write_bytes(response.data)
    report = check(path, name, tmp_path / "geodata")
    assert report.ok, report.problems[:5]
    assert_positions(report.features, shipped(name), metres=0.01)
    assert_properties(report.features, shipped(name))


@pytest.mark.parametrize("name", POINT_LAYERS)
def test_the_maps_csv_export_imports_back_unchanged(tmp_path, name):
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=copy_geodata(tmp_path / "geodata"))
    client = client_as(app, "admin")
    response = client.get(f"/api/export?layers={name}&format=csv")
    assert response.status_code == 200
    path = tmp_path / f"{name}-export.csv"
    path.write_bytes(response.data)
    report = check(path, name, tmp_path / "geodata", crs="wgs84")
    assert report.ok, report.problems[:5]
    assert_positions(report.features, shipped(name), metres=0.02)
    assert_properties(report.features, shipped(name))


def test_a_gpx_of_waypoints_gets_ids_and_keeps_names_and_extensions(data_dir, tmp_path):
    """A GPX from a phone's track app (两步路, 奥维): waypoints with names and, as GDAL
    and most apps write them, the other fields as <extensions>; no ids."""
    truth = shipped("vending")
    frame = shipped_frame("vending").drop(columns="id")
    gpx = tmp_path / "占道经营.gpx"
    pyogrio.write_dataframe(frame, gpx, driver="GPX", layer="waypoints",
                            dataset_options={"GPX_USE_EXTENSIONS": "YES"})
    report = check(gpx, "vending", data_dir)
    assert report.ok, report.problems[:5]
    assert any("读取 GPX 的 waypoints 图层" in note for note in report.notes), report.notes
    assert [f["id"] for f in report.features] == [f"S{n:02d}" for n in range(1, len(truth) + 1)]
    assert_properties([{**f, "id": t["id"]} for f, t in zip(report.features, truth, strict=True)],
                      truth)
    assert_positions([{**f, "id": t["id"]} for f, t in zip(report.features, truth, strict=True)],
                     truth)


def test_a_gpx_without_waypoints_is_read_from_its_lines(data_dir, tmp_path):
    """GDAL writes LineStrings as GPX routes (<rte>): the roads are read from those."""
    frame = shipped_frame("roads").drop(columns="id")
    gpx = tmp_path / "道路.gpx"
    pyogrio.write_dataframe(frame, gpx, driver="GPX", layer="routes",
                            dataset_options={"GPX_USE_EXTENSIONS": "YES"})
    report = check(gpx, "roads", data_dir)
    assert any("读取 GPX 的 routes 图层" in note for note in report.notes), report.notes
    names = {f["properties"].get("name") for f in report.features}
    assert names == {f["properties"]["name"] for f in shipped("roads")}
