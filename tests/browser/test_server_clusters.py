"""A large venues layer (20,000, city-wide): the map clusters it on the server."""

import urllib.request

import pytest

from bench.synthetic import write_data_dir
from tests.browser.helpers import open_map
from tests.conftest import make_app
from tests.liveserver import LiveServer

VENUES = 20_000  # four times SERVER_CLUSTER_THRESHOLD: the server clusters it

CLUSTERS = ("() => [...document.querySelectorAll('.hs-server-cluster.hs-cluster-venues')]"
            ".map(n => Number(n.dataset.count))")

# The centre of the largest cluster, or of a venue, that a click reaches (not under the
# legend or another control).
REACHABLE = """(selector) => {
    const centre = (n) => { const r = n.getBoundingClientRect();
                            return [r.x + r.width / 2, r.y + r.height / 2]; };
    const reachable = [...document.querySelectorAll(selector)].filter((n) => {
        const [x, y] = centre(n);
        return n.contains(document.elementFromPoint(x, y));
    });
    reachable.sort((a, b) => (b.dataset.count || 0) - (a.dataset.count || 0));
    return centre(reachable[0]);
}"""


@pytest.fixture(scope="module")
def large_server(tmp_path_factory):
    data = write_data_dir(tmp_path_factory.mktemp("large-data"), VENUES, extent="jinan")
    app = make_app(tmp_path_factory.mktemp("large-db") / "inspections.sqlite", DATA_DIR=data)
    with LiveServer(app) as server:
        yield server


def _html(url):
    with urllib.request.urlopen(url + "/") as response:
        return response.read()


def test_the_page_does_not_grow_with_the_data(large_server, live_server):
    shipped, large = _html(live_server.url), _html(large_server.url)
    assert b"HuaishuMap.addLayer" in large
    # The same page: only the counts' digits, the bounds and one flag differ.
    assert abs(len(large) - len(shipped)) < 100
    assert b"S0099000" not in large and b"V0001" not in shipped


def test_map_shows_server_clusters_and_venues_when_zoomed_in(large_server, page,
                                                             screenshot_dir):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    cluster_requests = []
    page.on("request", lambda r: "/clusters?" in r.url and cluster_requests.append(r.url))
    page.on("request", lambda r: r.url.endswith("/api/layers/venues")
            and errors.append("fetched the whole layer"))
    open_map(page, large_server.url)
    page.wait_for_function(
        "() => document.querySelectorAll('.hs-server-cluster.hs-cluster-venues').length > 0",
        timeout=20000)
    counts = page.evaluate(CLUSTERS)
    singles = page.locator(".leaflet-marker-pane .hs-venue").count()
    # The whole city is in view: every venue is in a cluster (or shown alone).
    assert sum(counts) + singles == VENUES
    assert max(counts) > 400  # hundreds of venues in one marker
    assert page.evaluate("() => HuaishuMap.layers.venues.view.clustered") is True
    assert page.locator(".hs-layer-row[data-layer=venues] .hs-count").inner_text() \
        == f"({VENUES})"
    assert "放大后显示检查状态" in page.locator("#legend [data-layer=venues]").inner_text()
    shown = page.locator(".hs-cluster-venues .hs-cluster-count").all_inner_texts()
    assert sorted(map(int, shown)) == sorted(counts)
    page.screenshot(path=str(screenshot_dir / "server-clusters.png"))

    # Click the largest cluster until venues show as themselves.
    for _ in range(8):
        if page.locator(".leaflet-marker-pane .hs-venue").count() >= 5:
            break
        zoom = page.evaluate("() => HuaishuMap.map.getZoom()")
        biggest = page.evaluate(REACHABLE, ".hs-server-cluster")
        page.mouse.click(*biggest)
        page.wait_for_function(
            f"() => {{ const z = HuaishuMap.map.getZoom(), v = HuaishuMap.layers.venues.view;"
            f" return z > {zoom} && v.zoom === Math.min(18, Math.floor(z)); }}",
            timeout=10000)
    assert page.locator(".leaflet-marker-pane .hs-venue").count() >= 5
    assert page.evaluate("() => HuaishuMap.map.getZoom()") >= 14
    # A venue from the server opens its popup with its live status.
    page.mouse.click(*page.evaluate(REACHABLE, ".leaflet-marker-pane .hs-venue"))
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "检查状态" in popup or "状态" in popup
    page.screenshot(path=str(screenshot_dir / "server-clusters-zoomed.png"))
    assert len(cluster_requests) >= 3
    assert errors == []

