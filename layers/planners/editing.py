"""What the overview's editor (static/js/map-edit.js) needs, for those who may edit
layers (catalogue ROUTE_GROUPS "layer_edit": admins): each layer's fields from the
catalogue, so that the form is built from the same schema that checks the edit, and
the OGC API - Features Part 4 URL the edits go to (layers/ogc/routes.py)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from layers.accounts.access import may_use
from layers.catalogue.entries import Field, get_layer
from layers.stores.interfaces import Layers

PLACEHOLDER = "__layer__"


def field_config(f: Field) -> dict[str, Any]:
    return {"name": f.name, "label": f.label, "type": f.type, "required": f.required,
            "choices": list(f.choices), "unit": f.unit, "minimum": f.minimum,
            "pattern": f.pattern, "maxLength": f.max_length}


def edit_config(store: Layers) -> dict[str, Any] | None:
    """The editor's configuration; None for users who may not edit (no editor)."""
    if not may_use("ogc.create_item"):
        return None
    layers = []
    for name in store.names():
        layer = get_layer(name)
        layers.append({"name": name, "title": layer.title, "geometry": layer.geometry,
                       "fields": [field_config(f) for f in layer.fields]})
    return {"items": url_for("ogc.items", collection_id=PLACEHOLDER),
            "placeholder": PLACEHOLDER, "layers": layers}
