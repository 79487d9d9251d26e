"""Basemaps through the tile proxy with the source gone (headless Chromium): tiles the
cache holds still load; uncached ones make the map say so in Chinese and switch to no
basemap, and the data layers stay."""

import pytest
from playwright.sync_api import expect

from layers.planners.maps import HIDDEN_AT_START
from tests.basemaps.tileserver import KEY
from tests.browser.conftest import log_in_page
from tests.browser.helpers import open_map
from tests.conftest import ensure_user
from tests.liveserver import LiveServer

MESSAGE = "底图加载失败,已切换为无底图"
ALL_TILES_DONE = ("() => { const t = document.querySelectorAll('img.leaflet-tile');"
                  " return t.length > 0 && [...t].every(i => i.complete); }")


@pytest.fixture
def server(tiles_app):
    with LiveServer(tiles_app) as live:
        live.app = tiles_app
        yield live


def watch(page):
    """The tile answers the page gets (url -> status) and every URL it asks for."""
    answers, requests = {}, []
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: answers.__setitem__(r.url, r.status)
            if "/tiles/" in r.url else None)
    return answers, requests


def drawn(page):
    return page.locator(".hs-data-pane path").count()


def test_cached_tiles_load_with_the_source_gone_uncached_ones_fall_back(server, tile_server,
                                                                       page, screenshot_dir):
    answers, requests = watch(page)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_map(page, server.url)
    control = page.locator(".leaflet-control-layers")
    control.get_by_text("办公室影像").click()  # imagery and its labels
    page.wait_for_function(ALL_TILES_DONE)
    page.wait_for_load_state("networkidle")
    seen = {u for u, status in answers.items() if status == 200}
    assert seen and tile_server.total >= len(seen), (tile_server.total, len(seen))
    assert set(tile_server.requests.values()) == {1}  # each tile fetched once
    assert {u.split("/tiles/")[1].split("/")[0] for u in seen} == {"office", "office-labels"}

    tile_server.stop()  # the network to the tile server is gone
    answers.clear()
    open_map(page, server.url)
    control.get_by_text("办公室影像").click()
    page.wait_for_function(ALL_TILES_DONE)
    assert answers and set(answers.values()) == {200}, answers  # all from the cache
    assert page.locator(".leaflet-tile-loaded").count() >= len(answers)
    assert page.locator(".hs-basemap-failed").count() == 0
    lines = drawn(page)
    assert lines > 60

    page.evaluate("HuaishuMap.map.setView([36.667, 116.963], 18, {animate: false})")
    expect(page.locator(".hs-basemap-failed")).to_contain_text(MESSAGE)
    expect(page.locator(".hs-basemap-failed")).to_contain_text("办公室影像")
    assert 502 in answers.values()
    assert page.evaluate("HuaishuMap.map.hasLayer(HuaishuMap.basemaps.none)")
    assert not page.evaluate("HuaishuMap.map.hasLayer(HuaishuMap.basemaps.office)")
    checked = control.locator("input[type=radio]:checked + span").inner_text()
    assert checked.strip() == "无底图(离线)"
    page.wait_for_function("() => document.querySelectorAll('img.leaflet-tile').length === 0")
    assert drawn(page) > 0  # the data layers stay
    hidden = page.evaluate("Object.keys(HuaishuMap.layers)"
                           ".filter(k => !HuaishuMap.map.hasLayer(HuaishuMap.layers[k].display))")
    assert sorted(hidden) == sorted(HIDDEN_AT_START)  # only those the map opens without
    page.screenshot(path=str(screenshot_dir / "basemap-fallback.png"))
    # Another choice: its own tiles are not cached either, so it falls back in its name.
    control.get_by_text("办公室矢量").click()
    expect(page.locator(".hs-basemap-failed")).to_contain_text("「办公室矢量」" + MESSAGE)
    expect(page.locator(".hs-basemap-failed")).to_have_count(1)
    assert not any(KEY in u for u in requests)
    assert errors == []


def test_the_inspectors_page_falls_back_too(server, tile_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        tile_server.stop()
        page.goto(server.url + "/inspect?lon=116.964&lat=36.662")
        page.wait_for_selector("body[data-ready=true]")
        page.locator(".leaflet-control-layers").tap()
        page.get_by_label("办公室矢量").check()
        expect(page.locator(".hs-basemap-failed")).to_contain_text(MESSAGE)
        assert page.evaluate("Inspect.basemap()") == "none"
        expect(page.locator("#results .hs-item").first).to_be_visible()  # the results stay
    finally:
        context.close()


def test_the_brief_says_when_its_basemap_cannot_be_had(server, tile_server, page):
    ensure_user(server.app, "fallback-leader", "leader")
    log_in_page(page, server.url, "fallback-leader")
    parcel = page.evaluate("fetch('/api/parcels').then(r => r.json()).then(d => d.rows[0].id)")
    # Some 90 tiles (the imagery and its labels), each fetched through the proxy.
    page.goto(f"{server.url}/parcels/{parcel}/brief?basemap=office",
              wait_until="domcontentloaded")
    page.wait_for_load_state("networkidle", timeout=120_000)  # every tile answered
    assert page.locator("#brief-map image").count() > 0
    assert tile_server.total == page.locator("#brief-map image").count()
    assert "底图:办公室影像" in page.locator("#brief-basemap-note").inner_text()
    tile_server.stop()
    page.goto(f"{server.url}/parcels/{parcel}/brief?basemap=office&distance=1000")
    expect(page.locator("#brief-basemap-note")).to_have_text(MESSAGE)
    assert page.locator("#brief-map image").count() == 0
    assert page.locator("#brief-map path").count() > 10  # the map itself stays
