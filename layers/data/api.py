"""JSON / GeoJSON API over the layer store."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from layers.errors import BadRequest
from layers.geo.clusters import cluster_collection, live_positions, parse_zoom
from layers.stores.layers import feature_collection, parse_bbox
from layers.web.context import get_spatial, get_store, live_properties

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
        features = get_spatial().in_bbox(name, parse_bbox(bbox))
        collection = feature_collection(features, live_properties(loaded, features))
    else:
        collection = loaded.collection(None, live_properties(loaded))
    collection["name"] = loaded.name
    return geojson(collection)


@bp.get("/layers/<name>/clusters")
def layer_clusters(name: str) -> Response:
    """A point layer in a bbox at a zoom: clusters with counts, or the features when few."""
    loaded = get_store().get(name)
    if loaded.clusters is None:
        raise BadRequest(f"layer {name} is not a point layer: only point layers cluster")
    bbox = request.args.get("bbox")
    if bbox is None:
        raise BadRequest("bbox is missing: minx,miny,maxx,maxy (lon/lat, WGS84), the map's view")
    view = loaded.clusters.view(parse_bbox(bbox), parse_zoom(request.args.get("zoom")))
    shown = [loaded.features[i] for i in live_positions(view)]
    collection = cluster_collection(view, loaded.features, live_properties(loaded, shown))
    collection["name"] = loaded.name
    return geojson(collection)


def geojson(collection: dict[str, Any]) -> Response:
    response = jsonify(collection)
    response.mimetype = "application/geo+json"
    return response
