"""Importing a file into a layer: check everything first, then replace atomically.

`check_import` reads the source (`sources.py`), maps its columns to the layer's
fields, converts the values a spreadsheet or GIS file holds to the catalogue's
types, validates the features with the same code that checks the shipped
data (`validate.py`), and checks that the layers would still load afterwards
(a new boundary must still hold every other layer). It reports every problem at
once and writes nothing. Writing is `replace_layer`: a new version of the layer
in the database, in one transaction with its audit row
(layers/stores/versions.py), so an import that fails or is interrupted leaves
the old version whole.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import Geometry
from shapely.geometry import mapping

from layers.catalogue.entries import CATALOGUE, MEASURE_LABELS, Field, Layer, get_layer
from layers.catalogue.ids import new_ids
from layers.catalogue.live import live_properties
from layers.catalogue.styles import SHARED_LABELS
from layers.catalogue.validate import (
    BOUNDARY_TOLERANCE_M,
    OUTSIDE_BOUNDARY,
    REQUIRED,
    validate_collection,
)
from layers.data.layer_export import shapefile_names
from layers.data.limits import ImportLimits
from layers.data.sources import OFFSETS, ReadOptions, Source, SourceError, read_source
from layers.geo import chinacoords
from layers.geo.crs import to_metric
from layers.records.inspections import STATUS_PROPERTIES
from layers.stores.interfaces import Layers
from layers.stores.versions import Version, VersionedLayers

# Columns that the service computes itself; an export carries them, an import drops them.
COMPUTED_COLUMNS = (frozenset(MEASURE_LABELS) | frozenset(MEASURE_LABELS.values())
                    | frozenset(STATUS_PROPERTIES))
# KML structure that GDAL exposes as columns; it is not attribute data.
# Columns of the map's own exports that are not data: the layer (GeoJSON `layer`, CSV 图层).
EXPORT_COLUMNS = frozenset({"layer", "图层"})
KML_COLUMNS = frozenset({"timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
                         "visibility", "draworder", "icon", "snippet", "description"})
LIST_SEPARATORS = r"[、;；,，|/]"
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是", "有", "√", "✓"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否", "无", "×", "✗"})

# Given the number of steps (two per feature: convert, validate), returns a function
# to call with the steps just done: the CLI's progress bar.
Progress = Callable[[int], Callable[[int], None]]


@dataclass(frozen=True)
class ImportProblem:
    source: str
    where: str | None  # "row 5 (id V0005)"; None: the file as a whole
    field: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.source] + [p for p in (self.where, self.field) if p]
        return ": ".join(parts + [self.message])


@dataclass
class ImportReport:
    layer: Layer
    source: str
    features: list[dict[str, Any]] = field(default_factory=list)  # valid GeoJSON features
    problems: list[ImportProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done that a user should know
    warnings: list[str] = field(default_factory=list)  # allowed, but worth a look

    @property
    def ok(self) -> bool:
        return not self.problems


def check_import(
    path: Path,
    layer_name: str,
    current: Layers,
    options: ReadOptions | None = None,
    progress: Progress | None = None,
    venues_with_records: Iterable[str] = (),
    limits: ImportLimits | None = None,
) -> ImportReport:
    """Read, convert and validate a file for a layer; the report lists every problem."""
    layer = get_layer(layer_name)
    report = ImportReport(layer, path.name)
    try:
        source = read_source(path, options or ReadOptions(), limits)
    except SourceError as e:
        report.problems.append(ImportProblem(path.name, None, None, str(e).removeprefix(
            f"{path.name}: ")))
        return report
    report.notes += source.notes
    if source.ids_missing:
        give_ids(layer, source, report)
    columns = map_columns(layer, source, report)
    missing = set(report_missing_columns(layer, columns.values(), report))
    advance = progress(2 * len(source.records)) if progress else None
    features, labels = [], []
    found: list[tuple[int, str | None, str]] = []  # (position, field, problem) of rows
    first_row: dict[str, str] = {}
    for position, record in enumerate(source.records):
        props = {columns[k]: to_field_value(layer.field(columns[k]), v)
                 for k, v in record.properties.items() if k in columns}
        fid = to_id(record.id)
        if fid is None:
            found.append((position, "id", "编号为空,每个要素都须有编号 (is empty: every feature "
                                          "needs an id)"))
        elif not isinstance(fid, str):
            found.append((position, "id", f"编号须为文本或整数,而不是 {fid!r} (must be text or an "
                                          f"integer, not {fid!r})"))
        elif fid in first_row:
            found.append((position, "id", f"与{first_row[fid]}的编号重复 (is also the id of "
                                          f"{first_row[fid]})"))
        else:
            first_row[fid] = record.label
        if record.problem:
            found.append((position, "geometry", record.problem))
        features.append({
            "type": "Feature",
            "id": fid,
            "properties": {k: v for k, v in props.items() if v is not None},
            "geometry": _geojson(record.geometry),
        })
        labels.append(record.label)
        if advance:
            advance(1)
    boundary_metric = None
    if layer.inside_boundary:
        boundary_metric = current_boundary(current, report)
    # Validation sees each row under its position, so that every problem names one row.
    by_position = {"type": "FeatureCollection",
                   "features": [{**f, "id": str(i)} for i, f in enumerate(features)]}
    valid, problems = validate_collection(
        layer, by_position, path.name, boundary_metric,
        on_feature=(lambda: advance(1)) if advance else None)
    no_geometry = {position for position, name, _ in found if name == "geometry"}
    for p in problems:
        position = int(p.feature_id) if p.feature_id is not None else -1
        if p.field == "geometry" and position in no_geometry:
            continue  # already said why there is no geometry
        if p.field in missing and p.message == REQUIRED:
            continue  # said once for the whole file
        found.append((position, p.field, p.message))
    outside = [position for position, name, message in found if message == OUTSIDE_BOUNDARY]
    offset = guess_offset(source, boundary_metric, len(outside), options) \
        if boundary_metric is not None else None
    if offset is not None:
        report.problems.append(ImportProblem(path.name, None, None, offset))
    for position, name, message in sorted(found, key=lambda row: row[0]):
        place = None
        if position >= 0:
            fid = features[position]["id"]
            place = labels[position] + (f"(编号 {fid})" if isinstance(fid, str) else "")
        report.problems.append(ImportProblem(path.name, place, name, message))
    if report.ok:
        report.features = features
        if layer.name == "boundary":
            check_other_layers(valid, current, report)
        if layer.name == "venues":
            warn_orphaned_records(report, venues_with_records)
        if not features:
            report.warnings.append("文件中没有要素,导入后图层将为空 (the file holds no "
                                   "features: the layer will be empty)")
    return report


def replace_layer(report: ImportReport, history: VersionedLayers, actor: str
                  ) -> Version | None:
    """Make a checked import the layer's new version (one transaction, with its audit
    row). None: the file holds what the layer holds already (nothing is written).
    OlderContent (409) when it holds an older version's content: it would undo the
    newer ones (a restore does that on purpose)."""
    if not report.ok:
        raise ValueError("an import with problems cannot replace a layer")
    return history.commit(report.layer, report.features, actor, "layer.import",
                          f"导入 {report.source}", summary={"file": report.source})


# ------------------------------------------------------------------ ids and offsets
OFFSET_NAMES = {"gcj02": "高德/腾讯(GCJ-02)", "bd09": "百度(BD-09)"}
OFFSET_CODES = {"gcj02": "GCJ-02", "bd09": "BD-09"}


def give_ids(layer: Layer, source: Source, report: ImportReport) -> None:
    """Ids in the layer's pattern for a file without any (KML, GPX, a table without 编号)."""
    wanted = [r for r in source.records if to_id(r.id) is None]
    ids = new_ids(layer.name, len(wanted), (str(to_id(r.id)) for r in source.records))
    if ids is None:
        report.problems.append(ImportProblem(
            source.path.name, None, "id",
            f"文件中没有编号列(表头为 id 或 编号);图层「{layer.title}」的编号须来自数据,不能自动"
            f"生成 (the file has no id column; layer {layer.name} takes no generated ids)"))
        return
    for record, fid in zip(wanted, ids, strict=True):
        record.id = fid
    if ids:
        report.notes.append(f"文件中没有编号,已按图层编号规则依次生成 {ids[0]}–{ids[-1]} "
                            f"(the file has no ids: {ids[0]} to {ids[-1]} were given in "
                            "file order)")


def guess_offset(source: Source, boundary: Geometry, outside: int,
                 options: ReadOptions | None) -> str | None:
    """When many features lie outside the sub-district and the GCJ-02 or BD-09 inverse
    would put them all inside, say so (coordinates copied from 高德 or 百度)."""
    if options is not None and options.crs is not None \
            and options.crs.strip().lower().replace("-", "") in OFFSETS:
        return None
    geometries = [r.geometry for r in source.records if r.geometry is not None]
    if not geometries or outside < max(1, len(geometries) // 5):
        return None
    for offset in OFFSETS:
        def undo(xy: np.ndarray, offset: str = offset) -> np.ndarray:
            lon, lat = chinacoords.to_wgs84(xy[:, 0], xy[:, 1], offset)
            return np.column_stack([lon, lat])
        moved = [to_metric(shapely.transform(g, undo)) for g in geometries]
        if all(boundary.covers(g) for g in moved):
            return (f"坐标疑似为{OFFSET_NAMES[offset]}坐标,按 {OFFSET_CODES[offset]} "
                    f"转换后全部位于辖区内;请在「坐标系」中选择 {OFFSET_CODES[offset]} 后重新导入 "
                    f"({outside} features lie outside the sub-district; as {offset} "
                    f"coordinates all lie inside: import with --crs {offset})")
    return None


# ------------------------------------------------------------------ columns and values
def map_columns(layer: Layer, source: Source, report: ImportReport) -> dict[str, str]:
    """Source column -> field name. Unknown columns are problems; computed ones are dropped."""
    by_name = {f.name: f.name for f in layer.fields}
    by_label = {label: name for name, label in SHARED_LABELS.items() if name in
                {f.name for f in layer.fields}} | {f.label: f.name for f in layer.fields}
    computed = COMPUTED_COLUMNS | {p.label for p in live_properties(layer)}
    by_lower = {f.name.lower(): f.name for f in layer.fields}
    by_short = {short: name for name, short in shapefile_names(layer).items() if name in by_name}
    mapping_: dict[str, str] = {}
    dropped, unknown = [], []
    for column in source.columns:
        name = (by_name.get(column) or by_label.get(column) or by_lower.get(column.lower())
                or (by_short.get(column) if source.format == "Shapefile" else None))
        if name is not None:
            if name in mapping_.values():
                report.problems.append(ImportProblem(source.path.name, None, column,
                                                     f"与另一列同为字段 {layer.label(name)} "
                                                     f"(is a second column for {name})"))
                continue
            mapping_[column] = name
        elif column in computed:
            dropped.append(column)
        elif column in EXPORT_COLUMNS or (source.format == "KML"
                                          and column.lower() in KML_COLUMNS):
            continue
        else:
            unknown.append(column)
    if dropped:
        report.notes.append(f"已忽略由系统自动计算的列:{'、'.join(dropped)} (ignored the "
                            f"columns the service computes itself: {', '.join(dropped)})")
    for column in unknown:
        report.problems.append(ImportProblem(
            source.path.name, None, column,
            f"不是图层「{layer.title}」的字段,表头须为字段名或中文名:"
            f"{'、'.join(f.label for f in layer.fields)} (is not a property of layer "
            f"{layer.name}; its fields: "
            f"{', '.join(f'{f.name} {f.label}' for f in layer.fields)})"))
    return mapping_


def report_missing_columns(layer: Layer, present: Iterable[str],
                           report: ImportReport) -> list[str]:
    have = set(present)
    missing = [f.name for f in layer.fields if f.required and f.name not in have]
    for name in missing:
        report.problems.append(ImportProblem(
            report.source, None, name,
            f"缺少必填字段「{layer.label(name)}」的列 (no column for this required field "
            f"{name})"))
    return missing


def to_id(value: Any) -> Any:
    """A feature id as text; what cannot be one is passed on for validation to reject."""
    if _empty(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, str):
        return excel_text(value.strip())
    return value


def excel_text(text: str) -> str:
    """A code as the map's CSV exports keep it text for Excel (`="0123"`): the code."""
    if text.startswith('="') and text.endswith('"') and len(text) >= 3:
        return text[2:-1]
    return text


def to_field_value(f: Field, value: Any) -> Any:
    """A value as read from a file, in the field's type where it plainly is one.

    Values that are not (text in a number column, say) are returned as they are,
    so that validation names the field and the value. Empty is None.
    """
    value = _plain(value)
    if _empty(value):
        return None
    if isinstance(value, str):
        value = excel_text(value.strip())
    if f.type == "str":
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # a code typed into a number cell
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else value
    if f.type == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+(\.0+)?", value):
            return int(float(value))
        return value
    if f.type == "float":
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return value
            return int(number) if number.is_integer() and "." not in value else number
        return value
    if f.type == "bool":
        if isinstance(value, int | float) and not isinstance(value, bool) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        return value
    if f.type == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return value
    if f.type == "list":
        if isinstance(value, str):
            if value.startswith("["):
                try:
                    return json.loads(value)
                except json.JSONDecodeError:
                    return value
            return [part.strip() for part in re.split(LIST_SEPARATORS, value) if part.strip()]
        if isinstance(value, tuple):
            return list(value)
        return value
    return value


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as Python values."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime()
    return value


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return type(value).__name__ in ("NaTType", "NAType")


def _geojson(geometry: Geometry | None) -> dict[str, Any] | None:
    if geometry is None:
        return None
    return json.loads(json.dumps(mapping(geometry)))  # tuples -> lists


# ------------------------------------------------------------------ the other layers
def current_boundary(current: Layers, report: ImportReport) -> Geometry | None:
    """The sub-district boundary (EPSG:4548) the other layers must lie in."""
    boundary = current.get("boundary")
    if not len(boundary):
        report.problems.append(ImportProblem(
            report.source, None, None,
            "街道边界图层为空,无法检查要素位置,请先导入边界 (the boundary layer is empty, so the "
            "features cannot be checked against it; import the boundary first)"))
        return None
    return shapely.union_all(boundary.metric)


def outside_of(boundary_metric: Geometry, current: Layers, most: int = 20
               ) -> list[tuple[Layer, str]]:
    """(layer, feature id) of features of the other layers that a boundary (EPSG:4548)
    would leave outside it: at most `most` per layer."""
    fence = boundary_metric.buffer(BOUNDARY_TOLERANCE_M)
    shapely.prepare(fence)
    found: list[tuple[Layer, str]] = []
    for layer in CATALOGUE:
        if layer.name == "boundary" or not layer.inside_boundary:
            continue
        loaded = current.get(layer.name)
        outside = ~shapely.covers(fence, loaded.metric) if len(loaded) else np.array([])
        found += [(layer, loaded.ids[i]) for i in np.flatnonzero(outside)[:most].tolist()]
    return found


def check_other_layers(valid: list[Any], current: Layers, report: ImportReport) -> None:
    """A new boundary must still hold every layer that must lie inside it."""
    for layer, fid in outside_of(shapely.union_all([f.metric for f in valid]), current):
        report.problems.append(ImportProblem(
            report.source, None, None,
            f"按此边界,{layer.file_name}: feature {fid} 将位于辖区以外,"
            f"该图层将不再有效 (with this boundary, {layer.file_name}: feature "
            f"{fid}: geometry: lies (partly) outside the sub-district "
            "boundary (that layer would no longer be valid))"))


def warn_orphaned_records(report: ImportReport, venues_with_records: Iterable[str]) -> None:
    ids = {f["id"] for f in report.features}
    gone = sorted(set(venues_with_records) - ids)
    if gone:
        shown = ", ".join(gone[:20]) + (f" and {len(gone) - 20} more" if len(gone) > 20 else "")
        report.warnings.append(
            f"{len(gone)} 个有检查记录的场所不在文件中:{shown};其记录仍保留,但地图上不再显示 "
            f"({len(gone)} venue(s) with inspection records are not in the file: {shown}; "
            "their records stay in the inspection store but no map shows them)")
