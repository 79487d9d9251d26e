"""Names on the maps: placed by zoom, never overlapping (headless Chromium measures them)."""

import itertools

import pytest

from tests.browser.helpers import open_map, overlapping

LABELS = "() => HuaishuMap.labeller ? HuaishuMap.labeller.shownLabels() : null"


def labels_at(page, zoom=None, center=None):
    """The labels shown once the map has settled at `zoom` (the fitted view if None)."""
    if zoom is not None:
        page.evaluate("([z, c]) => HuaishuMap.map.setView(c || HuaishuMap.map.getCenter(), z,"
                      " {animate: false})", [zoom, center])
    page.wait_for_timeout(300)  # the labeller runs on the next animation frame
    page.wait_for_function("() => HuaishuMap.labeller && !HuaishuMap.labeller.pending")
    return page.evaluate(LABELS)


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def test_labels_never_overlap_at_three_zooms(live_server, wide_page, screenshot_dir):
    page = wide_page
    open_map(page, live_server.url)
    page.wait_for_function("() => HuaishuMap.labeller !== undefined")
    fitted = labels_at(page)
    texts = {label["text"] for label in fitted}
    assert {"裕园社区", "御景社区", "嘉瑞社区"} <= texts, texts  # communities named at once
    assert "纬十二路" in texts and "张庄路" in texts, texts  # roads along their lines
    assert overlapping(fitted) == []
    page.screenshot(path=str(screenshot_dir / "labels-fitted.png"))

    zoom = page.evaluate("() => HuaishuMap.map.getZoom()")
    center = page.evaluate("() => { const c = HuaishuMap.map.getCenter(); return [c.lat, c.lng]; }")
    seen = {}
    for step in (1, 2):
        shown = labels_at(page, zoom + step, center)
        assert shown, step
        assert overlapping(shown) == [], step
        seen[step] = shown
    page.screenshot(path=str(screenshot_dir / "labels-zoomed.png"))
    # Closer in, the sites and grid cells are named too; the community names give way.
    layers = {label["layer"] for label in seen[2]}
    assert {"roads"} <= layers and layers & {"projects", "parcels", "grid"}, layers
    # Every label lies inside the map.
    box = page.locator(".hs-map .folium-map").bounding_box()
    for label in seen[2]:
        assert box["x"] <= label["left"] and label["right"] <= box["x"] + box["width"]


def test_labels_follow_the_layer_switches(live_server, wide_page):
    page = wide_page
    open_map(page, live_server.url)
    page.wait_for_function("() => HuaishuMap.labeller !== undefined")
    zoom = page.evaluate("() => HuaishuMap.map.getZoom()")
    before = labels_at(page, zoom + 1.5)
    assert any(label["layer"] == "roads" for label in before)
    page.locator(".hs-layer-row[data-layer=roads] input").uncheck()
    after = labels_at(page)
    assert not any(label["layer"] == "roads" for label in after)
    page.locator(".hs-layer-row[data-layer=roads] input").check()
    assert any(label["layer"] == "roads" for label in labels_at(page))


def test_label_text_from_data_is_text(live_server, wide_page):
    """Labels are written with textContent: no markup from data reaches the page."""
    page = wide_page
    open_map(page, live_server.url)
    page.wait_for_function("() => HuaishuMap.labeller !== undefined")
    labels_at(page)
    assert page.locator(".hs-label-text *").count() == 0
    assert page.locator(".hs-label-text").count() > 0


def test_print_view_is_labelled(live_server, wide_page):
    page = wide_page
    page.goto(live_server.url + "/print")
    page.wait_for_function("() => document.body.dataset.printReady === 'true'", timeout=20000)
    shown = labels_at(page)
    assert shown and overlapping(shown) == []
    assert any(label["layer"] == "communities" for label in shown)


CLUSTER_BOXES = """() => [...document.querySelectorAll('.leaflet-marker-icon')].flatMap(icon => {
    const c = icon.querySelector('.hs-cluster');
    if (!c) return [];
    const r = icon.getBoundingClientRect();
    const layer = [...c.classList].find(k => k.startsWith('hs-cluster-')).slice(11);
    return [{text: layer + ':' + c.textContent, layer: layer,
             left: r.left, top: r.top, right: r.right, bottom: r.bottom}];
})"""


@pytest.mark.parametrize("width,height", [(1440, 900), (1280, 800)])
def test_clusters_of_different_layers_do_not_overlap(live_server, browser, width, height,
                                                     screenshot_dir):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    open_map(page, live_server.url)
    page.locator(".hs-layer-row[data-layer=shopfronts] input").check()  # hidden at start
    page.wait_for_function("() => HuaishuMap.clusterSeparation.started === true")
    page.wait_for_timeout(500)
    boxes = page.evaluate(CLUSTER_BOXES)
    assert {b["layer"] for b in boxes} >= {"venues", "garbage", "shopfronts"}
    clashes = [(a["text"], b["text"]) for a, b in itertools.combinations(boxes, 2)
               if a["layer"] != b["layer"]
               and a["left"] < b["right"] and b["left"] < a["right"]
               and a["top"] < b["bottom"] and b["top"] < a["bottom"]]
    assert clashes == []
    # Moved clusters say where they belong: one leader line each.
    moved = int(page.evaluate("() => HuaishuMap.map.getContainer().dataset.clustersMoved"))
    assert moved == page.evaluate("() => HuaishuMap.clusterSeparation.leaders.getLayers().length")
    page.screenshot(path=str(screenshot_dir / f"clusters-{width}.png"))
    context.close()


def test_hotline_work_orders_are_a_heat_map_that_follows_the_filter(live_server, wide_page):
    page = wide_page
    open_map(page, live_server.url)
    # The summary's thematic layers open hidden (the heat map would cover the overview).
    for name in ("hotline", "selfbuilt", "illegal_removed", "railway_cleanup", "vending",
                 "shopfronts"):
        assert not page.locator(f".hs-layer-row[data-layer={name}] input").is_checked()
    assert page.locator(".hs-layer-row[data-layer=venues] input").is_checked()
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 0
    page.locator(".hs-layer-row[data-layer=hotline] input").check()
    state = page.evaluate("""() => { const e = HuaishuMap.layers.hotline;
        return {count: e.count, heat: !!e.heat, points: e.heat._latlngs.length,
                canvas: !!document.querySelector('canvas.leaflet-heatmap-layer')}; }""")
    assert state == {"count": 3176, "heat": True, "points": 3176, "canvas": True}
    page.select_option("#community-filter", "嘉瑞社区")
    shown = page.evaluate("() => HuaishuMap.layers.hotline.heat._latlngs.length")
    assert 0 < shown < 3176
    page.locator(".hs-layer-row[data-layer=hotline] input").uncheck()
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 0


def test_the_community_filter_works_with_the_heat_map_hidden(live_server, wide_page):
    page = wide_page
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_map(page, live_server.url)
    assert not page.locator(".hs-layer-row[data-layer=hotline] input").is_checked()
    page.select_option("#community-filter", "御景社区")
    assert "community=" in page.get_attribute("#export-csv", "href")
    page.locator(".hs-layer-row[data-layer=hotline] input").check()
    shown = page.evaluate("() => HuaishuMap.layers.hotline.heat._latlngs.length")
    assert 0 < shown < 3176
    assert errors == []
