"""The layers' versions: the database is the one truth of every layer.

Each change of a layer (a seed of an empty database, an import, a restore) is one
transaction that adds a version: the features as they are after it (compressed
GeoJSON), who made it, when and why, what it changed (ids added, removed,
changed) and its audit row; the layer's head moves to it. Nothing is rewritten in
place: a restore is a new version equal to an old one. A server killed in the
middle of a change leaves the old version whole (the transaction never commits).

`VersionedLayers` holds the rules; each store keeps the rows with its own SQL
(`layers/stores/embedded/versions.py`, `layers/stores/postgis/versions.py`), in the
database of its records, so that a change and its audit row commit together.
Servers follow the heads (`heads()`, one tiny query) and rebuild a layer whose
head moved (layers/data/reload.py). No Flask here.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import shapely

from layers.catalogue.entries import CATALOGUE, Layer
from layers.catalogue.validate import LayerDataError, Problem, ValidFeature, validate_collection
from layers.errors import ApiError, Conflict, NotFound
from layers.records import audit
from layers.records.idempotency import KeyTable, Once, earlier_result, keep_result
from layers.stores.interfaces import AuditSink
from layers.stores.layers import (
    LayerStore,
    LoadedLayer,
    build_layer,
    read_layer_file,
    validated_once,
)

Feature = dict[str, Any]


@dataclass(frozen=True)
class Version:
    layer: str
    version: int
    at: str  # ISO UTC
    actor: str
    action: str  # the audit action: layer.seed, layer.import, layer.restore, layer.edit
    reason: str
    features: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    fingerprint: str = ""

    def describe(self) -> str:
        """What it changed, in a few words (pages and the CLI)."""
        return f"+{len(self.added)} −{len(self.removed)} ~{len(self.changed)}"


class StaleVersion(Conflict):
    """A change made against a version that is no longer the layer's head."""

    def __init__(self, layer: str, base: int, head: int):
        super().__init__(f"图层「{layer}」已有更新的版本 {head},您的修改基于版本 {base};"
                         f"请刷新后重试 (layer {layer} is at version {head}, not {base})")
        self.base, self.head = base, head


class OlderContent(Conflict):
    """An import or load whose content is that of an older version: it would undo the
    newer ones. A restore says so on purpose."""

    def __init__(self, layer: str, same_as: int, head: int):
        super().__init__(
            f"图层「{layer}」的这些数据与旧版本 {same_as} 相同,而当前版本 {head} 更新;"
            f"未写入。如确要回到旧版本,请使用恢复 (restore) 功能 "
            f"(layer {layer}: this is the content of version {same_as}; version {head} "
            "is newer; nothing was written)")
        self.same_as, self.head = same_as, head


class LayerWriteFailed(ApiError):
    """The database refused or lost the change (disk full, connection gone): nothing of
    it was committed."""

    status = 503

    def __init__(self, layer: str, cause: BaseException):
        super().__init__(f"图层「{layer}」写入数据库失败,图层未改变:{cause} (the database "
                         f"did not take the change; layer {layer} is unchanged)")


class UnknownVersion(NotFound):
    def __init__(self, layer: str, version: int):
        super().__init__(f"图层「{layer}」没有版本 {version} (layer {layer} has no version "
                         f"{version})")


def encode(features: Sequence[Feature]) -> bytes:
    text = json.dumps(list(features), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)
    return zlib.compress(text.encode("utf-8"), 6)


def decode(blob: bytes) -> list[Feature]:
    features: list[Feature] = json.loads(zlib.decompress(blob).decode("utf-8"))
    return features


def fingerprint(features: Sequence[Feature]) -> str:
    text = json.dumps(list(features), sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def diff(old: Sequence[Feature], new: Sequence[Feature]
         ) -> tuple[list[str], list[str], list[str]]:
    """Ids added, removed and changed from `old` to `new` (in `new`'s, `old`'s order)."""
    before = {str(f["id"]): f for f in old}
    after = {str(f["id"]): f for f in new}
    added = [fid for fid in after if fid not in before]
    removed = [fid for fid in before if fid not in after]
    changed = [fid for fid, f in after.items()
               if fid in before and _canonical(before[fid]) != _canonical(f)]
    return added, removed, changed


def _canonical(feature: Feature) -> str:
    return json.dumps(feature, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


class VersionTables(AuditSink, KeyTable, Protocol):
    """One store's rows of the versions, on a connection in a write transaction that
    holds the layers' write lock; it is also the `AuditSink` and the `KeyTable`
    (Idempotency-Key) of that transaction."""

    def head(self, layer: str) -> tuple[int, str] | None:
        """(version, fingerprint) of the layer's head; None: no version yet."""
        ...

    def version_of(self, layer: str, mark: str) -> int | None:
        """The latest version with this fingerprint."""
        ...

    def content(self, layer: str, version: int) -> bytes | None: ...

    def add(self, row: Version, content: bytes) -> None:
        """Insert the version and move the head to it."""
        ...

    def write_current(self, loaded: LoadedLayer) -> None:
        """Make the store's own current tables hold `loaded` (PostGIS: layer_<name>)."""
        ...


class VersionedLayers:
    """The versions of every layer in one database (the rules; SQL in subclasses)."""

    # The store's own errors (and OSError): a change they stop is LayerWriteFailed.
    database_errors: tuple[type[Exception], ...] = (OSError,)

    def writing(self) -> AbstractContextManager[VersionTables]:
        """A write transaction holding the layers' write lock."""
        raise NotImplementedError

    def heads(self) -> dict[str, int]:
        """{layer: head version}: the one small query each server makes once a second."""
        raise NotImplementedError

    def versions(self, layer: str, after: int = 0) -> list[Version]:
        """The layer's versions newer than `after` (all by default), newest first."""
        raise NotImplementedError

    def content(self, layer: str, version: int | None = None) -> tuple[int, bytes] | None:
        """(version, compressed features) of a version, the head by default; None: none."""
        raise NotImplementedError

    def now(self) -> str:
        raise NotImplementedError

    def key_row(self, user: str, key: str) -> dict[str, Any] | None:
        """An Idempotency-Key's row (fingerprint, at, result), read outside a write."""
        raise NotImplementedError

    # ------------------------------------------------------------------ reading
    def version(self, layer: str, number: int) -> Version:
        for row in self.versions(layer, after=number - 1):  # it and the newer ones
            if row.version == number:
                return row
        raise UnknownVersion(layer, number)

    def touched_since(self, layer: str, base: int, head: int) -> dict[str, int]:
        """{feature id: the latest version that added, removed or changed it} over the
        versions after `base` up to `head` (read from their change lists, not their
        content). UnknownVersion when `base` is not a version before `head`."""
        if base > head or base < 1:
            raise UnknownVersion(layer, base)
        touched: dict[str, int] = {}
        for row in self.versions(layer, after=base):
            if row.version <= head:
                for fid in (*row.added, *row.removed, *row.changed):
                    touched.setdefault(fid, row.version)
        return touched

    def features(self, layer: str, version: int | None = None) -> tuple[int, list[Feature]]:
        number, blob = self._content(layer, version)
        return number, decode(blob)

    def _content(self, layer: str, version: int | None) -> tuple[int, bytes]:
        found = self.content(layer, version)
        if found is None:
            if version is None:
                raise NotFound(f"图层「{layer}」在数据库中还没有数据 (layer {layer} has no "
                               "version in the database)")
            raise UnknownVersion(layer, version)
        return found

    def loaded(self, layer: Layer, version: int | None = None) -> LoadedLayer:
        """A version (the head by default) validated and indexed as the servers serve it.
        LayerDataError if it no longer fits the catalogue."""
        number, blob = self._content(layer.name, version)
        source = f"{layer.name} v{number}"
        valid, problems = validated_once(
            layer, source, blob, None, lambda: validate_collection(
                layer, {"type": "FeatureCollection", "features": decode(blob)}, source))
        if problems:
            raise LayerDataError(problems)
        return build_layer(layer, valid, number)

    def store(self, catalogue: Sequence[Layer] = CATALOGUE, partial: bool = False,
              known: Mapping[str, LoadedLayer] | None = None) -> LayerStore:
        """Every layer at its head. `partial`: a layer that has none, or does not load,
        is empty (the CLI's repairs); else LayerDataError lists them. `known`: layers
        this process has just validated and committed (seed's), taken as they are
        while they are still the head, instead of read back and validated again."""
        problems: list[Problem] = []
        loaded: dict[str, LoadedLayer] = {}
        heads = self.heads() if known else {}
        for layer in catalogue:
            mine = (known or {}).get(layer.name)
            if mine is not None and heads.get(layer.name) == mine.version:
                loaded[layer.name] = mine
                continue
            try:
                loaded[layer.name] = self.loaded(layer)
            except LayerDataError as e:
                problems += e.problems
                loaded[layer.name] = build_layer(layer, [])
            except NotFound:
                problems.append(Problem(layer.name, None, "has no version in the database"))
                loaded[layer.name] = build_layer(layer, [])
        if problems and not partial:
            raise LayerDataError(problems)
        return LayerStore(loaded)

    # ------------------------------------------------------------------ writing
    def commit(self, layer: Layer, features: Sequence[Feature], actor: str, action: str,
               reason: str, base: int | None = None, allow_older: bool = False,
               only_if_empty: bool = False, loaded: LoadedLayer | None = None,
               summary: dict[str, Any] | None = None, once: Once | None = None
               ) -> Version | None:
        """Make `features` the layer's new version, in one transaction with its audit row.

        `base`: the version the change was made on (StaleVersion if the head moved).
        Content equal to the head's is no change: None. Content equal to an older
        version's is refused (OlderContent) unless `allow_older` (a restore).
        `only_if_empty`: write only when the layer has no version yet (a seed; a seed,
        the database's initial state, has no audit row).
        `once`: the change's Idempotency-Key, claimed in the same transaction with the
        result {version, reason, **summary}; a key an earlier attempt claimed writes
        nothing and returns that attempt's version (`once.result` holds its result).
        """
        try:
            return self._commit(layer, features, actor, action, reason, base, allow_older,
                                only_if_empty, loaded, summary, once)
        except self.database_errors as e:
            raise LayerWriteFailed(layer.name, e) from e

    def _commit(self, layer: Layer, features: Sequence[Feature], actor: str, action: str,
                reason: str, base: int | None, allow_older: bool, only_if_empty: bool,
                loaded: LoadedLayer | None, summary: dict[str, Any] | None,
                once: Once | None) -> Version | None:
        mark = fingerprint(features)
        with self.writing() as db:
            replayed = earlier_result(db, once)  # a retry of a change that committed
            made = None if replayed else self._write(
                db, layer, features, mark, actor, action, reason, base, allow_older,
                only_if_empty, loaded, summary, once)
        if replayed:
            return self.version(layer.name, int(replayed["version"]))
        return made

    def _write(self, db: VersionTables, layer: Layer, features: Sequence[Feature], mark: str,
               actor: str, action: str, reason: str, base: int | None, allow_older: bool,
               only_if_empty: bool, loaded: LoadedLayer | None,
               summary: dict[str, Any] | None, once: Once | None) -> Version | None:
        """The change in the transaction `db` (its key claimed already)."""
        head = db.head(layer.name)
        if head is not None and only_if_empty:
            return None
        if base is not None and (head[0] if head else 0) != base:
            raise StaleVersion(layer.name, base, head[0] if head else 0)
        answer = {"reason": reason, **(summary or {})}
        if head is not None and head[1] == mark:  # no change: the head stands
            keep_result(db, once, {"version": head[0], **answer})
            return None
        old: list[Feature] = []
        if head is not None:
            same_as = db.version_of(layer.name, mark)
            if same_as is not None and not allow_older:
                raise OlderContent(layer.name, same_as, head[0])
            blob = db.content(layer.name, head[0])
            old = decode(blob) if blob is not None else []
        added, removed, changed = diff(old, features)
        number = (head[0] if head else 0) + 1
        row = Version(layer.name, number, self.now(), actor, action, reason,
                      len(features), added, removed, changed, mark)
        db.add(row, encode(features))
        current = loaded if loaded is not None else self._build(layer, features, number)
        current.version = number
        db.write_current(current)
        keep_result(db, once, {"version": number, **answer})
        if action == "layer.seed":  # the initial state: its version row says it all
            return row
        audit.record(db, actor, action, "layer", layer.name, {
            "version": number, "before": head[0] if head else None, "reason": reason,
            "features": len(features), "added": len(added), "removed": len(removed),
            "changed": len(changed), **(summary or {})})
        return row

    def restore(self, layer: Layer, version: int, actor: str) -> Version | None:
        """A new version equal to `version` (None: it is the head already)."""
        _, features = self.features(layer.name, version)
        return self.commit(layer, features, actor, "layer.restore", f"恢复到版本 {version}",
                           allow_older=True, summary={"restored": version})

    def seed(self, directory: Path, catalogue: Sequence[Layer] = CATALOGUE,
             partial: bool = False) -> dict[str, LoadedLayer]:
        """Fill the layers that have no version yet from the shipped files in `directory`
        (version 1 each); a layer that has one is never touched. Returns those seeded.
        LayerDataError (every problem) when a file needed does not load; with `partial`,
        the layers whose files load are seeded all the same."""
        have = self.heads()
        wanted = [layer for layer in catalogue if layer.name not in have]
        if not wanted:
            return {}
        problems: list[Problem] = []
        boundary_metric = None
        if "boundary" in have:
            boundary = self.loaded(next(x for x in catalogue if x.name == "boundary"))
            boundary_metric = shapely.union_all(boundary.metric)
        prepared: list[tuple[Layer, list[Feature], LoadedLayer]] = []
        for layer in sorted(wanted, key=lambda x: x.name != "boundary"):
            path = directory / layer.file_name
            valid, found = read_layer_file(layer, path, boundary_metric)
            problems += found
            if found:
                continue
            if layer.name == "boundary" and valid:
                boundary_metric = shapely.union_all([f.metric for f in valid])
            prepared.append((layer, raw_features(valid), build_layer(layer, valid, 1)))
        if problems and not partial:
            raise LayerDataError(problems)
        seeded: dict[str, LoadedLayer] = {}
        for layer, raw, loaded in prepared:
            if self.commit(layer, raw, audit.SYSTEM_ACTOR, "layer.seed",
                           f"初始数据 {layer.file_name}", only_if_empty=True, loaded=loaded):
                seeded[layer.name] = loaded
        return seeded

    @staticmethod
    def _build(layer: Layer, features: Sequence[Feature], number: int) -> LoadedLayer:
        valid, problems = validate_collection(
            layer, {"type": "FeatureCollection", "features": list(features)}, layer.name)
        if problems:
            raise LayerDataError(problems)
        return build_layer(layer, valid, number)


def raw_features(valid: Sequence[ValidFeature]) -> list[Feature]:
    """Validated features as stored: GeoJSON, without the measures the service adds."""
    raw = [{"type": "Feature", "id": f.id, "properties": f.properties,
            "geometry": shapely.geometry.mapping(f.geometry)} for f in valid]
    loaded: list[Feature] = json.loads(json.dumps(raw))  # tuples as lists, as stored
    return loaded


def iter_versions(rows: Iterator[Any]) -> list[Version]:
    """Versions from rows of (layer, version, at, actor, action, reason, features,
    changes JSON, fingerprint)."""
    out = []
    for layer, number, at, actor, action, reason, count, changes, mark in rows:
        c = json.loads(changes)
        out.append(Version(layer, int(number), str(at), actor, action, reason, int(count),
                           c["added"], c["removed"], c["changed"], mark))
    return out


def changes_json(row: Version) -> str:
    return json.dumps({"added": row.added, "removed": row.removed, "changed": row.changed},
                      ensure_ascii=False)
