"""The catalogue rejects broken data with messages naming file, feature and problem."""

import json
import shutil
from pathlib import Path

import pytest
import shapely
from pyproj import Geod

from layers.catalogue.entries import get_layer
from layers.catalogue.validate import LayerDataError, validate_collection
from layers.geo.crs import to_metric
from layers.stores.layers import LayerStore

GEODATA = Path(__file__).resolve().parents[2] / "geodata"

VENUE = {
    "name": "裕园便利店",
    "category": "九小场所",
    "kind": "小商店",
    "address": "经四路100号",
    "community": "裕园社区",
    "quancheng_app": True,
    "pledge_signed": False,
}
# A small square around a point in the sub-district, as the boundary.
BOUNDARY = to_metric(shapely.box(116.955, 36.655, 116.975, 36.68))


def venue(fid="v1", lon=116.962, lat=36.665, **props):
    return {"type": "Feature", "id": fid, "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {**VENUE, **props}}


def problems_of(*features, layer="venues"):
    data = {"type": "FeatureCollection", "features": list(features)}
    valid, problems = validate_collection(get_layer(layer), data, "venues.geojson", BOUNDARY)
    return valid, [str(p) for p in problems]


def test_a_good_feature_passes():
    valid, problems = problems_of(venue())
    assert problems == []
    assert valid[0].id == "v1"
    # EPSG:4548: false easting 500 km on 117°E; the point lies 3.4 km west of it.
    west_of_117 = Geod(ellps="GRS80").inv(117, 36.665, 116.962, 36.665)[2]
    assert valid[0].metric.x == pytest.approx(500_000 - west_of_117, abs=5)


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        (venue(kind="大商场"), "venues.geojson: feature v1: kind: 不是可选值:'大商场',可选 "),
        (venue(name=""), "feature v1: name: 不能为空 (must not be empty)"),
        (venue(name=None), "feature v1: name: 为必填项 (is required)"),
        (venue(quancheng_app="yes"),
         "quancheng_app: 须为 是 或 否,而不是 'yes' (must be true or false"),
        (venue(colour="red"), "colour: 不是本图层的字段 (is not a property of layer venues"),
        (venue(lon=36.665, lat=116.962), "are lon and lat swapped?"),
        (venue(lon=116.90, lat=36.665), "lies (partly) outside the sub-district boundary"),
        (venue(lon=float("nan")), "not a finite number"),
        (venue(category="企业", kind="小商店"), "a firm (企业) must have one of"),
        ({**venue(), "id": None}, "feature #0: has no id"),
        ({**venue(), "geometry": None}, "feature v1: geometry: 缺少几何 (missing)"),
        ({**venue(), "geometry": {"type": "Point", "coordinates": "x"}}, "cannot be read"),
        ({**venue(), "geometry": {"type": "LineString",
                                   "coordinates": [[116.96, 36.66], [116.961, 36.661]]}},
         "is a LineString; layer venues takes Point"),
    ],
)
def test_broken_features_are_named_with_their_problem(feature, expected):
    valid, problems = problems_of(feature)
    assert valid == []
    assert any(expected in p for p in problems), problems


def test_duplicate_ids_are_reported():
    _, problems = problems_of(venue("a"), venue("a"))
    assert problems == ["venues.geojson: feature a: duplicate id"]


def test_self_intersecting_polygon_is_invalid():
    bowtie = [[116.96, 36.66], [116.962, 36.662], [116.962, 36.66], [116.96, 36.662],
              [116.96, 36.66]]
    feature = {"type": "Feature", "id": "p1",
               "geometry": {"type": "Polygon", "coordinates": [bowtie]},
               "properties": {"name": "某地块", "status": "闲置", "owner": "某公司",
                              "planned_use": "待定", "years_idle": 3,
                              "last_update": "2023-01-01", "community": "裕园社区",
                              "from_document": False}}
    _, problems = problems_of(feature, layer="parcels")
    assert any("is invalid: Self-intersection" in p for p in problems), problems


def test_garbage_bins_must_add_up():
    feature = {"type": "Feature", "id": "g1",
               "geometry": {"type": "Point", "coordinates": [116.962, 36.665]},
               "properties": {"code": "3701040305000001", "name": "投放点", "community": "裕园社区",
                              "kinds": ["厨余垃圾", "其他垃圾"], "bins": 5, "bins_recyclable": 0,
                              "bins_hazardous": 0, "bins_kitchen": 2, "bins_residual": 2,
                              "built": "2022-05-01"}}
    _, problems = problems_of(feature, layer="garbage")
    assert problems == ["venues.geojson: feature g1: 各类垃圾桶数之和为 4,与垃圾桶总数 5 不符 "
                        "(bins=5 but the per-kind counts add up to 4)"]


@pytest.mark.parametrize("value", ["2022-13-01", "20220101", 20220101])
def test_bad_dates(value):
    feature = {"type": "Feature", "id": "g1",
               "geometry": {"type": "Point", "coordinates": [116.962, 36.665]},
               "properties": {"code": "3701040305000001", "name": "投放点", "community": "裕园社区",
                              "kinds": ["其他垃圾"], "bins": 1, "bins_recyclable": 0,
                              "bins_hazardous": 0, "bins_kitchen": 0, "bins_residual": 1,
                              "built": value}}
    _, problems = problems_of(feature, layer="garbage")
    assert any("is not a date (YYYY-MM-DD)" in p for p in problems), problems


def test_a_crs_member_is_refused():
    data = {"type": "FeatureCollection", "crs": {"type": "name"}, "features": []}
    _, problems = validate_collection(get_layer("venues"), data, "venues.geojson")
    assert "WGS84" in str(problems[0])


@pytest.fixture
def data_copy(tmp_path):
    shutil.copytree(GEODATA, tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_store_names_the_file_and_feature(data_copy):
    path = data_copy / "parking.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][0]["properties"]["spaces"] = -3
    fid = data["features"][0]["id"]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LayerDataError) as e:
        LayerStore.from_directory(data_copy)
    assert f"parking.geojson: feature {fid}: spaces: 不能小于 0,而是 -3 (must be at least 0, " \
        "not -3)" in str(e.value)


def test_store_reports_missing_and_unreadable_files(data_copy):
    (data_copy / "garbage.geojson").unlink()
    (data_copy / "roads.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(LayerDataError) as e:
        LayerStore.from_directory(data_copy)
    message = str(e.value)
    assert "garbage.geojson: missing" in message
    assert "roads.geojson: is not valid JSON" in message


def test_server_cli_refuses_bad_data_with_a_message(data_copy, capsys, monkeypatch, tmp_path):
    from server import main

    # A store of its own: the default instance/inspections.sqlite of a checkout that has
    # run would hold the layers already, and the server would start on them.
    monkeypatch.setenv("HUAISHU_INSPECTIONS_DB", str(tmp_path / "inspections.sqlite"))
    (data_copy / "venues.geojson").write_text('{"type": "Feature"}', encoding="utf-8")
    assert main(["--data-dir", str(data_copy)]) == 2
    assert "venues.geojson: is not a GeoJSON FeatureCollection" in capsys.readouterr().err
