"""JSON / GeoJSON API over the layer store."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from layers.errors import BadRequest
from layers.geo.clusters import MAX_REQUEST_ZOOM, cluster_collection, live_positions
from layers.stores.layers import feature_collection
from layers.web import params
from layers.web.context import geojson_response, get_spatial, get_store, live_properties

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/layers")
def list_layers() -> Response:
    return jsonify({
        "layers": [
            {
                "name": loaded.name,
                "title": loaded.layer.title,
                "group": loaded.layer.group,
                "geometry": loaded.layer.geometry,
                "description": loaded.layer.description,
                "count": len(loaded),
                "bbox": loaded.bbox,
            }
            for loaded in get_store()
        ]
    })


@bp.get("/layers/<name>")
def layer_features(name: str) -> Response:
    loaded = get_store().get(name)
    bbox = request.args.get("bbox")
    if bbox is not None:  # a spatial query: the configured store (STRtree or PostGIS)
        features = get_spatial().in_bbox(name, params.bbox(bbox))
        collection = feature_collection(features, live_properties(loaded, features))
    else:
        collection = loaded.collection(None, live_properties(loaded))
    collection["name"] = loaded.name
    return geojson_response(collection)


@bp.get("/layers/<name>/clusters")
def layer_clusters(name: str) -> Response:
    """A point layer in a bbox at a zoom: clusters with counts, or the features when few."""
    loaded = get_store().get(name)
    if loaded.clusters is None:
        raise BadRequest(f"图层 {name} 不是点图层,不能聚合 (layer {name} is not a point layer: "
                         "only point layers cluster)")
    bbox = request.args.get("bbox")
    if bbox is None:
        raise BadRequest("缺少参数 bbox (bbox is missing: minx,miny,maxx,maxy (lon/lat, WGS84), "
                         "the map's view)")
    zoom = params.number(request.args.get("zoom"), "zoom", minimum=0, maximum=MAX_REQUEST_ZOOM,
                         hint=f"the map's zoom level, from 0 to {MAX_REQUEST_ZOOM}")
    view = loaded.clusters.view(params.bbox(bbox), zoom)
    shown = [loaded.features[i] for i in live_positions(view)]
    collection = cluster_collection(view, loaded.features, live_properties(loaded, shown))
    collection["name"] = loaded.name
    return geojson_response(collection)
