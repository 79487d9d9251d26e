from urllib.parse import urlparse

from layers.catalogue import CATALOGUE


def test_map_draws_every_layer_without_leaving_the_machine(live_server, page, screenshot_dir):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(live_server.url + "/")
    page.wait_for_selector(".leaflet-container")
    page.wait_for_function("() => document.body.dataset.layersLoaded === 'true'", timeout=20000)

    counts = page.evaluate(
        "Object.fromEntries(Object.entries(HuaishuMap.layers)"
        ".map(([k, v]) => [k, [v.count, v.error, HuaishuMap.map.hasLayer(v.geojson)]]))"
    )
    for layer in CATALOGUE:
        count, error, on_map = counts[layer.name]
        assert error is None, (layer.name, error)
        assert count > 0, layer.name
        assert on_map, layer.name
    # Drawn, not just loaded: SVG paths for polygons/lines/circle markers.
    assert page.locator(".leaflet-overlay-pane path").count() > 500
    assert page.locator(".leaflet-control-layers").count() == 1
    assert "社区" in page.locator(".leaflet-control-layers").inner_text()
    assert "图例" in page.locator("#legend").inner_text()

    page.screenshot(path=str(screenshot_dir / "map.png"))
    foreign = [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", None)
               and not u.startswith("data:")]
    assert foreign == []
    assert errors == []


def test_popup_shows_chinese_labels(live_server, page):
    page.goto(live_server.url + "/")
    page.wait_for_function("() => document.body.dataset.layersLoaded === 'true'", timeout=20000)
    page.evaluate(
        "(() => { const lyr = HuaishuMap.layers.parking.geojson.getLayers()[0];"
        " lyr.openPopup(); })()"
    )
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "泊位(个)" in text
    assert "面积(亩)" in text
