"""The inspectors' page on a phone (390×844): locate, list, log in, record, re-check."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from layers.geo import chinacoords
from tests.browser.conftest import PHONE
from tests.browser.helpers import stub_tiles
from tests.conftest import make_app
from tests.liveserver import LiveServer

PASSWORD = "correct-horse-1"
HOSTILE = '<img src=x onerror="window.__xss=1">${1+1}`'
LITERAL = '${1+1}` "&amp;"'  # no markup (refused, see below), but text a careless page would run


@pytest.fixture(scope="module")
def inspect_app(tmp_path_factory):
    """Its own store: these tests write records."""
    app = make_app(tmp_path_factory.mktemp("inspect-db") / "inspections.sqlite")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    app.extensions["users"].create("chakan", PASSWORD, "viewer", "王查看")
    return app


@pytest.fixture(scope="module")
def server(inspect_app):
    with LiveServer(inspect_app) as live:
        yield live


def assert_stayed_local(page):
    foreign = [u for u in page.requests
               if urlparse(u).hostname not in ("127.0.0.1", None) and not u.startswith("data:")]
    assert foreign == []
    assert page.errors == []


def log_in_at(page, server, venue_id, name="zhangwei"):
    """Log the phone in through /login, back to the venue on /inspect, its form shown."""
    page.goto(server.url + f"/login?next=/inspect?venue={venue_id}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#record-form")).to_be_visible()


def a_plain_venue(app):
    """A venue that is 合格 (no open hazard, not overdue), and what the API says near it."""
    client = app.test_client()
    venues = client.get("/api/layers/venues").get_json()["features"]
    for venue in venues:
        p = venue["properties"]
        if p["status"] != "合格" or p["due_soon"]:
            continue
        lon, lat = venue["geometry"]["coordinates"]
        here = (round(lon + 0.00004, 7), round(lat + 0.00003, 7))  # about 5 m north-east
        near = client.get(f"/api/nearby?lon={here[0]}&lat={here[1]}").get_json()["features"]
        if near[0]["id"] == venue["id"]:
            place = client.get(f"/api/locate?lon={here[0]}&lat={here[1]}").get_json()
            return venue, here, near, place
    raise AssertionError("no plain venue nearest to a point beside it")


def test_locate_list_log_in_record_and_recheck(server, inspect_app, phone, screenshot_dir):
    page = phone
    venue, here, near, place = a_plain_venue(inspect_app)
    name = venue["properties"]["name"]
    page.goto(server.url + "/inspect")
    page.wait_for_selector("body[data-ready=true]")

    # Typed as copied from Amap (GCJ-02): the page converts it and finds the same venues.
    gcj = chinacoords.wgs84_to_gcj02(*here)
    page.fill("#coords", f"{gcj[0]:.7f},{gcj[1]:.7f}")
    page.select_option("#crs", "gcj02")
    page.click("#btn-go")
    expect(page.locator("#place")).to_contain_text(place["grid"]["name"])
    expect(page.locator("#place")).to_contain_text(place["community"]["name"])
    first = page.locator("#results .hs-item").first
    expect(first).to_contain_text(name)
    items = page.locator("#results .hs-item .hs-item-name").all_inner_texts()
    assert items == [f["properties"]["name"] for f in near[: len(items)]]
    text = first.inner_text()
    assert venue["properties"]["kind"] in text
    assert near[0]["properties"]["direction"] in text and " 米" in text
    assert "上次检查 " + venue["properties"]["last_inspection"] in text
    assert "下次应检 " + venue["properties"]["next_due"] in text
    expect(first.locator(".hs-badge")).to_have_text("合格")
    assert page.locator(".leaflet-overlay-pane path").count() > 10  # drawn on the map
    page.screenshot(path=str(screenshot_dir / "inspect-list.png"))

    # Tap: the venue on the map with its history; recording needs a login.
    first.click()
    expect(page.locator("#detail-name")).to_have_text(name)
    expect(page.locator("#detail-meta")).to_contain_text("天检查一次")
    last = venue["properties"]["last_inspection"]
    expect(page.locator("#history li").first).to_contain_text(last)
    expect(page.locator("#record-form")).to_be_hidden()
    total = int(page.inner_text("#history-count").strip("()"))
    assert total > 5  # the shipped history: a few years of rounds
    assert page.locator("#history li:visible").count() == 5
    page.click("#history-more")
    assert page.locator("#history li:visible").count() == total
    page.click("#login-to-record-link")
    page.fill("input[name=name]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    # Back on the page, at the same place and venue, logged in.
    expect(page.locator("#detail-name")).to_have_text(name)
    expect(page.locator("#user-name")).to_have_text("张伟")
    expect(page.locator("#record-form")).to_be_visible()
    expect(page.locator("#record-inspector")).to_have_value("张伟")
    expect(page.locator("#record-date")).to_have_value("2026-11-25")

    # Record an inspection that finds a hazard.
    page.check("#record-form input[value=发现隐患]")
    page.select_option("#hazard-rows select[name=category]", "消防安全")
    page.fill("#hazard-rows input[name=description]", "灭火器过期 " + HOSTILE)
    page.fill("#record-note", "店主在场")
    page.click("#record-form button[type=submit]")  # markup is refused, nothing stored
    expect(page.locator("#record-form .hs-error")).to_contain_text("不能包含 HTML 标记")
    expect(page.locator("#record-form .hs-error")).to_contain_text("填写的内容仍在表单中")
    expect(page.locator("#notice")).to_be_hidden()
    expect(page.locator("#detail-status")).not_to_have_text("隐患未改")
    page.fill("#hazard-rows input[name=description]", "灭火器过期 " + LITERAL)
    page.locator("#record-form").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "inspect-record-form.png"))
    page.click("#record-form button[type=submit]")
    expect(page.locator("#detail-status")).to_have_text("隐患未改")
    expect(page.locator("#notice")).to_contain_text(
        f"已记录:2026-11-25 {name} 检查,发现隐患;立案隐患 HZ")
    expect(page.locator("#detail-last")).to_have_text("2026-11-25")
    hazard = page.locator("#detail-hazards li").first
    expect(hazard).to_contain_text("立案")
    expect(hazard).to_contain_text("灭火器过期 " + LITERAL)  # shown literally, never run
    assert page.evaluate("window.__xss") is None
    expect(page.locator("#history li").first).to_contain_text("发现隐患")
    page.locator("#detail-name").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "inspect-hazard.png"))
    # The list follows too.
    statuses = page.evaluate(
        "Object.fromEntries(Inspect.state.nearby.features.map(f => [f.id, f.properties.status]))")
    assert statuses[venue["id"]] == "隐患未改"

    # The venue starts rectifying; a re-check closes the hazard.
    expect(page.locator("#recheck-form")).to_be_hidden()
    hazard.get_by_role("button", name="标记为整改中").click()
    expect(page.locator("#detail-hazards li").first).to_contain_text("整改中")
    expect(page.locator("#notice")).to_contain_text("标记为整改中")
    expect(page.locator("#recheck-form")).to_be_visible()
    expect(page.locator("#recheck-list input[type=checkbox]")).to_be_checked()
    page.fill("#recheck-note", "已更换灭火器")
    page.click("#recheck-form button[type=submit]")
    expect(page.locator("#detail-status")).to_have_text("合格")
    expect(page.locator("#notice")).to_contain_text(f"已记录:2026-11-25 {name} 复查,合格;已整改 HZ")
    expect(page.locator("#detail-hazards")).to_have_text("无")
    expect(page.locator("#recheck-form")).to_be_hidden()
    expect(page.locator("#history li").first).to_contain_text("复查")
    page.locator("#detail-name").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "inspect-rechecked.png"))

    page.click("#detail-back")
    expect(page.locator("#results .hs-item").first.locator(".hs-badge")).to_have_text("合格")
    assert_stayed_local(page)


def test_a_submit_without_network_is_kept_on_the_phone_and_sent_once(server, inspect_app,
                                                                     phone):
    venue, here, _, _ = a_plain_venue(inspect_app)
    page = phone
    page.goto(server.url + f"/login?next=/inspect?venue={venue['id']}")
    page.fill("input[name=name]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#record-form")).to_be_visible()
    before = inspect_app.test_client().get(
        f"/api/venues/{venue['id']}/history").get_json()["inspection_count"]
    page.fill("#record-note", "楼梯间没有信号")
    page.context.set_offline(True)
    try:
        page.click("#record-form button[type=submit]")
        expect(page.locator("#notice")).to_contain_text("已保存在本机,待发送")
        expect(page.locator("#outbox-count")).to_have_text("待发送 1")
        expect(page.locator("#record-form .hs-error")).to_be_hidden()
        assert "Failed to fetch" not in page.inner_text("body")
    finally:
        page.context.set_offline(False)
    page.wait_for_function("() => document.body.dataset.outbox === '0'", timeout=30000)
    after = inspect_app.test_client().get(
        f"/api/venues/{venue['id']}/history").get_json()["inspection_count"]
    assert after == before + 1


@pytest.mark.parametrize(("north_deg", "off_site"), [(0.0002, False), (0.004, True)])
def test_a_record_keeps_where_the_phone_was(server, inspect_app, browser, north_deg, off_site):
    """The phone's position goes with the record; the history shows the distance to the
    venue, and 「非现场记录」 beyond 200 m."""
    venue, _, _, _ = a_plain_venue(inspect_app)
    lon, lat = venue["geometry"]["coordinates"]
    context = browser.new_context(**PHONE, permissions=["geolocation"], geolocation={
        "longitude": lon, "latitude": lat + north_deg, "accuracy": 8})
    page = context.new_page()
    try:
        page.goto(server.url + f"/login?next=/inspect?venue={venue['id']}")
        page.fill("input[name=name]", "zhangwei")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#record-form")).to_be_visible()
        page.click("#record-form button[type=submit]")
        expect(page.locator("#notice")).to_contain_text("已记录:")
        line = page.locator("#history li").first.locator(".hs-position")
        expect(line).to_contain_text("记录时距场所")
        expect(line).to_contain_text("(定位精度 ±8 米)")
        if off_site:
            expect(line.locator(".hs-tag-offsite")).to_have_text("非现场记录")
        else:
            expect(line.locator(".hs-tag-offsite")).to_have_count(0)
        stored = inspect_app.test_client().get(
            f"/api/venues/{venue['id']}/history").get_json()["inspections"][0]
        assert "position" not in stored  # visitors never see where the phone was
    finally:
        context.close()


def test_a_draft_survives_a_reload_until_it_is_sent(server, inspect_app, phone):
    venue, _, _, _ = a_plain_venue(inspect_app)
    page = phone
    page.goto(server.url + f"/login?next=/inspect?venue={venue['id']}")
    page.fill("input[name=name]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#record-form")).to_be_visible()
    expect(page.locator("#draft-note")).to_be_hidden()
    page.check("#record-form input[value=发现隐患]")
    page.select_option("#hazard-rows select[name=category]", "用电安全")
    page.fill("#hazard-rows input[name=description]", "插线板串接")
    page.fill("#record-note", "店主不在")
    page.reload()
    expect(page.locator("#draft-note")).to_be_visible()
    expect(page.locator("#record-note")).to_have_value("店主不在")
    expect(page.locator("#record-form input[value=发现隐患]")).to_be_checked()
    expect(page.locator("#hazard-rows select[name=category]")).to_have_value("用电安全")
    expect(page.locator("#hazard-rows input[name=description]")).to_have_value("插线板串接")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("已记录:")
    page.reload()
    expect(page.locator("#record-form")).to_be_visible()
    expect(page.locator("#draft-note")).to_be_hidden()
    expect(page.locator("#record-note")).to_have_value("")
    assert_stayed_local(page)


def test_browser_geolocation_finds_the_place(server, browser, screenshot_dir):
    context = browser.new_context(**PHONE, geolocation={"longitude": 116.9640, "latitude": 36.6620},
                                  permissions=["geolocation"])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/inspect")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#btn-gps")
    expect(page.locator("#place")).to_contain_text("当前位置:")
    expect(page.locator("#coords")).to_have_value("116.964,36.662")
    expect(page.locator("#results .hs-item").first).to_be_visible()
    assert errors == []
    context.close()


def test_tap_on_the_map_and_overdue_list(server, phone):
    page = phone
    page.goto(server.url + "/inspect")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#overdue-count")).to_have_text("(30)")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#place")).to_contain_text("当前位置:")
    assert page.input_value("#crs") == "wgs84"
    expect(page.locator("#results .hs-item").first).to_be_visible()
    # The overdue tab: nearest first from the tapped point.
    page.click("#tab-overdue")
    expect(page.locator("#overdue")).to_be_visible()
    page.wait_for_function(
        "() => Inspect.state.overdue && Inspect.state.overdue.query.point !== null")
    distances = page.evaluate("Inspect.state.overdue.features.map(f => f.properties.distance_m)")
    assert len(distances) == 30 and distances == sorted(distances)
    badge = page.locator("#overdue .hs-badge").first.inner_text()
    assert badge.startswith(("逾期未检", "隐患未改", "超期未整改"))
    assert_stayed_local(page)


def test_hazards_past_their_deadline_show_as_such_with_their_days(server, inspect_app, phone,
                                                                   screenshot_dir):
    """超期未整改: its tab (nearest first), the days on the list, the venue and the hazard."""
    late = inspect_app.test_client().get(
        "/api/overdue?of=rectification&lon=116.964&lat=36.662").get_json()["features"]
    assert late  # the shipped history has hazards past their deadline on TODAY
    page = phone
    page.goto(server.url + "/inspect?lon=116.964&lat=36.662&crs=wgs84")
    expect(page.locator("#late-count")).to_have_text(f"({len(late)})")
    expect(page.locator("#inspect-legend")).to_contain_text("超期未整改")
    page.click("#tab-late")
    first = late[0]["properties"]
    days = first["rectification_overdue_days"]
    item = page.locator("#late .hs-item").first
    expect(item.locator(".hs-badge")).to_have_text(f"超期未整改 {days}天")
    expect(item.locator(".hs-item-late")).to_have_text(
        f"超期未整改 {first['overdue_hazards']} 处,已超期 {days} 天")
    # The filter of the nearby list.
    page.select_option("#f-status", "late")
    page.wait_for_function("() => Inspect.state.nearby && Inspect.state.nearby.query.status[0]"
                           " === 'late'")
    statuses = page.evaluate("Inspect.state.nearby.features.map(f => f.properties.status)")
    assert statuses and set(statuses) == {"超期未整改"}
    # The venue: its badge and each hazard past its deadline with its days.
    page.click("#tab-late")
    item.click()
    expect(page.locator("#detail-status")).to_have_text(f"超期未整改 {days}天")
    history = inspect_app.test_client().get(
        f"/api/venues/{late[0]['id']}/history").get_json()
    expected = [f"超期未整改 {h['overdue_days']} 天" for h in history["open_hazards"]
                if h["overdue_days"]]
    expect(page.locator("#detail-hazards .hs-tag-late")).to_have_text(expected)
    page.screenshot(path=str(screenshot_dir / "inspect-late.png"))
    assert_stayed_local(page)


def test_filters_narrow_the_list(server, phone):
    page = phone
    page.goto(server.url + "/inspect?lon=116.964&lat=36.662&crs=wgs84")
    expect(page.locator("#results .hs-item").first).to_be_visible()
    page.select_option("#f-kind", "小餐饮")
    expect(page.locator("#results .hs-item-where").first).to_contain_text("小餐饮")
    kinds = page.evaluate("Inspect.state.nearby.features.map(f => f.properties.kind)")
    assert kinds and set(kinds) == {"小餐饮"}
    page.select_option("#f-layer", "garbage")
    expect(page.locator("#f-status-label")).to_be_hidden()
    expect(page.locator("#results .hs-item").first).to_contain_text("投放点")
    assert_stayed_local(page)


@pytest.mark.parametrize(
    ("typed", "message"),
    [("36.662,116.964", "颠倒"), ("116.964", "两个数字"), ("121.47,31.23", "坐标远在济南以外")],
)
def test_bad_coordinates_say_why(server, phone, typed, message):
    page = phone
    page.goto(server.url + "/inspect")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#coords", typed)
    page.click("#btn-go")
    expect(page.locator("#message")).to_contain_text(message)
    assert page.locator("#results .hs-item").count() == 0


def test_a_viewer_is_told_why_there_is_no_record_form(server, phone, screenshot_dir):
    page = phone
    page.goto(server.url + "/login?next=/inspect?lon=116.964%26lat=36.662")
    page.fill("input[name=name]", "chakan")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#user-name")).to_have_text("王查看")
    page.locator("#results .hs-item").first.click()
    expect(page.locator("#no-right-to-record")).to_be_visible()
    expect(page.locator("#no-right-to-record")).to_contain_text("巡查员账号")
    expect(page.locator("#record-form")).to_be_hidden()
    expect(page.locator("#login-to-record")).to_be_hidden()
    page.locator("#detail-name").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "inspect-viewer.png"))
    assert_stayed_local(page)


def test_the_basemap_can_be_switched_and_is_kept(server, phone):
    page = phone
    tiles = []
    stub_tiles(page, "**/tiles/osm/**", tiles)  # the app's tile proxy
    page.goto(server.url + "/inspect?lon=116.964&lat=36.662")
    expect(page.locator("#results .hs-item").first).to_be_visible()
    assert page.evaluate("Inspect.basemap()") == "none" and tiles == []  # offline by default
    page.locator(".leaflet-control-layers").tap()
    page.get_by_label("OpenStreetMap").check()
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    page.wait_for_function("() => document.querySelectorAll('.leaflet-tile-loaded').length > 0")
    assert tiles and all(t.startswith(server.url + "/tiles/osm/") for t in tiles)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("Inspect.basemap()") == "osm"  # the phone keeps the choice
    assert page.errors == []


def test_load_more_shows_every_venue_within_the_radius_nearest_first(server, inspect_app, phone,
                                                                     screenshot_dir):
    page = phone
    lon, lat = 116.964, 36.662
    everything = inspect_app.test_client().get(
        f"/api/nearby?lon={lon}&lat={lat}&radius_m=500&limit=500").get_json()
    total = everything["total"]
    expected = [f["properties"]["name"] for f in everything["features"]]
    assert total == len(expected) > 100  # more than two pages of 50

    page.goto(server.url + f"/login?next=/inspect?lon={lon}%26lat={lat}")
    page.fill("input[name=name]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    items = page.locator("#results .hs-item")
    expect(items).to_have_count(50)
    expect(page.locator("#nearby-count")).to_have_text(f"(50/{total})")
    more = page.locator("#nearby-more")
    expect(more).to_have_text(f"加载更多(还有 {total - 50} 个)")
    more.click()
    expect(items).to_have_count(100)
    expect(page.locator("#nearby-count")).to_have_text(f"(100/{total})")
    more.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "inspect-load-more.png"))

    # A venue of the second page, recorded, and back: the list keeps what was loaded.
    items.nth(60).click()
    expect(page.locator("#detail-name")).to_have_text(expected[60])
    expect(more).to_be_hidden()
    page.click("#record-form button[type=submit]")  # 合格, today, by 张伟
    expect(page.locator("#detail-last")).to_have_text("2026-11-25")
    expect(page.locator("#history li").first).to_contain_text("张伟")
    page.click("#detail-back")
    expect(items).to_have_count(100)
    expect(more).to_be_visible()

    while more.is_visible():
        shown = items.count()
        more.click()
        expect(items).to_have_count(min(shown + 50, total))
    expect(page.locator("#nearby-count")).to_have_text(f"({total})")
    assert page.locator("#results .hs-item-name").all_inner_texts() == expected
    distances = page.evaluate("Inspect.state.nearby.features.map(f => f.properties.distance_m)")
    assert len(distances) == total and distances == sorted(distances)
    assert max(distances) <= 500
    # The map shows them all, and a new query starts again at the first page.
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() >= total
    page.select_option("#f-radius", "1000")
    expect(page.locator("#nearby-count")).to_contain_text("(50/")
    expect(items).to_have_count(50)
    assert_stayed_local(page)


def test_a_session_that_ended_is_told_in_chinese(browser, tmp_path):
    """Where visitors may see nothing (ANONYMOUS_ROLE=none), a session that ended while the
    page was open: tapping a venue says to log in again, in Chinese."""
    app = make_app(tmp_path / "inspections.sqlite", ANONYMOUS_ROLE="none")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    with LiveServer(app) as live:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.goto(live.url + "/login?next=/inspect?lon=116.964%26lat=36.662")
        page.fill("input[name=name]", "zhangwei")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#results .hs-item").first).to_be_visible()
        page.wait_for_load_state("networkidle")  # the list drawn for good, not redrawn
        context.clear_cookies()  # the session is gone
        page.locator("#results .hs-item").first.click()
        expect(page.locator("#message")).to_have_text(
            "无法打开场所:请先登录(或登录已失效,请重新登录)。", timeout=15_000)
        expect(page.locator("#detail")).to_be_hidden()
        context.close()
