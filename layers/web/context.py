"""Flask wiring shared by the blueprints: the store accessor and the error handlers."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    jsonify,
    request,
)
from werkzeug.exceptions import HTTPException

from layers.errors import ApiError, BadRequest, DatabaseUnavailable
from layers.records.idempotency import Once, once
from layers.records.inspections import venue_key
from layers.stores.interfaces import Layers, RecordStore, SpatialStore
from layers.stores.layers import LoadedLayer
from layers.stores.visibility import visible_store
from layers.web.error_pages import error_answer, wants_json

log = logging.getLogger(__name__)



def get_store() -> Layers:
    """The layer store built once by create_app, with the layers this request's roles may
    see (access.py notes the roles; see visibility.py)."""
    store = current_app.extensions["layer_store"]
    roles = g.get("roles") if has_request_context() else None
    return store if roles is None else visible_store(store, roles)


def get_inspections() -> RecordStore:
    """The inspection records: SQLite, or PostGIS with DATABASE_URL (layers/stores/opening.py)."""
    return current_app.extensions["inspections"]


def get_spatial() -> SpatialStore:
    """The per-request spatial queries: the in-process STRtrees, or PostGIS."""
    return current_app.extensions["spatial"]


# The sub-district's clock: China Standard Time (UTC+8, no daylight saving). "Today"
# for records and statuses is Jinan's date, whatever time zone the server runs in
# (often UTC): else an inspection at 01:00 in a 网吧 would be "in the future".
LOCAL_TIME_ZONE = dt.timezone(dt.timedelta(hours=8), "UTC+8")


def local_date(moment: dt.datetime | None = None) -> dt.date:
    """The date in Jinan at an aware moment (now by default)."""
    return (moment or dt.datetime.now(dt.UTC)).astimezone(LOCAL_TIME_ZONE).date()


def today() -> dt.date:
    """Today in Jinan, or the configured TODAY (ISO date) so that tests are repeatable."""
    configured = current_app.config.get("TODAY")
    return dt.date.fromisoformat(configured) if configured else local_date()


def live_properties(loaded: LoadedLayer, features: Iterable[dict[str, Any]] | None = None
                    ) -> dict[str, dict[str, Any]] | None:
    """Properties that follow from records at run time: a venue's inspection status.

    For the given features of the layer (all by default): a query that serves a few
    features of a large layer works out only theirs.
    """
    if loaded.name != "venues":
        return None
    chosen = loaded.features if features is None else features
    venues = (venue_key(f) for f in chosen)
    statuses = get_inspections().statuses(venues, today())
    return {vid: s.as_properties() for vid, s in statuses.items()}


def json_body() -> Any:
    """The request's JSON body (strict JSON: see hardening); BadRequest saying why not."""
    if not request.is_json:
        raise BadRequest("请求体必须是 JSON (send a JSON object with Content-Type: "
                         "application/json)")
    try:
        return current_app.json.loads(request.get_data(as_text=True))
    except ValueError as e:  # the parser's complaint, e.g. NaN is not a JSON number
        raise BadRequest(f"请求体不是有效的 JSON (send a JSON object; {e})") from None


def submission(user_name: str | None, content: bytes | None = None) -> Once | None:
    """This write's `Idempotency-Key` (records/idempotency.py), per user; None without one.
    `content` is what identifies the request instead of its body (a multipart body's
    boundary differs at each sending: the record's text and its photos' checksums)."""
    return once(user_name or "", request.headers.get("Idempotency-Key"), request.method,
                request.path, request.get_data() if content is None else content)


def replayed(response: Response, done: Once | None) -> Response:
    """Mark the answer of a retry that the key answered from the first attempt."""
    if done is not None and done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


GEOJSON_MEDIA_TYPE = "application/geo+json"


def geojson_response(collection: dict[str, Any]) -> Response:
    """A GeoJSON object (FeatureCollection, Feature) as a response of its media type."""
    response = jsonify(collection)
    response.mimetype = GEOJSON_MEDIA_TYPE
    return response


def error_response(message: str, status: int) -> tuple[Response, int]:
    return jsonify({"ok": False, "error": message, "status": status}), status


def register_error_handlers(app: Flask) -> None:
    """Every error answers as `error_pages.error_answer` decides: JSON for the API and
    for clients asking for JSON, else a page in the site's layout, in Chinese."""
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError) -> tuple[Response, int]:
        message = e.message
        if isinstance(e, DatabaseUnavailable) and not wants_json():  # a page: what still works
            message = f"数据库暂时无法连接,地图仍可查看;记录、查询等功能请稍后重试。{message}"
        return error_answer(message, e.status, e.headers())

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> tuple[Response, int]:
        status = e.code or 500
        own = e.description if e.description != type(e).description else None
        headers = {name: value for name, value in e.get_headers()}  # e.g. Allow on 405
        return error_answer(own, status, headers)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> tuple[Response, int]:
        log.exception("unexpected error on %s", request.path)
        return error_answer(None, 500)
