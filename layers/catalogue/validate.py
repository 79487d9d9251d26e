"""Validation of a layer's GeoJSON against its catalogue entry.

Every problem names the file, the feature id and what is wrong, and all
problems of a file are reported at once, so a data editor can fix them in one
pass.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import Geometry
from shapely.geometry import shape
from shapely.prepared import prep
from shapely.validation import explain_validity

from layers.catalogue.entries import JINAN_BOUNDS, Field, Layer
from layers.geo.crs import to_metric

# Tolerance of the inside-the-boundary test: the boundary is approximate.
BOUNDARY_TOLERANCE_M = 1.0

_ALLOWED_GEOMETRIES = {
    "Point": {"Point"},
    "LineString": {"LineString", "MultiLineString"},
    "Polygon": {"Polygon", "MultiPolygon"},
}


# Messages that callers recognise (the importer says a missing column once for the file).
REQUIRED = "为必填项 (is required)"
MISSING_GEOMETRY = "缺少几何 (missing)"
OUTSIDE_BOUNDARY = "位于街道辖区以外(或部分在外) (lies (partly) outside the sub-district boundary)"


@dataclass(frozen=True)
class Problem:
    source: str  # file name or other origin
    feature_id: str | None  # None: the problem concerns the whole file
    message: str
    field: str | None = None

    def __str__(self) -> str:
        where = self.source
        if self.feature_id is not None:
            where += f": feature {self.feature_id}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class LayerDataError(ValueError):
    """A layer's data does not match its catalogue entry."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in layer data:\n  {shown}{more}")


@dataclass(frozen=True)
class ValidFeature:
    id: str
    properties: dict[str, Any]
    geometry: Geometry  # WGS84
    metric: Geometry  # EPSG:4548


def validate_collection(
    layer: Layer,
    data: Any,
    source: str,
    boundary_metric: Geometry | None = None,
    on_feature: Callable[[], None] | None = None,
) -> tuple[list[ValidFeature], list[Problem]]:
    """Check a GeoJSON FeatureCollection; return its valid features and all problems.

    `boundary_metric` (EPSG:4548) is required of layers whose features must lie
    inside the sub-district; leave it None to skip that test. `on_feature` is
    called after each feature (an import's progress bar).
    """
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        return [], [Problem(source, None, "is not a GeoJSON FeatureCollection")]
    features = data.get("features")
    if not isinstance(features, list):
        return [], [Problem(source, None, "has no 'features' list")]
    if "crs" in data:
        return [], [Problem(source, None, "has a 'crs' member: GeoJSON must be WGS84 lon/lat "
                                          "(RFC 7946); reproject it or import it with its CRS")]

    fence = None
    if layer.inside_boundary and boundary_metric is not None:
        fence = prep(boundary_metric.buffer(BOUNDARY_TOLERANCE_M))

    valid: list[ValidFeature] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, feature in enumerate(features):
        fid, found = _check_feature(layer, feature, index, source, seen, fence)
        problems += found
        if fid is not None and not found:
            valid.append(fid)
        if on_feature is not None:
            on_feature()
    return valid, problems


def _check_feature(
    layer: Layer,
    feature: Any,
    index: int,
    source: str,
    seen: set[str],
    fence: Any,
) -> tuple[ValidFeature | None, list[Problem]]:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        return None, [Problem(source, f"#{index}", "is not a GeoJSON Feature")]
    raw_id = feature.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or str(raw_id).strip() == "":
        return None, [Problem(source, f"#{index}", "has no id (a string or integer 'id' "
                                                    "is required on every feature)")]
    fid = str(raw_id)
    problems: list[Problem] = []
    if fid in seen:
        problems.append(Problem(source, fid, "duplicate id"))
    seen.add(fid)

    geometry, metric, geometry_problem = _check_geometry(layer, feature.get("geometry"), fence)
    if geometry_problem:
        problems.append(Problem(source, fid, geometry_problem, "geometry"))

    props = feature.get("properties")
    if not isinstance(props, Mapping):
        problems.append(Problem(source, fid, "properties must be an object", "properties"))
        return None, problems
    problems += [Problem(source, fid, msg, name) for name, msg in check_properties(layer, props)]
    if not problems:
        problems += [Problem(source, fid, msg) for check in layer.checks
                     if (msg := check(props)) is not None]
    if problems or geometry is None or metric is None:
        return None, problems
    return ValidFeature(fid, dict(props), geometry, metric), []


def _check_geometry(
    layer: Layer, raw: Any, fence: Any
) -> tuple[Geometry | None, Geometry | None, str | None]:
    if not isinstance(raw, Mapping):
        return None, None, MISSING_GEOMETRY
    try:
        geom = shape(raw)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.ShapelyError) as e:
        return None, None, f"几何无法读取 (cannot be read: {e})"
    allowed = _ALLOWED_GEOMETRIES[layer.geometry]
    if geom.geom_type not in allowed:
        return None, None, (f"几何类型为 {geom.geom_type},本图层只接受 {'/'.join(allowed)} "
                            f"(is a {geom.geom_type}; layer {layer.name} takes "
                            f"{'/'.join(allowed)})")
    if geom.is_empty:
        return None, None, "几何为空 (is empty)"
    coords = shapely.get_coordinates(geom)
    if not all(math.isfinite(v) for v in coords.flat):
        return None, None, "有坐标不是有限数值 (has a coordinate that is not a finite number)"
    minx, miny, maxx, maxy = geom.bounds
    west, south, east, north = JINAN_BOUNDS
    if not (west <= minx and maxx <= east and south <= miny and maxy <= north):
        swapped = south <= minx <= north
        zh = ",经纬度是否颠倒?" if swapped else ",请检查坐标系"
        hint = " (are lon and lat swapped?)" if swapped else ""
        return None, None, (f"位于济南以外{zh} (lies outside Jinan (lon {west}..{east}, lat "
                            f"{south}..{north}): bounds {minx:.6f},{miny:.6f},{maxx:.6f},"
                            f"{maxy:.6f}{hint})")
    if not geom.is_valid:
        return None, None, f"几何无效,如自相交 (is invalid: {explain_validity(geom)})"
    metric = to_metric(geom)
    if fence is not None and not fence.covers(metric):
        return None, None, OUTSIDE_BOUNDARY
    return geom, metric, None


def check_properties(layer: Layer, props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, problem) for every property that breaks the layer's schema."""
    problems = []
    known = {f.name for f in layer.fields}
    for name in props:
        if name not in known:
            problems.append((name, f"不是本图层的字段 (is not a property of layer {layer.name}; "
                                   f"known: {', '.join(sorted(known))})"))
    for f in layer.fields:
        value = props.get(f.name)
        if value is None:
            if f.required:
                problems.append((f.name, REQUIRED))
            continue
        message = check_value(f, value)
        if message:
            problems.append((f.name, message))
    return problems


def check_value(f: Field, value: Any) -> str | None:
    """The problem with one property value, or None if it is fine."""
    if f.type == "str":
        if not isinstance(value, str):
            return f"须为文本 (must be text, not {type(value).__name__})"
        if not value.strip():
            return "不能为空 (must not be empty)"
        if len(value) > f.max_length:
            return f"超过 {f.max_length} 个字 (is longer than {f.max_length} characters)"
        if f.pattern and not re.fullmatch(f.pattern, value):
            return f"格式不对:{value!r} ({value!r} does not match the pattern {f.pattern})"
        if f.choices and value not in f.choices:
            return (f"不是可选值:{value!r},可选 {'、'.join(f.choices)} ({value!r} is not one of "
                    f"{', '.join(f.choices)})")
    elif f.type in ("int", "float"):
        ok = isinstance(value, int) if f.type == "int" else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            return (f"须为{'整数' if f.type == 'int' else '数值'},而不是 {value!r} (must be "
                    f"{'an integer' if f.type == 'int' else 'a number'}, not {value!r})")
        if not math.isfinite(value):
            return "须为有限数值 (must be a finite number)"
        if f.minimum is not None and value < f.minimum:
            return (f"不能小于 {f.minimum:g},而是 {value} (must be at least {f.minimum:g}, "
                    f"not {value})")
    elif f.type == "bool":
        if not isinstance(value, bool):
            return f"须为 是 或 否,而不是 {value!r} (must be true or false, not {value!r})"
    elif f.type == "date":
        if not _is_iso_date(value):
            return f"不是日期:{value!r},应为 YYYY-MM-DD ({value!r} is not a date (YYYY-MM-DD))"
    elif f.type == "list":
        if not isinstance(value, list) or not value:
            return "须为非空的列表 (must be a non-empty list)"
        bad = [v for v in value if v not in f.choices]
        if bad:
            return (f"不在可选值中:{'、'.join(map(str, bad))},可选 {'、'.join(f.choices)} "
                    f"({bad} not among {', '.join(f.choices)})")
        if len(set(value)) != len(value):
            return "有重复的值 (has repeated values)"
    return None


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
