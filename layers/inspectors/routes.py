"""The inspectors' page (/inspect) and the API behind it.

Routes only parse, call a query or the inspection store, and answer; the
queries are in nearby.py, the records and their validation in inspections.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from layers.accounts.access import may_use
from layers.accounts.sessions import current_user
from layers.basemaps.routes import page_basemaps
from layers.catalogue.entries import FIRM, FIRM_KINDS, NINE_SMALL, NINE_SMALL_KINDS, get_layer
from layers.catalogue.live import DUE_SOON_DAYS, live_properties
from layers.catalogue.styles import VENUE_STATUS_COLORS, VENUE_UNKNOWN_COLOR, leaflet_style
from layers.data.edits import earlier_edit, edit_feature
from layers.data.reload import follow_now
from layers.errors import BadRequest, Conflict, Forbidden, NotFound
from layers.geo.chinacoords import SYSTEM_LABELS
from layers.inspectors import venue_edits
from layers.inspectors.nearby import (
    DEFAULT_RADIUS_M,
    LOCATE_LAYERS,
    NEARBY_LAYERS,
    StatusLookup,
    locate,
    nearby_collection,
    overdue_collection,
    parse_crs,
    parse_nearby,
    parse_overdue_list,
    parse_point,
)
from layers.inspectors.offline import worker_script
from layers.inspectors.photo_routes import record_request
from layers.records import corrections
from layers.records.idempotency import Once, answered
from layers.records.inspections import (
    DEFAULT_INTERVAL_DAYS,
    HAZARD_CATEGORIES,
    INTERVAL_DAYS,
    MAX_LENGTH,
    VenueStatus,
    no_such_venue,
    parse_inspection,
    parse_recheck,
    refuse_closed,
    venue_key,
    with_overdue_days,
    with_position_checks,
)
from layers.records.photos import MAX_PHOTOS
from layers.web.context import (
    geojson_response,
    get_inspections,
    get_spatial,
    get_store,
    json_body,
    replayed,
    submission,
    today,
)
from layers.web.hardening import body_limit

bp = Blueprint("inspect", __name__)


def venue_statuses() -> dict[str, VenueStatus]:
    """Every venue's status now (two grouped queries over the inspection store)."""
    venues = get_store().get("venues")
    return get_inspections().statuses(map(venue_key, venues.features), today())


def require_visible(*layers: str) -> None:
    """401/403 when the user's role may not see one of the layers: these routes answer
    from the spatial store, which knows nothing of roles (visibility.py)."""
    for name in layers:
        get_store().get(name)


def venue_feature(venue_id: str) -> dict[str, Any]:
    """A venue's GeoJSON feature with its live status; NotFound for an unknown id."""
    require_visible("venues")
    feature = get_spatial().feature("venues", venue_id)
    if feature is None:
        raise NotFound(no_such_venue(venue_id))
    status = get_inspections().statuses([venue_key(feature)], today())
    return {**feature, "properties": {**feature["properties"],
                                      **status[venue_id].as_properties()}}


def venue_exists(venue_id: str) -> bool:
    require_visible("venues")
    return get_spatial().feature("venues", venue_id) is not None


def venue_open(venue_id: str, done: Once | None) -> None:
    """409 when the venue is marked closed (a record on it is refused), unless `done`'s
    Idempotency-Key has its first answer already (a retry of a record stored before the
    venue was closed gets that answer; the key table is one for records and layers)."""
    if done is not None and answered(current_app.extensions["layer_history"].key_row(
            done.user, done.key), done) is not None:
        return
    venue = get_spatial().feature("venues", venue_id)
    if venue is not None:
        refuse_closed(venue_id, venue["properties"])


def json_object() -> dict[str, Any]:
    data = json_body()
    if not isinstance(data, dict):
        raise BadRequest("请求体须为 JSON 对象 (send a JSON object with Content-Type: "
                         "application/json)")
    return data


def venue_status_lookup() -> StatusLookup:
    """Looks up the statuses of given venues now (only theirs: a query's few)."""
    venues = get_store().get("venues")
    inspections = get_inspections()
    day = today()

    def lookup(ids: Sequence[str]) -> dict[str, VenueStatus]:
        keys = (venue_key(venues.features[p]) for vid in ids
                if (p := venues.position(vid)) is not None)
        return inspections.statuses(keys, day)

    return lookup


@bp.get("/api/nearby")
def api_nearby():
    query = parse_nearby(request.args)
    require_visible(query.layer)
    statuses = venue_status_lookup() if query.layer == "venues" else None
    found = nearby_collection(get_spatial(), query, statuses)
    # The version an edit from the page is made on (POST /api/venues ...: `base`).
    found["layer_version"] = get_store().get(query.layer).version
    return geojson_response(found)


@bp.get("/api/locate")
def api_locate():
    require_visible(*LOCATE_LAYERS)
    return jsonify(locate(get_spatial(), parse_point(request.args)))


@bp.get("/api/overdue")
def api_overdue():
    of = parse_overdue_list(request.args.get("of"))
    given = any(request.args.get(k) for k in ("lon", "lat"))
    point = parse_point(request.args) if given else None
    if point is None:
        parse_crs(request.args)  # a crs the document does not allow is 400 even without a point
    return geojson_response(overdue_collection(get_store(), venue_statuses(), point, of))


@bp.get("/api/venues/<venue_id>/history")
def api_venue_history(venue_id: str):
    venue = venue_feature(venue_id)
    lon, lat = venue["geometry"]["coordinates"][:2]
    history = with_venue_names(with_position_checks(
        with_overdue_days(get_inspections().history(venue_id), today()), lon, lat))
    if current_user() is None:
        history = without_accounts(history)
    else:
        history = corrections.with_correctable(history, corrector(), corrections.now())
        if not may_use("photos.photo"):
            history = without_photos(history)
    return jsonify({"venue": venue, **history,
                    "layer_version": get_store().get("venues").version})


def with_venue_names(history: dict[str, Any]) -> dict[str, Any]:
    """Each correction of a record's venue with the venues' names (`old_name`, `new_name`;
    None for a venue no longer in the layer)."""

    def name(venue_id: str | None) -> str | None:
        feature = get_spatial().feature("venues", venue_id) if venue_id else None
        return feature["properties"].get("name") if feature else None

    for inspection in history["inspections"]:
        for correction in inspection.get("corrections", []):
            moved = correction["changes"].get("venue_id")
            if moved:
                moved.update(old_name=name(moved["old"]), new_name=name(moved["new"]))
    return history


def without_photos(history: dict[str, Any]) -> dict[str, Any]:
    """A venue's history without the photos of its records and steps (for the users whose
    role may not see them: /api/photos refuses them too)."""

    def hazard(h: dict[str, Any]) -> dict[str, Any]:
        return {**h, "events": [{k: v for k, v in e.items() if k != "photos"}
                                for e in h["events"]]}

    def inspection(i: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in i.items() if k != "photos"},
                "hazards": [hazard(h) for h in i["hazards"]],
                "closed_hazards": [hazard(h) for h in i["closed_hazards"]]}

    return {**history, "inspections": [inspection(i) for i in history["inspections"]],
            "open_hazards": [hazard(h) for h in history["open_hazards"]]}


def without_accounts(history: dict[str, Any]) -> dict[str, Any]:
    """A venue's history for visitors not logged in: without the accounts that wrote it
    (an inspection's `recorded_by`, the login name; a hazard step's `actor`, the name of
    the user or inspector who took it) nor where their phones were (`position`). The
    inspector written on each record stays. Nor the photos (`without_photos`)."""

    def hazard(h: dict[str, Any]) -> dict[str, Any]:
        return {**h, "events": [{k: v for k, v in e.items() if k != "actor"}
                                for e in h["events"]]}

    def inspection(i: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in i.items() if k not in ("recorded_by", "position")},
                "corrections": [{k: v for k, v in c.items() if k not in ("actor", "actor_name")}
                                for c in i.get("corrections", [])],
                "hazards": [hazard(h) for h in i["hazards"]],
                "closed_hazards": [hazard(h) for h in i["closed_hazards"]]}

    history = without_photos(history)
    return {**history, "inspections": [inspection(i) for i in history["inspections"]],
            "open_hazards": [hazard(h) for h in history["open_hazards"]]}


def _written(venue_id: str, key: str, value: dict[str, Any], done: Once | None = None):
    """201 with the record and its venue as it is now. A retry with the same
    Idempotency-Key gets the same record (the venue as it is at the retry)."""
    venue = venue_feature(venue_id)
    return replayed(jsonify({"ok": True, key: value, "venue": venue}), done), 201


# Each record-writing route takes JSON, or multipart with photos (photo_routes.py).
@bp.post("/api/inspections")
@body_limit("RECORD_MAX_CONTENT_LENGTH")
def api_record_inspection():
    data, photos, content = record_request()
    new = parse_inspection(data, today(), venue_exists)
    user = current_user()
    done = submission(user.name if user else None, content)
    venue_open(new.venue_id, done)
    stored = get_inspections().record_inspection(new, user.name if user else None, done,
                                                 photos)
    return _written(new.venue_id, "inspection", stored, done)


@bp.post("/api/rechecks")
@body_limit("RECORD_MAX_CONTENT_LENGTH")
def api_record_recheck():
    data, photos, content = record_request()
    new = parse_recheck(data, today(), venue_exists)
    user = current_user()
    done = submission(user.name if user else None, content)
    venue_open(new.venue_id, done)
    stored = get_inspections().record_recheck(new, user.name if user else None, done, photos)
    return _written(new.venue_id, "inspection", stored, done)


@bp.post("/api/hazards/<hazard_id>/status")
@body_limit("RECORD_MAX_CONTENT_LENGTH")
def api_hazard_status(hazard_id: str):
    data, photos, content = record_request()
    wanted = data.get("status")
    if wanted == "已整改":
        raise BadRequest("隐患由复查关闭为已整改,请提交复查 (a hazard is closed, 已整改, by a "
                         "re-check: POST /api/rechecks)")
    if wanted != "整改中":
        raise BadRequest(f"状态只能改为整改中,而不是 {wanted!r} (status must be 整改中, "
                         f"not {wanted!r})")
    user = current_user()
    done = submission(user.name if user else None, content)
    hazard = get_inspections().start_rectification(
        hazard_id, today(), user.display_name if user else None, by=user.name if user else None,
        once=done, photos=photos)
    return _written(hazard["venue_id"], "hazard", hazard, done)


def corrector() -> corrections.Corrector | None:
    """The logged-in user as one who corrects records; None when they may not write."""
    user = current_user()
    if user is None or not may_use("inspect.api_correct_inspection"):
        return None
    return corrections.Corrector(user.name, user.display_name, user.role == "admin")


@bp.post("/api/inspections/<inspection_id>/corrections")
def api_correct_inspection(inspection_id: str):
    """Void an inspection, or correct its date, venue, result or note, with a reason
    (records/corrections.py: who may, and what it does to its hazards)."""
    correction = corrections.parse_correction(json_object(), today(), venue_exists)
    user = corrector()
    if user is None:  # the route's group lets only writers in (access.py)
        raise Forbidden("当前账号没有更正检查记录的权限 (this account may not correct records)")
    done = submission(user.name)
    stored = get_inspections().correct_inspection(inspection_id, correction, user, today(),
                                                  done)
    return _written(stored["venue_id"], "inspection", stored, done)


# --- venues found, closed or moved in the street (venue_edits.py) ------------------


def community_at(lon: float, lat: float) -> str | None:
    """The name of the community a point lies in (None outside them all)."""
    hits = get_spatial().containing("communities", lon, lat)
    return hits[0]["properties"]["name"] if hits else None


def _venue_edited(parse: Callable[[], venue_edits.VenueEdit], status: int):
    """Apply the edit `parse` makes as the logged-in user (a new version of the venues
    layer, audited); the venue as it is now, with its status, and the layer's new
    version. A retry with the request's Idempotency-Key gets the first answer (asked
    before `parse` checks the venue as it is now, and again when it is refused)."""
    user = current_user()
    history = current_app.extensions["layer_history"]
    done = submission(user.name if user else None)
    try:
        earlier = earlier_edit(history, "venues", done)
        if earlier is None:
            edit = parse()
            made, fid = edit_feature(history, get_store(), "venues", edit.operation,
                                     edit.venue_id, edit.feature, edit.base,
                                     user.name if user else "", edit.reason, done)
            said = done.result["reason"] if done and done.result else edit.reason
            earlier = made, fid, said
    except Conflict:  # a first attempt with this key may have committed meanwhile
        earlier = earlier_edit(history, "venues", done)
        if earlier is None:
            raise
    made, fid, said = earlier
    follow_now()  # this server serves it from the next request; the others within 1 s
    answer = jsonify({"ok": True, "venue": venue_feature(fid), "layer_version": made.version,
                      "reason": said})
    return replayed(answer, done), status


@bp.post("/api/venues")
def api_add_venue():
    require_visible("venues")
    data = json_object()
    return _venue_edited(lambda: venue_edits.parse_new_venue(data, community_at), 201)


@bp.post("/api/venues/<venue_id>/closure")
def api_close_venue(venue_id: str):
    data = json_object()
    return _venue_edited(lambda: venue_edits.parse_closure(
        venue_id, data, today(), venue_feature(venue_id)), 200)


@bp.post("/api/venues/<venue_id>/reopening")
def api_reopen_venue(venue_id: str):
    data = json_object()
    return _venue_edited(lambda: venue_edits.parse_reopening(
        venue_id, data, venue_feature(venue_id)), 200)


@bp.post("/api/venues/<venue_id>/position")
def api_move_venue(venue_id: str):
    data = json_object()

    def parse() -> venue_edits.VenueEdit:
        venue_feature(venue_id)  # 404 for an unknown venue
        return venue_edits.parse_move(venue_id, data)
    return _venue_edited(parse, 200)


@bp.get("/inspect")
def inspect_page():
    if any(request.args.get(k) for k in ("lon", "lat")):
        parse_point(request.args)  # a bad position in the link: a 400 page in Chinese
    user = current_user()
    boundary = get_store().get("boundary")
    config = {
        "today": today().isoformat(),
        "user": user.as_json() if user else None,
        "canRecord": may_use("inspect.api_record_inspection"),
        # Venues found, closed or moved in the street (venue_edits.py).
        "canEditVenues": may_use("inspect.api_add_venue"),
        "venueFields": [{"name": f.name, "label": f.label, "type": f.type,
                         "required": f.required, "maxLength": f.max_length}
                        for f in get_layer("venues").fields
                        if f.name in venue_edits.NEW_VENUE_FIELDS],
        "venuesVersion": get_store().get("venues").version,
        "maxReason": venue_edits.MAX_REASON,
        "loginUrl": url_for("auth.login"),
        "api": {
            "nearby": url_for("inspect.api_nearby"),
            "locate": url_for("inspect.api_locate"),
            "overdue": url_for("inspect.api_overdue"),
            "inspections": url_for("inspect.api_record_inspection"),
            "rechecks": url_for("inspect.api_record_recheck"),
            "venues": url_for("inspect.api_add_venue"),
            "closure": url_for("inspect.api_close_venue", venue_id="{id}"),
            "reopening": url_for("inspect.api_reopen_venue", venue_id="{id}"),
            "position": url_for("inspect.api_move_venue", venue_id="{id}"),
            "layers": url_for("api.list_layers"),
            # {id} is replaced by the page script
            "history": url_for("inspect.api_venue_history", venue_id="{id}"),
            "hazardStatus": url_for("inspect.api_hazard_status", hazard_id="{id}"),
            "corrections": url_for("inspect.api_correct_inspection", inspection_id="{id}"),
            # {id} as the history's, percent-encoded (an int route cannot build it)
            "photo": url_for("photos.photo", photo_id=0)[:-1] + "%7Bid%7D",
            "photoThumb": url_for("photos.photo_thumb", photo_id=0).replace(
                "/0/thumb", "/%7Bid%7D/thumb"),
        },
        "bbox": boundary.bbox,
        "basemaps": page_basemaps(),
        "layers": [{"name": n, "title": get_layer(n).title} for n in NEARBY_LAYERS],
        "kinds": {
            "venues": [{"group": NINE_SMALL, "kinds": list(NINE_SMALL_KINDS)},
                       {"group": FIRM, "kinds": list(FIRM_KINDS)}],
            "parking": [{"group": "停车场", "kinds": list(get_layer("parking").field("kind")
                                                             .choices)}],
        },
        "intervals": {**INTERVAL_DAYS, "default": DEFAULT_INTERVAL_DAYS},
        "hazardCategories": list(HAZARD_CATEGORIES),
        "statusColors": VENUE_STATUS_COLORS,
        "statusOrder": list(VENUE_STATUS_COLORS),  # worst first (JSON objects lose the order)
        # The catalogue's styles of the layers the page draws.
        "styles": {name: leaflet_style(get_layer(name))
                   for name in (*NEARBY_LAYERS, "communities", "boundary")},
        "dueSoonDays": DUE_SOON_DAYS,
        # Labels and units of the venues' live properties (catalogue.live).
        "live": {p.name: {"label": p.label, "unit": p.unit} for p in live_properties("venues")},
        "unknownColor": VENUE_UNKNOWN_COLOR,
        "systems": SYSTEM_LABELS,
        "radius": {"default": DEFAULT_RADIUS_M},
        "maxLength": MAX_LENGTH,
        "maxPhotos": MAX_PHOTOS,
        # Offline use (inspect-offline.js): the service worker, where a fresh CSRF token
        # comes from before the queue is sent, and whether the phone's clock gives the
        # date when the page is opened offline (not when TODAY is configured).
        "offline": {
            "worker": url_for("inspect.service_worker"),
            "scope": url_for("inspect.inspect_page"),
            "csrf": url_for("auth.csrf_token"),
            "me": url_for("auth.me"),
            "clockToday": not current_app.config.get("TODAY"),
        },
    }
    return render_template("inspectors/inspect.html", title="巡查", config=config, user=user)


@bp.get("/sw.js")
def service_worker():
    """The service worker of /inspect (offline.py): registered with the scope /inspect.
    Never from a cache: the browser compares it byte for byte to find a new version."""
    script = worker_script(lambda: str(inspect_page()))
    return Response(script, mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache"})
