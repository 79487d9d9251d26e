"""Photos on /inspect, on a phone (390×844): chosen, scaled on the phone, sent with the
record, shown as thumbnails in the history that open full size."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.test_inspect_page import (
    PASSWORD,
    a_plain_venue,
    assert_stayed_local,
    log_in_at,
)
from tests.conftest import log_in, make_app
from tests.liveserver import LiveServer
from tests.records.test_photos import camera_jpeg


@pytest.fixture(scope="module")
def photo_app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("inspect-photos-db") / "inspections.sqlite")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    return app


@pytest.fixture(scope="module")
def server(photo_app):
    with LiveServer(photo_app) as live:
        yield live


def png_file(name, size, color):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def test_an_inspection_with_two_photos_shows_them_in_the_history(server, photo_app, phone,
                                                                  screenshot_dir):
    page = phone
    venue, _, _, _ = a_plain_venue(photo_app)
    log_in_at(page, server, venue["id"])

    picker = page.locator("#record-photos input[type=file]")
    assert picker.get_attribute("accept") == "image/*"
    assert picker.get_attribute("capture") == "environment"
    # Not an image: the picker says so and keeps nothing.
    picker.set_input_files([{"name": "notes.jpg", "mimeType": "image/jpeg",
                             "buffer": "不是图片".encode()}])
    expect(page.locator("#record-photos .hs-photo-error")).to_contain_text(
        "无法读取照片(不是图片或已损坏):notes.jpg")
    expect(page.locator("#record-photos .hs-photo")).to_have_count(0)
    # Three chosen (one 3200 px wide: scaled on the phone), one removed again.
    picker.set_input_files([png_file("wide.png", (3200, 1600), (200, 40, 40)),
                            png_file("door.png", (300, 400), (40, 160, 40)),
                            png_file("wrong.png", (100, 100), (0, 0, 0))])
    expect(page.locator("#record-photos .hs-photo")).to_have_count(3)
    page.locator("#record-photos .hs-photo-remove").nth(2).click()
    expect(page.locator("#record-photos .hs-photo")).to_have_count(2)
    page.locator("#record-form").screenshot(path=screenshot_dir / "inspect-photos-chosen.png")

    page.click("#record-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("照片 2 张")
    expect(page.locator("#record-photos .hs-photo")).to_have_count(0)  # sent: the picker is empty

    thumbs = page.locator("#history li").first.locator(".hs-photo-strip img")
    expect(thumbs).to_have_count(2)
    page.wait_for_function("() => Array.from(document.querySelectorAll("
                           "'#history li:first-child .hs-photo-strip img'))"
                           ".every((i) => i.complete && i.naturalWidth > 0)")
    page.click("#notice")  # read: out of the way
    page.locator("#history li").first.screenshot(
        path=screenshot_dir / "inspect-photos-history.png")

    stored = photo_app.test_client()
    history = page.evaluate("(url) => fetch(url).then((r) => r.json())",
                            f"/api/venues/{venue['id']}/history")
    photos = history["inspections"][0]["photos"]
    assert [(p["width"], p["height"]) for p in photos] == [(1600, 800), (300, 400)]
    assert "photos" not in stored.get(f"/api/venues/{venue['id']}/history"
                                      ).get_json()["inspections"][0]  # visitors: none

    # A thumbnail opens the photo full size (a new tab).
    with page.context.expect_page() as opened:
        thumbs.first.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.url.endswith(f"/api/photos/{photos[0]['id']}")
    size = full.evaluate("() => { const i = document.querySelector('img');"
                         " return i && [i.naturalWidth, i.naturalHeight]; }")
    assert size == [1600, 800]
    assert_stayed_local(page)


def test_the_rectification_step_takes_a_photo(server, photo_app, phone):
    page = phone
    venue, _, _, _ = a_plain_venue(photo_app)
    client = photo_app.test_client()
    log_in(client, "zhangwei", password=PASSWORD)
    found = client.post("/api/inspections", json={
        "venue_id": venue["id"], "inspector": "张伟", "result": "发现隐患",
        "hazards": [{"category": "用电安全", "description": "插线板串接",
                     "deadline": "2026-12-10"}]}).get_json()
    hazard_id = found["inspection"]["hazards"][0]["id"]
    page.goto(server.url + f"/login?next=/inspect?venue={venue['id']}")
    page.fill("input[name=name]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    item = page.locator(f"#detail-hazards li[data-hazard={hazard_id}]")
    item.locator("input[type=file]").set_input_files([png_file("fix.png", (400, 300),
                                                               (20, 20, 200))])
    expect(item.locator(".hs-photo")).to_have_count(1)
    item.locator("button", has_text="标记为整改中").click()
    expect(page.locator("#notice")).to_contain_text("标记为整改中,照片 1 张")
    expect(page.locator(f"#detail-hazards li[data-hazard={hazard_id}] .hs-photo-strip img")
           ).to_have_count(1)
    assert_stayed_local(page)


def test_a_camera_photo_is_turned_once_and_keeps_its_position(server, photo_app, phone):
    """A JPEG as a phone camera writes it (sideways, EXIF Orientation 6, GPS, time): the
    page turns it upright while scaling and carries its EXIF over with the orientation
    reset, so the server keeps the position and does not turn it a second time."""
    page = phone
    venue, _, _, _ = a_plain_venue(photo_app)
    log_in_at(page, server, venue["id"])
    page.locator("#record-photos input[type=file]").set_input_files(
        [{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": camera_jpeg()}])
    expect(page.locator("#record-photos .hs-photo")).to_have_count(1)
    page.click("#record-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("照片 1 张")
    history = page.evaluate("(url) => fetch(url).then((r) => r.json())",
                            f"/api/venues/{venue['id']}/history")
    photo = history["inspections"][0]["photos"][0]
    assert (photo["width"], photo["height"]) == (20, 40)  # upright, turned once
    assert photo["taken_at"] == "2026-11-20T09:30:15"
    assert photo["position"] == {"lon": pytest.approx(116.99), "lat": pytest.approx(36.66)}
    stored = page.evaluate("(url) => fetch(url).then((r) => r.arrayBuffer())"
                           ".then((b) => Array.from(new Uint8Array(b)))",
                           f"/api/photos/{photo['id']}")
    image = Image.open(io.BytesIO(bytes(stored)))
    assert image.size == (20, 40) and not image.getexif()
    red, _, blue = image.convert("RGB").getpixel((10, 5))  # the left (red) half on top
    assert red > 200 and blue < 60
    assert_stayed_local(page)
