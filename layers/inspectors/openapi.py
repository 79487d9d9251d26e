"""The OpenAPI section of the inspectors' API (routes.py and /api/me of accounts/auth.py):
what is near a point, where it is, overdue venues, a venue's history, and the
writes (inspections, re-checks, the hazard flow) that need a logged-in inspector."""

from __future__ import annotations

from collections.abc import Sequence

from layers.catalogue.entries import (
    COMMUNITIES,
    FIRM,
    FIRM_KINDS,
    JINAN_BOUNDS,
    NINE_SMALL,
    NINE_SMALL_KINDS,
    ROLES,
    Layer,
)
from layers.catalogue.live import DUE_SOON_DAYS
from layers.geo.chinacoords import SYSTEMS
from layers.inspectors.nearby import (
    DEFAULT_LIMIT,
    DEFAULT_RADIUS_M,
    DIRECTIONS,
    KIND_GROUPS,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_RADIUS_M,
    NEARBY_LAYERS,
    OVERDUE_LISTS,
    STATUS_FILTERS,
)
from layers.inspectors.venue_edits import (
    ADD_REASON,
    CLOSE_REASON,
    EARLIEST_CLOSURE,
    MAX_REASON,
    MAX_VERSION,
    MOVE_REASON,
    REOPEN_REASON,
)
from layers.records.corrections import CORRECTION_WINDOW
from layers.records.inspections import (
    HAZARD_CATEGORIES,
    HAZARD_STATUSES,
    MAX_ACCURACY_M,
    MAX_DEADLINE_DAYS,
    MAX_HAZARDS_PER_INSPECTION,
    MAX_LENGTH,
    OFF_SITE_M,
    RESULTS,
    STATUS_PROPERTIES,
)
from layers.records.photos import FORMATS, MAX_PHOTO_BYTES, MAX_PHOTOS, THUMB_PX
from layers.web.openapi_helpers import (
    COOKIE_AUTH,
    COUNT,
    CSRF_TOKEN,
    DATE,
    IDEMPOTENCY_KEY,
    Schema,
    Section,
    array,
    choices,
    enum,
    integer,
    json_content,
    layer_of,
    layer_properties_ref,
    nullable,
    number,
    obj,
    operation,
    path_param,
    query,
    ref,
    request_body,
    string,
)

TAG = "inspections"
CORRECTION_HOURS = int(CORRECTION_WINDOW.total_seconds() // 3600)
# The security of the writes (role inspector or admin).
INSPECTOR: list[dict[str, list[str]]] = [{COOKIE_AUTH: []}]
WRITER: list[dict[str, list[str]]] = [{COOKIE_AUTH: [], CSRF_TOKEN: []}]

# Records of the shipped history (geodata/*.csv), used as examples that work on a fresh store.
EXAMPLE_VENUE = "V0010"  # has a hazard under rectification (整改中): HZ00185
EXAMPLE_RECTIFYING_HAZARD = "HZ00185"
EXAMPLE_FILED_HAZARD = "HZ00212"  # 立案
EXAMPLE_POINT = (116.9602, 36.6632)  # in 裕园社区
EXAMPLE_CLOSED_VENUE = "V0300"  # the example closure's and move's venue
EXAMPLE_INSPECTION = "INS000793"  # 合格, of V0020 (the example correction's record)

OK_TRUE: Schema = {"type": "boolean", "enum": [True]}
ACCOUNTS_ONLY = "; only for a logged-in user (left out for visitors not logged in)"
BEARING: dict[str, Schema] = {
    "distance_m": number("geodesic distance from the point (m); 0 inside a polygon",
                         minimum=0),
    "bearing_deg": number("bearing from the point, clockwise from north", minimum=0,
                          maximum=360, exclusiveMaximum=True),
    "direction": enum(DIRECTIONS, "the bearing as one of eight compass directions"),
}


def _point_params(required: bool) -> list[Schema]:
    lon, lat = EXAMPLE_POINT
    # Jinan's bounds, 0.05° inside: a GCJ-02 or BD-09 point there is in Jinan in WGS84 too.
    min_lon, min_lat, max_lon, max_lat = (JINAN_BOUNDS[0] + 0.05, JINAN_BOUNDS[1] + 0.05,
                                          JINAN_BOUNDS[2] - 0.05, JINAN_BOUNDS[3] - 0.05)
    return [
        query("lon", number(minimum=min_lon, maximum=max_lon), "longitude in degrees "
              "(about 117 in Jinan; a point far outside Jinan is 400)", required=required,
              example=lon),
        query("lat", number(minimum=min_lat, maximum=max_lat), "latitude in degrees "
              "(about 36.7 in Jinan)", required=required, example=lat),
        query("crs", {**enum(SYSTEMS), "default": SYSTEMS[0]},
              "the coordinate system of lon/lat: wgs84 (GPS), gcj02 (高德, 腾讯), bd09 (百度)"),
    ]


def _kinds(catalogue: Sequence[Layer]) -> list[str]:
    """Every `kind` filter of the nearby layers: their kinds and the venues' categories."""
    kinds: list[str] = list(KIND_GROUPS)
    for name in NEARBY_LAYERS:
        fields = {f.name for f in layer_of(catalogue, name).fields}
        if "kind" in fields:
            kinds += [k for k in choices(catalogue, name, "kind") if k not in kinds]
    return kinds


def _schemas(catalogue: Sequence[Layer]) -> dict[str, Schema]:
    live_venue = {"allOf": [layer_properties_ref("venues"),
                            {"type": "object", "required": list(STATUS_PROPERTIES)}]}

    def feature(properties: Schema) -> Schema:
        return obj({"type": enum(["Feature"]), "id": string(), "geometry": ref("Geometry"),
                    "properties": properties})

    hazard_properties: dict[str, Schema] = {
        "id": string(), "venue_id": string(), "inspection_id": string(),
        "category": enum(HAZARD_CATEGORIES), "description": string(),
        "found": DATE, "deadline": nullable(DATE),
        "status": enum(HAZARD_STATUSES, "立案 → 整改中 → 已整改"),
        "rectified": nullable(DATE),
        "events": array(obj({"status": enum(HAZARD_STATUSES), "date": DATE,
                             "inspection_id": nullable(string()),
                             "actor": nullable(string(f"who took the step{ACCOUNTS_ONLY}")),
                             "photos": array(ref("Photo"), "the photos of the 整改中 step"
                                             + ACCOUNTS_ONLY)},
                            required=["status", "date", "inspection_id"]),
                        "the hazard's steps, oldest first"),
        "overdue_days": nullable(integer(
            "in a venue's history: days an open hazard is past its deadline (超期未整改); "
            "null when it is not", minimum=1)),
        "voided": integer("1 when voided with the inspection that filed it (作废): it "
                          "counts nowhere", minimum=0, maximum=1),
    }
    hazard = obj(hazard_properties, required=[k for k in hazard_properties
                                              if k != "overdue_days"])
    inspection_properties: dict[str, Schema] = {
        "id": string(), "venue_id": string(), "date": DATE, "inspector": string(),
        "campaign": nullable(string("e.g. 复查 for a re-check")),
        "result": enum(RESULTS), "note": nullable(string()),
        "recorded_by": nullable(string("the login name of the user who recorded it"
                                       + ACCOUNTS_ONLY)),
        "position": nullable(obj({
            "lon": number(), "lat": number(),
            "accuracy_m": nullable(number("the phone's accuracy (m)", minimum=0)),
            "distance_m": number("in a venue's history: to the venue (m, geodesic)", minimum=0),
            "off_site": {"type": "boolean", "description": "in a venue's history: farther "
                         f"than {OFF_SITE_M:g} m from the venue (非现场记录)"},
        }, required=["lon", "lat", "accuracy_m"], description="where the phone was when the "
           "record was made, when the browser gave it" + ACCOUNTS_ONLY)),
        "hazards": array(ref("Hazard"), "the hazards it found"),
        "closed_hazards": array(ref("Hazard"), "the hazards it closed (a re-check)"),
        **_correction_properties(),
        "photos": array(ref("Photo"), "its photos (of the hazards found, 发现, or of the "
                        "re-check, 复查), in the order sent" + ACCOUNTS_ONLY),
    }
    inspection = obj(inspection_properties, required=[
        k for k in inspection_properties if k not in ("recorded_by", "position",
                                                      "correctable", "photos")])
    photo = obj({
        "id": integer("GET /api/photos/{id} (full size) and /api/photos/{id}/thumb"),
        "width": integer(minimum=1), "height": integer(minimum=1),
        "sha256": string("SHA-256 of the stored image (its ETag)", pattern="^[0-9a-f]{64}$"),
        "taken_at": nullable(string("EXIF DateTimeOriginal, YYYY-MM-DDTHH:MM:SS (the "
                                    "camera's clock)")),
        "position": nullable(obj({"lon": number(), "lat": number()},
                                 description="EXIF GPS position (WGS84)")),
    }, description="a photo of a record, upright, without its other metadata")
    point = obj({"lon": number(), "lat": number(), "crs": enum(SYSTEMS),
                 "input": array(number(), "lon, lat as given", minItems=2, maxItems=2)},
                description="the query point in WGS84, and as given")
    return {
        "QueryPoint": point,
        "InspectedVenue": feature(live_venue),
        "NearbyFeature": feature({"allOf": [
            {"anyOf": [layer_properties_ref(name) for name in NEARBY_LAYERS]},
            obj(BEARING)]}),
        # overdue: true (of=inspection), or overdue_hazards > 0 (of=rectification)
        "OverdueVenue": feature({"allOf": [live_venue, obj(BEARING, required=[])]}),
        "Hazard": hazard,
        "Inspection": inspection,
        "Photo": photo,
        "Written": obj({"ok": OK_TRUE, "inspection": ref("Inspection"),
                        "venue": ref("InspectedVenue")}),
        "VenueEdited": obj({
            "ok": OK_TRUE, "venue": ref("InspectedVenue"),
            "layer_version": integer("the venues layer's new version (the next edit's "
                                     "base)", minimum=1),
            "reason": string("why, as the version's record says it")}),
        "User": obj({"name": string(), "display_name": string(), "role": enum(ROLES),
                     "role_label": string()}),
    }


def _correction_properties() -> dict[str, Schema]:
    """An inspection's corrections (records/corrections.py)."""
    value = nullable(string("the field's value (a date, a venue's id, a result, a note)"))
    correction = obj({
        "id": integer(), "at": string("when (UTC, ISO 8601)"),
        "actor": string("the login name of who corrected it" + ACCOUNTS_ONLY),
        "actor_name": nullable(string("their name shown" + ACCOUNTS_ONLY)),
        "reason": string("why"), "void": {"type": "boolean", "description": "a void (作废)"},
        "changes": {"type": "object", "description": "each corrected field (date, "
                    "venue_id, result, note): its old and new value; empty for a void",
                    "additionalProperties": obj({
                        "old": value, "new": value,
                        "old_name": nullable(string("a venue's name (in a venue's history)")),
                        "new_name": nullable(string("a venue's name (in a venue's history)"))},
                        required=["old", "new"])},
    }, required=["id", "at", "reason", "void", "changes"])
    return {
        "voided": {"type": "boolean", "description": "voided (已作废): kept, shown, counted "
                   "nowhere"},
        "void_reason": nullable(string("why it was voided")),
        "recorded_at": nullable(string("when it was stored (UTC, ISO 8601)")),
        "corrections": array(correction, "its corrections, oldest first"),
        "correctable": {"type": "boolean", "description": "in a venue's history, for a "
                        "logged-in user: whether they may correct it now (their own within "
                        f"{CORRECTION_HOURS} h, or any as an admin)"},
    }


# A record's day: from 2000-01-01 (records/inspections.py EARLIEST_DATE) on.
RECORD_DATE: Schema = {**DATE, "pattern": "^[2-9][0-9]{3}-"}


def _bodies() -> dict[str, Schema]:
    venue_id = string("the venue's id", minLength=1, example=EXAMPLE_VENUE)
    date = {**RECORD_DATE, "description": "the day of the inspection (default today; not in "
                                          "the future, not before 2000-01-01)"}
    plain = " (plain text: HTML markup such as <script> is refused with 400)"
    inspector = string("the inspector's name as written on the record" + plain, minLength=1,
                       maxLength=MAX_LENGTH["inspector"])
    note = nullable(string("a note" + plain, maxLength=MAX_LENGTH["note"]))
    new_hazard = obj({
        "category": enum(HAZARD_CATEGORIES),
        "description": string("what is wrong" + plain, minLength=1,
                              maxLength=MAX_LENGTH["description"]),
        "deadline": {**DATE, "description": "rectify by (on or after the inspection, at most "
                                            f"{MAX_DEADLINE_DAYS} days later)"},
    })
    position = obj({
        "lon": number(minimum=-180, maximum=180), "lat": number(minimum=-90, maximum=90),
        "accuracy_m": nullable(number(minimum=0, maximum=MAX_ACCURACY_M)),
    }, required=["lon", "lat"], description="where the phone is (WGS84), when it knows")
    return {
        "inspection": obj({
            "venue_id": venue_id, "date": date, "inspector": inspector,
            "result": enum(RESULTS, "发现隐患 needs hazards, 合格 none"),
            "hazards": array(new_hazard, "filed as 立案", maxItems=MAX_HAZARDS_PER_INSPECTION),
            "note": note, "position": position}, required=["venue_id", "inspector", "result"])
        | {"anyOf": [  # 合格 files no hazard; 发现隐患 at least one
            {"properties": {"result": {"enum": ["合格"]}, "hazards": {"maxItems": 0}}},
            {"properties": {"result": {"enum": ["发现隐患"]}, "hazards": {"minItems": 1}},
             "required": ["hazards"]}]},
        "recheck": obj({
            "venue_id": venue_id, "date": date, "inspector": inspector,
            "closed": array(string(minLength=1), "hazards of the venue in 整改中 found "
                            "rectified (已整改)", uniqueItems=True),
            "note": note, "position": position}, required=["venue_id", "inspector"]),
        "hazard_status": obj({"status": enum(["整改中"], "the venue has started to rectify "
                                                     "(已整改 is set by a re-check)")}),
        "correction": obj({
            "reason": string("why (required)" + plain, minLength=1,
                             maxLength=MAX_LENGTH["note"]),
            "void": {"type": "boolean", "description": "void the record (作废), alone"},
            "date": {**RECORD_DATE, "description": "the corrected date (not in the future, "
                                                   "not before 2000-01-01)"},
            "venue_id": venue_id, "result": enum(RESULTS, "only 发现隐患 → 合格, which voids "
                                                          "its hazards"),
            "note": note,
        }, required=["reason"]) | {
            "additionalProperties": False,
            # something to correct: void: true, or a field (a void with fields is 400 too)
            "anyOf": [{"required": ["void"], "properties": {"void": {"enum": [True]}}},
                      *({"required": [name]} for name in ("date", "venue_id", "result",
                                                          "note"))]},
    }


def _venue_bodies() -> dict[str, Schema]:
    """What an inspector sends to add, close or move a venue (venue_edits.py)."""
    base = integer("the version of the venues layer the page read (`layer_version` of "
                   "/api/nearby or a venue's history): 409 when the layer moved on since",
                   minimum=1, maximum=MAX_VERSION)
    plain = "^[^<]*\\S[^<]*$"  # not blank; plain text (HTML markup is refused)
    reason = string("why" + " (plain text: HTML markup such as <script> is refused with 400)",
                    minLength=1, maxLength=MAX_REASON, pattern=plain)
    west, south, east, north = JINAN_BOUNDS
    lon = number("longitude (WGS84); the venue must lie inside the sub-district",
                 minimum=west, maximum=east)
    lat = number("latitude (WGS84)", minimum=south, maximum=north)

    def closed(schema: Schema) -> Schema:
        return {**schema, "additionalProperties": False}

    def kinds(category: str, names: Sequence[str]) -> Schema:
        return {"properties": {"category": {"enum": [category]}, "kind": {"enum": list(names)}}}

    properties = closed(obj({
        "name": string("场所名称", minLength=1, maxLength=100, pattern=plain),
        "category": enum([NINE_SMALL, FIRM], "类别"),
        "kind": enum([*NINE_SMALL_KINDS, *FIRM_KINDS], "场所类型 (of the category)"),
        "address": string("地址", minLength=1, maxLength=500, pattern=plain),
        "community": enum(COMMUNITIES, "所属社区 (default: the one the position lies in)"),
        "quancheng_app": {"type": "boolean", "description": "纳入“泉城安全”监管 (default "
                          "false)"},
        "pledge_signed": {"type": "boolean", "description": "签订门前五包责任书 (default "
                          "false)"},
    }, required=["name", "category", "kind", "address"])) | {"anyOf": [
        kinds(NINE_SMALL, NINE_SMALL_KINDS), kinds(FIRM, FIRM_KINDS)]}
    def edit(fields: dict[str, Schema], required: Sequence[str]) -> Schema:
        """A venue edit's body: `base`, the fields, and a reason (given, unless optional)."""
        body = {"base": base, **fields}
        body.setdefault("reason", reason)
        return closed(obj(body, required=["base", *required]))

    return {
        "add": edit({"properties": properties, "lon": lon, "lat": lat,
                     "reason": nullable(reason)}, ["properties", "lon", "lat"]),
        "closure": edit({"date": {**DATE, "description": "closed since (default today; not "
                                  f"in the future, not before {EARLIEST_CLOSURE.isoformat()})"}},
                        ["reason"]),
        "position": edit({"lon": lon, "lat": lat}, ["lon", "lat", "reason"]),
        "reopening": edit({}, ["reason"]),
    }


def _venue_paths() -> dict[str, Schema]:
    bodies = _venue_bodies()
    edited = json_content(ref("VenueEdited"))
    venue_id = path_param("venue_id", string(), "the venue's id", example=EXAMPLE_CLOSED_VENUE)
    common = ("One new version of the venues layer (who, when, why: the reason is written "
              "as {}:…), with its audit row. 409 when a version after `base` changed this "
              "venue (conflicts are per feature: a change of other venues since is no "
              "conflict, the edit is applied on the head): the message names both versions "
              "and the features changed; reload and try again. A retry with the same "
              "Idempotency-Key gets the first answer (header Idempotent-Replayed), never a "
              "second edit; the same key with another body is 422. "
              "For inspectors, leaders and admins.")
    return {
        "/api/venues": operation(
            TAG, "addVenue", "Add a venue found in the street", method="post",
            security=WRITER, ok_status=201, ok=edited,
            ok_description="added: the venue (its id the layer's next), with its status",
            body=request_body(bodies["add"], "the venue's properties and where it is", {
                "found": {"base": 1, "lon": EXAMPLE_POINT[0], "lat": EXAMPLE_POINT[1],
                          "properties": {"name": "街边新开的小超市", "category": NINE_SMALL,
                                         "kind": "小商店", "address": "经四路12号"}}}),
            parameters=[IDEMPOTENCY_KEY], error_codes=(400, 401, 403, 409, 422),
            description=common.format(ADD_REASON) + " Checked by the catalogue as an import "
            "is (400 with its reasons in Chinese): outside the sub-district, a kind of the "
            "other category, a blank name."),
        "/api/venues/{venue_id}/closure": operation(
            TAG, "closeVenue", "Mark a venue closed (已停业)", method="post",
            security=WRITER, parameters=[venue_id, IDEMPOTENCY_KEY], ok=edited,
            ok_description="closed: the venue with closed_on and the status 已停业",
            body=request_body(bodies["closure"], "since when, and why", {
                "closed": {"base": 1, "date": "2026-11-20", "reason": "店面已转让"}}),
            error_codes=(400, 401, 403, 404, 409, 422),
            description=common.format(CLOSE_REASON) + " A closed venue stays in the layer "
            "(its records too) and is on no list of work (overdue, due, hazards); a venue "
            "closed already is 409."),
        "/api/venues/{venue_id}/reopening": operation(
            TAG, "reopenVenue", "Reopen a closed venue (恢复营业)", method="post",
            security=WRITER, parameters=[venue_id, IDEMPOTENCY_KEY], ok=edited,
            ok_description="reopened: the venue without closed_on, its status from its "
                           "records again",
            body=request_body(bodies["reopening"], "why", {
                "reopened": {"base": 2, "reason": "重新开业"}}),
            error_codes=(400, 401, 403, 404, 409, 422),
            description=common.format(REOPEN_REASON) + " A venue that is not closed is 409."),
        "/api/venues/{venue_id}/position": operation(
            TAG, "moveVenue", "Correct a venue's position", method="post",
            security=WRITER, parameters=[venue_id, IDEMPOTENCY_KEY], ok=edited,
            ok_description="moved: the venue where it is now",
            body=request_body(bodies["position"], "where it really is, and why", {
                "moved": {"base": 1, "lon": EXAMPLE_POINT[0], "lat": EXAMPLE_POINT[1],
                          "reason": "门牌在路对面"}}),
            error_codes=(400, 401, 403, 404, 409, 422),
            description=common.format(MOVE_REASON) + " The position must lie inside the "
            "sub-district (400 otherwise)."),
    }


def with_photos(body: Schema) -> Schema:
    """A record's request body as JSON, or as multipart with photos (photo_routes.py)."""
    multipart = obj({
        "record": string("the record: the same JSON object as the application/json body, "
                         "as text (text that is not a JSON object is 400)",
                         pattern=r"^\s*\{[\s\S]*\}\s*$"),
        "photo": array(string(format="binary"), f"0 to {MAX_PHOTOS} photos (JPEG, PNG or "
                       f"WebP, at most {MAX_PHOTO_BYTES // 1024 // 1024} MB each), checked by "
                       "decoding: not an image, truncated, too large or a decompression bomb "
                       "is refused (400, 413) and nothing is stored", maxItems=MAX_PHOTOS),
    }, required=["record"])
    return {**body, "content": {**body["content"], "multipart/form-data": {
        "schema": multipart, "encoding": {"photo": {"contentType": ", ".join(FORMATS.values())}}}}}


def _photo_paths() -> dict[str, Schema]:
    image = {media_type: {"schema": string(format="binary")} for media_type in FORMATS.values()}
    photo_id = path_param("photo_id", integer(minimum=1), "the photo's id (a record's `photos`)")
    common = ("Only for a logged-in user (401 otherwise): photos are never on the public maps "
              "or APIs. The ETag is the image's SHA-256; If-None-Match answers 304.")
    return {
        "/api/photos/{photo_id}": operation(
            TAG, "getPhoto", "A record's photo, full size", security=INSPECTOR,
            parameters=[photo_id], ok=image, error_codes=(401, 404),
            ok_description="the image as stored: upright, without metadata",
            description=common),
        "/api/photos/{photo_id}/thumb": operation(
            TAG, "getPhotoThumb", "A record's photo as a thumbnail", security=INSPECTOR,
            parameters=[photo_id], ok={"image/jpeg": {"schema": string(format="binary")}},
            error_codes=(401, 404),
            ok_description=f"JPEG, at most {THUMB_PX} px on the longest side",
            description=common),
    }


def inspect_section(catalogue: Sequence[Layer]) -> Section:
    bodies = _bodies()
    written = json_content(ref("Written"))
    geojson = "application/geo+json"
    collection = {
        "type": enum(["FeatureCollection"]), "total": COUNT,
    }
    paths = {
        "/api/me": operation(
            TAG, "getCurrentUser", "Who is logged in",
            security=[{}, *INSPECTOR],
            ok=json_content(obj({"user": nullable(ref("User"))})), error_codes=(),
            description="`user` is null when nobody is logged in."),
        "/api/nearby": operation(
            TAG, "getNearby", "Features near a point, nearest first",
            parameters=[
                *_point_params(required=True),
                query("layer", {**enum(NEARBY_LAYERS), "default": NEARBY_LAYERS[0]},
                      "the layer to search"),
                query("radius_m", number(minimum=0, exclusiveMinimum=True,
                                         maximum=MAX_RADIUS_M, default=DEFAULT_RADIUS_M),
                      "search radius in metres"),
                query("limit", integer(minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT),
                      "features to return at most (total counts all within the radius)"),
                query("offset", integer(minimum=0, maximum=MAX_OFFSET, default=0),
                      "skip this many of the nearest: the next page starts at the number of "
                      "features already fetched (pages of one order: by distance, then id)"),
                query("kind", array(enum(_kinds(catalogue)), minItems=1),
                      "kinds of the layer, comma-separated (any of them); venues also take "
                      f"{' or '.join(KIND_GROUPS)} for all their kinds; garbage has none",
                      explode=False),
                query("status", array(enum(STATUS_FILTERS), minItems=1),
                      "venues only, comma-separated (any of them): due (next inspection "
                      f"within {DUE_SOON_DAYS} days), overdue (not inspected within its "
                      "interval), hazard (a hazard open), late (a hazard open past its "
                      "deadline: 超期未整改)", explode=False),
            ],
            ok=json_content(obj({
                **collection,
                "features": array(ref("NearbyFeature"), "each with the layer's properties "
                                  "(venues with their live status) and distance_m, "
                                  "bearing_deg, direction"),
                "query": obj({"point": ref("QueryPoint"), "layer": enum(NEARBY_LAYERS),
                              "radius_m": number(), "limit": integer(),
                              "offset": integer(minimum=0),
                              "kind": nullable(array(string())),
                              "status": array(enum(STATUS_FILTERS))}),
                "layer_version": integer("the layer's version (an edit's base)", minimum=0),
            }), geojson),
            description="Points must lie in Jinan: missing or non-numeric lon/lat, swapped "
                        "axes or metres are 400 with a message saying which."),
        "/api/locate": operation(
            TAG, "locatePoint", "The community and grid cell a point lies in",
            parameters=_point_params(required=True),
            ok=json_content(obj({
                "point": ref("QueryPoint"),
                "inside": {"type": "boolean", "description": "inside the sub-district"},
                "community": obj({"id": string(), "name": string()}, nullable=True),
                "grid": obj({"id": string(), "name": string(), "code": string(),
                             "community": string()}, nullable=True),
                "distance_to_boundary_m": nullable(number(
                    "how far outside the sub-district (m); null inside", minimum=0)),
            }))),
        "/api/overdue": operation(
            TAG, "getOverdueVenues", "Venues not inspected within their interval (逾期未检), "
            "or with a hazard open past its deadline (超期未整改)",
            parameters=[*_point_params(required=False),
                        query("of", enum(OVERDUE_LISTS), "inspection (default: 逾期未检) or "
                              "rectification (超期未整改)")],
            ok=json_content(obj({
                **collection,
                "features": array(ref("OverdueVenue"), "nearest first from the point (with "
                                  "distance_m, bearing_deg, direction), else the longest "
                                  "overdue first"),
                "query": obj({"point": nullable(ref("QueryPoint")),
                              "of": enum(OVERDUE_LISTS)}),
            }), geojson),
            description="Give lon and lat (and crs) to sort by distance; one without the "
                        "other is 400."),
        "/api/venues/{venue_id}/history": operation(
            TAG, "getVenueHistory", "A venue with its status, inspections and open hazards",
            parameters=[path_param("venue_id", string(), "the venue's id",
                                   example=EXAMPLE_VENUE)],
            ok=json_content(obj({
                "venue": ref("InspectedVenue"),
                "inspections": array(ref("Inspection"), "newest first (the latest 50)"),
                "inspection_count": COUNT,
                "open_hazards": array(ref("Hazard"), "立案 or 整改中"),
                "layer_version": integer("the venues layer's version (an edit's base)",
                                         minimum=0),
            })), error_codes=(404,),
            description="Account names (an inspection's recorded_by, a hazard step's actor) "
                        "are only given to a logged-in user."),
        "/api/inspections": operation(
            TAG, "recordInspection", "Record an inspection (inspector)", method="post",
            security=WRITER, ok_status=201, ok=written,
            ok_description="stored: the record and the venue's new status",
            body=with_photos(request_body(bodies["inspection"], "an inspection; hazards found "
                              "are filed (立案); with photos as multipart", {
                                  "passed": {"venue_id": "V0001", "inspector": "张伟",
                                             "result": "合格"},
                                  "hazard": {"venue_id": "V0002", "date": "2026-11-20",
                                             "inspector": "张伟", "result": "发现隐患",
                                             "hazards": [{"category": HAZARD_CATEGORIES[0],
                                                          "description": "灭火器过期",
                                                          "deadline": "2026-12-10"}]}})),
            parameters=[IDEMPOTENCY_KEY], error_codes=(400, 401, 403, 409, 413, 422),
            description="A record that fails validation is 400 and stores nothing; on a "
                        "venue marked closed (已停业, `closed_on`) it is 409 (reopen it "
                        "first: POST /api/venues/{venue_id}/reopening)."),
        "/api/rechecks": operation(
            TAG, "recordRecheck", "Record a re-check (复查) that closes hazards (inspector)",
            method="post", security=WRITER, ok_status=201, ok=written,
            ok_description="stored: the re-check inspection and the venue's new status",
            body=with_photos(request_body(bodies["recheck"], "a re-check of a venue's hazards "
                              "under rectification; with photos as multipart", {
                                  "closes": {"venue_id": EXAMPLE_VENUE, "inspector": "张伟",
                                             "closed": [EXAMPLE_RECTIFYING_HAZARD]}})),
            parameters=[IDEMPOTENCY_KEY], error_codes=(400, 401, 403, 409, 413, 422),
            description="409 when the venue has no hazard in 整改中, or a hazard listed is "
                        "not in 整改中, or the venue is marked closed (已停业)."),
        "/api/hazards/{hazard_id}/status": operation(
            TAG, "startRectification", "Move a hazard from 立案 to 整改中 (inspector)",
            method="post", security=WRITER, ok_status=201,
            parameters=[path_param("hazard_id", string(), "the hazard's id",
                                   example=EXAMPLE_FILED_HAZARD), IDEMPOTENCY_KEY],
            ok=json_content(obj({"ok": OK_TRUE, "hazard": ref("Hazard"),
                                 "venue": ref("InspectedVenue")})),
            ok_description="moved: the hazard with its events, and its venue",
            body=with_photos(request_body(bodies["hazard_status"], "the new status; with "
                                          "photos of the step as multipart",
                                          {"rectifying": {"status": "整改中"}})),
            error_codes=(400, 401, 403, 404, 409, 413, 422),
            description="409 when the hazard is not in 立案."),
        "/api/inspections/{inspection_id}/corrections": operation(
            TAG, "correctInspection", "Void an inspection, or correct its date, venue, result "
            "or note, with a reason (its author within 24 h, or an admin)", method="post",
            security=WRITER, ok_status=201, ok=written,
            ok_description="corrected: the record with its corrections, and its venue",
            parameters=[path_param("inspection_id", string(), "the inspection's id",
                                   example=EXAMPLE_INSPECTION), IDEMPOTENCY_KEY],
            body=request_body(bodies["correction"], "what to correct, or void: true; and "
                              "why", {"note": {"reason": "备注写错", "note": "店主在场"}}),
            error_codes=(400, 401, 403, 404, 409, 413, 422),
            description="Nothing is deleted: each correction is kept (old and new values, "
                        "who, when, why) and audited. 403: another user's record, or after "
                        "24 h (not an admin). 400: no reason, an unknown field, a date in the "
                        "future, an unknown venue, a correction that changes nothing. 409: "
                        "the record is void; or voiding it (or correcting its result or "
                        "venue) would orphan a later step of the hazards it filed. Voiding "
                        "a re-check reopens the hazards it closed (整改中)."),
        **_photo_paths(),
        **_venue_paths(),
    }
    return Section(
        TAG, "The inspectors' API: nearby features, where a point is, overdue venues, a "
             "venue's history, and recording inspections (log in as an inspector first)",
        paths, _schemas(catalogue))
