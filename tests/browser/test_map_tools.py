"""The overview map's tools, as a planner uses them (headless Chromium)."""

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import shapely
from playwright.sync_api import expect
from pyproj import Geod
from shapely.geometry import shape

from tests.browser.helpers import click_map, latlng_at, layer_counts, open_map

GEOD = Geod(ellps="WGS84")


def summary_number(text, pattern):
    return int(re.search(pattern, text).group(1))


def test_filter_by_community(live_server, page, client):
    open_map(page, live_server.url)
    zoom = page.evaluate("HuaishuMap.map.getZoom()")
    page.select_option("#community-filter", "裕园社区")
    expected = client.get("/api/summary?community=裕园社区").get_json()
    counts = layer_counts(page)
    assert counts["venues"] == f"({expected['venues']['count']}/353)"
    assert counts["garbage"] == f"({expected['garbage']['points']}/108)"
    assert counts["communities"] == "(1/6)"
    roads = len(client.get("/api/layers/roads").get_json()["features"])
    assert counts["roads"] == f"({roads})" and counts["boundary"] == "(1)"  # not in a community
    shown = page.evaluate("""HuaishuMap.layers.venues.cluster.getLayers()
        .map(l => l.feature.properties.community)""")
    assert set(shown) == {"裕园社区"}
    assert page.evaluate("HuaishuMap.map.getZoom()") > zoom  # zoomed to the community
    page.wait_for_function("() => document.getElementById('summary').dataset.ready === 'true'")
    assert "社区统计:裕园社区" in page.locator("#summary").inner_text()
    assert page.locator(".leaflet-hs-highlight-pane path").count() == 1

    page.select_option("#community-filter", "")
    assert layer_counts(page)["venues"] == "(353)"
    # The community's outline and figures go with the filter.
    assert page.locator("#summary").inner_text() == ""
    assert page.locator(".leaflet-hs-highlight-pane path").count() == 0


def test_search_zooms_to_the_hit_and_opens_its_popup(live_server, page, client):
    venue = client.get("/api/layers/venues").get_json()["features"][42]
    name = venue["properties"]["name"]
    open_map(page, live_server.url)
    page.fill("#search", name[:3])
    hits = page.locator(".hs-search-hit")
    assert 1 <= hits.count() <= 20
    hit = hits.filter(has_text=name).first
    assert "安全监管场所" in hit.inner_text()
    hit.click()
    popup = page.locator(".leaflet-popup-content", has_text=name)
    popup.wait_for()
    assert page.evaluate("HuaishuMap.map.getZoom()") >= 17
    lon, lat = venue["geometry"]["coordinates"]
    assert page.evaluate(f"HuaishuMap.map.getBounds().contains([{lat}, {lon}])")

    # A community: the map fits it. Enter takes the first hit.
    page.fill("#search", "昆仑街")
    assert "社区" in page.locator(".hs-search-hit").first.inner_text()
    page.press("#search", "Enter")
    page.locator(".hs-popup h3").filter(has_text=re.compile("^昆仑街社区$")).wait_for()
    bounds = client.get("/api/summary?community=昆仑街社区").get_json()["geometry"]
    minx, miny, maxx, maxy = shape(bounds).bounds
    assert page.evaluate(
        f"HuaishuMap.map.getBounds().contains([[{miny}, {minx}], [{maxy}, {maxx}]])")

    page.fill("#search", "没有这个名字")
    assert "没有找到" in page.locator("#search-results").inner_text()


def test_draw_a_rectangle_and_get_what_lies_inside(live_server, page, client):
    open_map(page, live_server.url)
    page.click("[data-tool=rectangle]")
    click_map(page, 300, 260)
    click_map(page, 470, 480)
    page.wait_for_function("() => document.getElementById('summary').dataset.ready === 'true'")
    text = page.locator("#summary").inner_text()
    assert "绘制范围统计" in text
    geometry = page.evaluate("HuaishuMap.drawn.getLayers()[0].toGeoJSON().geometry")
    expected = client.post("/api/summary", json=geometry).get_json()
    assert summary_number(text, r"安全监管场所 (\d+) 处") == expected["venues"]["count"] > 0
    assert summary_number(text, r"垃圾桶 (\d+) 个") == expected["garbage"]["bins"] > 0
    assert summary_number(text, r"泊位 (\d+) 个") == expected["parking"]["spaces"]
    assert f"{expected['area_mu']:,.2f}".rstrip("0").rstrip(".") + " 亩" in text
    for row in expected["venues"]["by_kind"]:
        assert row["kind"] in text
    # The drawn rectangle is what the corners enclose.
    (w, n), (e, s) = latlng_at(page, 300, 260), latlng_at(page, 470, 480)
    assert shape(geometry).equals_exact(shapely.box(w, s, e, n).normalize(), 1e-6) or \
        shape(geometry).symmetric_difference(shapely.box(w, s, e, n)).area < 1e-10

    page.click("#clear-drawings")
    assert page.evaluate("HuaishuMap.drawn.getLayers().length") == 0
    assert page.locator("#summary").inner_text() == ""


def test_a_self_intersecting_polygon_is_refused_with_a_message(live_server, page):
    open_map(page, live_server.url)
    page.click("[data-tool=polygon]")
    for x, y in [(300, 250), (450, 420), (450, 250)]:
        click_map(page, x, y)
    click_map(page, 300, 420, double=True)
    page.wait_for_function("() => document.getElementById('summary').dataset.ready === 'error'")
    assert "自相交" in page.locator("#summary .hs-error").inner_text()
    assert page.evaluate("HuaishuMap.drawn.getLayers().length") == 0


def test_click_a_community_for_its_summary(live_server, page, client):
    open_map(page, live_server.url)
    page.evaluate("HuaishuMap.setShown('grid', false)")  # grid lines are thin; fewer misses
    # A pixel where the community itself is the topmost thing (no marker or parcel over it).
    x, y = page.evaluate("""(() => {
        const c = HuaishuMap.map.getContainer(), r = c.getBoundingClientRect();
        for (let y = 60; y < r.height - 60; y += 17) for (let x = 60; x < r.width - 60; x += 17) {
            const hit = document.elementFromPoint(r.left + x, r.top + y);
            if (hit && hit.closest('.leaflet-hs-communities-pane')) return [x, y];
        }
        return null;
    })()""")
    lon, lat = latlng_at(page, x, y)
    expected = client.get(f"/api/summary?lon={lon}&lat={lat}").get_json()
    click_map(page, x, y)
    page.wait_for_function("() => document.getElementById('summary').dataset.ready === 'true'")
    text = page.locator("#summary").inner_text()
    assert f"社区统计:{expected['community']['name']}" in text
    assert summary_number(text, r"安全监管场所 (\d+) 处") == expected["venues"]["count"]
    assert summary_number(text, r"垃圾投放点 (\d+) 个") == expected["garbage"]["points"]
    assert page.locator(".leaflet-hs-highlight-pane path").count() == 1


def test_measure_a_distance_and_an_area(live_server, page):
    open_map(page, live_server.url)
    page.click("[data-tool=line]")
    click_map(page, 250, 300)
    click_map(page, 520, 600, double=True)
    page.wait_for_function(
        "() => document.getElementById('measure-result').dataset.ready === 'true'")
    text = page.locator("#measure-result").inner_text()
    metres = float(re.search(r"长度 ([\d,.]+) 米", text).group(1).replace(",", ""))
    (x1, y1), (x2, y2) = latlng_at(page, 250, 300), latlng_at(page, 520, 600)
    assert metres == pytest.approx(GEOD.inv(x1, y1, x2, y2)[2], rel=0.005)
    assert text in page.locator(".hs-measure-label").inner_text()

    page.click("[data-tool=area]")
    corners = [(250, 300), (520, 300), (520, 600)]
    for x, y in corners[:-1]:
        click_map(page, x, y)
    click_map(page, *corners[-1], double=True)
    page.wait_for_function("() => document.querySelector('#measure-result .hs-measure')"
                           ".textContent.startsWith('面积')")
    text = page.locator("#measure-result").inner_text()
    m2 = float(re.search(r"面积 ([\d,.]+) 平方米", text).group(1).replace(",", ""))
    triangle = shapely.Polygon([latlng_at(page, x, y) for x, y in corners])
    assert m2 == pytest.approx(abs(GEOD.geometry_area_perimeter(triangle)[0]), rel=0.005)
    assert "亩" in text


def test_choropleth_of_an_indicator(live_server, page, client):
    open_map(page, live_server.url)
    page.select_option("#choropleth-indicator", "open_hazards")
    page.wait_for_selector("#legend [data-layer=choropleth]")
    expected = client.get("/api/choropleth?indicator=open_hazards").get_json()
    labels = page.locator(".hs-choropleth-label").all_inner_texts()
    assert len(labels) == 6
    for f in expected["features"]:
        label = f"{f['properties']['name']}\n{f['properties']['value']} 处"
        assert label in labels
    fills = page.evaluate("""HuaishuMap.overlays.choropleth.layer.getLayers()
        .map(l => [l.feature.properties.name, l.options.fillColor])""")
    assert dict(fills) == {f["properties"]["name"]: f["properties"]["color"]
                           for f in expected["features"]}
    legend = page.locator("#legend [data-layer=choropleth]")
    assert "未整改隐患数" in legend.inner_text()
    assert legend.locator(".hs-legend-item").count() == len(expected["classes"])
    assert page.locator("#thematic-table tr").count() == 1 + 6

    page.select_option("#choropleth-indicator", "")
    expect(page.locator(".hs-choropleth-label")).to_have_count(0)  # after a fade
    assert page.locator("#legend [data-layer=choropleth]").count() == 0


def test_coverage_of_garbage_points_and_reading_sites(live_server, page, client):
    open_map(page, live_server.url)
    page.check("[data-coverage=garbage]")
    page.check("[data-coverage=reading]")
    page.wait_for_function(
        "() => document.getElementById('thematic-table').dataset.coverage === 'true'"
        " && document.querySelectorAll('.hs-coverage-table th').length === 3")
    assert page.locator(".leaflet-hs-coverage-pane path").count() >= 2
    expected = client.get("/api/coverage").get_json()
    rows = page.evaluate("""[...document.querySelectorAll('.hs-coverage-table tr')].slice(1)
        .map(r => [...r.children].map(c => c.textContent))""")
    wanted = [[r["name"], f"{r['garbage_share'] * 100:.1f}%".replace(".0%", "%"),
               f"{r['reading_share'] * 100:.1f}%".replace(".0%", "%")]
              for r in expected["communities"] + [expected["total"]]]
    assert rows == wanted
    assert "泉城书房" in page.locator(".hs-coverage-table").inner_text()
    assert "15分钟阅读圈" in page.locator("#legend [data-layer=coverage]").inner_text()
    page.uncheck("[data-coverage=garbage]")
    page.uncheck("[data-coverage=reading]")
    assert page.locator(".leaflet-hs-coverage-pane path").count() == 0


def test_export_what_is_shown(live_server, page):
    open_map(page, live_server.url)
    for row in page.locator(".hs-layer-row input").all():
        row.uncheck()
    # Nothing shown: nothing to export, and the print view would show no layer either.
    assert "hs-disabled" in page.get_attribute("#export-csv", "class")
    query = parse_qs(urlparse(page.get_attribute("#print-link", "href")).query,
                     keep_blank_values=True)
    assert query["layers"] == [""]
    page.check(".hs-layer-row[data-layer=venues] input")
    page.check(".hs-layer-row[data-layer=garbage] input")
    page.select_option("#community-filter", "御景社区")
    shown = page.evaluate(
        "HuaishuMap.layers.venues.visibleCount + HuaishuMap.layers.garbage.visibleCount")

    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename == "zhongda-huaishu-2026-11-25.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["图层"] for r in rows} == {"安全监管场所", "垃圾投放点"}
    assert len(rows) == shown
    assert {r["图层"] for r in rows} == {"安全监管场所", "垃圾投放点"}
    assert {r["所属社区"] for r in rows} == {"御景社区"}

    with page.expect_download() as info:
        page.click("#export-geojson")
    collection = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert len(collection["features"]) == shown

    # Only what is in view.
    page.evaluate("HuaishuMap.map.setZoom(HuaishuMap.map.getZoom() + 1.5, {animate: false})")
    page.check("#export-view")
    with page.expect_download() as info:
        page.click("#export-geojson")
    in_view = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))["features"]
    assert 0 < len(in_view) < shown
    bounds = page.evaluate("HuaishuMap.map.getBounds().toBBoxString()")
    box = shapely.box(*map(float, bounds.split(",")))
    assert all(box.buffer(1e-6).covers(shape(f["geometry"])) for f in in_view)


def test_print_view_of_what_is_shown(live_server, page, screenshot_dir):
    open_map(page, live_server.url)
    page.select_option("#community-filter", "嘉瑞社区")
    page.select_option("#choropleth-indicator", "venues")
    page.wait_for_selector("#legend [data-layer=choropleth]")
    page.uncheck(".hs-layer-row[data-layer=grid] input")
    page.fill("#print-title", "嘉瑞社区安全监管图")
    href = page.get_attribute("#print-link", "href")
    assert page.get_attribute("#print-link", "target") == "_blank"
    view = page.evaluate("HuaishuMap.map.getBounds().toBBoxString()")

    page.goto(live_server.url + href)
    page.wait_for_function("() => document.body.dataset.printReady === 'true'", timeout=20000)
    assert page.locator("#sheet-title").inner_text() == "嘉瑞社区安全监管图"
    assert "范围:嘉瑞社区" in page.locator("#sheet-notes").inner_text()
    assert "安全监管场所数" in page.locator("#sheet-notes").inner_text()
    assert "制图日期:2026年11月25日" in page.locator("#sheet-date").inner_text()
    legend = page.locator("#sheet-legend #legend")
    assert legend.locator("[data-layer=choropleth]").count() == 1
    assert legend.locator("[data-layer=venues]").count() == 1
    assert legend.locator("[data-layer=grid]").count() == 0  # not shown, not in the legend
    assert page.evaluate("HuaishuMap.isShown('grid')") is False
    assert page.evaluate("HuaishuMap.filter.community") == "嘉瑞社区"
    # The printed map covers the view of the page, and labels sit on their communities.
    minx, miny, maxx, maxy = map(float, view.split(","))
    assert page.evaluate(f"HuaishuMap.map.getBounds().pad(0.01).contains([[{miny}, {minx}], "
                         f"[{maxy}, {maxx}]])")
    offsets = page.evaluate("""HuaishuMap.overlays.choropleth.layer.getLayers().map(l => {
        const m = HuaishuMap.map, c = m.getContainer().getBoundingClientRect();
        const p = m.latLngToContainerPoint(l.getCenter());
        const t = l.getTooltip()._container.getBoundingClientRect();
        return Math.abs(t.left - c.left + t.width / 2 - p.x); })""")
    assert len(offsets) == 6 and max(offsets) < 2
    assert re.fullmatch(r"\d+ (m|km)", page.locator(".leaflet-control-scale-line").inner_text())
    assert page.locator("#north-arrow").is_visible()
    assert page.locator(".leaflet-control-zoom").count() == 0
    page.screenshot(path=str(screenshot_dir / "print.png"), full_page=True)


def test_search_by_road_and_by_address(live_server, page, client):
    """「经四路」 finds the road and what stands on it; an address finds its venue."""
    open_map(page, live_server.url)
    page.fill("#search", "经四路")
    hits = page.locator(".hs-search-hit")
    first = hits.first
    assert first.locator(".hs-hit-name").inner_text() == "经四路"
    assert "道路与铁路" in first.inner_text()
    assert hits.filter(has_text="地址:经四路").count() > 1  # venues on 经四路
    page.press("#search", "Enter")
    page.locator(".leaflet-popup-content", has_text="经四路").wait_for()

    venue = next(f for f in client.get("/api/layers/venues").get_json()["features"]
                 if f["properties"]["address"].startswith("张庄路"))
    address, name = venue["properties"]["address"], venue["properties"]["name"]
    page.fill("#search", address)
    hit = page.locator(".hs-search-hit", has_text=name).first
    assert f"地址:{address}" in hit.inner_text()
    hit.click()
    page.locator(".leaflet-popup-content", has_text=name).wait_for()

    page.fill("#search", "经四路681号")  # the sub-district office
    assert "街道辖区" in page.locator(".hs-search-hit").first.inner_text()
