"""Layers too large to fetch whole are drawn from the OGC API's vector tiles.

The shipped layers are small: this server's threshold is lowered so that the line and
polygon layers count as large (VECTOR_TILE_THRESHOLD), and they must come from tiles.
"""

import pytest

from tests.browser.helpers import open_map
from tests.conftest import make_app
from tests.liveserver import LiveServer

TILED = ("roads", "communities")


@pytest.fixture(scope="module")
def tiled_server(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("tiled-db") / "inspections.sqlite",
                   VECTOR_TILE_THRESHOLD=5, SERVER_CLUSTER_THRESHOLD=5000)
    with LiveServer(app) as server:
        yield server


def test_large_layers_are_drawn_from_vector_tiles(tiled_server, page, screenshot_dir):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    whole, tiles = [], []
    page.on("request", lambda r: any(r.url.endswith(f"/api/layers/{n}") for n in TILED)
            and whole.append(r.url))
    page.on("request", lambda r: "/tiles/WebMercatorQuad/" in r.url and tiles.append(r.url))
    failed: list[str] = []
    page.on("response", lambda r: "/tiles/" in r.url and r.status not in (200, 204)
            and failed.append(f"{r.status} {r.url}"))
    open_map(page, tiled_server.url)
    page.wait_for_function("() => document.body.dataset.layersLoaded === 'true'",
                           timeout=60000)
    for name in TILED:
        assert page.evaluate(f"() => HuaishuMap.layers.{name}.vector === true")
    shown = page.evaluate("() => HuaishuMap.isShown('roads')")
    if not shown:
        page.evaluate("() => HuaishuMap.setShown('roads', true)")
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-tile path, .leaflet-tile canvas').length > 0",
        timeout=60000)
    assert whole == []  # never fetched whole
    assert any("/collections/roads/tiles/WebMercatorQuad/" in u for u in tiles)
    assert failed == [] and errors == []
    # The roads' count in the panel is the layer's, not what is in view.
    assert page.evaluate("() => HuaishuMap.layers.roads.count") >= 5
    page.screenshot(path=str(screenshot_dir / "vector-tiles.png"))


def test_a_click_on_a_tiled_feature_shows_its_properties(tiled_server, page):
    open_map(page, tiled_server.url)
    page.wait_for_function("() => document.body.dataset.layersLoaded === 'true'",
                           timeout=60000)
    page.evaluate("() => HuaishuMap.setShown('roads', true)")
    page.wait_for_function("() => document.querySelectorAll('.leaflet-tile path').length > 0",
                           timeout=60000)
    # A click on a drawn road (its SVG path): VectorGrid answers with its properties.
    pane = page.evaluate("() => (HuaishuMap.layers.roads.config.pane || {}).name || 'overlay'")
    page.locator(f".leaflet-{pane}-pane .leaflet-tile path").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content .hs-popup")
    popup.wait_for(timeout=10000)
    roads = page.evaluate("() => HuaishuMap.layers.roads.config.title")
    assert roads in popup.inner_text()
    names = page.evaluate("() => fetch('/api/layers/roads').then(r => r.json())"
                          ".then(c => c.features.map(f => f.properties.name))")
    assert popup.locator("h3").inner_text() in names
