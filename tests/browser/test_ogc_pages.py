"""The OGC API's HTML pages in Chromium: browse, page through, see the features on a map."""

import json
from pathlib import Path
from urllib.parse import urlparse


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
    shipped = json.loads((Path(__file__).resolve().parents[2] / "geodata" / "venues.geojson")
                         .read_text(encoding="utf-8"))["features"]
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


def test_the_items_map_names_what_it_shows(live_server, page):
    """Roads and communities are named on the OGC API's map as on the others (map-labels.js),
    and no two names overlap."""
    requests, errors = watch(page)
    for collection, css in (("roads", "hs-label-road"), ("communities", "hs-label-community")):
        page.goto(f"{live_server.url}/ogc/collections/{collection}/items")
        page.wait_for_function("() => document.getElementById('ogc-map')?.dataset.loaded > '0'")
        shown = f"() => document.querySelectorAll('#ogc-map .{css}').length > 0"
        for _ in range(4):  # names come with the zoom, as on every map: zoom in as a user
            if page.evaluate(shown):
                break
            zoom = page.evaluate("() => document.getElementById('ogc-map').dataset.zoom")
            page.locator("#ogc-map .leaflet-control-zoom-in").click()
            # the next click only once this zoom has ended (slow under load)
            page.wait_for_function(
                f"() => document.getElementById('ogc-map').dataset.zoom !== '{zoom}'",
                timeout=20_000)
        page.wait_for_function(shown, timeout=20_000)
        boxes = page.evaluate("() => document.getElementById('ogc-map').labeller.shownLabels()")
        assert boxes and all(b["layer"] == collection for b in boxes)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert (a["right"] <= b["left"] or b["right"] <= a["left"]
                        or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]), (a, b)
    assert errors == [] and local_only(requests) == []
