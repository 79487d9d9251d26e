"""Photos of records: what the server accepts, and what it keeps of each.

An inspection (发现: the one that files hazards; 复查: a re-check) and a hazard's
整改中 step may carry up to MAX_PHOTOS photos. Each is checked by decoding it with
Pillow, limited to JPEG, PNG and WebP (never by its name or content type), and
refused with a Chinese message when it is not one of them, is truncated or damaged,
is larger than MAX_PHOTO_BYTES, or declares more than MAX_PIXELS pixels (a
decompression bomb: a small file that would decode to gigabytes). What is kept:

- the image turned upright (its EXIF orientation applied) and encoded again in its
  own format, which drops every piece of metadata (camera, software, ICC, XMP...);
- the EXIF GPS position (WGS84 lon/lat) and DateTimeOriginal, as the photo's own
  fields (`lon`, `lat`, `taken_at`);
- its SHA-256 (of the bytes kept: the ETag it is served with) and a JPEG thumbnail
  (THUMB_PX on the longest side).

Everything is checked before anything is stored; the store writes the photos in the
record's transaction (book.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from layers.errors import ApiError, BadRequest

MAX_PHOTOS = 12  # a record (an inspection, a re-check, a hazard's 整改中 step)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 8000 × 5000: more than any phone camera's photo
THUMB_PX = 240  # the thumbnail's longest side
JPEG_QUALITY = 90  # the photo encoded again (the phone sends it at ~0.85 already)
THUMB_QUALITY = 80
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
THUMB_TYPE = "image/jpeg"


class PhotoTooLarge(ApiError):
    status = 413


@dataclass(frozen=True)
class NewPhoto:
    """A photo checked and cleaned, ready to be stored with its record."""

    content: bytes  # the image, upright, without metadata
    media_type: str  # FORMATS' values
    width: int
    height: int
    sha256: str  # of `content`
    thumb: bytes  # JPEG, THUMB_PX on the longest side
    taken_at: str | None  # EXIF DateTimeOriginal, YYYY-MM-DDTHH:MM:SS (the camera's clock)
    lon: float | None  # EXIF GPS, WGS84
    lat: float | None

    def fingerprint(self) -> str:
        """What identifies the photo sent in an idempotent request (its cleaned bytes)."""
        return self.sha256


def read_photos(files: Sequence[bytes]) -> tuple[NewPhoto, ...]:
    """The photos of one record, each checked and cleaned; an error for the first bad one."""
    if len(files) > MAX_PHOTOS:
        raise BadRequest(f"每条记录最多 {MAX_PHOTOS} 张照片,收到 {len(files)} 张 (at most "
                         f"{MAX_PHOTOS} photos a record, not {len(files)})")
    return tuple(read_photo(raw, n) for n, raw in enumerate(files, 1))


def too_large(n: int, size: int | None = None) -> PhotoTooLarge:
    got = f",此张有 {size / 1024 / 1024:.1f} MB" if size is not None else ""
    return PhotoTooLarge(f"第 {n} 张照片过大{got},每张最多 {MAX_PHOTO_BYTES // 1024 // 1024} MB "
                         f"(photo {n} is larger than {MAX_PHOTO_BYTES} bytes)")


def read_photo(raw: bytes, n: int = 1) -> NewPhoto:
    """Photo number `n` of a record, decoded, checked and cleaned; BadRequest (or 413)
    saying in Chinese what is wrong with it."""
    if len(raw) > MAX_PHOTO_BYTES:
        raise too_large(n, len(raw))
    if not raw:
        raise BadRequest(f"第 {n} 张照片是空文件 (photo {n} is empty)")
    not_image = BadRequest(f"第 {n} 张照片不是 JPEG、PNG 或 WebP 图片 (photo {n} is not a "
                           "JPEG, PNG or WebP image)")
    bomb = BadRequest(f"第 {n} 张照片的像素过多,超过 {MAX_PIXELS // 10_000} 万像素,"
                      f"可能是恶意文件 (photo {n} declares more than {MAX_PIXELS} pixels: "
                      "refused as a decompression bomb)")
    damaged = BadRequest(f"第 {n} 张照片已损坏或不完整,请重新拍摄或选择 (photo {n} is "
                         "truncated or damaged)")
    # The pixels declared are checked from the header, before anything is decoded (below
    # Pillow's own limit, whose error is caught too; its warning is one under pytest).
    try:
        with Image.open(io.BytesIO(raw), formats=tuple(FORMATS)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise bomb
            image.load()
            media_type = FORMATS[str(image.format)]
            exif = image.getexif()
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bomb from None
    except UnidentifiedImageError:
        raise not_image from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError,
            TypeError, struct.error):
        raise damaged from None
    taken_at, lon, lat = _taken_at(exif), *_gps(exif)
    content = _encode(upright, media_type)
    return NewPhoto(content=content, media_type=media_type, width=upright.width,
                    height=upright.height, sha256=hashlib.sha256(content).hexdigest(),
                    thumb=_thumbnail(upright), taken_at=taken_at, lon=lon, lat=lat)


def _encode(image: Image.Image, media_type: str) -> bytes:
    """The image in its format again, with nothing but its pixels: `info` (EXIF, ICC,
    XMP, text chunks) is not passed on."""
    image.info = {}
    out = io.BytesIO()
    if media_type == "image/jpeg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    elif media_type == "image/png":
        image.save(out, "PNG")
    else:
        image.save(out, "WEBP", quality=JPEG_QUALITY)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMB_PX, THUMB_PX))
    if thumb.mode in ("RGBA", "LA", "P", "PA"):  # transparency on white
        rgba = thumb.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        thumb = flat
    elif thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=THUMB_QUALITY)
    return out.getvalue()


def _taken_at(exif: Image.Exif) -> str | None:
    """EXIF DateTimeOriginal as YYYY-MM-DDTHH:MM:SS; None when absent or not a time."""
    value = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal)
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.strptime(value.strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    """The EXIF GPS position (lon, lat, WGS84 degrees); (None, None) when absent or absurd."""
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return round(lon, 7), round(lat, 7)


def _degrees(value: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    if not math.isfinite(degrees):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -degrees if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative \
        else degrees


def photo_meta(row: dict[str, Any]) -> dict[str, Any]:
    """A stored photo as the history lists it (never its bytes)."""
    position = (None if row.get("lon") is None or row.get("lat") is None
                else {"lon": row["lon"], "lat": row["lat"]})
    return {"id": row["id"], "width": row["width"], "height": row["height"],
            "sha256": row["sha256"], "taken_at": row["taken_at"], "position": position}
