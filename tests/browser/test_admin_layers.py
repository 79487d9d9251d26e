"""The admins' 图层数据 page in Chromium: download a layer, upload a file with a problem
(listed, nothing changes), a dry run, then the import, which the map then shows."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in_page
from tests.conftest import ensure_user, make_app
from tests.layerfiles import copy_geodata, head, shipped
from tests.liveserver import LiveServer


@pytest.fixture(scope="module")
def layers_app(tmp_path_factory):
    """Its own copy of the data: these tests replace a layer."""
    root = tmp_path_factory.mktemp("admin-layers")
    app = make_app(root / "inspections.sqlite", DATA_DIR=copy_geodata(root / "geodata"))
    ensure_user(app, "chief", "admin")
    return app


@pytest.fixture(scope="module")
def server(layers_app):
    with LiveServer(layers_app) as live:
        yield live


def upload(page, path, action):
    form = page.locator("#import-form")
    form.locator("select[name=layer]").select_option("parking")
    form.locator("input[type=file]").set_input_files(str(path))
    with page.expect_navigation():
        form.locator(f"button[value={action}]").click()


def test_an_admin_downloads_checks_and_imports_a_layer(server, layers_app, page, tmp_path,
                                                       screenshot_dir):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in_page(page, server.url, "chief")
    page.locator(".hs-nav").get_by_role("link", name="图层数据").click()
    page.wait_for_url(server.url + "/admin/layers")
    row = page.locator("#layers tr[data-layer=parking]")
    expect(row.locator(".hs-count")).to_have_text("8")

    with page.expect_download() as info:
        row.locator("a[data-format=geojson]").click()
    downloaded = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert [f["id"] for f in downloaded["features"]] == [f["id"] for f in shipped("parking")]

    # A file with a problem: every problem listed, the layer unchanged.
    features = shipped("parking")[:2]
    features[1]["properties"]["spaces"] = "很多"
    bad = tmp_path / "停车场-有误.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                              ensure_ascii=False), encoding="utf-8")
    before = head(layers_app, "parking")
    upload(page, bad, "import")
    expect(page.locator("#import-report .hs-error")).to_contain_text("未导入")
    problems = page.locator("#problems tbody tr")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text("泊位(个,示意) [spaces]")
    expect(page.locator("#import-form select[name=layer]")).to_have_value("parking")
    page.screenshot(path=str(screenshot_dir / "admin-layers-problems.png"), full_page=True)
    assert head(layers_app, "parking") == before

    # The mended file: a dry run, then the import.
    features[1]["properties"]["spaces"] = 120
    good = tmp_path / "停车场.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    upload(page, good, "validate")
    expect(page.locator("#import-report .hs-ok")).to_contain_text("校验通过")
    assert head(layers_app, "parking") == before
    upload(page, good, "import")
    expect(page.locator(".hs-ok").first).to_contain_text("2 个要素导入图层「停车场」,成为版本 2")
    expect(page.locator("#layers tr[data-layer=parking] .hs-count")).to_have_text("2")
    page.screenshot(path=str(screenshot_dir / "admin-layers.png"), full_page=True)

    # The layer's versions: what changed, and a restore of version 1.
    page.locator("#layers tr[data-layer=parking] .hs-version a").click()
    page.wait_for_url("**/admin/layers/parking/versions")
    expect(page.locator("#versions tr[data-version='2']")).to_contain_text("导入 停车场.geojson")
    with page.expect_navigation():
        page.locator("#versions tr[data-version='1'] button").click()
    expect(page.locator(".hs-ok").first).to_contain_text("恢复为版本 1 的内容,成为版本 3")
    expect(page.locator("#head-version")).to_have_text("3")
    page.goto(server.url + "/admin/layers")
    expect(page.locator("#layers tr[data-layer=parking] .hs-count")).to_have_text("8")
    assert head(layers_app, "parking") == 3
    assert errors == []
