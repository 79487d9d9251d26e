"""OGC API - Features over the layer store: the request logic, free of Flask.

Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) and Part 2 (coordinate reference
systems by reference: `crs` and `bbox-crs`). Each catalogue layer is a
collection; its features are the store's, in the same order, with the same
ids. Spatial filtering goes through the app's spatial store (STRtrees or
PostGIS, passed in by the routes); property filters compare the features of one
layer in memory.

`routes.py` turns requests into calls of these functions and renders the
results as JSON or HTML.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import CRS

from layers.catalogue.entries import Field, Layer
from layers.catalogue.live import live_queryables
from layers.errors import BadRequest
from layers.geo.crs import transformer
from layers.stores.layers import LoadedLayer
from layers.stores.spatial import BBox
from layers.web import params

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def epsg_uri(code: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


# The CRSs a client may ask for (Part 2), each with the decimals of its output:
# 7 for degrees (about 1 cm), 3 for metres. EPSG:4326 and EPSG:4490 (CGCS2000)
# are lat/lon and EPSG:4548 is northing/easting in their authority's axis order,
# which Part 2 requires; CRS84 is lon/lat, like GeoJSON.
SUPPORTED_CRS: dict[str, tuple[CRS, int]] = {
    CRS84: (CRS.from_user_input("OGC:CRS84"), 7),
    epsg_uri(4326): (CRS.from_epsg(4326), 7),
    epsg_uri(4490): (CRS.from_epsg(4490), 7),
    epsg_uri(4548): (CRS.from_epsg(4548), 3),
}
STORAGE_CRS = CRS84
# Both ways between the storage CRS and each other one, built now, once per process
# (a new one costs 200-500 ms; layers/geo/crs.py).
for _uri, (_crs, _) in SUPPORTED_CRS.items():
    if _uri != CRS84:
        transformer(SUPPORTED_CRS[CRS84][0], _crs)
        transformer(_crs, SUPPORTED_CRS[CRS84][0])

DEFAULT_LIMIT = 10
MAX_LIMIT = 10000

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # OGC API - Tiles: vector tilesets of each collection, in WebMercatorQuad, as MVT.
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    # Part 4 (draft 1.0): admins create, replace, update and delete items (routes.py).
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
)

# Query parameters of the items operation besides the property filters.
ITEMS_PARAMETERS = ("f", "bbox", "bbox-crs", "crs", "datetime", "limit", "offset")
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

def queryables(layer: Layer) -> tuple[Field, ...]:
    """The properties of a layer that the items operation filters on (`?name=value`): its
    fields and the live properties catalogue.live marks queryable."""
    return layer.fields + live_queryables(layer)


def temporal_field(layer: Layer) -> str | None:
    """The property that places a layer's features in time (`datetime`): its first date."""
    return next((f.name for f in layer.fields if f.type == "date"), None)


@dataclass(frozen=True)
class ItemsQuery:
    bbox: tuple[float, float, float, float] | None  # in bbox_crs, axis order of that CRS
    bbox_crs: str
    crs: str
    limit: int
    offset: int
    filters: tuple[tuple[str, Any], ...]  # (property, typed value)
    period: tuple[dt.date | None, dt.date | None] | None = None  # datetime: days, inclusive


def parse_crs(value: str | None, parameter: str) -> str:
    if value is None:
        return CRS84
    given = value
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):  # safe CURIE, e.g. [EPSG:4548]
        value = value[1:-1]
    if value.upper().startswith("EPSG:"):
        value = epsg_uri(int(value[5:])) if value[5:].isdigit() else value
    if value not in SUPPORTED_CRS:
        raise BadRequest(f"{parameter} 不支持坐标参考系 {given!r} ({parameter} {given!r} is not "
                         f"supported; use one of {', '.join(SUPPORTED_CRS)})")
    return value


def check_parameters(args: Mapping[str, Any], allowed: Sequence[str]) -> None:
    """400 for a query parameter the API does not define (Core requirement), or given
    more than once (each takes one value)."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise BadRequest(f"未知的查询参数 {'、'.join(unknown)} (unknown query parameter(s) "
                         f"{', '.join(unknown)}; this operation takes {', '.join(allowed)})")
    getlist = getattr(args, "getlist", None)
    repeated = sorted(name for name in args if getlist and len(getlist(name)) > 1)
    if repeated:
        raise BadRequest(f"查询参数 {'、'.join(repeated)} 只能给一次 (query parameter(s) "
                         f"{', '.join(repeated)} given more than once)")


def parse_items_query(layer: Layer, args: Mapping[str, str]) -> ItemsQuery:
    """The items parameters, checked; BadRequest with a clear message otherwise."""
    fields = {f.name: f for f in queryables(layer)}
    check_parameters(args, ITEMS_PARAMETERS + tuple(fields))
    bbox_crs = parse_crs(args.get("bbox-crs"), "bbox-crs")
    if "bbox-crs" in args and "bbox" not in args:
        raise BadRequest("给了 bbox-crs 却没有 bbox (bbox-crs is given without bbox)")
    return ItemsQuery(
        bbox=params.bbox(args["bbox"], lonlat=False) if "bbox" in args else None,
        bbox_crs=bbox_crs,
        crs=parse_crs(args.get("crs"), "crs"),
        limit=min(params.integer(args.get("limit"), "limit", default=DEFAULT_LIMIT, minimum=1),
                  MAX_LIMIT),
        offset=params.integer(args.get("offset"), "offset", default=0),
        filters=tuple((name, _filter_value(fields[name], args[name]))
                      for name in fields if name in args),
        period=parse_datetime(args["datetime"]) if "datetime" in args else None,
    )


def parse_datetime(text: str) -> tuple[dt.date | None, dt.date | None]:
    """An RFC 3339 instant or interval (`a/b`, `..` or empty for an open end) as days.

    The layers' times are dates, so an instant selects its (UTC) day.
    """
    parts = text.split("/")
    if len(parts) > 2:
        raise BadRequest("datetime 须为一个时刻或一个区间 (datetime must be an instant or an "
                         "interval start/end)")
    days = [_day(p) for p in parts]
    if len(days) == 1:
        if days[0] is None:
            raise BadRequest("datetime 须指明时间 (datetime must name a time; '..' only stands "
                             "for an open end)")
        return days[0], days[0]
    start, end = days
    if start is not None and end is not None and start > end:
        raise BadRequest("datetime 区间的结束早于开始 (datetime: the interval ends before it "
                         "starts)")
    return start, end


def _day(text: str) -> dt.date | None:
    return None if text in ("", "..") else params.day(text, "datetime")


def _filter_value(f: Field, text: str) -> Any:
    # The field's minimum, as the OpenAPI document states it (bins=-7560 is refused).
    if f.type == "int":
        return params.integer(text, f.name,
                              minimum=None if f.minimum is None else math.ceil(f.minimum))
    if f.type == "float":
        return params.number(text, f.name, minimum=f.minimum)
    if f.type == "bool":
        return params.boolean(text, f.name)
    if f.choices:  # a value the document's enum allows (a list: one of its items)
        return params.choice(text, f.name, f.choices)
    if f.type == "date" and not _is_date(text):
        raise BadRequest(f"{f.label} {f.name} 须为日期 YYYY-MM-DD,而不是 {text[:40]!r} "
                         f"({f.name} must be a date, YYYY-MM-DD)")
    return text


def _is_date(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _matches(properties: Mapping[str, Any], name: str, wanted: Any) -> bool:
    value = properties.get(name)
    if isinstance(value, list):
        return wanted in value  # a list property matches when it holds the value
    if isinstance(wanted, bool) or isinstance(value, bool):
        return value is wanted
    return value == wanted


def _lonlat_boxes(query: ItemsQuery) -> list[tuple[float, float, float, float]]:
    """The query's bbox as lon/lat boxes (two where it crosses the antimeridian)."""
    assert query.bbox is not None
    if query.bbox_crs != CRS84:
        crs, _ = SUPPORTED_CRS[query.bbox_crs]
        to_lonlat = transformer(crs, SUPPORTED_CRS[CRS84][0])
        a, b, c, d = query.bbox
        try:
            box = to_lonlat.transform_bounds(a, b, c, d)
        except Exception:  # pyproj raises ProjError (and others) for unprojectable boxes
            raise BadRequest(f"bbox 无法从 {query.bbox_crs} 转换 (bbox cannot be transformed "
                             f"from {query.bbox_crs})") from None
        if not all(math.isfinite(v) for v in box):
            raise BadRequest(f"bbox 超出 {query.bbox_crs} 的适用范围 (bbox lies outside the area "
                             f"of {query.bbox_crs})")
        return [box]
    minx, miny, maxx, maxy = query.bbox
    if minx > maxx:  # crosses the antimeridian (Core: west-most value first)
        return [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]
    return [(minx, miny, maxx, maxy)]


def select(
    loaded: LoadedLayer,
    query: ItemsQuery,
    live: Mapping[str, Mapping[str, Any]] | None,
    in_bbox: Callable[[BBox], list[int]],
) -> Sequence[int]:
    """Positions (in layer order) of the features that match the bbox and property filters.

    `in_bbox` finds the positions in a lon/lat box (the app's spatial store). Without any
    filter, a range: a page of a large layer costs its page, not a list of the layer."""
    positions: Sequence[int]
    if query.bbox is None:
        positions = range(len(loaded))
    else:
        hits: set[int] = set()
        for box in _lonlat_boxes(query):
            hits.update(in_bbox(_clamp(box)))
        positions = sorted(hits)
    positions = filter_properties(loaded, positions, query.filters, live)
    if query.period is not None:
        # A feature without a date has no place in time, so no time selects it.
        when = temporal_field(loaded.layer)
        start, end = query.period
        positions = [i for i in positions if when is not None
                     and _in_period(loaded.features[i]["properties"].get(when), start, end)]
    return positions


def filter_properties(loaded: LoadedLayer, positions: Sequence[int],
                      filters: Sequence[tuple[str, Any]],
                      live: Mapping[str, Mapping[str, Any]] | None) -> Sequence[int]:
    """The positions whose properties (with `live` ones, by feature id) match every filter."""
    for name, wanted in filters:
        positions = [i for i in positions
                     if _matches(_properties(loaded, i, live), name, wanted)]
    return positions


def _in_period(value: Any, start: dt.date | None, end: dt.date | None) -> bool:
    if not isinstance(value, str):
        return False
    day = dt.date.fromisoformat(value)
    return (start is None or start <= day) and (end is None or day <= end)


def temporal_extent(loaded: LoadedLayer) -> list[str] | None:
    """The first and the last day of a layer's features as RFC 3339 date-times (the days
    are Beijing days: from 00:00 of the first to the end of the last, +08:00), or None
    when it has no dates (worked out once per layer version)."""
    return loaded.once("ogc.temporal_extent", _temporal_extent)


def _temporal_extent(loaded: LoadedLayer) -> list[str] | None:
    when = temporal_field(loaded.layer)
    days = sorted(v for f in loaded.features
                  if isinstance(v := f["properties"].get(when), str)) if when else []
    if not days:
        return None
    return [f"{days[0]}T00:00:00+08:00", f"{days[-1]}T23:59:59+08:00"]


def _clamp(box: Sequence[float]) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = box
    return (max(minx, -180.0), max(miny, -90.0), min(maxx, 180.0), min(maxy, 90.0))


def _properties(loaded: LoadedLayer, position: int,
                live: Mapping[str, Mapping[str, Any]] | None) -> Mapping[str, Any]:
    feature = loaded.features[position]
    if live and feature["id"] in live:
        return {**feature["properties"], **live[feature["id"]]}
    return feature["properties"]


def features(
    loaded: LoadedLayer,
    positions: Sequence[int],
    crs: str = CRS84,
    live: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """GeoJSON features at the positions, in `crs` (its authority's axis order)."""
    chosen = [{**loaded.features[i], "properties": dict(_properties(loaded, i, live))}
              for i in positions]
    if crs == CRS84 or not chosen:
        return chosen
    target, decimals = SUPPORTED_CRS[crs]
    to_target = transformer(SUPPORTED_CRS[CRS84][0], target)
    # All coordinates in one call, written out by GEOS (mapping() per feature costs more
    # than the projection).
    geometries = loaded.geometries[list(positions)]  # a new array: set_coordinates fills it
    xy = shapely.get_coordinates(geometries)
    x, y = to_target.transform(xy[:, 0], xy[:, 1])
    shapely.set_coordinates(geometries, np.column_stack([x, y]).round(decimals))
    for feature, text in zip(chosen, shapely.to_geojson(geometries), strict=True):
        feature["geometry"] = json.loads(text)
    return chosen
