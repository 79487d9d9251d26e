"""Editing layers on the planners' map as an admin (static/js/map-edit.js): add a venue
by drawing it and filling the catalogue's form, find it on /inspect as an inspector;
change a feature's properties; an edit made meanwhile by someone else is refused with
409 and the form kept; delete with a confirmation. Visitors and inspectors get no
editor."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in_page
from tests.conftest import PASSWORD, ensure_user, log_in, make_app
from tests.liveserver import LiveServer


@pytest.fixture(scope="module")
def edit_app(tmp_path_factory):
    """Its own store: these tests make versions of layers."""
    app = make_app(tmp_path_factory.mktemp("map-edit") / "inspections.sqlite")
    ensure_user(app, "bianji", "admin")
    ensure_user(app, "xuncha", "inspector")
    return app


@pytest.fixture(scope="module")
def server(edit_app):
    with LiveServer(edit_app) as live:
        yield live


@pytest.fixture
def admin_page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.errors, page.requests = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))
    log_in_page(page, server.url, "bianji", PASSWORD)
    page.goto(server.url + "/")
    page.wait_for_function("() => document.body.dataset.panelReady === 'true'", timeout=30000)
    yield page
    context.close()


def stayed_local(page):
    return [u for u in page.requests
            if urlparse(u).hostname not in ("127.0.0.1", None) and not u.startswith("data:")]


def container_point(page, lon, lat):
    return page.evaluate("([lon, lat]) => { const p = HuaishuMap.map.latLngToContainerPoint("
                         "[lat, lon]); return [p.x, p.y]; }", [lon, lat])


def click_at(page, lon, lat):
    box = page.locator(".hs-map .folium-map").bounding_box()
    x, y = container_point(page, lon, lat)
    page.mouse.click(box["x"] + x, box["y"] + y)


def field(page, name):
    return page.locator(f"#edit-fields [data-name='{name}']")


def test_an_admin_adds_a_venue_on_the_map_and_an_inspector_finds_it_on_inspect(
        admin_page, server, edit_app, browser):
    page = admin_page
    client = edit_app.test_client()
    venues = client.get("/api/layers/venues").get_json()["features"]
    near = venues[0]
    lon, lat = near["geometry"]["coordinates"]
    lon, lat = round(lon + 0.00012, 6), round(lat + 0.00008, 6)  # about 15 m away
    page.evaluate("([lon, lat]) => HuaishuMap.map.setView([lat, lon], 18, {animate: false})",
                  [lon, lat])
    page.locator("#section-edit summary").click()
    page.select_option("#edit-layer", "venues")
    page.click("#edit-add")
    expect(page.locator("#edit-status")).to_contain_text("单击位置")
    click_at(page, lon, lat)
    expect(page.locator("#edit-form")).to_be_visible()
    expect(page.locator("#edit-title")).to_have_text("新增安全监管场所")
    # Saving without the required fields: the form says which, nothing is sent.
    page.click("#edit-save")
    expect(page.locator("#edit-error")).to_have_text("请填写「场所名称」。")
    field(page, "name").fill("槐树街新开小饭馆")
    field(page, "category").select_option("九小场所")
    field(page, "kind").select_option("小餐饮")
    field(page, "address").fill("经四路 100 号")
    field(page, "community").select_option(near["properties"]["community"])
    field(page, "quancheng_app").check()
    page.click("#edit-save")
    expect(page.locator("#edit-status")).to_contain_text("已保存:新增安全监管场所「槐树街新开小饭馆」",
                                                         timeout=20000)
    status = page.inner_text("#edit-status")
    new_id = status.split("(")[1].split(")")[0]
    assert new_id.startswith("V") and "图层版本" in status
    expect(page.locator("#edit-form")).to_be_hidden()
    after = client.get("/api/layers/venues").get_json()["features"]
    assert len(after) == len(venues) + 1
    added = next(f for f in after if f["id"] == new_id)
    assert added["properties"]["name"] == "槐树街新开小饭馆"
    assert added["properties"]["quancheng_app"] is True
    got_lon, got_lat = added["geometry"]["coordinates"]
    assert abs(got_lon - lon) < 2e-5 and abs(got_lat - lat) < 2e-5  # within about 2 m
    # The map shows it: the layer was drawn again from the server.
    page.wait_for_function("(id) => HuaishuMap.layers.venues.items.some("
                           "l => l.feature.id === id)", arg=new_id, timeout=20000)
    assert stayed_local(page) == [] and page.errors == []
    # An inspector on the phone finds it among the venues near them.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                is_mobile=True, has_touch=True)
    inspector = phone.new_page()
    try:
        log_in_page(inspector, server.url, "xuncha", PASSWORD)
        inspector.goto(server.url + f"/inspect?lon={lon}&lat={lat}")
        inspector.wait_for_function("() => document.body.dataset.ready === 'true'",
                                    timeout=30000)
        expect(inspector.locator("#results .hs-item").first).to_contain_text("槐树街新开小饭馆")
    finally:
        phone.close()


def test_an_edit_of_properties_is_saved_and_a_stale_one_is_refused_with_the_form_kept(
        admin_page, edit_app):
    page = admin_page
    admin = log_in(edit_app.test_client(), "bianji")
    parking = admin.get("/api/layers/parking").get_json()["features"][0]
    pid, name = parking["id"], parking["properties"]["name"]
    page.evaluate("(id) => { const e = HuaishuMap.layers.parking; HuaishuMap.setShown('parking',"
                  " true); const l = e.items.find(x => x.feature.id === id);"
                  " HuaishuMap.focusFeature('parking', l); }", pid)
    page.locator(".leaflet-popup [data-edit='修改属性']").click()
    expect(page.locator("#edit-title")).to_have_text(f"修改停车场 {pid}")
    expect(field(page, "name")).to_have_value(name)
    field(page, "note").fill("2026 年复核")
    page.click("#edit-save")
    expect(page.locator("#edit-status")).to_contain_text(f"已保存:修改停车场「{name}」({pid})",
                                                         timeout=20000)
    item = admin.get(f"/ogc/collections/parking/items/{pid}?f=json")
    assert item.get_json()["properties"]["note"] == "2026 年复核"
    # Someone else saves the same layer while this form is open: this save is refused.
    page.evaluate("(id) => { const e = HuaishuMap.layers.parking;"
                  " const l = e.items.find(x => x.feature.id === id);"
                  " HuaishuMap.focusFeature('parking', l); }", pid)
    page.locator(".leaflet-popup [data-edit='修改属性']").click()
    expect(field(page, "note")).to_have_value("2026 年复核")
    other = admin.patch(f"/ogc/collections/parking/items/{pid}",
                        json={"type": "Feature", "properties": {"note": "别人先改了"}},
                        headers={"If-Match": item.headers["ETag"]})
    assert other.status_code == 204, other.get_json()
    field(page, "note").fill("我的修改")
    page.click("#edit-save")
    expect(page.locator("#edit-error")).to_contain_text("未保存:", timeout=20000)
    assert "您的修改未保存" in page.inner_text("#edit-error")
    expect(field(page, "note")).to_have_value("我的修改")  # kept for another try
    again = admin.get(f"/ogc/collections/parking/items/{pid}?f=json").get_json()
    assert again["properties"]["note"] == "别人先改了"
    assert page.errors == []


def test_a_delete_asks_first_and_makes_a_version(admin_page, edit_app):
    page = admin_page
    admin = log_in(edit_app.test_client(), "bianji")
    before = admin.get("/api/layers/vending").get_json()["features"]
    target = before[-1]
    page.evaluate("(id) => { HuaishuMap.setShown('vending', true);"
                  " const e = HuaishuMap.layers.vending;"
                  " const l = e.items.find(x => x.feature.id === id);"
                  " HuaishuMap.focusFeature('vending', l); }", target["id"])
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator(".leaflet-popup [data-edit='删除']").click()
    expect(page.locator("#edit-status")).to_have_text("未删除。")
    assert len(admin.get("/api/layers/vending").get_json()["features"]) == len(before)
    page.evaluate("(id) => { const e = HuaishuMap.layers.vending;"
                  " const l = e.items.find(x => x.feature.id === id);"
                  " HuaishuMap.focusFeature('vending', l); }", target["id"])
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".leaflet-popup [data-edit='删除']").click()
    expect(page.locator("#edit-status")).to_contain_text("已删除:", timeout=20000)
    after = admin.get("/api/layers/vending").get_json()["features"]
    assert [f["id"] for f in after] == [f["id"] for f in before[:-1]]
    latest = edit_app.extensions["layer_history"].versions("vending")[0]
    assert (latest.actor, latest.action, latest.removed) == ("bianji", "layer.edit",
                                                             [target["id"]])


def test_visitors_and_inspectors_get_no_editor(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        page.wait_for_function("() => document.body.dataset.panelReady === 'true'",
                               timeout=30000)
        assert page.locator("#section-edit").count() == 0
        page.evaluate("() => HuaishuMap.layers.parking.items[0].openPopup()")
        assert page.locator(".leaflet-popup [data-edit]").count() == 0
        log_in_page(page, server.url, "xuncha", PASSWORD)
        page.goto(server.url + "/")
        page.wait_for_function("() => document.body.dataset.panelReady === 'true'",
                               timeout=30000)
        assert page.locator("#section-edit").count() == 0
    finally:
        context.close()
