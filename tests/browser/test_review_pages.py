"""The leaders' pages in headless Chromium: /parcels, /projects, the brief, /dashboard."""

import csv
import io
import unicodedata
from urllib.parse import urlparse

import pytest
from pypdf import PdfReader

from layers.catalogue.values import format_value
from tests.conftest import client_as

PAGE_ROLE = "leader"  # the `page` fixture logs in with this role (tests/browser/conftest.py)


def api(live_server, path):
    """The leaders' API as a leader sees it (the live server's app, in process)."""
    response = client_as(live_server.server.app, "leader").get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


@pytest.fixture
def watched(page):
    """The page, recording requests that leave the machine and script errors."""
    page.foreign = []
    page.errors = []
    page.on("request", lambda r: page.foreign.append(r.url)
            if urlparse(r.url).hostname not in ("127.0.0.1", None)
            and not r.url.startswith("data:") else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def open_sites(page, live_server, path="/parcels"):
    page.goto(live_server.url + path)
    page.wait_for_function("() => document.body.dataset.reviewReady === 'true'", timeout=20000)


def row_ids(page):
    return page.eval_on_selector_all("#site-table tbody tr", "rows => rows.map(r => r.dataset.id)")


def column_texts(page, field):
    return page.eval_on_selector_all(f"#site-table tbody td[data-field='{field}']",
                                     "cells => cells.map(c => c.textContent)")


def test_parcel_table_sorts_and_filters(live_server, watched, tmp_path):
    page = watched
    open_sites(page, live_server)
    table = api(live_server, "/api/parcels")
    assert row_ids(page) == [r["id"] for r in table["rows"]]  # largest first
    header = page.locator("#site-table thead th[data-field='area_mu']")
    assert header.get_attribute("aria-sort") == "descending"
    assert "面积(亩)" in header.inner_text()

    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    by_area = sorted(table["rows"], key=lambda r: r["area_mu"])
    assert row_ids(page) == [r["id"] for r in by_area]

    page.locator("#site-table thead th[data-field='years_idle'] button").click()
    years = [int(t) for t in column_texts(page, "years_idle")]
    assert years == sorted(years)
    page.locator("#site-table thead th[data-field='name'] button").click()
    names = column_texts(page, "name")
    assert names == page.evaluate(
        "names => names.slice().sort(new Intl.Collator('zh-CN').compare)", names)

    page.locator("#site-table thead th[data-field='status'] button").click()
    order = ["闲置", "规划中", "在建", "已利用"]
    ranks = [order.index(t) for t in column_texts(page, "status")]
    assert ranks == sorted(ranks)

    for status in ("规划中", "在建", "已利用"):
        page.locator(f"#status-filter input[value='{status}']").uncheck()
    page.wait_for_function("() => document.querySelectorAll('#site-table tbody tr').length === 3")
    page.wait_for_function(
        "() => document.querySelector('#site-table tfoot').textContent.includes('合计 3 块')")
    assert set(column_texts(page, "status")) == {"闲置"}
    idle = api(live_server, "/api/parcels?status=闲置")
    assert format_value(idle["totals"]["area_mu"], "") in page.locator("#total-area").inner_text()
    assert "3 块" in page.locator("#total-idle").inner_text()

    href = page.locator("#export-csv").get_attribute("href")
    assert "status=%E9%97%B2%E7%BD%AE" in href and "sort=status&order=asc" in href
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    path = tmp_path / "parcels.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    assert {r["状态"] for r in rows} == {"闲置"} and len(rows) == 3

    page.locator("#status-filter input[value='闲置']").uncheck()
    page.wait_for_selector("#site-table tbody tr.rv-empty")
    for link in ("#export-csv", "#export-xlsx"):  # nothing shown, nothing to export
        assert page.locator(link).get_attribute("href") is None
        assert page.locator(link).get_attribute("aria-disabled") == "true"
    page.locator("#status-filter input[value='在建']").check()
    page.wait_for_function("() => document.querySelectorAll('#site-table tbody tr').length === 1")
    assert "status=%E5%9C%A8%E5%BB%BA" in page.locator("#export-xlsx").get_attribute("href")
    assert page.foreign == [] and page.errors == []


def test_row_click_zooms_to_the_parcel_and_shows_surroundings(live_server, watched,
                                                              screenshot_dir):
    page = watched
    open_sites(page, live_server)
    zoom_before = page.evaluate("HuaishuMap.map.getZoom()")
    page.locator("#site-table tbody tr[data-id='P01']").click()
    page.wait_for_selector("#sr-households")
    page.wait_for_function("() => window.HuaishuReview.hits > 0")

    view = page.evaluate("""(() => {
        const map = HuaishuMap.map;
        const layer = HuaishuMap.layers.parcels.geojson.getLayers()
            .find(l => l.feature.id === 'P01');
        const b = layer.getBounds();
        const c = map.latLngToContainerPoint(b.getCenter());
        const size = map.getSize();
        return {zoom: map.getZoom(), contains: map.getBounds().contains(b),
                dx: c.x - size.x / 2, dy: c.y - size.y / 2,
                color: layer.options.color, selected: location.hash};
    })()""")
    assert view["zoom"] > zoom_before
    assert view["contains"]
    assert abs(view["dx"]) < 40 and abs(view["dy"]) < 40  # centred on the parcel
    assert view["color"] == "#c0392b" and view["selected"] == "#P01"
    assert page.locator("#site-table tbody tr[data-id='P01']").get_attribute(
        "aria-selected") == "true"

    around = api(live_server, "/api/parcels/P01/surroundings")
    assert page.locator("#sr-households").inner_text() == format_value(
        around["households_estimate"], "户")
    shares = page.eval_on_selector_all(
        "#sr-communities tr td:nth-child(2)", "cells => cells.map(c => c.textContent)")
    assert shares[:-1] == [f"{c['share_pct']:.1f}%" for c in around["communities"]]
    facilities = page.locator("#sr-facilities").inner_text()
    road = around["nearest_main_road"]
    assert road["name"] in facilities
    # spaces per lot and bins per point are not the document's: their sums say 示意
    assert f"{around['parking']['count']} 处,泊位 {around['parking']['spaces']} 个(示意)" \
        in facilities
    assert f"垃圾桶 {around['garbage']['bins']} 个(示意)" in facilities
    assert f"{around['venues']['count']} 家" in facilities
    assert page.evaluate("window.HuaishuReview.hits") == len(around["features"]["features"])
    assert "/parcels/P01/brief?distance=300" in page.locator("#brief-link").get_attribute("href")
    page.screenshot(path=str(screenshot_dir / "parcels.png"))

    page.fill("#distance", "100")
    page.locator(".rv-distance button").click()
    near = api(live_server, "/api/parcels/P01/surroundings?distance=100")
    page.wait_for_function(
        "t => document.querySelector('#sr-households').textContent === t",
        arg=format_value(near["households_estimate"], "户"))
    assert near["households_estimate"] < around["households_estimate"]
    assert "distance=100" in page.locator("#pdf-link").get_attribute("href")
    assert page.foreign == [] and page.errors == []


def parcel_on_screen(page, fid):
    """Where the parcel is drawn, once the map has settled: the point at its centre is
    its own path (not a moving map's stale position or another feature above it)."""
    return page.wait_for_function("""id => {
        const map = HuaishuMap.map;
        const layer = HuaishuMap.layers.parcels.geojson.getLayers()
            .find(l => l.feature.id === id);
        const p = map.latLngToContainerPoint(layer.getBounds().getCenter());
        const box = map.getContainer().getBoundingClientRect();
        const [x, y] = [box.left + p.x, box.top + p.y];
        return document.elementFromPoint(x, y) === layer.getElement() ? [x, y] : null;
    }""", arg=fid, timeout=10000).json_value()


def test_clicking_a_parcel_on_the_map_selects_its_row(live_server, watched):
    page = watched
    open_sites(page, live_server)
    page.mouse.click(*parcel_on_screen(page, "P04"))
    page.wait_for_selector("#site-table tbody tr[data-id='P04'][aria-selected='true']")
    page.wait_for_function(
        "() => document.querySelector('#surroundings h2')?.textContent === '济南富裕床单厂'")
    assert page.errors == []


def test_a_parcel_within_reach_of_the_selected_one_can_be_clicked(live_server, watched):
    """The reach and what lies in it are drawn over the map: a neighbour stays clickable."""
    page = watched
    open_sites(page, live_server, "/parcels#P01")
    page.wait_for_function("() => window.HuaishuReview.hits > 0")
    around = api(live_server, "/api/parcels/P01/surroundings")
    assert "P03" in {s["id"] for s in around["sites"]}  # 三联印务地块 lies within 300 m
    page.mouse.click(*parcel_on_screen(page, "P03"))
    page.wait_for_selector("#site-table tbody tr[data-id='P03'][aria-selected='true']")
    page.wait_for_function(
        "() => document.querySelector('#surroundings h2')?.textContent === '三联印务地块'")
    assert page.errors == []


def test_projects_page_shows_investment_against_plan(live_server, watched):
    page = watched
    open_sites(page, live_server, "/projects#J01")
    page.wait_for_selector("#sr-households")
    row = page.locator("#site-table tbody tr[data-id='J01']")
    assert row.get_attribute("aria-selected") == "true"
    # The document gives no planned total: the columns nobody has a figure for stay out.
    assert row.locator("td[data-field='investment_progress_pct']").count() == 0
    assert page.locator("#total-plan").count() == 0
    assert "逾期" in row.locator("td[data-field='delay']").inner_text()
    assert row.locator("td[data-field='investment_2022_wan']").inner_text() == "17,446.6"
    assert "17,446.6 万元" in page.locator("#total-2022").inner_text()
    assert page.locator("#surroundings h2").inner_text() == "三箭和平广场"
    assert page.foreign == [] and page.errors == []


def test_print_view_prints_on_one_page(live_server, watched, screenshot_dir):
    page = watched
    page.goto(live_server.url + "/parcels/P01/brief")
    page.wait_for_selector("#brief-map")
    assert page.locator("#brief-map").is_visible()
    box = page.locator("#brief-map").bounding_box()
    assert box["width"] > 500 and box["height"] > 250
    # The scale bar, as drawn on screen, measures what it says against the map's width.
    scale = page.locator("#br-scale")
    length_m = int(scale.get_attribute("data-length-m"))
    assert scale.locator("text").nth(2).text_content() == f"{length_m}米"
    bars = scale.locator("rect")
    bar_px = bars.nth(1).bounding_box()["width"] + bars.nth(2).bounding_box()["width"]
    map_m = page.evaluate("""(() => { const svg = document.getElementById('brief-map');
        return svg.viewBox.baseVal.width * Number(svg.dataset.metresPerMm); })()""")
    assert bar_px / box["width"] * map_m == pytest.approx(length_m, rel=0.02)
    assert page.locator("#brief-map text", has_text="八里桥片区").count() == 1
    assert "嘉瑞社区" in page.locator("#brief-communities").inner_text()
    page.screenshot(path=str(screenshot_dir / "brief.png"), full_page=True)

    page.select_option("#brief-distance", "1000")
    page.locator(".br-distance button").click()
    page.wait_for_url("**/parcels/P01/brief?distance=1000&basemap=none")  # the 底图 choice too
    assert "周边 1000 米范围内" in page.locator("#brief-surroundings h2").inner_text()

    page.emulate_media(media="print")
    assert page.locator(".br-screen-bar").is_hidden()
    assert page.locator(".hs-header").is_hidden()
    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True, print_background=True)))
    assert len(pdf.pages) == 1
    # Chromium maps some glyphs to Kangxi radicals (⼋ for 八): NFKC folds them back.
    text = unicodedata.normalize("NFKC", pdf.pages[0].extract_text())
    assert "八里桥片区" in text and "周边 1000 米范围内" in text
    assert page.foreign == [] and page.errors == []


def test_dashboard_draws_the_figures_from_the_data_file(live_server, watched, screenshot_dir):
    page = watched
    page.goto(live_server.url + "/dashboard")
    page.wait_for_function("() => document.body.dataset.dashboardReady === 'true'", timeout=20000)
    figures = api(live_server, "/api/figures")
    by_id = {f["id"]: f for g in figures["groups"] for f in g["figures"]}
    cards = page.locator("#db-cards .db-card")
    assert cards.count() == len(figures["highlights"])
    tax = page.locator("#db-cards [data-figure='district_tax']").inner_text()
    assert "4,574万元" in tax and "完成年计划 65.7%" in tax
    services = page.locator("#db-groups tr[data-figure='services_revenue']").inner_text()
    assert "5,128.5万元" in services and "同比 −17.8%" in services
    assert page.locator("#db-groups tr[data-figure='illegal_buildings_removed']").inner_text(
        ).startswith("拆除违章建筑\t900余平方米")

    charts = page.evaluate("""Object.fromEntries(Object.entries(HuaishuDashboard.charts)
        .map(([id, c]) => [id, {type: c.config.type, labels: c.data.labels,
                                data: c.data.datasets[0].data}]))""")
    assert set(charts) == {c["id"] for c in figures["charts"]}
    for chart in figures["charts"]:
        drawn = charts[chart["id"]]
        chosen = [by_id[i] for i in chart["figures"]]
        assert drawn["labels"] == [f["label"] for f in chosen]
        key = {"plan": "plan_pct", "growth": "yoy_pct"}.get(chart["type"], "value")
        assert drawn["data"] == [f[key] for f in chosen]
    assert charts["firms"]["type"] == "doughnut"
    assert page.locator("#db-charts canvas").count() == len(figures["charts"])

    parcels = api(live_server, "/api/parcels")
    assert format_value(parcels["totals"]["idle_area_mu"], "") in page.locator(
        "[data-figure='idle_land']").inner_text()
    building = page.locator("[data-figure='projects_building']").inner_text()
    assert "2 个" in building and "2022年完成投资 17,446.6 万元" in building  # with 长者食堂
    page.screenshot(path=str(screenshot_dir / "dashboard.png"))
    assert page.foreign == [] and page.errors == []


def test_dashboard_shows_the_records_live_figures_with_links_to_the_lists(live_server,
                                                                           watched):
    page = watched
    page.goto(live_server.url + "/dashboard")
    page.wait_for_function("() => document.getElementById('db-records').dataset.ready === 'true'",
                           timeout=20000)
    live = api(live_server, "/api/records/figures")
    box = page.locator("#db-records")
    for key, unit in (("inspections_this_year", "次"), ("inspections_this_month", "次"),
                      ("open_hazards", "处"), ("rectification_overdue", "个"),
                      ("inspection_overdue", "个")):
        value = box.locator(f"[data-figure='{key}'] .db-card-value")
        assert value.inner_text() == format_value(live[key], "") + unit
    rows = box.locator("tbody tr")
    assert rows.count() == len(live["by_community"])
    first = live["by_community"][0]
    assert rows.first.inner_text().split("\t") == [
        first["community"], str(first["venues"]), str(first["open_hazards"]),
        str(first["rectification_overdue"]), str(first["inspection_overdue"])]
    assert page.foreign == [] and page.errors == []
    box.locator("[data-figure='rectification_overdue']").click()
    page.wait_for_url("**/inspect?list=late")
    page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=20000)
    assert page.get_attribute("#tab-late", "aria-selected") == "true"
    assert page.locator("#late").is_visible()
    assert page.inner_text("#late-count") == f"({live['rectification_overdue']})"


def test_dashboard_shows_12345_orders_by_month_and_community(live_server, watched):
    page = watched
    page.goto(live_server.url + "/dashboard")
    page.wait_for_function("() => document.getElementById('db-hotline').dataset.ready === 'true'",
                           timeout=20000)
    panel = page.locator("#db-hotline")
    assert "3,176 件" in panel.inner_text() and "满意率 100%" in panel.inner_text()
    assert "示意" in panel.inner_text()
    drawn = page.evaluate("""() => ({
        months: DashboardHotline.months.data.labels,
        total: DashboardHotline.months.data.datasets[0].data.reduce((a, b) => a + b, 0),
        communities: DashboardHotline.communities.data.labels})""")
    assert drawn["months"] == [f"{m}月" for m in range(1, 13)] and drawn["total"] == 3176
    assert len(drawn["communities"]) == 6
    assert page.foreign == [] and page.errors == []
