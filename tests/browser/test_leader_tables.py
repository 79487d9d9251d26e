"""The leaders' tables fit a 1440 px screen and a 1280 px laptop; one status palette."""

import pytest

from layers.catalogue.styles import PARCEL_STATUS_COLORS
from tests.browser.conftest import log_in_page
from tests.conftest import ensure_user

LEADER = "browser-leader-tables"


@pytest.fixture
def leader(browser, live_server, live_app):
    ensure_user(live_app, LEADER, "leader")

    def open_at(width, height, path):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="zh-CN")
        page = context.new_page()
        log_in_page(page, live_server.url, LEADER)
        page.goto(live_server.url + path)
        page.wait_for_function("() => document.body.dataset.reviewReady === 'true'",
                               timeout=20000)
        page.wait_for_timeout(300)
        return page

    yield open_at


CUT_OFF = """() => {
    const table = document.getElementById('site-table');
    const scroller = table.closest('.rv-table-scroll');
    const view = scroller.getBoundingClientRect();
    const cells = [...table.querySelectorAll('thead th, tbody td')];
    return {
        scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth,
        pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        // A cell is cut off if its content is wider than the cell (clipped or ellipsed)
        // or if it lies outside the table's box.
        clipped: cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent),
        outside: cells.filter(c => { const r = c.getBoundingClientRect();
            return r.right > view.right + 1 || r.left < view.left - 1; }).map(c => c.textContent),
    };
}"""


@pytest.mark.parametrize("width,height", [(1440, 900), (1280, 800)])
@pytest.mark.parametrize("kind", ["projects", "parcels"])
def test_tables_fit_without_cutting_a_cell(leader, kind, width, height, screenshot_dir):
    page = leader(width, height, f"/{kind}")
    fit = page.evaluate(CUT_OFF)
    assert fit["scrollWidth"] <= fit["clientWidth"], fit  # no column beyond the right edge
    assert fit["clipped"] == [] and fit["outside"] == [], fit
    assert fit["pageOverflow"] <= 0
    headers = page.locator("#site-table thead th").all_inner_texts()
    # the update dates (and the parcels' years idle) are not the document's: marked 示意
    assert any("更新日期(示意)" in h for h in headers) and any("备注" in h for h in headers)
    if kind == "parcels":
        assert any("面积(亩)" in h for h in headers)
        assert any("闲置年限(年,示意)" in h for h in headers)
    page.screenshot(path=str(screenshot_dir / f"{kind}-{width}.png"))
    page.context.close()


def test_selected_row_keeps_its_height(leader):
    page = leader(1440, 900, "/projects")
    heights = page.eval_on_selector_all("#site-table tbody tr",
                                        "rows => rows.map(r => r.getBoundingClientRect().height)")
    page.locator("#site-table tbody tr[data-id='J01']").click()
    page.wait_for_selector("#site-table tbody tr[data-id='J01'][aria-selected='true']")
    page.wait_for_timeout(300)
    after = page.eval_on_selector_all("#site-table tbody tr",
                                      "rows => rows.map(r => r.getBoundingClientRect().height)")
    assert after == pytest.approx(heights, abs=1)
    page.context.close()


def test_a_project_past_its_completion_is_marked_late(leader):
    page = leader(1440, 900, "/projects")
    row = page.locator("#site-table tbody tr[data-id='J01']")  # 三箭和平广场, 预计2023
    late = row.locator(".rv-late")
    assert late.count() == 1
    assert "逾期" in late.inner_text() and "年" in late.inner_text()
    # A project without a date, or already operating, is not late.
    assert page.locator("#site-table tbody tr[data-id='J04'] .rv-late").count() == 0
    page.context.close()


def test_parcels_map_is_coloured_by_status_with_a_legend(leader):
    page = leader(1440, 900, "/parcels")
    page.wait_for_function("() => HuaishuMap.layers.parcels && HuaishuMap.layers.parcels.loaded")
    drawn = page.evaluate("""() => {
        const out = {};
        HuaishuMap.layers.parcels.geojson.eachLayer(l => {
            out[l.feature.properties.status] = l.options.fillColor; });
        return out;
    }""")
    assert len(set(drawn.values())) > 1
    for status, colour in drawn.items():
        assert colour.lower() == PARCEL_STATUS_COLORS[status].lower(), status
    legend = page.locator("#legend").inner_text()
    for status in drawn:
        assert status in legend
    # The table's status badges use the same colours.
    badge = page.evaluate("""() => { const b = document.querySelector(
        "#site-table tbody td[data-field='status'] .rv-status");
        return b ? [b.textContent, getComputedStyle(b).backgroundColor] : null; }""")
    assert badge is not None
    r, g, b = (int(PARCEL_STATUS_COLORS[badge[0]][i:i + 2], 16) for i in (1, 3, 5))
    assert badge[1] == f"rgb({r}, {g}, {b})"
    page.context.close()
