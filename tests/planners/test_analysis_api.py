"""The JSON endpoints of summaries, measures, choropleth, coverage and export."""

import csv
import io
import json

import pytest
import shapely
from shapely.geometry import mapping

RECT = mapping(shapely.box(116.958, 36.662, 116.964, 36.670))


def assert_error(response, status, text=None):
    assert response.status_code == status
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status
    if text:
        assert text in body["error"]


def test_post_summary_of_a_polygon(client):
    response = client.post("/api/summary", json={"geometry": RECT})
    assert response.status_code == 200
    body = response.get_json()
    assert body["community"] is None
    assert body["geometry"]["type"] == "Polygon"
    assert body["venues"]["count"] > 0 and body["garbage"]["bins"] > 0
    assert body["area_mu"] == pytest.approx(body["area_m2"] * 3 / 2000, abs=0.01)


def test_get_summary_of_a_community_by_name_and_by_point(client):
    by_name = client.get("/api/summary?community=御景社区").get_json()
    assert by_name["community"]["name"] == "御景社区"
    assert by_name["geometry"]["type"] in ("Polygon", "MultiPolygon")
    point = shapely.geometry.shape(by_name["geometry"]).representative_point()
    by_point = client.get(f"/api/summary?lon={point.x}&lat={point.y}").get_json()
    assert by_point == by_name


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        ("/api/summary", 400, "community"),
        ("/api/summary?community=火星社区", 404, "火星社区"),
        ("/api/summary?lon=abc&lat=36.6", 400, "lon"),
        ("/api/summary?lon=116.90&lat=36.60", 404, "不在任何社区"),
        ("/api/summary?lon=0&lat=0", 400, "济南"),
        ("/api/choropleth", 400, "indicator"),
        ("/api/choropleth?indicator=nope", 400, "nope"),
    ],
)
def test_bad_queries_are_json_errors(client, url, status, text):
    assert_error(client.get(url), status, text)


@pytest.mark.parametrize("route", ["/api/summary", "/api/measure"])
@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ("not json", 400, "JSON"),
        ("[1,2,3]", 400, "GeoJSON"),
        ('{"type": "Polygon", "coordinates": [[[116.96, 36.66], [116.97, 36.67], '
         '[116.97, 36.66], [116.96, 36.67], [116.96, 36.66]]]}', 400, "自相交"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}', 400, "济南"),
        ('{"type": "Polygon", "coordinates": [[[116.96, 36.66], [NaN, 36.67], '
         '[116.97, 36.66], [116.96, 36.66]]]}', 400, "NaN"),
        ('{"type": "Polygon", "coordinates": [[[116.5, 36.5], [116.7, 36.5], [116.7, 36.7], '
         '[116.5, 36.7], [116.5, 36.5]]]}', 400, "范围过大"),
    ],
)
def test_bad_geometries_are_json_errors(client, route, body, status, text):
    response = client.post(route, data=body, content_type="application/json")
    assert_error(response, status, text)


def test_a_body_too_large_is_413(app, client):
    body = json.dumps({"type": "Polygon", "coordinates": [[[116.96, 36.66]] * 80_000]})
    assert len(body) > app.config["MAX_CONTENT_LENGTH"]
    assert_error(client.post("/api/summary", data=body, content_type="application/json"), 413)


def test_measure_a_line_and_a_polygon(client):
    line = {"type": "LineString", "coordinates": [[116.96, 36.665], [116.97, 36.665]]}
    assert 880 < client.post("/api/measure", json=line).get_json()["length_m"] < 900
    polygon = client.post("/api/measure", json=RECT).get_json()
    assert polygon["area_m2"] > 0 and polygon["perimeter_m"] > 0
    point = {"type": "Point", "coordinates": [116.96, 36.665]}
    assert_error(client.post("/api/measure", json=point), 400, "Point")


def test_choropleth_and_coverage(client):
    body = client.get("/api/choropleth?indicator=venues").get_json()
    assert body["indicator"] == {"key": "venues", "label": "安全监管场所数", "unit": "个"}
    assert sum(f["properties"]["value"] for f in body["features"]) == 353
    coverage = client.get("/api/coverage").get_json()
    assert {"garbage", "reading", "communities", "total"} <= set(coverage)
    assert coverage["garbage"]["geometry"]["type"] in ("Polygon", "MultiPolygon")


# --- export -------------------------------------------------------------------------------


def read_csv(response):
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # spreadsheets read the Chinese text as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_geojson_of_chosen_layers_in_a_community(client):
    response = client.get("/api/export?format=geojson&layers=venues,garbage&community=裕园社区")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "2026-11-25" in response.headers["Content-Disposition"]
    body = json.loads(response.get_data(as_text=True))
    layers = {f["properties"]["layer"] for f in body["features"]}
    assert layers == {"venues", "garbage"}
    assert all(f["properties"]["community"] == "裕园社区" for f in body["features"])
    venues = [f for f in body["features"] if f["properties"]["layer"] == "venues"]
    summary = client.get("/api/summary?community=裕园社区").get_json()
    assert len(venues) == summary["venues"]["count"]
    assert all(f["properties"]["status"] for f in venues)  # live inspection status


def test_export_csv_has_chinese_columns_and_one_row_per_feature(client):
    rows = read_csv(client.get("/api/export?format=csv&layers=parcels,boundary"))
    header = rows[0]
    assert header[:2] == ["图层", "编号"] and header[-2:] == ["经度", "纬度"]
    assert "名称" in header and "面积(亩)" in header and "状态" in header
    assert "地块名称" not in header  # boundary and parcels share one 名称 column
    assert len(rows) == 1 + 1 + 7
    assert rows[1][0] == "街道辖区"  # layers in the catalogue's order
    parcel = dict(zip(header, rows[2], strict=True))
    assert parcel["图层"] == "土地地块" and parcel["名称"] == "八里桥片区"
    assert 116.9 < float(parcel["经度"]) < 117.0 and 36.6 < float(parcel["纬度"]) < 36.7
    assert parcel["见于2022年工作总结"] in ("是", "否")


def test_export_with_a_bbox_and_a_community_filter(client, store):
    minx, miny, maxx, maxy = store.get("boundary").bbox
    west = f"{minx},{miny},{(minx + maxx) / 2},{maxy}"
    everything = read_csv(client.get("/api/export?format=csv&layers=venues"))
    in_west = read_csv(client.get(f"/api/export?format=csv&layers=venues&bbox={west}"))
    assert 1 < len(in_west) < len(everything) == 354
    # Layers without communities (roads) are not filtered by one.
    roads = read_csv(client.get("/api/export?format=csv&layers=roads&community=嘉瑞社区"))
    assert len(roads) == 1 + len(store.get("roads"))


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("format=csv", "layers"),
        ("format=csv&layers=venues,nope", "nope"),
        ("format=xlsx&layers=venues", "format"),
        ("format=csv&layers=venues&community=火星社区", "火星社区"),
        ("format=csv&layers=venues&bbox=1,2,3", "four numbers"),
    ],
)
def test_bad_export_requests_are_400(client, query, text):
    assert_error(client.get(f"/api/export?{query}"), 400, text)


def test_csv_cells_that_look_like_formulas_are_quoted():
    from layers.data.tables import cell_text as cell

    assert cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert cell("+1") == "'+1" and cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell(-3) == "-3" and cell(True) == "是"
    assert cell(["可回收物", "厨余垃圾"]) == "可回收物、厨余垃圾"
    assert cell(None) == ""
    assert cell(["=1+1", "厨余垃圾"]) == "'=1+1、厨余垃圾"  # a list is one cell too
