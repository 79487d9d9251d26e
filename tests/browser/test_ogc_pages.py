"""The OGC API's HTML pages in Chromium: browse, page through, see the features on a map."""

import json
from pathlib import Path
from urllib.parse import urlparse

from tests.browser.helpers import overlapping

GEODATA = Path(__file__).resolve().parents[2] / "geodata"


def watch(page):
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return requests, errors


def local_only(requests):
    return [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", None)
            and not u.startswith("data:")]


def test_browse_from_the_landing_page_to_a_feature(live_server, page, screenshot_dir):
    requests, errors = watch(page)
    page.goto(live_server.url + "/ogc/")
    assert page.locator("h1").inner_text().startswith("中大槐树街道")
    page.get_by_role("link", name="图层集合").first.click()
    page.get_by_role("link", name="停车场").click()
    assert "可筛选属性" in page.locator("main").inner_text()
    with page.expect_navigation():  # the next page, not the one it leaves
        page.get_by_role("link", name="浏览要素").click()

    page.wait_for_function("() => document.getElementById('ogc-map')?.dataset.loaded === '8'")
    assert "共 8 个要素符合条件" in page.locator(".ogc-count").inner_text()
    assert page.locator(".ogc-table tbody tr").count() == 8
    assert page.locator("#ogc-map .leaflet-overlay-pane path").count() >= 8
    page.screenshot(path=str(screenshot_dir / "ogc-items.png"), full_page=True)

    with page.expect_navigation():  # the next page, not the one it leaves
        page.locator(".ogc-table tbody a").first.click()
    page.wait_for_function("() => document.getElementById('ogc-map')?.dataset.loaded === '1'")
    assert "泊位(个,示意)" in page.locator(".ogc-props").inner_text()
    page.screenshot(path=str(screenshot_dir / "ogc-item.png"), full_page=True)
    assert local_only(requests) == []
    assert errors == []


def test_page_through_venues(live_server, page):
    requests, errors = watch(page)
    shipped = json.loads((GEODATA / "venues.geojson").read_text(encoding="utf-8"))["features"]
    total = sum(f["properties"]["community"] == "裕园社区" for f in shipped)
    assert 20 < total <= 40  # two pages of 20
    page.goto(live_server.url + "/ogc/collections/venues/items?limit=20&community=裕园社区")
    page.wait_for_function("() => Number(document.getElementById('ogc-map')?.dataset.loaded) > 0")
    first = page.locator(".ogc-count").inner_text()
    with page.expect_navigation():  # the next page, not the one it leaves
        page.get_by_role("link", name="下一页 »").click()
    page.wait_for_function("() => Number(document.getElementById('ogc-map')?.dataset.loaded) > 0")
    second = page.locator(".ogc-count").inner_text()
    assert f"共 {total} 个" in first and "第 1–20 个" in first
    assert f"第 21–{total} 个" in second
    assert page.get_by_role("link", name="« 上一页").count() == 1
    cells = page.locator(".ogc-table tbody tr td:nth-child(6)").all_inner_texts()
    assert set(cells) == {"裕园社区"}
    assert local_only(requests) == [] and errors == []


def test_api_document_page(live_server, page, screenshot_dir):
    requests, errors = watch(page)
    page.goto(live_server.url + "/ogc/api")
    assert "OpenAPI" in page.locator("main").inner_text()
    page.locator("summary", has_text="/ogc/collections/venues/items").first.click()
    assert "bbox-crs" in page.locator("details[open]").inner_text()
    page.screenshot(path=str(screenshot_dir / "ogc-api.png"), full_page=False)
    assert local_only(requests) == [] and errors == []


# The OGC map's labeller has placed its labels (none pending) and some are of `css`.
LABELLED = """([css, zoom]) => { const box = document.getElementById('ogc-map');
    const labeller = box && box.labeller;
    return Boolean(labeller) && labeller.map.getZoom() === zoom && !labeller.pending
        && box.querySelectorAll('.' + css).length > 0; }"""


def ogc_labels_at(page, css, zoom):
    """The labels the OGC page's map shows at `zoom` (set on the map, not by wheel or
    button), once its labeller has placed them."""
    page.wait_for_function("() => Number(document.getElementById('ogc-map')?.dataset.loaded) > 0"
                           " && Boolean(document.getElementById('ogc-map').labeller)",
                           timeout=30_000)
    page.evaluate("(z) => { const map = document.getElementById('ogc-map').labeller.map;"
                  " map.setView(map.getCenter(), z, {animate: false}); }", zoom)
    page.wait_for_function(LABELLED, arg=[css, zoom], timeout=30_000)
    return page.evaluate("() => document.getElementById('ogc-map').labeller.shownLabels()")


def test_the_items_map_names_what_it_shows(live_server, page):
    """Roads and communities are named on the OGC API's maps as on the others
    (map-labels.js: by zoom, no two names overlapping), on a list page and on an item's."""
    requests, errors = watch(page)
    # Names come with the zoom, as on every map (map-labels.js RULES): roads from 14,
    # communities from 13 to 17.5.
    for collection, css, zoom in (("roads", "hs-label-road", 15),
                                  ("communities", "hs-label-community", 15)):
        page.goto(f"{live_server.url}/ogc/collections/{collection}/items")
        boxes = ogc_labels_at(page, css, zoom)
        assert boxes and {b["layer"] for b in boxes} == {collection}
        assert overlapping(boxes) == []
    # One road's own page names it.
    roads = json.loads((GEODATA / "roads.geojson").read_text(encoding="utf-8"))["features"]
    road = next(f["id"] for f in roads if f["properties"]["name"] == "纬十二路")
    page.goto(f"{live_server.url}/ogc/collections/roads/items/{road}?f=html")
    boxes = ogc_labels_at(page, "hs-label-road", 16)
    assert {b["text"] for b in boxes} == {"纬十二路"}
    assert errors == [] and local_only(requests) == []
