"""/admin/layers: an admin downloads layers and imports a file through the web, as the
CLI does (every problem first, atomic and audited replacement); nobody else may."""

import io
import json
import zipfile

import pyogrio
import pytest

from layers.geo import chinacoords
from tests.conftest import client_as, csrf_token, log_in, make_app
from tests.layerfiles import copy_geodata, head, shipped, shipped_frame, stored


@pytest.fixture
def data_dir(tmp_path):
    return copy_geodata(tmp_path / "geodata")


@pytest.fixture
def app(tmp_path, data_dir, store_backend):
    return make_app(tmp_path / "inspections.sqlite", DATA_DIR=data_dir)


@pytest.fixture
def admin(app):
    return log_in(app.test_client(), "chief", "admin")


def geojson_file(features, name="parking.geojson"):
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return (io.BytesIO(text.encode("utf-8")), name)


def post_import(client, file, action="import", **fields):
    data = {"layer": "parking", "crs": "", "action": action, "file": file,
            "csrf_token": csrf_token(client), **fields}
    return client.post("/admin/layers/import", data=data, content_type="multipart/form-data")


def test_the_page_lists_every_layer_with_its_count_and_downloads(admin):
    page = admin.get("/admin/layers")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="zh-CN">' in html
    assert "图层数据" in html and "导入图层文件" in html
    assert 'data-layer="venues"' in html and ">353<" in html
    assert 'enctype="multipart/form-data"' in html
    assert "/admin/layers/venues/download?format=gpkg" in html


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "shp"])
def test_a_download_reads_back_with_gdal(admin, tmp_path, fmt):
    response = admin.get(f"/admin/layers/parking/download?format={fmt}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    suffix = {"geojson": ".geojson", "gpkg": ".gpkg", "csv": ".csv", "shp": ".zip"}[fmt]
    assert f"parking-2026-11-25{suffix}" in disposition
    path = tmp_path / f"parking{suffix}"
    path.write_bytes(response.get_data())
    source = f"/vsizip/{path}" if fmt == "shp" else str(path)
    frame = pyogrio.read_dataframe(source, read_geometry=fmt != "csv")
    assert sorted(frame["id"]) == sorted(f["id"] for f in shipped("parking"))


def test_bad_downloads_are_refused(admin):
    assert admin.get("/admin/layers/nosuch/download").status_code == 404
    response = admin.get("/admin/layers/parking/download?format=dwg")
    assert response.status_code == 400 and "下载格式须为" in response.get_data(as_text=True)
    response = admin.get("/admin/layers/parking/download?format=dwg",
                         headers={"Accept": "application/json"})
    assert response.status_code == 400 and "format" in response.get_json()["error"]


def test_validate_checks_and_writes_nothing(admin, app, data_dir):
    before = head(app, "parking")
    features = shipped("parking")[:3]
    response = post_import(admin, geojson_file(features), action="validate")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "校验通过" in html and "3 个要素" in html and "未写入任何数据" in html
    assert head(app, "parking") == before


def test_an_import_replaces_the_layer_is_audited_and_served(admin, app, data_dir):
    features = shipped("parking")[:3]
    response = post_import(admin, geojson_file(features, "停车场 2026.geojson"))
    assert response.status_code == 303 and response.location.endswith("/admin/layers")
    page = admin.get("/admin/layers").get_data(as_text=True)
    assert ("已将 停车场 2026.geojson 的 3 个要素导入图层「停车场」,成为版本 2"
            "(新增 0、删除 5、修改 0)") in page
    assert [f["id"] for f in stored(app, "parking")] == [f["id"] for f in features]
    # This server follows its own change at once (others within a second).
    assert len(admin.get("/api/layers/parking").get_json()["features"]) == 3
    rows = admin.get("/api/audit?action=layer.import").get_json()["entries"]
    assert rows[0]["actor"] == "chief" and rows[0]["object_id"] == "parking"
    assert rows[0]["summary"] == {
        "file": "停车场 2026.geojson", "features": 3, "version": 2, "before": 1,
        "reason": "导入 停车场 2026.geojson", "added": 0, "removed": 5, "changed": 0}
    assert 'data-layer="parking"' in page and "版本 2" in page


def test_every_problem_is_listed_and_nothing_changes(admin, app, data_dir):
    before = head(app, "parking")
    features = shipped("parking")[:3]
    features[0]["properties"]["spaces"] = -5
    features[1]["id"] = features[2]["id"]
    features[2]["geometry"] = {"type": "Point", "coordinates": [116.96, 36.66]}
    response = post_import(admin, geojson_file(features))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "个问题,未导入,图层「停车场」未改变" in html
    problems = html.split('id="problems"')[1]
    assert "spaces" in problems and "geometry" in problems and "的编号重复" in problems
    assert "is also the id of" not in problems  # the page shows the Chinese part alone
    assert head(app, "parking") == before
    assert 'value="parking" selected' in html  # the form keeps what was chosen


def test_a_spreadsheet_in_gcj02_is_converted(admin, app, data_dir, tmp_path):
    frame = shipped_frame("venues").drop(columns="geometry")
    points = [f["geometry"]["coordinates"] for f in shipped("venues")]
    lon, lat = zip(*(chinacoords.wgs84_to_gcj02(x, y) for x, y in points), strict=True)
    frame.insert(1, "经度", lon)
    frame.insert(2, "纬度", lat)
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    buffer.seek(0)
    response = post_import(admin, (buffer, "场所.xlsx"), layer="venues", crs="gcj02")
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    after = {f["id"]: f["geometry"]["coordinates"] for f in stored(app, "venues")}
    for feature in shipped("venues"):
        x, y = after[feature["id"]]
        assert abs(x - feature["geometry"]["coordinates"][0]) < 1e-7
        assert abs(y - feature["geometry"]["coordinates"][1]) < 1e-7


@pytest.mark.parametrize(("fields", "file", "message"), [
    ({"layer": "nosuch"}, ("x", "a.geojson"), "请选择要导入的图层"),
    ({"crs": "mars"}, ("x", "a.geojson"), "未知的坐标系选项"),
    ({"crs": "other", "crs_code": ""}, ("x", "a.geojson"), "请填写 EPSG 代码"),
    ({"action": "delete"}, ("x", "a.geojson"), "action 必须是 validate 或 import"),
    ({}, ("x", "a.dwg"), "格式的文件"),
    ({}, ("x", ""), "请选择要导入的文件"),
])
def test_bad_forms_are_refused_in_chinese(admin, app, data_dir, fields, file, message):
    before = head(app, "parking")
    content, name = file
    response = post_import(admin, (io.BytesIO(content.encode()), name), **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert head(app, "parking") == before


def test_an_unreadable_file_or_crs_is_a_problem_not_a_crash(admin, app, data_dir):
    before = head(app, "parking")
    response = post_import(admin, (io.BytesIO(b"\x00\x01 not json"), "p.geojson"))
    assert response.status_code == 400 and "未导入" in response.get_data(as_text=True)
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("readme.txt", "no shapefile here")
    broken.seek(0)
    assert post_import(admin, (broken, "p.zip")).status_code == 400
    response = post_import(admin, geojson_file(shipped("parking")), crs="other",
                           crs_code="EPSG:999999")
    assert response.status_code == 400 and "EPSG" in response.get_data(as_text=True)
    assert head(app, "parking") == before


def test_uploads_may_be_larger_than_other_bodies_up_to_their_own_limit(app, data_dir):
    app.config.update(MAX_CONTENT_LENGTH=1000, IMPORT_MAX_CONTENT_LENGTH=200_000)
    admin = log_in(app.test_client(), "chief", "admin")
    features = shipped("parking")
    assert len(json.dumps(features).encode()) > 1000
    response = post_import(admin, geojson_file(features), action="validate")
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    big = geojson_file(features * 100)  # over 200 kB
    assert post_import(admin, big, action="validate").status_code == 413
    # Other routes keep the small limit.
    assert admin.post("/api/measure", data="x" * 2000,
                      content_type="application/json").status_code == 413


def test_only_admins_import_or_download(app, data_dir):
    before = head(app, "parking")
    for role, status in [(None, 401), ("viewer", 403), ("inspector", 403), ("leader", 403)]:
        client = client_as(app, role)
        assert client.get("/admin/layers").status_code == status
        assert client.get("/admin/layers/parking/download").status_code == status
        response = client.post("/admin/layers/import", content_type="multipart/form-data",
                               data={"layer": "parking", "action": "import",
                                     "file": geojson_file(shipped("parking")[:1])})
        assert response.status_code in (400, status)  # a refused CSRF token is 400
    assert head(app, "parking") == before


def test_the_import_form_needs_the_csrf_token(admin, app, data_dir):
    before = head(app, "parking")
    del admin.environ_base["HTTP_X_CSRFTOKEN"]
    response = admin.post("/admin/layers/import", content_type="multipart/form-data",
                          data={"layer": "parking", "action": "import",
                                "file": geojson_file(shipped("parking")[:1])})
    assert response.status_code == 400
    assert head(app, "parking") == before


def test_versions_are_listed_compared_downloaded_and_restored(admin, app, tmp_path):
    assert post_import(admin, geojson_file(shipped("parking")[:3])).status_code == 303
    changed = shipped("parking")[:4]
    changed[0]["properties"]["name"] = "改名的停车场"
    assert post_import(admin, geojson_file(changed)).status_code == 303
    page = admin.get("/admin/layers/parking/versions")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "图层版本:停车场" in html
    assert [v.version for v in app.extensions["layer_history"].versions("parking")] == [3, 2, 1]
    assert 'data-version="3"' in html and "3(当前)" in html and "chief" in html
    assert "导入 parking.geojson" in html and "图层初始数据" in html
    assert "1 / 0 / 1" in html  # version 3: one added, none removed, one changed

    compare = admin.get("/admin/layers/parking/versions?from=1&to=3").get_data(as_text=True)
    ids = [f["id"] for f in shipped("parking")]
    assert "新增 0 个,删除 4 个,修改 1 个要素" in compare
    assert f'<td>修改</td><td><code>{ids[0]}</code>' in compare

    old = admin.get("/admin/layers/parking/download?format=geojson&version=1")
    assert old.status_code == 200 and "parking-v1.geojson" in old.headers["Content-Disposition"]
    assert [f["id"] for f in json.loads(old.get_data())["features"]] == ids

    restored = admin.post("/admin/layers/parking/restore",
                          data={"version": "1", "csrf_token": csrf_token(admin)})
    assert restored.status_code == 303
    assert head(app, "parking") == 4
    assert [f["id"] for f in admin.get("/api/layers/parking").get_json()["features"]] == ids
    rows = admin.get("/api/audit?action=layer.restore").get_json()["entries"]
    assert rows[0]["summary"]["restored"] == 1 and rows[0]["summary"]["version"] == 4


def test_an_import_of_an_older_versions_content_is_refused_naming_the_newer(admin, app):
    assert post_import(admin, geojson_file(shipped("parking")[:3])).status_code == 303
    response = post_import(admin, geojson_file(shipped("parking")))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "与旧版本 1 相同,而当前版本 2 更新" in html and "恢复" in html
    assert head(app, "parking") == 2


def test_bad_version_requests_are_refused_in_chinese(admin, app):
    bad = admin.get("/admin/layers/parking/download?version=abc")
    huge = "9" * 5000
    assert admin.get(f"/admin/layers/parking/versions?from={huge}&to=1").status_code == 400
    assert bad.status_code == 400 and "版本号必须是正整数" in bad.get_data(as_text=True)
    missing = admin.get("/admin/layers/parking/download?version=99")
    assert missing.status_code == 404 and "没有版本 99" in missing.get_data(as_text=True)
    assert admin.get("/admin/layers/nosuch/versions").status_code == 404
    restore = admin.post("/admin/layers/parking/restore",
                         data={"version": "99", "csrf_token": csrf_token(admin)})
    assert restore.status_code == 404
    assert head(app, "parking") == 1
