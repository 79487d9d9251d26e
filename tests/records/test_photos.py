"""Photos of records (layers/records/photos.py, layers/inspectors/photo_routes.py), on both
stores: what is accepted, what is kept of it, who may see it, and every bad input."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import uuid
import zlib

import pytest
from PIL import ExifTags, Image

from layers.errors import BadRequest
from layers.records.photos import MAX_PHOTO_BYTES, THUMB_PX, read_photo
from tests.conftest import log_in, make_app
from tests.records.test_records import counts, error_of
from tests.storesql import value


@pytest.fixture
def app(tmp_path, store_backend):
    return make_app(tmp_path / "inspections.sqlite")


@pytest.fixture
def inspector(app):
    return log_in(app.test_client(), "photo-inspector", "inspector")


def a_venue(app):
    return app.test_client().get("/api/layers/venues").get_json()["features"][0]["id"]


# --- photos made by Pillow ------------------------------------------------------------

def png(width=64, height=48, color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def camera_jpeg(orientation=6, gps=True):
    """A 40 × 20 JPEG, red on the left and blue on the right, as a camera writes it: EXIF
    Make, Orientation, DateTimeOriginal and (when `gps`) a position near 济南."""
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = "Phone 9"
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:11:20 09:30:15"
    if gps:
        where = exif.get_ifd(ExifTags.IFD.GPSInfo)
        where[ExifTags.GPS.GPSLatitudeRef] = "N"
        where[ExifTags.GPS.GPSLatitude] = (36.0, 39.0, 36.0)  # 36.66
        where[ExifTags.GPS.GPSLongitudeRef] = "E"
        where[ExifTags.GPS.GPSLongitude] = (116.0, 59.0, 24.0)  # 116.99
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def truncated_jpeg():
    """A JPEG of noise cut off halfway through its image data."""
    out = io.BytesIO()
    Image.frombytes("RGB", (200, 200), bytes(range(256)) * 468 + bytes(192)).save(out, "JPEG")
    return out.getvalue()[: len(out.getvalue()) // 2]


def bomb_png(width=50_000, height=50_000):
    """A small PNG whose header declares width × height pixels (a decompression bomb)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def big_file():
    """A file over 10 MB (a valid PNG header, then noise: too large before anything else)."""
    return png() + b"\x00" * (MAX_PHOTO_BYTES + 1)


# --- requests --------------------------------------------------------------------------

def multipart(record, photos, boundary):
    """A multipart/form-data body: the field `record` and a `photo` field per (name, bytes),
    encoded here (the test client spools a large body to a file it never closes); a new
    boundary each time, as browsers do."""
    parts = [(b'Content-Disposition: form-data; name="record"\r\n\r\n'
              + json.dumps(record, ensure_ascii=False).encode())]
    for name, data in photos:
        parts.append(f'Content-Disposition: form-data; name="photo"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data)
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + b"--" + boundary.encode() + b"--\r\n", boundary


def post_record(client, path, record, photos, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    body, boundary = multipart(record, photos, uuid.uuid4().hex)
    return client.post(path, data=body, headers=headers,
                       content_type=f"multipart/form-data; boundary={boundary}")


def inspection(venue_id, **changes):
    return {"venue_id": venue_id, "inspector": "张伟", "result": "发现隐患",
            "hazards": [{"category": "消防安全", "description": "灭火器过期",
                         "deadline": "2026-12-10"}], **changes}


def photo_count(app):
    return value(app, "SELECT count(*) FROM photos")


def history(client, venue_id):
    return client.get(f"/api/venues/{venue_id}/history").get_json()


# --- the rules, without a store ---------------------------------------------------------

def test_a_camera_photo_is_turned_upright_keeps_position_and_time_and_loses_the_rest():
    raw = camera_jpeg(orientation=6)
    assert Image.open(io.BytesIO(raw)).getexif()[ExifTags.Base.Make] == "TestCam"
    photo = read_photo(raw)
    assert (photo.width, photo.height) == (20, 40)  # orientation 6: turned a quarter right
    assert photo.media_type == "image/jpeg"
    assert photo.taken_at == "2026-11-20T09:30:15"
    assert photo.lat == pytest.approx(36.66) and photo.lon == pytest.approx(116.99)
    assert photo.sha256 == hashlib.sha256(photo.content).hexdigest()
    kept = Image.open(io.BytesIO(photo.content))
    assert kept.size == (20, 40)
    assert not kept.getexif()  # no Make, Model, Orientation, GPS: nothing
    assert "exif" not in kept.info and "icc_profile" not in kept.info
    red, _, blue = kept.convert("RGB").getpixel((10, 5))  # the left (red) half is now on top
    assert red > 200 and blue < 60
    red, _, blue = kept.convert("RGB").getpixel((10, 35))
    assert blue > 200 and red < 60
    thumb = Image.open(io.BytesIO(photo.thumb))
    assert thumb.format == "JPEG" and max(thumb.size) <= THUMB_PX


def test_a_photo_without_gps_has_no_position_and_png_and_webp_keep_their_format():
    assert (read_photo(camera_jpeg(gps=False)).lon, read_photo(camera_jpeg(gps=False)).lat) \
        == (None, None)
    big = read_photo(png(1000, 500))
    assert big.media_type == "image/png" and Image.open(io.BytesIO(big.content)).format == "PNG"
    assert Image.open(io.BytesIO(big.thumb)).size == (THUMB_PX, THUMB_PX // 2)
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 255, 0, 128)).save(out, "WEBP")
    webp = read_photo(out.getvalue())
    assert webp.media_type == "image/webp" and webp.taken_at is None


@pytest.mark.parametrize("side", [50_000, 10_000, 7_000])  # Pillow's error, warning, ours
def test_a_header_declaring_too_many_pixels_is_refused_before_decoding(side):
    with pytest.raises(BadRequest, match="像素过多"):
        read_photo(bomb_png(side, side))


# --- the API, on both stores ------------------------------------------------------------

def test_an_inspection_with_two_photos_stores_and_serves_them(app, inspector):
    venue_id = a_venue(app)
    answer = post_record(inspector, "/api/inspections", inspection(venue_id),
                         [("a.jpg", camera_jpeg()), ("b.png", png())])
    assert answer.status_code == 201, answer.get_data(as_text=True)
    photos = answer.get_json()["inspection"]["photos"]
    assert [(p["width"], p["height"]) for p in photos] == [(20, 40), (64, 48)]
    assert photos[0]["position"] == {"lon": pytest.approx(116.99), "lat": pytest.approx(36.66)}
    assert photos[0]["taken_at"] == "2026-11-20T09:30:15"
    assert photos[1]["position"] is None and photos[1]["taken_at"] is None
    assert set(photos[0]) == {"id", "width", "height", "sha256", "taken_at", "position"}
    assert photo_count(app) == 2

    full = inspector.get(f"/api/photos/{photos[0]['id']}")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert hashlib.sha256(full.data).hexdigest() == photos[0]["sha256"]
    assert full.headers["ETag"] == f'"{photos[0]["sha256"]}"'
    assert "private" in full.headers["Cache-Control"]
    assert Image.open(io.BytesIO(full.data)).size == (20, 40)
    again = inspector.get(f"/api/photos/{photos[0]['id']}",
                          headers={"If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    second = inspector.get(f"/api/photos/{photos[1]['id']}")
    assert second.mimetype == "image/png"
    thumb = inspector.get(f"/api/photos/{photos[1]['id']}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.data)).size == (64, 48)  # small ones stay as they are
    error_of(inspector.get("/api/photos/999999"), 404)
    error_of(inspector.get("/api/photos/" + "9" * 30), 404)  # beyond 64 bits

    # The history lists them for logged-in users only.
    listed = history(inspector, venue_id)["inspections"][0]
    assert listed["id"] == answer.get_json()["inspection"]["id"]
    assert listed["photos"] == photos
    public = history(app.test_client(), venue_id)["inspections"][0]
    assert "photos" not in public


def test_visitors_get_401_viewers_403_and_leaders_see_photos(app, inspector):
    venue_id = a_venue(app)
    answer = post_record(inspector, "/api/inspections", inspection(venue_id),
                         [("a.png", png())])
    photo_id = answer.get_json()["inspection"]["photos"][0]["id"]
    for path in (f"/api/photos/{photo_id}", f"/api/photos/{photo_id}/thumb"):
        error_of(app.test_client().get(path, headers={"Accept": "application/json"}), 401)
    viewer = log_in(app.test_client(), "photo-viewer", "viewer")
    refused = viewer.get(f"/api/photos/{photo_id}", headers={"Accept": "application/json"})
    assert refused.status_code == 403 and "「查看巡查照片」的权限" in refused.get_json()["error"]
    assert "photos" not in history(viewer, venue_id)["inspections"][0]
    leader = log_in(app.test_client(), "photo-leader", "leader")
    assert leader.get(f"/api/photos/{photo_id}/thumb").status_code == 200
    assert history(leader, venue_id)["inspections"][0]["photos"][0]["id"] == photo_id


def test_json_bodies_work_as_before_and_store_no_photo(app, inspector):
    venue_id = a_venue(app)
    answer = inspector.post("/api/inspections", json=inspection(venue_id))
    assert answer.status_code == 201 and answer.get_json()["inspection"]["photos"] == []
    assert photo_count(app) == 0


def test_the_rectification_step_and_the_recheck_carry_their_own_photos(app, inspector):
    venue_id = a_venue(app)
    found = post_record(inspector, "/api/inspections", inspection(venue_id),
                        [("found.png", png(color=(255, 0, 0)))]).get_json()["inspection"]
    hazard_id = found["hazards"][0]["id"]
    step = post_record(inspector, f"/api/hazards/{hazard_id}/status", {"status": "整改中"},
                       [("fixing1.png", png(color=(0, 255, 0))),
                        ("fixing2.png", png(color=(0, 200, 0)))])
    assert step.status_code == 201, step.get_data(as_text=True)
    events = step.get_json()["hazard"]["events"]
    assert [e["status"] for e in events] == ["立案", "整改中"]
    assert len(events[1]["photos"]) == 2 and "photos" not in events[0]
    recheck = post_record(inspector, "/api/rechecks",
                          {"venue_id": venue_id, "inspector": "张伟", "closed": [hazard_id]},
                          [("fixed.png", png(color=(0, 0, 255)))])
    assert recheck.status_code == 201, recheck.get_data(as_text=True)
    assert len(recheck.get_json()["inspection"]["photos"]) == 1
    assert photo_count(app) == 4

    listed = history(inspector, venue_id)["inspections"]
    assert [len(i["photos"]) for i in listed[:2]] == [1, 1]  # the re-check, the finding
    hazard = listed[1]["hazards"][0]
    assert len(hazard["events"][1]["photos"]) == 2
    public = history(app.test_client(), venue_id)["inspections"]
    assert all("photos" not in e for i in public for h in i["hazards"] for e in h["events"])


def test_a_replay_with_the_same_key_stores_the_photos_once(app, inspector):
    venue_id = a_venue(app)
    photos = [("a.jpg", camera_jpeg()), ("b.png", png())]
    first = post_record(inspector, "/api/inspections", inspection(venue_id), photos, "k-1")
    assert first.status_code == 201 and photo_count(app) == 2
    before = counts(app)
    again = post_record(inspector, "/api/inspections", inspection(venue_id), photos, "k-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["inspection"] == first.get_json()["inspection"]
    assert photo_count(app) == 2 and counts(app) == before
    # The same key with other photos is another request: refused, nothing stored.
    other = post_record(inspector, "/api/inspections", inspection(venue_id),
                        [("c.png", png(color=(1, 2, 3)))], "k-1")
    error_of(other, 422)
    assert photo_count(app) == 2 and counts(app) == before


BAD_PHOTOS = {
    "a text file named .jpg": ([("photo.jpg", "这不是图片 not an image".encode())], 400, "不是"),
    "a truncated JPEG": ([("cut.jpg", truncated_jpeg())], 400, "损坏或不完整"),
    "a file over 10 MB": ([("big.png", big_file())], 413, "过大"),
    "13 photos": ([(f"{n}.png", png()) for n in range(13)], 400, "最多 12 张"),
    "a decompression bomb": ([("bomb.png", bomb_png())], 400, "像素过多"),
    "an empty file": ([("empty.jpg", b"")], 400, "空文件"),
    "a GIF": ([("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")], 400, "不是"),
}


@pytest.mark.parametrize("case", list(BAD_PHOTOS))
def test_bad_photos_are_refused_in_chinese_and_nothing_is_stored(app, inspector, case):
    photos, status, said = BAD_PHOTOS[case]
    venue_id = a_venue(app)
    before = counts(app)
    answer = post_record(inspector, "/api/inspections", inspection(venue_id),
                         [("good.png", png()), *photos] if case != "13 photos" else photos)
    assert said in error_of(answer, status)
    assert counts(app) == before and photo_count(app) == 0


def test_a_bad_photo_on_the_rectification_step_leaves_the_hazard_as_it_was(app, inspector):
    venue_id = a_venue(app)
    found = inspector.post("/api/inspections", json=inspection(venue_id)).get_json()
    hazard_id = found["inspection"]["hazards"][0]["id"]
    before = counts(app)
    answer = post_record(inspector, f"/api/hazards/{hazard_id}/status", {"status": "整改中"},
                         [("bomb.png", bomb_png())])
    error_of(answer, 400)
    assert counts(app) == before and photo_count(app) == 0
    assert history(inspector, venue_id)["open_hazards"][0]["status"] == "立案"


@pytest.mark.parametrize("fields,said", [
    (lambda: {"photo": [(io.BytesIO(b"x"), "a.png")]}, "缺少表单字段 record"),
    (lambda: {"record": "{not json", "photo": []}, "不是有效的 JSON"),
    (lambda: {"record": "[1, 2]"}, "JSON 对象"),
    (lambda: {"record": "{}", "picture": [(io.BytesIO(b"x"), "a.png")]}, "photo"),
])
def test_a_malformed_multipart_record_is_400(app, inspector, fields, said):
    answer = inspector.post("/api/inspections", data=fields(),
                            content_type="multipart/form-data")
    assert said in error_of(answer, 400)
    assert photo_count(app) == 0


def test_anonymous_and_viewers_cannot_record_photos(app):
    venue_id = a_venue(app)
    viewer = log_in(app.test_client(), "photo-viewer2", "viewer")
    answer = post_record(viewer, "/api/inspections", inspection(venue_id), [("a.png", png())])
    assert answer.status_code == 403
    assert photo_count(app) == 0


def test_the_backup_holds_the_photos_and_a_restore_brings_them_back(tmp_path):
    """The embedded store's backup (flask db backup / restore): one file with the photos."""
    app = make_app(tmp_path / "live" / "inspections.sqlite")
    inspector = log_in(app.test_client(), "photo-inspector", "inspector")
    answer = post_record(inspector, "/api/inspections", inspection(a_venue(app)),
                         [("a.jpg", camera_jpeg()), ("b.png", png())])
    photos = answer.get_json()["inspection"]["photos"]
    runner = app.test_cli_runner()
    target = tmp_path / "backup.sqlite"
    result = runner.invoke(args=["db", "backup", str(target)])
    assert result.exit_code == 0 and "2 photos" in result.output, result.output
    inspector.post("/api/inspections", data=multipart(inspection(a_venue(app)),
                                                      [("c.png", png())], "b0")[0],
                   content_type="multipart/form-data; boundary=b0")
    assert photo_count(app) == 3
    result = runner.invoke(args=["db", "restore", str(target)])
    assert result.exit_code == 0 and "2 photos" in result.output, result.output
    assert photo_count(app) == 2
    for photo in photos:
        served = inspector.get(f"/api/photos/{photo['id']}")
        assert hashlib.sha256(served.data).hexdigest() == photo["sha256"]
