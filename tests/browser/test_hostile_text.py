"""Text from data never runs and always shows literally (headless Chromium).

The app is started on a copy of geodata/ whose names, addresses and notes are
script in disguise: HTML with an onerror handler, a closing </script>, a JS
template literal with backticks and ${...}, backslash escapes, HTML entities
and a spreadsheet formula. Each would set window.__pwned if it ever ran.
"""

import csv
import io
import json
import shutil
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from tests.browser.conftest import log_in_page
from tests.browser.helpers import open_map
from tests.conftest import ensure_user, make_app
from tests.liveserver import LiveServer

GEODATA = Path(__file__).resolve().parents[2] / "geodata"

IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "</script><script>window.__pwned=2</script>"
TEMPLATE = "`${window.__pwned=3}` ${7*7}"
BACKSLASH = r"C:\n \x3cimg src=x onerror=window.__pwned=4\x3e \u0060 \" \\"
ENTITY = "&lt;b&gt;粗体&lt;/b&gt; <b>粗体</b>"
FORMULA = '=HYPERLINK("http://127.0.0.1/x","点")'
PAYLOADS = [IMG, SCRIPT, TEMPLATE, BACKSLASH, ENTITY, FORMULA]
READING_SITES = ("泉城书房", "图书馆御景分馆", "图书馆裕园分馆")  # kept: coverage needs them


def poison(directory, layer, fields, keep=lambda p: False):
    path = directory / f"{layer}.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    poisoned = (f["properties"] for f in data["features"] if not keep(f["properties"]))
    for i, props in enumerate(poisoned):
        for j, name in enumerate(fields):
            props[name] = PAYLOADS[(i + j) % len(PAYLOADS)]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile-geodata")
    for path in GEODATA.iterdir():
        if path.suffix in (".geojson", ".csv"):
            shutil.copy(path, data / path.name)
    poison(data, "venues", ["name", "address"])
    poison(data, "garbage", ["name"])
    poison(data, "parking", ["name", "operator", "note"])
    poison(data, "projects", ["name", "description"],
           keep=lambda p: p["name"] in READING_SITES)
    poison(data, "parcels", ["name", "owner", "planned_use", "note"])
    poison(data, "grid", ["name"])
    poison(data, "roads", ["name", "note"])
    poison(data, "communities", ["highlights"])
    poison(data, "boundary", ["office", "neighbours"])
    app = make_app(tmp_path_factory.mktemp("hostile-db") / "inspections.sqlite", DATA_DIR=data)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def watched(page):
    """The page, with a record of page errors and of requests a payload could make."""
    errors, requests = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(urlparse(r.url).path))
    yield page
    assert errors == []
    assert "/x" not in requests  # <img src=x> was never made an element
    assert page.evaluate("window.__pwned") is None


def assert_nothing_ran(page):
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('img[src=x], b, script:not([src])').length") \
        == page.evaluate("document.querySelectorAll('script:not([src])').length")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_search_popup_and_tooltip_show_the_text_literally(hostile_server, watched, payload):
    page = watched
    open_map(page, hostile_server.url)
    assert_nothing_ran(page)
    page.fill("#search", payload[:6])
    names = page.locator(".hs-hit-name").all_inner_texts()
    assert payload in names

    # A venue of that name: its popup, then its tooltip.
    page.locator(".hs-search-hit", has=page.locator(".hs-hit-name", has_text=payload)) \
        .filter(has_text="安全监管场所").first.click()
    popup = page.locator(".leaflet-popup-content .hs-popup")
    popup.wait_for()
    assert page.evaluate("document.querySelector('.hs-popup h3').textContent") == payload
    cells = page.evaluate("[...document.querySelectorAll('.hs-popup td')].map(c => c.textContent)")
    assert payload in cells

    # The tooltip of the venue the search found, once the popup's auto-pan is over.
    page.evaluate("window.__found = HuaishuMap.map._popup._source; HuaishuMap.map.closePopup()")
    page.wait_for_timeout(400)
    target = page.evaluate("""(() => {
        const r = window.__found._icon.getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];
    })()""")
    page.mouse.move(*target)
    page.locator(".leaflet-tooltip").first.wait_for()
    assert page.locator(".leaflet-tooltip").all_inner_texts() == [payload]
    assert_nothing_ran(page)


def test_summary_lists_show_the_text_literally(hostile_server, watched, client):
    page = watched
    parcels = json.loads(Path(GEODATA / "parcels.geojson").read_text(encoding="utf-8"))
    community = parcels["features"][0]["properties"]["community"]  # one that has parcels
    open_map(page, hostile_server.url)
    page.select_option("#community-filter", community)
    page.wait_for_function("() => document.getElementById('summary').dataset.ready === 'true'")
    cells = page.evaluate("[...document.querySelectorAll('#summary td')].map(td => td.textContent)")
    in_it = [f for f in parcels["features"] if f["properties"]["community"] == community]
    assert in_it
    hostile = [c for c in cells if c in PAYLOADS]
    assert len(hostile) >= len(in_it)
    # Popups of polygons too: a parcel, by its hostile name.
    page.evaluate("HuaishuMap.layers.parcels.items.find(l => "
                  "HuaishuMap.passes(HuaishuMap.layers.parcels, l.feature)).openPopup()")
    title = page.evaluate("document.querySelector('.hs-popup h3').textContent")
    assert title in PAYLOADS
    # The legend lists layers and categories: no data text, nothing broken.
    legend = page.locator("#legend").inner_text()
    assert "安全监管场所" in legend and "土地地块" in legend
    assert_nothing_ran(page)


def test_exports_keep_the_text_and_defuse_formulas(hostile_server, watched):
    page = watched
    open_map(page, hostile_server.url)
    with page.expect_download() as info:
        page.click("#export-csv")
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    names = [row["名称"] for row in csv.DictReader(io.StringIO(text))
             if row["图层"] == "安全监管场所"]
    assert IMG in names and SCRIPT in names and TEMPLATE in names and BACKSLASH in names
    assert "'" + FORMULA in names and FORMULA not in names


def test_print_title_shows_literally(hostile_server, watched):
    page = watched
    for payload in (IMG, SCRIPT, TEMPLATE, BACKSLASH):
        page.goto(f"{hostile_server.url}/print?title={quote(payload)}")
        page.wait_for_function("() => document.body.dataset.printReady === 'true'", timeout=20000)
        assert page.locator("#sheet-title").inner_text() == payload
        assert page.title().startswith(payload)
        assert_nothing_ran(page)


def test_leaders_pages_show_the_text_literally(hostile_server, watched):
    """/parcels (table, surroundings panel, the map's tooltips of what is within reach)
    and the brief, logged in as a leader."""
    page = watched
    ensure_user(hostile_server.server.app, "hostile-leader", "leader")
    log_in_page(page, hostile_server.url, "hostile-leader")
    page.goto(hostile_server.url + "/parcels")
    page.wait_for_function("() => document.body.dataset.reviewReady === 'true'", timeout=20000)
    names = page.eval_on_selector_all("#site-table tbody td[data-field='name']",
                                      "cells => cells.map(c => c.textContent)")
    assert set(PAYLOADS) <= set(names)
    owners = page.eval_on_selector_all("#site-table tbody td[data-field='owner']",
                                       "cells => cells.map(c => c.textContent)")
    assert set(PAYLOADS) <= set(owners)
    assert_nothing_ran(page)

    page.locator("#site-table tbody tr[data-id='P01']").click()
    page.wait_for_function("() => window.HuaishuReview.hits > 0")
    assert page.locator("#surroundings h2").inner_text() in PAYLOADS
    listed = page.locator("#sr-sites").inner_text()
    assert any(p in listed for p in (IMG, SCRIPT, TEMPLATE))
    tips = page.evaluate("""(() => {
        const texts = [];
        const open = (l) => {
            if (!l.getTooltip()) return;
            l.openTooltip();
            texts.push(l.getTooltip().getElement().textContent);
        };
        window.HuaishuReview.state.overlay.eachLayer((g) => g.eachLayer && g.eachLayer(open));
        return texts;
    })()""")
    assert tips and any(p in t for t in tips for p in (IMG, SCRIPT, TEMPLATE, BACKSLASH))
    assert_nothing_ran(page)

    page.goto(hostile_server.url + "/parcels/P01/brief")
    page.wait_for_selector("#brief-map")
    title = page.locator(".br-head h1").inner_text()
    assert any(title.endswith(p) for p in PAYLOADS)
    assert page.locator("#brief-map text", has_text=title.split("：", 1)[1]).count() >= 1
    assert_nothing_ran(page)
