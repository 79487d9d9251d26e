"""JSON / GeoJSON API over the layer store."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from .store import feature_collection, parse_bbox
from .web import get_spatial, get_store, live_properties

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/layers")
def list_layers():
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
def layer_features(name: str):
    loaded = get_store().get(name)
    bbox = request.args.get("bbox")
    live = live_properties(loaded)
    if bbox is not None:  # a spatial query: the configured store (STRtree or PostGIS)
        features = get_spatial().in_bbox(name, parse_bbox(bbox))
        collection = feature_collection(features, live)
    else:
        collection = loaded.collection(None, live)
    collection["name"] = loaded.name
    response = jsonify(collection)
    response.mimetype = "application/geo+json"
    return response
