"""The layer store: every layer loaded and validated once, indexed in metres.

The layers come from the database (layers/stores/versions.py), each at its head
version; `from_directory` reads a directory of GeoJSON files (the seed of an empty
database, the benchmarks).

Each layer keeps its features as GeoJSON-ready dicts (WGS84) for output, the
same geometries in EPSG:4548 for measures, and an STRtree over the metric
geometries for spatial queries. Nothing re-reads a file per request.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import geopandas as gpd
import numpy as np
import shapely
from shapely import Geometry, STRtree

from layers.catalogue.entries import CATALOGUE, Layer
from layers.catalogue.validate import LayerDataError, Problem, ValidFeature, validate_collection
from layers.errors import UnknownLayer
from layers.geo.clusters import ClusterIndex
from layers.geo.crs import METRIC, WGS84, m2_to_mu, transformer

T = TypeVar("T")

_BBOX_TO_METRIC = transformer(WGS84, METRIC, always_xy=True)


@dataclass
class LoadedLayer:
    layer: Layer
    ids: list[str]
    features: list[dict[str, Any]]  # GeoJSON Features, WGS84, measures added
    geometries: np.ndarray  # WGS84 shapely geometries
    metric: np.ndarray  # the same in EPSG:4548
    version: int = 0  # the layer's version in the database (0: not from one)
    tree: STRtree = field(init=False)  # over `metric`
    clusters: ClusterIndex | None = field(init=False)  # point layers: grids by zoom
    bbox: list[float] | None = field(init=False)  # [minx, miny, maxx, maxy] lon/lat; None: empty
    _position: dict[str, int] = field(init=False)
    _memo: dict[str, Any] = field(init=False)
    _place_memo: dict[str, Any] = field(init=False)  # `once_per_places`'s

    # The indexes of a version whose features are at the same positions with the same
    # geometries (an edit of properties only): shared, not built again (`changed`).
    same_places: InitVar[LoadedLayer | None] = None

    def __post_init__(self, same_places: LoadedLayer | None) -> None:
        # Everything that follows from the features alone is worked out here, once per
        # layer version (a new version is a new LoadedLayer): never per request.
        self._memo = {}
        if same_places is not None:
            self.tree, self._position = same_places.tree, same_places._position
            self.bbox, self.clusters = same_places.bbox, same_places.clusters
            self._place_memo = same_places._place_memo
            return
        self._place_memo = {}
        self.tree = STRtree(self.metric)
        self._position = {fid: i for i, fid in enumerate(self.ids)}
        self.bbox = ([round(v, 7) for v in shapely.total_bounds(self.geometries).tolist()]
                     if len(self.features) else None)
        self.clusters = None
        if self.layer.geometry == "Point":
            self.clusters = ClusterIndex.from_points(
                shapely.get_coordinates(self.geometries), shapely.get_coordinates(self.metric))

    @property
    def name(self) -> str:
        return self.layer.name

    def __len__(self) -> int:
        return len(self.features)

    def once(self, key: str, compute: Callable[[LoadedLayer], T]) -> T:
        """`compute(self)`, worked out on first use and kept with this layer version (a
        derived figure another module owns, e.g. the OGC temporal extent, or tiles)."""
        try:
            return cast(T, self._memo[key])
        except KeyError:
            value = self._memo[key] = compute(self)  # two threads at once: same value
            return value

    def once_per_places(self, key: str, compute: Callable[[LoadedLayer], T]) -> T:
        """As `once`, for what follows from the features' ids, positions and geometries
        alone (e.g. a point index of tiles): kept also by the versions that share them
        (an edit of properties, `changed`), not made again for each."""
        try:
            return cast(T, self._place_memo[key])
        except KeyError:
            value = self._place_memo[key] = compute(self)  # two threads at once: same value
            return value

    def position(self, feature_id: str) -> int | None:
        return self._position.get(feature_id)

    def in_bbox(self, bbox: Sequence[float]) -> list[int]:
        """Positions of the features that intersect a lon/lat bbox, in layer order."""
        extent = self.bbox
        if extent is None:
            return []
        # Clip the query to the layer's extent first: EPSG:4548 is only valid
        # near 117°E, and a world-wide bbox would not project sensibly.
        minx, miny = max(bbox[0], extent[0]), max(bbox[1], extent[1])
        maxx, maxy = min(bbox[2], extent[2]), min(bbox[3], extent[3])
        if minx > maxx or miny > maxy:
            return []
        # The index is in metres: query it with the clipped bbox's metric
        # envelope, then keep exact hits in lon/lat (the envelope is larger).
        # (Grown by 1 m on each side as a box: the tree compares envelopes, and a buffered
        # box cost more than the rest of a small query.)
        west, south, east, north = _BBOX_TO_METRIC.transform_bounds(minx, miny, maxx, maxy)
        candidates = self.tree.query(shapely.box(west - 1, south - 1, east + 1, north + 1))
        box = shapely.box(*bbox)
        hits = candidates[shapely.intersects(self.geometries[candidates], box)]
        return sorted(hits.tolist())

    def collection(
        self,
        positions: Iterable[int] | None = None,
        live: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A GeoJSON FeatureCollection of the given features (all by default).

        `live` adds properties that change at run time, by feature id.
        """
        chosen = self.features if positions is None else [self.features[i] for i in positions]
        return feature_collection(chosen, live)

    def changed(self, upserts: Sequence[ValidFeature], removed: Collection[str],
                version: int) -> LoadedLayer:
        """This layer with `upserts` in place of the features of their ids (a new id is
        appended) and the features `removed` left out: a new LoadedLayer (this one is
        unchanged) that shares the other features' dicts and geometries. When no
        feature was added, removed or moved (an edit of properties) it shares this one's
        ids, geometries and indexes too; else they are built again by `__post_init__`
        (docs/development.md § Scale says what that costs)."""
        position = self._position
        moved = any(fid in position for fid in removed) or any(  # added, removed or moved
            valid.id not in position
            or not shapely.equals_identical(self.geometries[position[valid.id]], valid.geometry)
            for valid in upserts)
        if not moved:  # the same ids and geometries: only the features' dicts change
            features = list(self.features)
            for valid in upserts:
                features[position[valid.id]] = feature_dict(self.layer, valid)
            return LoadedLayer(layer=self.layer, ids=self.ids, features=features,
                               geometries=self.geometries, metric=self.metric,
                               version=version, same_places=self)
        ids, features = list(self.ids), list(self.features)
        geometries, metric = list(self.geometries), list(self.metric)
        for valid in upserts:
            at = self._position.get(valid.id)
            if at is None:
                ids.append(valid.id)
                features.append(feature_dict(self.layer, valid))
                geometries.append(valid.geometry)
                metric.append(valid.metric)
            else:
                features[at] = feature_dict(self.layer, valid)
                geometries[at], metric[at] = valid.geometry, valid.metric
        gone = {self._position[fid] for fid in removed if fid in self._position}
        if gone:
            kept = [i for i in range(len(ids)) if i not in gone]
            ids = [ids[i] for i in kept]
            features = [features[i] for i in kept]
            geometries = [geometries[i] for i in kept]
            metric = [metric[i] for i in kept]
        return LoadedLayer(layer=self.layer, ids=ids, features=features,
                           geometries=_objects(geometries), metric=_objects(metric),
                           version=version)

    def frame(self) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame in EPSG:4548 (for analysis, not per request)."""
        rows = [dict(f["properties"], id=f["id"]) for f in self.features]
        return gpd.GeoDataFrame(rows, geometry=list(self.metric), crs=METRIC)


class LayerStore:
    """All catalogue layers, loaded from a directory of GeoJSON files."""

    def __init__(self, layers: dict[str, LoadedLayer]):
        self._layers = layers

    @classmethod
    def from_directory(cls, directory: Path, catalogue: Sequence[Layer] = CATALOGUE
                       ) -> LayerStore:
        """Load and validate every layer; raise LayerDataError listing all problems."""
        by_name = {layer.name: layer for layer in catalogue}
        problems: list[Problem] = []
        boundary_metric = None
        loaded: dict[str, LoadedLayer] = {}
        # The boundary first: the other layers are checked against it.
        order = sorted(catalogue, key=lambda layer: layer.name != "boundary")
        for layer in order:
            valid, found = read_layer_file(layer, directory / layer.file_name, boundary_metric)
            problems += found
            loaded[layer.name] = build_layer(layer, valid)
            if layer.name == "boundary" and valid:
                boundary_metric = shapely.union_all([f.metric for f in valid])
        if problems:
            raise LayerDataError(problems)
        return cls({name: loaded[name] for name in by_name})

    def get(self, name: str) -> LoadedLayer:
        try:
            return self._layers[name]
        except KeyError:
            raise UnknownLayer(name, tuple(self._layers)) from None

    def __iter__(self) -> Iterator[LoadedLayer]:
        return iter(self._layers.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._layers)

    def with_layer(self, loaded: LoadedLayer) -> LayerStore:
        """A new store with `loaded` in place of the layer of its name (this one unchanged:
        a request holding it sees either all old layers or the new one)."""
        return LayerStore({**self._layers, loaded.name: loaded})


def feature_collection(
    features: list[dict[str, Any]], live: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection; `live` adds run-time properties, by feature id."""
    if live:
        features = [{**f, "properties": {**f["properties"], **live.get(f["id"], {})}}
                    for f in features]
    return {"type": "FeatureCollection", "features": features}


# A layer file (or stored version) up to this size, once validated, is not validated again
# by this process while its bytes are the same (and the boundary): every app a process
# builds (the tests build hundreds) seeds from the same shipped files or reads the same
# versions from a database cloned from one template.
# The memo holds at most MEMO_FEATURES features in all (a layer with more is not kept):
# each new version of a layer is a new entry, and the old ones must not pile up in a
# long-running server.
MEMO_FILE_BYTES = 16 * 1024 * 1024
MEMO_FEATURES = 50_000
MEMO_ENTRIES = 64
_validated: OrderedDict[tuple[Layer, str, bytes, bytes | None],
                        tuple[tuple[ValidFeature, ...], tuple[Problem, ...]]] = OrderedDict()
_validated_lock = threading.Lock()


def validated_once(
    layer: Layer, source: str, raw: bytes, boundary_metric: Geometry | None,
    validate: Callable[[], tuple[list[ValidFeature], list[Problem]]],
) -> tuple[list[ValidFeature], list[Problem]]:
    """`validate()` of the layer data `raw` (as named by `source`), or the result this
    process got for the same bytes and boundary before (ValidFeatures are not changed
    by their users: shapely geometries are immutable, properties are copied out)."""
    if len(raw) > MEMO_FILE_BYTES:
        return validate()
    fence = None if boundary_metric is None else boundary_metric.wkb
    key = (layer, source, hashlib.sha256(raw).digest(), fence)
    with _validated_lock:
        if key in _validated:
            _validated.move_to_end(key)
            valid, problems = _validated[key]
            return list(valid), list(problems)
    found = validate()
    if len(found[0]) > MEMO_FEATURES:
        return found
    with _validated_lock:
        _validated[key] = (tuple(found[0]), tuple(found[1]))
        kept = sum(len(valid) for valid, _ in _validated.values())
        while kept > MEMO_FEATURES or len(_validated) > MEMO_ENTRIES:
            kept -= len(_validated.popitem(last=False)[1][0])
    return found


def read_layer_file(
    layer: Layer, path: Path, boundary_metric: Geometry | None
) -> tuple[list[ValidFeature], list[Problem]]:
    source = path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], [Problem(source, None, f"missing: layer {layer.name} needs {path}")]
    return validated_once(layer, source, raw, boundary_metric,
                          lambda: _validate_file(layer, source, raw, boundary_metric))


def _validate_file(layer: Layer, source: str, raw: bytes, boundary_metric: Geometry | None
                   ) -> tuple[list[ValidFeature], list[Problem]]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return [], [Problem(source, None, "is not UTF-8 text")]
    except json.JSONDecodeError as e:
        return [], [Problem(source, None, f"is not valid JSON: {e}")]
    return validate_collection(layer, data, source, boundary_metric)


def build_layer(layer: Layer, valid: list[ValidFeature], version: int = 0) -> LoadedLayer:
    return LoadedLayer(
        layer=layer,
        ids=[f.id for f in valid],
        features=[feature_dict(layer, f) for f in valid],
        geometries=_objects([f.geometry for f in valid]),
        metric=_objects([f.metric for f in valid]),
        version=version,
    )


def feature_dict(layer: Layer, f: ValidFeature) -> dict[str, Any]:
    """A validated feature as the layer serves it: GeoJSON (WGS84), measures added."""
    return {
        "type": "Feature",
        "id": f.id,
        "geometry": shapely.geometry.mapping(f.geometry),
        "properties": {**f.properties, **measures(layer, f.metric)},
    }


def _objects(geometries: list[Geometry]) -> np.ndarray:
    out = np.empty(len(geometries), dtype=object)
    out[:] = geometries
    return out


def measure_names(layer: Layer) -> tuple[str, ...]:
    """The properties `measures` adds to the layer's features."""
    return {"Polygon": ("area_m2", "area_mu"), "LineString": ("length_m",)}.get(
        layer.geometry, ())


def measures(layer: Layer, metric: Geometry) -> dict[str, float]:
    """Area (m², 亩) of polygons and length (m) of lines, measured in EPSG:4548."""
    if layer.geometry == "Polygon":
        return {"area_m2": round(metric.area, 1), "area_mu": round(m2_to_mu(metric.area), 2)}
    if layer.geometry == "LineString":
        return {"length_m": round(metric.length, 1)}
    return {}
