"""JSON endpoints of the spatial summaries and exports (see analysis.py, view_export.py)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request
from shapely.geometry import mapping

from layers.errors import BadRequest
from layers.planners import analysis, view_export
from layers.planners.analysis import LINE_TYPES
from layers.web import params
from layers.web.context import GEOJSON_MEDIA_TYPE, get_store, json_body, live_properties, today

bp = Blueprint("analysis", __name__, url_prefix="/api")


def _venue_statuses() -> dict[str, Any]:
    return live_properties(get_store().get("venues")) or {}


@bp.post("/summary")
def summary_of_area():
    """What lies inside a drawn polygon (GeoJSON Polygon or MultiPolygon, WGS84)."""
    area = analysis.read_geometry(json_body())
    summary = analysis.summarize(get_store(), area.metric, _venue_statuses())
    return jsonify({"community": None, "geometry": mapping(area.geometry), **summary})


@bp.get("/summary")
def summary_of_community():
    """What lies inside a community: `?community=name`, or the one at `?lon=&lat=`."""
    store = get_store()
    if "community" in request.args:
        position = analysis.community_position(store, request.args["community"])
    elif "lon" in request.args and "lat" in request.args:
        position = analysis.community_at(store, *params.lon_lat(request.args))
    else:
        raise BadRequest("请指定社区 (give ?community=name or ?lon=..&lat=.., or POST a "
                         "GeoJSON polygon)")
    return jsonify(analysis.community_summary(store, position, _venue_statuses()))


@bp.post("/measure")
def measure():
    """Length of a line, area and perimeter of a polygon, in EPSG:4548 metres."""
    area = analysis.read_geometry(json_body(), analysis.AREA_TYPES + LINE_TYPES)
    return jsonify(analysis.measure(area))


@bp.get("/choropleth")
def choropleth():
    """Each community's value of `?indicator=`, with equal-interval classes and colours."""
    key = request.args.get("indicator")
    if not key:
        raise BadRequest("请指定指标 (indicator is required: "
                         f"{', '.join(i.key for i in analysis.INDICATORS)})")
    return jsonify(analysis.choropleth(get_store(), key, _venue_statuses()))


@bp.get("/coverage")
def coverage():
    """Garbage points' 100 m walking radius and the 1 km reading circles, with shares."""
    return jsonify(analysis.coverage(get_store()))


@bp.get("/export")
def export_features():
    """The chosen layers (`?layers=a,b&community=&bbox=&format=geojson|csv`) as a download."""
    store = get_store()
    fmt = request.args.get("format", "geojson")
    if fmt not in view_export.FORMATS:
        formats = ", ".join(view_export.FORMATS)
        raise BadRequest(f"未知格式 {fmt!r} (format must be one of: {formats})")
    selection = view_export.parse_selection(request.args, store)
    rows = view_export.selected_features(store, selection, live_properties)
    filename = f"zhongda-huaishu-{today().isoformat()}.{fmt}"
    if fmt == "csv":
        body = view_export.to_csv(rows, [store.get(n) for n in selection.layers])
        mimetype = "text/csv"
    else:
        body = json.dumps(view_export.to_geojson(rows), ensure_ascii=False)
        mimetype = GEOJSON_MEDIA_TYPE
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
