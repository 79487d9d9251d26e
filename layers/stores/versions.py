"""The layers' versions: the database is the one truth of every layer.

Each change of a layer (a seed of an empty database, an import, a restore, an edit of
one feature) is one transaction that adds a version: its content, who made it, when
and why, what it changed (ids added, removed, changed) and its audit row; the layer's
head moves to it. A version's content is a whole copy of its features (compressed
GeoJSON), or, for an edit (`commit_change`), a delta on its parent (the features it
wrote and the ids it removed), with a whole copy at least every SNAPSHOT_EVERY
versions: an edit costs what it changes, and reading a version applies at most that
many deltas to the whole copy before it. Nothing is rewritten in
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
    measure_names,
    read_layer_file,
    validated_once,
)

Feature = dict[str, Any]

# A whole copy of the layer at least every this many versions: reading a version decodes
# the whole copy at or before it and applies the deltas after it (at most this many).
SNAPSHOT_EVERY = 100
MARK_PREFIX = "m1:"  # fingerprints made of per-feature digests (older ones: a sha256)


@dataclass(frozen=True)
class Change:
    """One edit's change: the features written (checked by the catalogue; one of a new
    id is added, else it replaces the feature of its id) and the ids removed."""
    upserts: list[ValidFeature]
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Delta:
    """What a version changed in its parent, for the stores' current tables: ids added
    and changed (their rows are in the new layer) and removed (their positions in the
    parent)."""
    added: list[str]
    changed: list[str]
    removed: dict[str, int]


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


def encode_delta(upserts: Sequence[Feature], removed: Sequence[str]) -> bytes:
    text = json.dumps({"upsert": list(upserts), "removed": list(removed)},
                      ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return zlib.compress(text.encode("utf-8"), 6)


def decode_delta(blob: bytes) -> tuple[list[Feature], list[str]]:
    delta = json.loads(zlib.decompress(blob).decode("utf-8"))
    return list(delta["upsert"]), [str(fid) for fid in delta["removed"]]


def feature_digest(feature: Feature) -> int:
    return int.from_bytes(hashlib.sha256(_canonical(feature).encode()).digest(), "big")


def mark(features: Sequence[Feature]) -> str:
    """The content's fingerprint: a sum of per-feature digests, so that an edit updates it
    from the features it changes (the order of the features plays no part)."""
    return _mark(sum(feature_digest(f) for f in features), len(features))


def _mark(total: int, count: int) -> str:
    return f"{MARK_PREFIX}{count}:{total % 2 ** 256:064x}"


def _mark_total(found: str) -> int | None:
    """The sum in a fingerprint `mark` made; None for an older database's sha256."""
    if not found.startswith(MARK_PREFIX):
        return None
    return int(found.rsplit(":", 1)[1], 16)


def fingerprint(features: Sequence[Feature]) -> str:
    """The fingerprint of versions written before `mark` (read, not written, now)."""
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

    def add(self, row: Version, content: bytes, parent: int | None = None) -> None:
        """Insert the version and move the head to it. `parent`: its content is a delta
        on that version (None: a whole copy)."""
        ...

    def write_current(self, loaded: LoadedLayer, delta: Delta | None = None) -> None:
        """Make the store's own current tables hold `loaded` (PostGIS: layer_<name>);
        `delta`: only these rows changed since the parent."""
        ...

    def whole_before(self, layer: str, version: int) -> int | None:
        """The latest version up to `version` whose content is a whole copy."""
        ...

    def version_rows(self, layer: str, first: int, last: int, content: bool = True
             ) -> list[tuple[int, int | None, bytes | None]]:
        """(version, parent, content or None) of the versions first..last, in order."""
        ...


def read_features(db: VersionTables, layer: str, number: int) -> list[Feature]:
    """The features of version `number` (UnknownVersion if the layer has none): its
    whole copy, or the whole copy before it with the deltas after it applied."""
    start = db.whole_before(layer, number)
    found = db.version_rows(layer, start, number) if start is not None else []
    if not found or found[-1][0] != number:
        raise UnknownVersion(layer, number)
    features = decode(found[0][2] or b"")
    if len(found) == 1:
        return features
    position = {str(f["id"]): i for i, f in enumerate(features)}
    slots: list[Feature | None] = list(features)
    for _, _, blob in found[1:]:
        upserts, removed = decode_delta(blob or b"")
        for f in upserts:
            at = position.get(str(f["id"]))
            if at is None:
                position[str(f["id"])] = len(slots)
                slots.append(f)
            else:
                slots[at] = f
        for fid in removed:
            at = position.pop(fid, None)
            if at is not None:
                slots[at] = None
    return [f for f in slots if f is not None]


def stored_feature(loaded: LoadedLayer, position: int) -> Feature:
    """The feature at `position` as its version stores it (without the measures)."""
    served = loaded.features[position]
    added = measure_names(loaded.layer)
    return {"type": "Feature", "id": served["id"],
            "properties": {k: v for k, v in served["properties"].items() if k not in added},
            "geometry": json.loads(json.dumps(served["geometry"]))}


def apply_deltas(loaded: LoadedLayer, rows: Sequence[tuple[int, int | None, bytes | None]]
                 ) -> LoadedLayer:
    """`loaded` with the deltas of `rows` (the versions after it, in order) applied:
    their features checked by the catalogue and the layer's indexes built once per run
    of deltas (twice when an id removed is made again)."""
    upserts: dict[str, Feature] = {}
    removed: set[str] = set()
    number = loaded.version
    for version, _, blob in rows:
        written, gone = decode_delta(blob or b"")
        if any(str(f["id"]) in removed for f in written):  # made again: in its own run
            loaded = _applied(loaded, upserts, removed, number)
            upserts, removed = {}, set()
        for f in written:
            upserts[str(f["id"])] = f
        for fid in gone:
            upserts.pop(fid, None)
            removed.add(fid)
        number = version
    return _applied(loaded, upserts, removed, number)


def _applied(loaded: LoadedLayer, upserts: dict[str, Feature], removed: set[str],
             number: int) -> LoadedLayer:
    layer = loaded.layer
    source = f"{layer.name} v{number}"
    valid, problems = validate_collection(
        layer, {"type": "FeatureCollection", "features": list(upserts.values())}, source)
    if problems:
        raise LayerDataError(problems)
    return loaded.changed(valid, removed, number)


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

    def reading(self) -> AbstractContextManager[VersionTables]:
        """The version tables, to read (outside a write)."""
        raise NotImplementedError

    def just_made(self) -> dict[str, LoadedLayer]:
        """The layers this process made by its last edit of each (`commit_change`): a
        server follows its own edit with them, without reading it back."""
        made: dict[str, LoadedLayer] = self.__dict__.setdefault("_made", {})
        return made

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
        number = self._number(layer, version)
        with self.reading() as db:
            return number, read_features(db, layer, number)

    def _number(self, layer: str, version: int | None) -> int:
        if version is not None:
            return version
        head = self.heads().get(layer)
        if head is None:
            raise NotFound(f"图层「{layer}」在数据库中还没有数据 (layer {layer} has no "
                           "version in the database)")
        return head

    def loaded(self, layer: Layer, version: int | None = None) -> LoadedLayer:
        """A version (the head by default) validated and indexed as the servers serve it:
        the whole copy at or before it, with the deltas after it applied. LayerDataError
        if it no longer fits the catalogue."""
        number = self._number(layer.name, version)
        with self.reading() as db:
            start = db.whole_before(layer.name, number)
            found = db.version_rows(layer.name, start, number) if start is not None else []
        if not found or found[-1][0] != number:
            raise UnknownVersion(layer.name, number)
        first, _, blob = found[0]
        whole = blob or b""
        source = f"{layer.name} v{first}"
        valid, problems = validated_once(
            layer, source, whole, None, lambda: validate_collection(
                layer, {"type": "FeatureCollection", "features": decode(whole)}, source))
        if problems:
            raise LayerDataError(problems)
        return apply_deltas(build_layer(layer, valid, first), found[1:]) if found[1:] \
            else build_layer(layer, valid, first)

    def advanced(self, loaded: LoadedLayer, head: int) -> LoadedLayer:
        """The layer at version `head`, from `loaded` (a version of it): by applying the
        deltas in between when they all are deltas, else loaded whole."""
        made = self.just_made().pop(loaded.name, None)  # not kept past its use
        if made is not None and made.version == head:
            return made
        if 0 < loaded.version < head:
            first = loaded.version + 1
            with self.reading() as db:
                between = db.version_rows(loaded.name, first, head, content=False)
                if len(between) == head - loaded.version and all(
                        parent is not None for _, parent, _ in between):
                    return apply_deltas(loaded, db.version_rows(loaded.name, first, head))
        return self.loaded(loaded.layer, head)

    def store(self, catalogue: Sequence[Layer] = CATALOGUE, partial: bool = False,
              known: Mapping[str, LoadedLayer] | None = None) -> LayerStore:
        """Every layer at its head. `partial`: a layer that has none, or does not load,
        is empty (the CLI's repairs); else LayerDataError lists them. `known`: layers
        this process has just validated and committed (seed's; and its edits',
        `just_made`), taken as they are while they are still the head, instead of read
        back and validated again."""
        problems: list[Problem] = []
        loaded: dict[str, LoadedLayer] = {}
        made = self.just_made()
        heads = self.heads() if known or made else {}
        for layer in catalogue:
            mine = (known or {}).get(layer.name) or made.pop(layer.name, None)
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
        marks = (mark(features), fingerprint(features))  # and as an older database's
        with self.writing() as db:
            replayed = earlier_result(db, once)  # a retry of a change that committed
            made = None if replayed else self._write(
                db, layer, features, marks, actor, action, reason, base, allow_older,
                only_if_empty, loaded, summary, once)
        if replayed:
            return self.version(layer.name, int(replayed["version"]))
        return made

    def _write(self, db: VersionTables, layer: Layer, features: Sequence[Feature],
               marks: tuple[str, str],
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
        if head is not None and head[1] in marks:  # no change: the head stands
            keep_result(db, once, {"version": head[0], **answer})
            return None
        old: list[Feature] = []
        if head is not None:
            older = [v for v in (db.version_of(layer.name, m) for m in marks) if v is not None]
            if older and not allow_older:
                raise OlderContent(layer.name, max(older), head[0])
            old = read_features(db, layer.name, head[0])
        added, removed, changed = diff(old, features)
        number = (head[0] if head else 0) + 1
        row = Version(layer.name, number, self.now(), actor, action, reason,
                      len(features), added, removed, changed, marks[0])
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

    def commit_change(self, head: LoadedLayer, change: Change, actor: str, reason: str,
                      summary: dict[str, Any] | None = None, once: Once | None = None
                      ) -> Version | None:
        """One edit of `head` (the layer's head version, as loaded) as a new version, in
        one transaction with its audit row, at a cost that follows the change: its
        content is a delta on the head (a whole copy every SNAPSHOT_EVERY versions), its
        fingerprint is the head's updated, the new layer is `head` with the change
        applied (`just_made`; PostGIS: only the changed rows are written). StaleVersion
        if the head moved; a change equal to the head is no change: None. `once` as in
        `commit`."""
        try:
            with self.writing() as db:
                replayed = earlier_result(db, once)
                made = None if replayed else self._write_change(
                    db, head, change, actor, reason, summary, once)
        except self.database_errors as e:
            raise LayerWriteFailed(head.name, e) from e
        if replayed:
            return self.version(head.name, int(replayed["version"]))
        if made is None:
            return None
        self.just_made()[head.name] = made[1]
        return made[0]

    def _write_change(self, db: VersionTables, head: LoadedLayer, change: Change, actor: str,
                      reason: str, summary: dict[str, Any] | None, once: Once | None
                      ) -> tuple[Version, LoadedLayer] | None:
        name = head.name
        found = db.head(name)
        number = found[0] if found else 0
        if number != head.version:
            raise StaleVersion(name, head.version, number)
        answer = {"reason": reason, **(summary or {})}
        added: list[str] = []
        changed: list[str] = []
        removed: dict[str, int] = {}
        written: list[ValidFeature] = []
        raw: list[Feature] = []
        lost = gained = 0  # the digests of the features replaced, and of their successors
        for valid, feature in zip(change.upserts, raw_features(change.upserts), strict=True):
            at = head.position(valid.id)
            if at is not None:
                before = stored_feature(head, at)
                if _canonical(before) == _canonical(feature):
                    continue
                lost += feature_digest(before)
                changed.append(valid.id)
            else:
                added.append(valid.id)
            gained += feature_digest(feature)
            written.append(valid)
            raw.append(feature)
        for fid in change.removed:
            at = head.position(fid)
            if at is not None:
                lost += feature_digest(stored_feature(head, at))
                removed[fid] = at
        if not (added or changed or removed):  # no change: the head stands
            keep_result(db, once, {"version": number, **answer})
            return None
        total = _mark_total(found[1]) if found else 0
        if total is None:  # a head an older version of the service fingerprinted: once
            total = sum(feature_digest(f) for f in read_features(db, name, number))
        count = len(head) + len(added) - len(removed)
        row = Version(name, number + 1, self.now(), actor, "layer.edit", reason, count,
                      added, list(removed), changed, _mark(total - lost + gained, count))
        current = head.changed(written, list(removed), number + 1)
        whole = db.whole_before(name, number) if number else None
        if whole is None or number + 1 - whole >= SNAPSHOT_EVERY:
            features = read_features(db, name, number) if number else []
            position = {str(f["id"]): i for i, f in enumerate(features)}
            for f in raw:
                if f["id"] in position:
                    features[position[f["id"]]] = f
                else:
                    features.append(f)
            features = [f for f in features if f["id"] not in removed]
            db.add(row, encode(features))
        else:
            db.add(row, encode_delta(raw, list(removed)), parent=number)
        db.write_current(current, Delta(added, changed, removed))
        keep_result(db, once, {"version": row.version, **answer})
        audit.record(db, actor, "layer.edit", "layer", name, {
            "version": row.version, "before": number if found else None, "reason": reason,
            "features": count, "added": len(added), "removed": len(removed),
            "changed": len(changed), **(summary or {})})
        return row, current

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
