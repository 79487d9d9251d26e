"""Exports of what a map shows: chosen layers, filtered by community and view.

GeoJSON keeps every property (plus `layer`); CSV has one row per feature,
Chinese column labels, lists joined with 、, booleans as 是/否, and for lines
and polygons the lon/lat of a point on the feature. CSV is written as UTF-8
with a byte-order mark, so that spreadsheet programs read the Chinese text,
and cells that a spreadsheet would take for a formula are quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely

from layers.catalogue.entries import MEASURE_LABELS
from layers.catalogue.live import shown_live_properties
from layers.catalogue.styles import SHARED_LABELS, community_field, field_label
from layers.data.tables import cell_text
from layers.errors import BadRequest
from layers.stores.interfaces import Layers
from layers.stores.layers import LoadedLayer
from layers.web import params

FORMATS = ("geojson", "csv")

# Live properties of a layer by feature id, or None (see web.live_properties).
LiveLookup = Callable[[LoadedLayer], Mapping[str, Mapping[str, Any]] | None]


@dataclass(frozen=True)
class Selection:
    layers: tuple[str, ...]
    community: str | None = None
    bbox: tuple[float, float, float, float] | None = None


def parse_selection(args: Mapping[str, str], store: Layers) -> Selection:
    """`layers=a,b`, optional `community=` and `bbox=`; BadRequest naming what is wrong."""
    names = tuple(n for n in (args.get("layers") or "").split(",") if n)
    if not names:
        raise BadRequest(f"请选择要导出的图层 (layers is required: a comma-separated list of "
                         f"{', '.join(store.names())})")
    unknown = [n for n in names if n not in store.names()]
    if unknown:
        raise BadRequest(f"未知图层 {', '.join(unknown)} (layers are: {', '.join(store.names())})")
    community = args.get("community") or None
    known = community_names(store)
    if community is not None and community not in known:
        raise BadRequest(f"未知社区 {community!r} (communities: {'、'.join(known)})")
    bbox = params.bbox(args["bbox"]) if args.get("bbox") else None
    ordered = tuple(n for n in store.names() if n in names)  # the catalogue's order
    return Selection(ordered, community, bbox)


def community_names(store: Layers) -> list[str]:
    return [f["properties"]["name"] for f in store.get("communities").features]


def selected_positions(loaded: LoadedLayer, selection: Selection) -> list[int]:
    """Positions of the layer's features in the view and the community, in layer order.

    Layers that belong to no community (the boundary, roads) are not filtered by it.
    """
    positions = (loaded.in_bbox(selection.bbox) if selection.bbox is not None
                 else list(range(len(loaded))))
    key = community_field(loaded.layer)
    if selection.community is None or key is None:
        return positions
    return [i for i in positions
            if loaded.features[i]["properties"].get(key) == selection.community]


def selected_features(store: Layers, selection: Selection, live: LiveLookup
                      ) -> list[tuple[LoadedLayer, dict[str, Any]]]:
    """(layer, GeoJSON Feature with live properties) for every selected feature."""
    out = []
    for name in selection.layers:
        loaded = store.get(name)
        collection = loaded.collection(selected_positions(loaded, selection), live(loaded))
        out += [(loaded, f) for f in collection["features"]]
    return out


def to_geojson(rows: Sequence[tuple[LoadedLayer, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [{**f, "properties": {"layer": loaded.name, **f["properties"]}}
                     for loaded, f in rows],
    }




def columns(layers: Sequence[LoadedLayer]) -> list[tuple[str, str]]:
    """(property, Chinese label) of every column after 图层 and 编号, in a stable order.

    A property of several layers is one column; where the layers label it
    differently, it takes a shared label (名称 rather than 场所名称), or all of them.
    """
    labels: dict[str, set[str]] = {}
    for loaded in layers:
        layer = loaded.layer
        names = [f.name for f in layer.fields] + [f.name for f in shown_live_properties(layer)]
        names += [m for m in MEASURE_LABELS if m not in names and _has_measure(loaded, m)]
        for name in names:
            labels.setdefault(name, set()).add(field_label(layer, name))
    return [(name, next(iter(found)) if len(found) == 1
             else SHARED_LABELS.get(name, "/".join(sorted(found))))
            for name, found in labels.items()]


def _has_measure(loaded: LoadedLayer, name: str) -> bool:
    return bool(loaded.features) and name in loaded.features[0]["properties"]


def to_csv(rows: Sequence[tuple[LoadedLayer, dict[str, Any]]],
           layers: Sequence[LoadedLayer]) -> str:
    cols = columns(layers)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["图层", "编号", *(label for _, label in cols), "经度", "纬度"])
    for loaded, feature in rows:
        props = feature["properties"]
        point = shapely.point_on_surface(shapely.geometry.shape(feature["geometry"]))
        writer.writerow([
            loaded.layer.title,
            cell_text(feature["id"]),
            *(cell_text(props.get(name)) for name, _ in cols),
            f"{point.x:.7f}",
            f"{point.y:.7f}",
        ])
    return "\ufeff" + out.getvalue()


