"""The overview map: layers, groups, symbols, basemaps, clusters (headless Chromium)."""

import re
from urllib.parse import urlparse

from layers.catalogue.entries import CATALOGUE
from layers.planners.maps import HIDDEN_AT_START
from tests.browser.helpers import layer_counts, open_map, stub_tiles
from tests.conftest import make_app
from tests.liveserver import LiveServer


def test_map_draws_every_layer_without_leaving_the_machine(live_server, page, screenshot_dir):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    open_map(page, live_server.url)
    # The summary's thematic layers open hidden; a planner turns them on.
    for name in HIDDEN_AT_START:
        assert not page.evaluate(f"HuaishuMap.isShown('{name}')"), name
        page.locator(f".hs-layer-row[data-layer={name}] input").check()

    counts = page.evaluate(
        "Object.fromEntries(Object.entries(HuaishuMap.layers)"
        ".map(([k, v]) => [k, [v.count, v.error, HuaishuMap.map.hasLayer(v.display)]]))"
    )
    for layer in CATALOGUE:
        count, error, on_map = counts[layer.name]
        assert error is None, (layer.name, error)
        assert count > 0, layer.name
        assert on_map, layer.name
    # Drawn, not just loaded: SVG paths for polygons and lines, icons for points.
    assert page.locator(".hs-data-pane path").count() > 60
    assert page.locator(".leaflet-marker-pane .hs-icon").count() > 50
    assert page.locator(".leaflet-control-layers").count() == 1
    assert "图例" in page.locator("#legend").inner_text()

    page.screenshot(path=str(screenshot_dir / "map.png"))
    foreign = [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", None)
               and not u.startswith("data:")]
    assert foreign == []
    assert errors == []


def test_layers_are_grouped_with_their_counts_and_toggle(live_server, page, client):
    open_map(page, live_server.url)
    groups = page.locator(".hs-layer-group > legend").all_inner_texts()
    assert groups == ["管理单元", "设施", "项目与土地", "安全", "底图", "城市治理"]
    group_of = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('.hs-layer-group')].flatMap(g =>"
        " [...g.querySelectorAll('.hs-layer-row')].map(r =>"
        " [r.dataset.layer, g.querySelector('legend').textContent])))")
    assert group_of["venues"] == "安全" and group_of["parcels"] == "项目与土地"
    assert group_of["garbage"] == "设施" and group_of["grid"] == "管理单元"
    api = {row["name"]: row["count"] for row in client.get("/api/layers").get_json()["layers"]}
    assert layer_counts(page) == {name: f"({n})" for name, n in api.items()}

    row = page.locator(".hs-layer-row[data-layer=venues] input")
    row.uncheck()
    assert page.evaluate("HuaishuMap.isShown('venues')") is False
    assert page.locator(".hs-venue, .hs-cluster-venues").count() == 0
    assert page.locator("#legend [data-layer=venues]").count() == 0
    row.check()
    assert page.locator(".hs-venue, .hs-cluster-venues").count() > 0
    assert page.locator("#legend [data-layer=venues]").count() == 1
    assert "超期未整改" in page.locator("#legend [data-layer=venues]").inner_text()


def test_map_fits_the_sub_district_with_a_metric_scale(live_server, page):
    open_map(page, live_server.url)
    scale = page.locator(".leaflet-control-scale-line")
    assert scale.count() == 1
    assert re.fullmatch(r"\d+ (m|km)", scale.inner_text().strip())
    fit = page.evaluate("""(() => {
        const b = L.latLngBounds(HuaishuMap.config.bounds), m = HuaishuMap.map;
        const nw = m.latLngToContainerPoint(b.getNorthWest());
        const se = m.latLngToContainerPoint(b.getSouthEast());
        const size = m.getSize();
        return {contains: m.getBounds().contains(b), height: (se.y - nw.y) / size.y,
                clear: m.latLngToContainerPoint(b.getNorthEast()).x
                       + m.getContainer().getBoundingClientRect().left
                       < document.querySelector('#legend').getBoundingClientRect().left,
                closest: m.getZoom() === m.getBoundsZoom(b, false,
                    L.point(HuaishuMap.fitOptions().paddingTopLeft)
                        .add(HuaishuMap.fitOptions().paddingBottomRight))};
    })()""")
    # As close as the zoom steps allow: 2 km north-south fills most of the height,
    # and the legend does not cover it.
    assert fit["contains"] and fit["closest"] and fit["height"] > 0.75 and fit["clear"]


def test_symbols_follow_the_categories(live_server, page):
    open_map(page, live_server.url)
    styles = page.evaluate("""(() => {
        const roads = HuaishuMap.layers.roads;
        const railway = roads.items.find(l => l.feature.properties.kind === '铁路');
        const dashes = [];
        roads.group.eachLayer(l => { if (l !== roads.geojson && l.options.dashArray)
            dashes.push([l.options.color, l.options.dashArray]); });
        const parcels = HuaishuMap.layers.parcels.items.map(l =>
            [l.feature.properties.status, l.options.fillColor]);
        return {railway: railway.options.color, dashes: dashes, parcels: parcels};
    })()""")
    # The railway: black, with white dashes over it; roads are grey and solid.
    assert styles["railway"] == "#222222"
    assert styles["dashes"] == [["#ffffff", "10 10"]]
    colours = dict(styles["parcels"])
    assert colours["闲置"] != colours["规划中"]
    assert all(len(set(c for s, c in styles["parcels"] if s == status)) == 1 for status in colours)

    # Venues: colour by inspection status, a glyph by kind, squares for firms.
    page.evaluate("HuaishuMap.map.setView([36.667, 116.963], 18.5, {animate: false})")
    page.wait_for_timeout(400)
    venue = page.evaluate("""(() => {
        const v = HuaishuMap.layers.venues.items.find(l => l._icon &&
            l.feature.properties.category === '企业');
        const node = v._icon.querySelector('.hs-venue');
        return {glyph: node.textContent, square: node.classList.contains('hs-venue-square'),
                colour: getComputedStyle(node).backgroundColor,
                kind: v.feature.properties.kind, status: v.feature.properties.status};
    })()""")
    assert venue["square"]
    assert venue["glyph"] == {"商贸企业": "贸", "工贸企业": "工", "物流仓储企业": "仓",
                              "建筑施工企业": "建"}[venue["kind"]]
    expected = {"合格": "rgb(46, 158, 91)", "隐患未改": "rgb(214, 44, 31)",
                "逾期未检": "rgb(240, 160, 32)", "超期未整改": "rgb(122, 31, 162)"}[venue["status"]]
    assert venue["colour"] == expected
    # Garbage points: a pie of their bins by kind, larger with more bins.
    sizes = page.evaluate("""HuaishuMap.layers.garbage.items.filter(l => l._icon).map(l =>
        [l.feature.properties.bins, l._icon.querySelector('.hs-bin').offsetWidth,
         l._icon.querySelector('.hs-bin').style.background])""")
    assert sizes
    for bins, width, background in sizes:
        assert width == (14 if bins <= 10 else 18 if bins <= 13 else 22)
        assert "conic-gradient" in background


def test_community_borders_show_above_the_roads_along_them(live_server, page):
    # Community borders run along roads; drawn only in the communities' own pane (the
    # lowest, so that clicks inside reach the community) the wide road lines hid them.
    open_map(page, live_server.url)
    outlines = """(() => {
        const z = (name) => Number(getComputedStyle(HuaishuMap.map.getPane(name)).zIndex);
        const paths = [...document.querySelectorAll('.leaflet-hs-communities-outline-pane path')];
        return {count: paths.length, zOutline: z('hs-communities-outline'),
                zRoads: z('hs-roads'), zParcels: z('hs-parcels'),
                stroke: [...new Set(paths.map(p => p.getAttribute('stroke')))],
                filled: paths.filter(p => p.getAttribute('fill') !== 'none').length,
                interactive: paths.filter(p => p.classList.contains('leaflet-interactive')).length};
    })()"""
    drawn = page.evaluate(outlines)
    assert drawn["count"] == 6
    assert drawn["zRoads"] < drawn["zOutline"] < drawn["zParcels"]
    assert drawn["stroke"] == [page.evaluate("HuaishuMap.layers.communities.config.style.color")]
    assert drawn["filled"] == 0 and drawn["interactive"] == 0  # clicks reach the community
    # The borders go with their communities: the filter and the layer switch hide them.
    page.select_option("#community-filter", "裕园社区")
    assert page.evaluate(outlines)["count"] == 1
    page.select_option("#community-filter", "")
    page.uncheck(".hs-layer-row[data-layer=communities] input")
    assert page.evaluate(outlines)["count"] == 0
    page.check(".hs-layer-row[data-layer=communities] input")
    assert page.evaluate(outlines)["count"] == 6


def test_points_cluster_when_zoomed_out(live_server, page):
    open_map(page, live_server.url)
    page.wait_for_timeout(300)
    shown = page.evaluate("""(() => {
        const clusters = [...document.querySelectorAll('.hs-cluster-venues')]
            .map(c => Number(c.textContent));
        return {clusters: clusters, single: document.querySelectorAll('.hs-venue').length};
    })()""")
    assert len(shown["clusters"]) > 10
    assert sum(shown["clusters"]) + shown["single"] == 353  # every venue, once
    # A cluster is a ring of its statuses' shares (not the colour of its worst member).
    rings = page.evaluate("""(() => {
        const entry = HuaishuMap.layers.venues;
        const order = entry.config.theme.statuses.map(s => s.value);
        const out = [];
        entry.cluster._featureGroup.eachLayer(c => { if (!c.getAllChildMarkers) return;
            const statuses = c.getAllChildMarkers().map(m => m.feature.properties.status);
            const node = c._icon.querySelector('.hs-cluster');
            out.push({expected: order.map(v => statuses.filter(s => s === v).length).join(','),
                      shares: node.dataset.shares, background: node.style.background}); });
        return out;
    })()""")
    assert rings
    for ring in rings:
        assert ring["shares"] == ring["expected"]
        assert ring["background"].startswith("conic-gradient")
        # worst first; 已停业 last (no venue is closed in the shipped data)
        late, hazards, overdue, ok, closed = map(int, ring["shares"].split(","))
        assert closed == 0
        assert ("rgb(122, 31, 162)" in ring["background"]) == (late > 0)
        assert ("rgb(214, 44, 31)" in ring["background"]) == (hazards > 0)
        assert ("rgb(46, 158, 91)" in ring["background"]) == (ok > 0)
    # Mostly green: a few hazards colour a slice, not the whole map.
    assert sum(int(r["shares"].split(",")[3]) for r in rings) > 0.7 * sum(
        sum(map(int, r["shares"].split(","))) for r in rings)

    page.evaluate("HuaishuMap.map.setView([36.667, 116.963], 18, {animate: false})")
    page.wait_for_timeout(400)
    assert page.locator(".hs-cluster-venues").count() == 0
    assert page.locator(".hs-venue").count() > 5


def test_basemap_switch_to_openstreetmap_and_back(live_server, page):
    tiles = []
    stub_tiles(page, "**/tiles/osm/**", tiles)  # the app's tile proxy
    open_map(page, live_server.url)
    control = page.locator(".leaflet-control-layers")
    assert control.locator("input[type=radio]").count() == 2
    assert "天地图" not in control.inner_text()
    control.get_by_text("OpenStreetMap").click()
    page.wait_for_function("() => document.querySelectorAll('img.leaflet-tile-loaded').length > 0")
    assert tiles and all(u.startswith(live_server.url + "/tiles/osm/") for u in tiles)
    control.get_by_text("无底图(离线)").click()
    page.wait_for_function("() => document.querySelectorAll('img.leaflet-tile').length === 0")


def test_tianditu_basemaps_with_a_key_load_through_the_proxy(tmp_path, page):
    key = "abc123secretkey"
    app = make_app(tmp_path / "db.sqlite", TIANDITU_KEY=key)
    with LiveServer(app) as server:
        tiles, requests = [], []
        page.on("request", lambda r: requests.append(r.url))
        stub_tiles(page, "**/tiles/**", tiles)
        open_map(page, server.url)
        control = page.locator(".leaflet-control-layers")
        assert "天地图矢量" in control.inner_text() and "天地图影像" in control.inner_text()
        assert key not in page.content()
        for name, source in (("天地图矢量", "tianditu"), ("天地图影像", "tianditu_img")):
            tiles.clear()
            control.get_by_text(name).click()
            page.wait_for_function(
                "() => document.querySelectorAll('img.leaflet-tile-loaded').length > 1")
            sets = {re.match(r"/tiles/([^/]+)/\d+/\d+/\d+$", urlparse(u).path).group(1)
                    for u in tiles}
            assert sets == {source, f"{source}-labels"}  # the map and its labels
        assert not any(key in u or "tianditu.gov.cn" in u for u in requests)


def test_popup_shows_chinese_labels_with_units(live_server, page):
    open_map(page, live_server.url)
    page.evaluate("HuaishuMap.layers.parking.items[0].openPopup()")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "泊位(个,示意)" in text and "面积(亩)" in text and "个" in text
    rows = dict(page.evaluate("""[...document.querySelectorAll('.hs-popup tr')]
        .map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])"""))
    assert re.fullmatch(r"[\d,]+", rows["泊位(个,示意)"])  # the label names the unit, not the value
    # Sized in pixels: a Chinese label stays on one line.
    width = page.evaluate("document.querySelector('.leaflet-popup-content').offsetWidth")
    assert 220 <= width <= 361  # Leaflet adds a pixel to max_width
    lines = page.evaluate("""[...document.querySelectorAll('.hs-popup th, .hs-popup h3')].map(t => {
        const r = document.createRange(); r.selectNodeContents(t); return r.getClientRects().length;
    })""")
    assert lines and set(lines) == {1}  # no label, nor the name, wraps

    page.evaluate("HuaishuMap.map.closePopup();"
                  " HuaishuMap.focusFeature('venues', HuaishuMap.layers.venues.items[0])")
    venue = page.locator(".leaflet-popup-content", has_text="检查状态")
    venue.wait_for()
    text = venue.inner_text()
    assert "下次应检" in text and "未改隐患" in text and "场所类型" in text
