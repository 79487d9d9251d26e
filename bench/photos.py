"""What a record's photos cost the server: checking and cleaning them, and storing them.

    python bench/photos.py                 # the embedded store (a temporary SQLite file)
    python bench/photos.py --photos 12     # photos a record (default 2)

Makes camera-like JPEGs with Pillow (noise and gradients, EXIF orientation and GPS) at
the size the phone sends (1600 × 1200, JPEG 0.85) and at a camera's full size
(4000 × 3000), and prints per size: the file size, the time to check and clean one photo
(`read_photo`: decode, turn upright, encode again, thumbnail), and the time of
`POST /api/inspections` with N of them (multipart) through the app, p50 over the runs;
the stored sizes (image and thumbnail).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from PIL import ExifTags, Image  # noqa: E402

from layers.records.photos import read_photo  # noqa: E402


def camera_jpeg(width: int, height: int) -> bytes:
    noise = Image.effect_noise((width, height), 60).convert("RGB")
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image = Image.blend(noise, gradient, 0.5)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchCam"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (36.0, 39.0, 36.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (116.0, 59.0, 24.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def multipart(record: dict, photos: list[bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [b'Content-Disposition: form-data; name="record"\r\n\r\n'
             + json.dumps(record, ensure_ascii=False).encode()]
    parts += [b'Content-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
              b"Content-Type: image/jpeg\r\n\r\n" + data for data in photos]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return body + b"--" + boundary.encode() + b"--\r\n", boundary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2, help="photos a record")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from server import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False, "CLIENT_RATE": 0,
                          "INSPECTIONS_DB": Path(tmp) / "inspections.sqlite"})
        password = uuid.uuid4().hex
        app.extensions["users"].create("bench", password, "inspector", "bench")
        client = app.test_client()
        token = client.get("/api/csrf").get_json()["csrf_token"]
        client.post("/login", data={"name": "bench", "password": password, "csrf_token": token})
        client.environ_base["HTTP_X_CSRFTOKEN"] = client.get("/api/csrf").get_json()["csrf_token"]
        venue = client.get("/api/layers/venues").get_json()["features"][0]["id"]
        print(f"photos a record: {args.photos}; runs: {args.runs}")
        for width, height in ((1600, 1200), (4000, 3000)):
            raw = camera_jpeg(width, height)
            timings = []
            for _ in range(args.runs):
                start = time.perf_counter()
                photo = read_photo(raw)
                timings.append(time.perf_counter() - start)
            posts = []
            for _ in range(args.runs):
                body, boundary = multipart({"venue_id": venue, "inspector": "测试",
                                            "result": "合格"}, [raw] * args.photos)
                start = time.perf_counter()
                answer = client.post("/api/inspections", data=body,
                                     content_type=f"multipart/form-data; boundary={boundary}")
                posts.append(time.perf_counter() - start)
                assert answer.status_code == 201, answer.get_data(as_text=True)
            print(f"{width}×{height}: file {len(raw) / 1024:.0f} KB; check and clean "
                  f"p50 {statistics.median(timings) * 1000:.0f} ms; stored "
                  f"{len(photo.content) / 1024:.0f} KB + thumbnail {len(photo.thumb) / 1024:.1f}"
                  f" KB; POST with {args.photos} p50 {statistics.median(posts) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
