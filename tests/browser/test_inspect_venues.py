"""Venues found, closed, reopened or moved in the street, on /inspect on a phone
(390×844): an inspector adds a venue where they stand and finds it near them; marks a
venue closed (已停业) and reopens it (恢复营业); a position corrected after someone else
changed that venue is refused (409, saying what changed) with the form kept, and saved
on the second try; an admin then finds the edits in the venues layer's versions
(/admin/layers)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in_page
from tests.browser.test_inspect_page import LITERAL, PASSWORD, a_plain_venue, assert_stayed_local
from tests.conftest import client_as, ensure_user, make_app
from tests.liveserver import LiveServer


@pytest.fixture(scope="module")
def venues_app(tmp_path_factory):
    """Its own store: these tests make versions of the venues layer."""
    app = make_app(tmp_path_factory.mktemp("inspect-venues") / "inspections.sqlite")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    ensure_user(app, "bianji", "admin", PASSWORD)
    return app


@pytest.fixture(scope="module")
def server(venues_app):
    with LiveServer(venues_app) as live:
        yield live


def test_add_close_and_move_a_venue_then_an_admin_sees_the_versions(
        server, venues_app, phone, browser, screenshot_dir):
    page = phone
    venue, here, _, _ = a_plain_venue(venues_app)
    page.goto(server.url + f"/login?next=/inspect?lon={here[0]}%26lat={here[1]}")
    page.fill("input[name=name]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready=true]", timeout=30000)
    expect(page.locator("#results li").first).to_be_visible(timeout=30000)

    # 「新增场所」 where the inspector stands (the located point): the form from the catalogue.
    page.get_by_role("button", name="新增场所").click()
    form = page.locator("#venue-add-form")
    expect(form).to_be_visible()
    expect(form.locator(".hs-venue-point")).to_have_text(f"{here[0]},{here[1]}")
    form.get_by_role("button", name="保存新场所").click()  # nothing filled: said, not sent
    expect(form.locator(".hs-error")).to_have_text("请填写场所名称和地址。")
    name = "街边新开的小超市 " + LITERAL
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=category]").select_option("九小场所")
    form.locator("select[name=kind]").select_option("小商店")
    form.locator("input[name=address]").fill("经四路12号")
    form.locator("input[name=quancheng_app]").check()
    page.screenshot(path=str(screenshot_dir / "inspect-venue-add.png"))
    form.get_by_role("button", name="保存新场所").click()
    expect(page.locator("#notice")).to_contain_text("已新增场所:" + name + "(V0354", timeout=30000)
    expect(page.locator("#detail-name")).to_have_text(name)
    expect(page.locator("#detail-status")).to_have_text("逾期未检")  # never inspected
    page.click("#detail-back")
    expect(page.locator("#results .hs-item-name").first).to_have_text(name)  # nearest
    assert page.evaluate("window.__xss") is None

    # 「标记停业」 on the plain venue beside it: grey 已停业, off the work lists.
    page.locator(f"#results button[data-id={venue['id']}]").click()
    expect(page.locator("#detail-name")).to_have_text(venue["properties"]["name"])
    page.get_by_role("button", name="标记停业").click()
    closing = page.locator("#venue-close-form")
    expect(closing.locator("input[name=date]")).to_have_value("2026-11-25")
    closing.locator("input[name=reason]").fill("店面已转让,人去楼空")
    closing.get_by_role("button", name="确认停业").click()
    expect(page.locator("#notice")).to_contain_text("已标记停业:" + venue["properties"]["name"],
                                                    timeout=30000)
    expect(page.locator("#detail-status")).to_have_text("已停业")
    expect(page.locator("#detail-closed")).to_contain_text("已于 2026-11-25 标记停业")
    expect(page.get_by_role("button", name="标记停业")).to_be_hidden()
    expect(page.locator("#record-form")).to_be_hidden()  # no record on a closed venue
    expect(page.locator("#detail-closed")).to_contain_text("请先「恢复营业」")
    assert page.locator("#detail-status").evaluate(
        "b => getComputedStyle(b).backgroundColor") == "rgb(160, 165, 170)"

    # Someone else changes this venue meanwhile: 「更正位置」 is refused, saying what
    # changed, the form kept; saved when sent again (the page read the layer again).
    # (A change of another venue would not stop it: conflicts are per venue.)
    admin = client_as(venues_app, "admin")
    assert admin.post(f"/api/venues/{venue['id']}/position", json={
        "base": 3, "lon": 116.96502, "lat": 36.67141, "reason": "核对门牌"}).status_code == 200
    page.get_by_role("button", name="更正位置").click()
    moving = page.locator("#venue-move-form")
    lon, lat = next(p for p in ((here[0] + 0.0004, here[1]), (here[0] - 0.0004, here[1]),
                                (here[0], here[1] + 0.0004), (here[0], here[1] - 0.0004))
                    if admin.get(f"/api/locate?lon={p[0]}&lat={p[1]}").get_json()["inside"])
    x, y = page.evaluate("([lon, lat]) => { const p = Inspect.map.latLngToContainerPoint("
                         "[lat, lon]); return [p.x, p.y]; }", [lon, lat])
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)  # a tap on the map is the new position
    expect(moving.locator(".hs-venue-point")).not_to_have_text("未定")
    moving.locator("input[name=reason]").fill("门牌在路对面")
    moving.get_by_role("button", name="保存位置").click()
    error = moving.locator(".hs-error")
    expect(error).to_contain_text("已从版本 3 更新到版本 4", timeout=30000)
    expect(error).to_contain_text(f"要素 {venue['id']} 已在版本 4 被修改")
    expect(error).to_contain_text("页面已读取最新版本(版本 4)")
    expect(moving.locator("input[name=reason]")).to_have_value("门牌在路对面")
    saved = page.evaluate("() => document.body.dataset.saved || ''")
    moving.get_by_role("button", name="保存位置").click()
    expect(page.locator("#notice")).to_contain_text("已更正位置:", timeout=30000)
    page.wait_for_function("(before) => (document.body.dataset.saved || '') !== before",
                           arg=saved, timeout=30000)  # the page read the venue again
    assert_stayed_local(page)

    # 「恢复营业」: the venue is open again, its status back, records taken again.
    page.get_by_role("button", name="恢复营业").click()
    reopening = page.locator("#venue-reopen-form")
    reopening.get_by_role("button", name="确认恢复营业").click()  # no reason: said, not sent
    expect(reopening.locator(".hs-error")).to_have_text("请填写原因。")
    reopening.locator("input[name=reason]").fill("装修完毕,重新开业")
    reopening.get_by_role("button", name="确认恢复营业").click()
    expect(page.locator("#notice")).to_contain_text("已恢复营业:" + venue["properties"]["name"],
                                                    timeout=30000)
    expect(page.locator("#detail-status")).not_to_have_text("已停业")
    expect(page.locator("#detail-closed")).to_be_hidden()
    expect(page.get_by_role("button", name="标记停业")).to_be_visible()
    expect(page.get_by_role("button", name="恢复营业")).to_be_hidden()
    expect(page.locator("#record-form")).to_be_visible()

    # An admin finds the inspector's edits in the venues layer's versions.
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    admin_page = context.new_page()
    log_in_page(admin_page, server.url, "bianji", PASSWORD)
    admin_page.goto(server.url + "/admin/layers/venues/versions")
    versions = admin_page.locator("#versions")
    expect(versions.locator("tr[data-version='2']")).to_contain_text("巡查发现新场所:" + name)
    expect(versions.locator("tr[data-version='3']")).to_contain_text("巡查标记停业:店面已转让")
    expect(versions.locator("tr[data-version='5']")).to_contain_text("巡查更正位置:门牌在路对面")
    expect(versions.locator("tr[data-version='5']")).to_contain_text("zhangwei")
    expect(versions.locator("tr[data-version='6']")).to_contain_text("巡查恢复营业:装修完毕")
    context.close()
