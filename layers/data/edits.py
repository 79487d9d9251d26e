"""Single-feature edits of a layer: create, replace, update (merge) or delete one
feature, each a new version of the layer (layers/stores/versions.py), checked by the
catalogue as an import is. The OGC API - Features Part 4 routes (layers/ogc/routes.py)
call it; no Flask here.

An edit names the version it was made on (`base`, from the client's If-Match, else
the version it read). Conflicts are per feature: when the layer moved on in between,
the edit is refused with 409 (naming both versions and what changed) only if a version
after `base` added, removed or changed the edited feature itself (read from the
versions' change lists); else it is applied on the head, as one new version. It is
never applied over someone else's change of the same feature. This is the one place
of that rule: the admins' map and OGC API - Features Part 4 (If-Match) and the
inspectors' venue edits all come here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import shapely
from shapely.geometry import shape

from layers.catalogue.entries import Layer, get_layer
from layers.catalogue.validate import ValidFeature, validate_collection
from layers.data.importer import COMPUTED_COLUMNS, outside_of
from layers.errors import BadRequest, Conflict, NotFound
from layers.geo.crs import to_metric
from layers.records.idempotency import Once, answered
from layers.stores.interfaces import Layers
from layers.stores.layers import LoadedLayer
from layers.stores.versions import (
    Change,
    Feature,
    StaleVersion,
    Version,
    VersionedLayers,
    raw_features,
    stored_feature,
)

OPERATIONS = ("create", "replace", "update", "delete")
MAX_ID_LENGTH = 200  # a created feature's id (it is a path segment of its URL)
# Edits of different features racing: each re-reads the head and tries again this often.
COMMIT_ATTEMPTS = 8


class EditConflict(Conflict):
    def __init__(self, layer: str, base: int, head: int, changed: list[str],
                 feature: str | None = None, at: int | None = None):
        self.base, self.head, self.changed = base, head, changed
        self.feature, self.at = feature, at
        if base > head:  # a version this layer never had (an If-Match made up, or of
            super().__init__(  # another database): nothing "changed since" it
                f"图层「{layer}」没有版本 {base},当前为版本 {head},您的修改未保存;请重新读取"
                f"后再改 (layer {layer} has no version {base}; it is at version {head})")
            return
        shown = "、".join(changed[:20]) + (" 等" if len(changed) > 20 else "")
        mine = (f"要素 {feature} 已在版本 {at} 被修改;" if feature and at else "")
        super().__init__(
            f"{mine}图层「{layer}」已从版本 {base} 更新到版本 {head}(变动的要素:{shown or '无'}),"
            f"您的修改未保存;请重新读取后再改 (layer {layer} is at version {head}, your edit "
            f"was made on version {base}" + (f"; feature {feature} changed in version {at})"
                                              if feature and at else ")"))


def edit_feature(history: VersionedLayers, current: Layers, layer_name: str, operation: str,
                 feature_id: str | None, body: Any, base: int | None, actor: str,
                 reason: str | None = None, once: Once | None = None) -> tuple[Version, str]:
    """Apply one edit as a new version; (the version, the feature's id). `reason`: why,
    in the version's record (default: what, e.g. 新增要素 V0354). `once`: its
    Idempotency-Key, claimed with the version (see `earlier_edit`)."""
    for _ in range(COMMIT_ATTEMPTS):
        try:
            return _edit_on_head(history, current, layer_name, operation, feature_id, body,
                                 base, actor, reason, once)
        except _HeadMoved as moved:  # another edit committed since we read: the rule
            if base is None:         # again, on the new head (no If-Match: on what we read)
                base = moved.read
    number = history.heads().get(layer_name, 0)
    raise _conflict(history, layer_name, base if base is not None else number, number)


def earlier_edit(history: VersionedLayers, layer: str, once: Once | None
                 ) -> tuple[Version, str, str] | None:
    """The answer of the first attempt of an edit with this Idempotency-Key: (its version,
    the feature's id, its reason); None when the key answered nothing yet. Asked before
    the edit is checked (a retry of a closure that went through must not be told the
    venue is closed already) and again when it is refused (the first attempt may have
    committed meanwhile). 422 when the key came with another request."""
    if once is None:
        return None
    result = answered(history.key_row(once.user, once.key), once)
    if result is None:
        return None
    return (history.version(layer, int(result["version"])), str(result["feature"]),
            str(result["reason"]))


class _HeadMoved(Exception):
    def __init__(self, read: int):
        super().__init__(read)
        self.read = read


def _edit_on_head(history: VersionedLayers, current: Layers, layer_name: str,
                  operation: str, feature_id: str | None, body: Any, base: int | None,
                  actor: str, reason: str | None, once: Once | None
                  ) -> tuple[Version, str]:
    layer = get_layer(layer_name)
    head = _head(history, current, layer)
    number = head.version
    if base is not None and base != number:
        _check_untouched(history, layer_name, operation, feature_id, base, number)
    if operation == "delete":
        fid, _ = _existing(layer_name, feature_id, head)
        change = Change([], [fid])
    else:
        incoming = _feature(body)
        if operation == "create":
            fid = _new_id(incoming.get("id"), head.ids)
            if head.position(fid) is not None:
                raise Conflict(f"图层「{layer_name}」已有编号为 {fid} 的要素 (feature {fid} "
                               "exists already)")
            edited = {"type": "Feature", "id": fid,
                      "properties": _own(layer, incoming["properties"]),
                      "geometry": incoming["geometry"]}
        else:
            fid, at = _existing(layer_name, feature_id, head)
            old = stored_feature(head, at)
            if incoming.get("id") not in (None, fid):
                raise BadRequest(f"要素编号不能修改:{incoming.get('id')!r} ≠ {fid!r} (the id "
                                 "of a feature cannot change)")
            if operation == "replace":
                properties = _own(layer, incoming["properties"])
                geometry = incoming["geometry"]
            else:  # update: a merge; a property set to null is removed
                properties = {**old["properties"], **_own(layer, incoming.get("properties") or {})}
                known = {f.name for f in layer.fields}  # an unknown one stays, to be refused
                properties = {k: v for k, v in properties.items()
                              if v is not None or k not in known}
                geometry = incoming.get("geometry") or old["geometry"]
            edited = {"type": "Feature", "id": fid, "properties": properties,
                      "geometry": geometry}
        change = Change([_checked(layer_name, edited, current)])
    if layer_name == "boundary":
        _holds_the_other_layers(_after(head, change), current)
    verb = {"create": "新增", "replace": "替换", "update": "修改", "delete": "删除"}[operation]
    try:
        made = history.commit_change(head, change, actor, reason or f"{verb}要素 {fid}",
                                     summary={"feature": fid, "operation": operation},
                                     once=once)
    except StaleVersion:  # another edit committed since we read
        raise _HeadMoved(number) from None
    if once is not None and once.result is not None:  # a retry its first attempt answered
        return made or history.version(layer_name, number), str(once.result["feature"])
    if made is None:  # an edit that changes nothing: the current version stands
        return history.version(layer_name, number), fid
    return made, fid


def _head(history: VersionedLayers, current: Layers, layer: Layer) -> LoadedLayer:
    """The layer at its head version: the one this server serves when it is the head,
    else that one brought up to the head (layers/stores/versions.py `advanced`)."""
    serving = current.get(layer.name)
    head = history.heads().get(layer.name)
    if head is None:
        raise NotFound(f"图层「{layer.name}」在数据库中还没有数据 (layer {layer.name} has no "
                       "version in the database)")
    if serving.version == head:
        return serving
    return history.advanced(serving, head)


def _after(head: LoadedLayer, change: Change) -> list[Feature]:
    """The features as stored once `change` is applied (a small layer's: the boundary)."""
    features = [stored_feature(head, i) for i in range(len(head))]
    written = {f["id"]: f for f in raw_features(change.upserts)}
    features = [written.pop(f["id"], f) for f in features if f["id"] not in change.removed]
    return features + list(written.values())


def _holds_the_other_layers(boundary: list[Feature], current: Layers) -> None:
    """An edit of the boundary, as an import of it, must leave the sub-district's other
    layers inside it (and leave a boundary at all)."""
    if not boundary:
        raise Conflict("街道辖区边界不能删除:其他图层都须位于辖区以内 (the boundary layer "
                       "cannot be left empty)")
    metric = shapely.union_all([to_metric(shape(f["geometry"]))
                                for f in boundary])
    outside = outside_of(metric, current, most=5)
    if outside:
        shown = "、".join(f"{layer.title} {fid}" for layer, fid in outside[:10])
        raise Conflict(f"按此边界,{shown} 等要素将位于辖区以外,修改未保存 (with this boundary, "
                       f"{len(outside)}+ feature(s) of other layers would lie outside it)")


def next_id(ids: list[str]) -> str:
    """The next id in the layer's own pattern (V0353 -> V0354), else a number."""
    best: tuple[str, int, int] | None = None
    for fid in ids:
        m = re.fullmatch(r"(.*?)(\d+)", fid)
        if m and (best is None or int(m.group(2)) > best[1]):
            best = (m.group(1), int(m.group(2)), len(m.group(2)))
    if best is None:
        return str(len(ids) + 1)
    prefix, number, width = best
    candidate = number + 1
    taken = set(ids)
    while f"{prefix}{candidate:0{width}d}" in taken:
        candidate += 1
    return f"{prefix}{candidate:0{width}d}"


def _check_untouched(history: VersionedLayers, layer: str, operation: str,
                     feature_id: str | None, base: int, head: int) -> None:
    """The per-feature rule: an edit made on `base` goes onto `head` unless a version in
    between touched the edited feature (409: both versions and what changed). A created
    feature is new whatever happened since (an id given that exists is refused later)."""
    try:
        touched = history.touched_since(layer, base, head)
    except NotFound:  # base is no version of this layer before head
        raise _conflict(history, layer, base, head) from None
    if operation != "create" and feature_id in touched:
        raise _conflict(history, layer, base, head, feature_id, touched[feature_id])


def _conflict(history: VersionedLayers, layer: str, base: int, head: int,
              feature: str | None = None, at: int | None = None) -> EditConflict:
    try:
        changed = list(history.touched_since(layer, base, head))
    except NotFound:
        changed = []
    return EditConflict(layer, base, head, changed, feature, at)


def _new_id(given: Any, ids: list[str]) -> str:
    """A created feature's id: the one given (text without / ? #, or an integer), else
    (null or absent) the layer's next."""
    if given is None:
        return next_id(ids)
    if isinstance(given, bool) or not isinstance(given, str | int) or (
            isinstance(given, str) and (not given.strip() or len(given) > MAX_ID_LENGTH
                                        or re.search(r"[/?#]", given))):
        raise BadRequest(f"要素编号 id 须为不含 / ? # 的文本(至多 {MAX_ID_LENGTH} 字)或整数,"
                         f"而不是 {str(given)[:40]!r} (id must be text without / ? # of at "
                         f"most {MAX_ID_LENGTH} characters, or an integer)")
    return str(given)


def _existing(layer: str, feature_id: str | None, head: LoadedLayer) -> tuple[str, int]:
    """The id of a feature the layer has, and its position; else 404."""
    at = None if feature_id is None else head.position(feature_id)
    if feature_id is None or at is None:
        raise NotFound(f"集合 {layer} 中没有要素 {feature_id!r} (collection {layer} has no "
                       f"feature {feature_id!r})")
    return feature_id, at


def _feature(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise BadRequest("请求体必须是一个 GeoJSON 要素 (Feature) (send one GeoJSON Feature)")
    properties = body.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise BadRequest("要素属性 properties 必须是对象 (properties must be an object)")
    geometry = body.get("geometry")
    if geometry is not None and not isinstance(geometry, dict):
        raise BadRequest("要素几何 geometry 必须是 GeoJSON 几何对象 (geometry must be a GeoJSON "
                         "object)")
    return {**body, "properties": properties or {}, "geometry": geometry}


def computed_columns(layer: Layer) -> list[str]:
    """The properties the service computes that an edit may send and that are dropped
    (measures, a venue's live statuses), but not a field of the layer's own of the same
    name (a parcel's stored status)."""
    own = {f.name for f in layer.fields}
    return sorted(COMPUTED_COLUMNS - own)


def _own(layer: Layer, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties a client may set: the ones the service computes are dropped."""
    dropped = set(computed_columns(layer))
    return {k: v for k, v in properties.items() if k not in dropped}


def _label(layer: Layer, name: str | None) -> str:
    if not name:
        return "要素"
    return {"id": "编号", "geometry": "几何"}.get(name) or layer.label(name)


def _checked(layer_name: str, feature: Feature, current: Layers) -> ValidFeature:
    """The feature, once the catalogue finds it valid; else 400 listing why."""
    layer = get_layer(layer_name)
    boundary = None
    if layer.inside_boundary:
        fence = current.get("boundary")
        boundary = shapely.union_all(fence.metric) if len(fence) else None
    valid, problems = validate_collection(
        layer, {"type": "FeatureCollection", "features": [feature]}, "要素", boundary)
    if problems:
        reasons = ";".join(
            f"{_label(layer, p.field)}{f' [{p.field}]' if p.field else ''}"
            f":{p.message}" for p in problems)
        raise BadRequest(f"要素不符合图层「{layer.title}」的要求,未保存:{reasons} "
                         "(the feature is not valid for this layer)")
    return valid[0]
