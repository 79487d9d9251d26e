"""Photos of records on the web: reading them from a record's multipart request, and
serving them (only to logged-in users; never on the public maps or public APIs).

The record-writing routes (routes.py) take either today's JSON body or
`multipart/form-data` with the text field `record` (the same JSON object) and 0 to
MAX_PHOTOS file fields `photo`. The checks and the cleaning are in
layers/records/photos.py.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, current_app, request

from layers.accounts.sessions import current_user
from layers.errors import BadRequest, NotFound, Unauthorized
from layers.records.photos import (
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    NewPhoto,
    read_photos,
    too_large,
)
from layers.web.context import get_inspections, json_body

bp = Blueprint("photos", __name__)

MULTIPART = "multipart/form-data"
PHOTO_FIELD = "photo"
RECORD_FIELD = "record"
CACHE_CONTROL = "private, max-age=3600"  # a photo never changes; logged-in users only


def record_request() -> tuple[dict[str, Any], tuple[NewPhoto, ...], bytes | None]:
    """The record a write sends (JSON, or multipart with photos), its photos checked and
    cleaned, and what identifies the request for its Idempotency-Key (None: its body)."""
    if request.mimetype != MULTIPART:
        return _object(json_body()), (), None
    text = request.form.get(RECORD_FIELD)
    if text is None:
        raise BadRequest("缺少表单字段 record,即记录内容的 JSON 文本 "
                         "(the multipart body needs "
                         "a text field `record` holding the record as JSON)")
    try:
        data = current_app.json.loads(text)
    except ValueError as e:
        raise BadRequest(f"表单字段 record 不是有效的 JSON (the field `record` is not valid "
                         f"JSON: {e})") from None
    others = sorted(set(request.files) - {PHOTO_FIELD})
    if others:
        raise BadRequest(f"照片的表单字段须名为 photo,而不是 {others[0]!r} (files must be sent "
                         f"in fields named `photo`, not {others[0]!r})")
    files = request.files.getlist(PHOTO_FIELD)
    if len(files) > MAX_PHOTOS:
        raise BadRequest(f"每条记录最多 {MAX_PHOTOS} 张照片,收到 {len(files)} 张 (at most "
                         f"{MAX_PHOTOS} photos a record, not {len(files)})")
    raws = []
    for n, file in enumerate(files, 1):
        raw = file.stream.read(MAX_PHOTO_BYTES + 1)
        if len(raw) > MAX_PHOTO_BYTES:
            raise too_large(n)
        raws.append(raw)
    photos = read_photos(raws)
    content = "\n".join([text, *(hashlib.sha256(raw).hexdigest() for raw in raws)]).encode()
    return _object(data), photos, content


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest("请求体须为 JSON 对象 (send a JSON object with Content-Type: "
                         "application/json, or in the multipart field `record`)")
    return data


def _image(photo_id: int, thumb: bool) -> Response:
    if current_user() is None:
        raise Unauthorized("请先登录:照片仅供登录用户查看 (log in to see photos)")
    # ids are 64-bit in both stores: a larger number names no photo (and overflows SQL)
    image = get_inspections().photo_image(photo_id, thumb) if photo_id < 2**63 else None
    if image is None:
        raise NotFound(f"没有编号为 {photo_id} 的照片 (no photo with id {photo_id})")
    media_type = "image/jpeg" if thumb else str(image["media_type"])
    response = Response(image["data"], mimetype=media_type)
    response.set_etag(image["sha256"] + ("-thumb" if thumb else ""))
    response.headers["Cache-Control"] = CACHE_CONTROL
    kind = "thumb" if thumb else "photo"
    extension = media_type.rsplit("/", 1)[1].replace("jpeg", "jpg")
    response.headers["Content-Disposition"] = f'inline; filename="{kind}-{photo_id}.{extension}"'
    response.make_conditional(request)
    return response


@bp.get("/api/photos/<int:photo_id>")
def photo(photo_id: int) -> Response:
    """A record's photo, full size (as stored: upright, without metadata)."""
    return _image(photo_id, thumb=False)


@bp.get("/api/photos/<int:photo_id>/thumb")
def photo_thumb(photo_id: int) -> Response:
    """A record's photo as a JPEG thumbnail (240 px on the longest side)."""
    return _image(photo_id, thumb=True)
