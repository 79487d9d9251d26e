"""What the map-page tests share: opening the page, clicking on the map, tile stubs,
checking that labels do not overlap."""

import base64
import itertools

# A 1x1 transparent PNG: stands in for basemap tiles so that no request leaves the machine.
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def open_map(page, url, path="/"):
    page.goto(url + path)
    page.wait_for_function("() => document.body.dataset.panelReady === 'true'", timeout=20000)


def map_box(page):
    return page.locator(".hs-map .folium-map").bounding_box()


def click_map(page, x, y, double=False):
    """Click at container pixel (x, y) of the map."""
    box = map_box(page)
    page.mouse.move(box["x"] + x, box["y"] + y)
    if double:
        page.mouse.dblclick(box["x"] + x, box["y"] + y)
    else:
        page.mouse.click(box["x"] + x, box["y"] + y)


def latlng_at(page, x, y):
    """[lon, lat] of a map container pixel."""
    return page.evaluate(
        "([x, y]) => { const p = HuaishuMap.map.containerPointToLatLng([x, y]);"
        " return [p.lng, p.lat]; }", [x, y])


def stub_tiles(page, pattern, seen):
    """Answer tile requests matching `pattern` with a blank PNG, noting their URLs."""
    def handle(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=BLANK_PNG)

    page.route(pattern, handle)


def layer_counts(page):
    """Layer name -> the count text of its row in the panel."""
    return page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('.hs-layer-row')]"
        ".map(r => [r.dataset.layer, r.querySelector('.hs-count').textContent]))")


def overlapping(boxes):
    """Pairs of labels (as `shownLabels()` gives them) whose boxes intersect (touching
    edges do not count)."""
    return [(a["text"], b["text"]) for a, b in itertools.combinations(boxes, 2)
            if a["left"] < b["right"] and b["left"] < a["right"]
            and a["top"] < b["bottom"] and b["top"] < a["bottom"]]
