"""Reading the files an office receives into plain records, in WGS84.

GeoJSON, GeoPackage, Shapefile (zipped or not), KML/KMZ (through GDAL, read
by pyogrio), CSV and XLSX with lon/lat columns (or a WKT column). Coordinates
may be in any EPSG CRS or in the GCJ-02 / BD-09 offsets of Chinese web maps;
`to_wgs84` brings them to WGS84 lon/lat. Nothing here knows the layer
schema: `importer.py` checks the records against the catalogue.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely import Geometry
from shapely.geometry import shape

from layers.data.limits import ImportLimits, LimitError
from layers.geo import chinacoords
from layers.geo.crs import transformer

WGS84_DECIMALS = 7  # as the shipped files: about 1 cm

# Column names taken for the x (lon) and y (lat) of a point, case-insensitive.
LON_COLUMNS = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")

FORMATS = {
    ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage",
    ".zip": "Shapefile", ".shp": "Shapefile", ".kml": "KML", ".kmz": "KML",
    ".csv": "CSV", ".xlsx": "XLSX",
}
OFFSETS = ("gcj02", "bd09")  # not CRSs: offsets of WGS84 lon/lat (see chinacoords)


class SourceError(ValueError):
    """The file cannot be read as a whole (every row-level problem is reported apart)."""


@dataclass
class Record:
    """One feature or row of the source, as read."""

    label: str  # where a person finds it: "row 5" (spreadsheets), "feature 3"
    id: Any
    properties: dict[str, Any]
    geometry: Geometry | None
    problem: str | None = None  # why there is no geometry


@dataclass
class Source:
    path: Path
    format: str
    records: list[Record]
    columns: list[str]  # property columns, in the file's order
    declared_crs: CRS | None  # what the file says, if anything
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReadOptions:
    crs: str | None = None  # EPSG:xxxx (or a bare code), gcj02, bd09, wgs84
    lon_column: str | None = None
    lat_column: str | None = None
    id_column: str = "id"
    sheet: str | None = None  # XLSX sheet (default: the first)
    source_layer: str | None = None  # layer of a GeoPackage or KML with several


def source_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise SourceError(f"{path.name}: unknown format {path.suffix!r}; import "
                          f"{', '.join(sorted(set(FORMATS.values())))} "
                          f"({', '.join(FORMATS)})") from None


def parse_crs_option(text: str) -> CRS | str:
    """`--crs`: an EPSG code (EPSG:4548 or 4548), or one of gcj02, bd09 (offsets), wgs84."""
    value = text.strip().lower().replace("-", "")
    if value in OFFSETS:
        return value
    if value in ("wgs84", "crs84"):
        return CRS.from_epsg(4326)
    code = value[5:] if value.startswith("epsg:") else value
    if not code.isdigit():
        raise SourceError(f"--crs {text!r}: give an EPSG code (EPSG:4548, EPSG:4490 ...) "
                          "or gcj02 (Amap, Tencent, WeChat) or bd09 (Baidu)")
    try:
        return CRS.from_epsg(int(code))
    except CRSError:
        raise SourceError(f"--crs {text!r}: EPSG knows no such code") from None


def read_source(path: Path, options: ReadOptions | None = None,
                limits: ImportLimits | None = None) -> Source:
    """Read a file into records with WGS84 geometries; SourceError if it cannot be read
    or holds more than `limits` allow (checked before the work: see limits.py)."""
    options = options or ReadOptions()
    limits = (limits or ImportLimits()).restarted()
    fmt = source_format(path)
    try:
        limits.check_archive(path)
        if fmt == "GeoJSON":
            limits.check_geojson_bytes(path)
            source = _read_geojson(path, options)
        elif fmt in ("CSV", "XLSX"):
            if fmt == "CSV":
                limits.check_csv_bytes(path)
            source = _read_table(path, fmt, options)
        else:
            source = _read_vector(path, fmt, options, limits)
        limits.check_feature_count(path, len(source.records))
        limits.check_geometries(path, [r.label for r in source.records],
                                [r.geometry for r in source.records])
    except LimitError as e:
        raise SourceError(str(e)) from None
    except OSError as e:
        raise SourceError(f"{path.name}: cannot be read: {e.strerror or e}") from None
    to_wgs84(source, options)
    return source


# ------------------------------------------------------------------ GeoJSON
def _read_geojson(path: Path, options: ReadOptions) -> Source:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceError(f"{path.name}: is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise SourceError(f"{path.name}: is not valid JSON: {e}") from None
    except RecursionError:
        raise SourceError(f"{path.name}: is nested too deeply to be GeoJSON") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        raise SourceError(f"{path.name}: is not a GeoJSON FeatureCollection")
    records, columns = [], {}
    for n, feature in enumerate(data["features"], start=1):
        label = f"feature {n}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            records.append(Record(label, None, {}, None, "is not a GeoJSON Feature"))
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            records.append(Record(label, feature.get("id"), {}, None,
                                  "its properties are not an object"))
            continue
        fid = feature.get("id")
        if fid is None and options.id_column in props:
            fid = props[options.id_column]
        props = {k: v for k, v in props.items() if k != options.id_column}
        columns.update(dict.fromkeys(props))
        geometry, problem = None, None
        try:
            geometry = shape(feature["geometry"]) if feature.get("geometry") else None
        except (ValueError, TypeError, AttributeError, KeyError, IndexError,
                shapely.errors.ShapelyError) as e:
            problem = f"cannot be read: {e}"
        records.append(Record(label, fid, props, geometry,
                              problem or (None if geometry is not None else "missing")))
    return Source(path, "GeoJSON", records, list(columns), _geojson_crs(data))


def _geojson_crs(data: dict[str, Any]) -> CRS | None:
    """The legacy (2008) `crs` member, if any: RFC 7946 GeoJSON is always WGS84."""
    member = data.get("crs")
    if not isinstance(member, dict):
        return None
    name = (member.get("properties") or {}).get("name")
    try:
        return CRS.from_user_input(name)
    except (CRSError, TypeError):
        raise SourceError(f"the file's crs member {name!r} is not a CRS pyproj knows") from None


# ------------------------------------------------------------------ GDAL formats
def _gdal_path(path: Path, fmt: str) -> str:
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                shps = [n for n in z.namelist() if n.lower().endswith(".shp")]
        except zipfile.BadZipFile:
            raise SourceError(f"{path.name}: is not a zip file") from None
        if not shps:
            raise SourceError(f"{path.name}: the zip holds no .shp file")
        if len(shps) > 1:
            raise SourceError(f"{path.name}: the zip holds several shapefiles "
                              f"({', '.join(shps)}); zip one per layer")
        return f"/vsizip/{path.resolve()}/{shps[0]}"
    return str(path)


def _read_vector(path: Path, fmt: str, options: ReadOptions, limits: ImportLimits) -> Source:
    gdal_path = _gdal_path(path, fmt)
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(gdal_path)]
    except Exception as e:  # pyogrio raises DataSourceError and GDAL's own errors
        raise SourceError(f"{path.name}: GDAL cannot read it as {fmt}: {e}") from None
    layer = options.source_layer
    if layer is None:
        if len(layers) != 1:
            raise SourceError(f"{path.name}: holds {len(layers)} layers ({', '.join(layers)}); "
                              "choose one with --source-layer")
        layer = layers[0]
    elif layer not in layers:
        raise SourceError(f"{path.name}: has no layer {layer!r}; it has {', '.join(layers)}")
    try:
        count = pyogrio.read_info(gdal_path, layer=layer, force_feature_count=True)["features"]
    except Exception:  # the read below says what is wrong with the file
        count = 0
    limits.check_feature_count(path, count)
    try:
        frame = pyogrio.read_dataframe(gdal_path, layer=layer, fid_as_index=True)
    except Exception as e:
        raise SourceError(f"{path.name}: GDAL cannot read layer {layer!r}: {e}") from None
    columns = [c for c in frame.columns if c != "geometry"]
    id_column = _find_column(columns, (options.id_column,))
    if id_column is None:
        raise SourceError(f"{path.name}: has no {options.id_column!r} column for the features' "
                          f"ids (columns: {', '.join(columns)}); name it with --id-column")
    columns.remove(id_column)
    records = []
    values = frame[columns].astype(object).to_dict("records")
    for n, (row, fid, geometry) in enumerate(
            zip(values, frame[id_column].tolist(), frame.geometry.tolist(), strict=True), start=1):
        records.append(Record(f"feature {n}", fid, row, geometry,
                              None if geometry is not None else "missing"))
    declared = CRS.from_user_input(frame.crs) if frame.crs is not None else None
    return Source(path, fmt, records, columns, declared)


# ------------------------------------------------------------------ CSV and XLSX
def _read_table(path: Path, fmt: str, options: ReadOptions) -> Source:
    notes = []
    if fmt == "CSV":
        try:
            try:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            except UnicodeDecodeError:
                # Excel in China saves CSV as GBK unless told otherwise.
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
                notes.append("read as GB18030 (GBK) text, not UTF-8")
        except UnicodeDecodeError:
            raise SourceError(f"{path.name}: is neither UTF-8 nor GB18030 (GBK) text; "
                              "save it from the spreadsheet as CSV UTF-8") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise SourceError(f"{path.name}: is not a CSV table: {e}") from None
    else:
        try:
            frame = pd.read_excel(path, sheet_name=options.sheet or 0, dtype=object,
                                  engine="openpyxl")
        except ValueError as e:  # a missing sheet
            raise SourceError(f"{path.name}: {e}") from None
        except Exception as e:  # openpyxl raises zipfile and XML errors on broken files
            raise SourceError(f"{path.name}: is not an XLSX workbook: {e}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = list(frame.columns)
    id_column = _find_column(columns, (options.id_column,))
    if id_column is None:
        raise SourceError(f"{path.name}: has no {options.id_column!r} column for the features' "
                          f"ids (columns: {', '.join(columns)}); name it with --id-column")
    lon = _given_or_found(path, columns, options.lon_column, LON_COLUMNS, "--lon-column")
    lat = _given_or_found(path, columns, options.lat_column, LAT_COLUMNS, "--lat-column")
    wkt = _find_column(columns, WKT_COLUMNS)
    if (lon is None) != (lat is None):
        raise SourceError(f"{path.name}: found a {'lon' if lat is None else 'lat'} column but "
                          "not the other; name both with --lon-column and --lat-column")
    if lon is None and wkt is None:
        raise SourceError(f"{path.name}: no coordinate columns (lon/lat, 经度/纬度, x/y or wkt) "
                          f"among {', '.join(columns)}; name them with --lon-column and "
                          "--lat-column")
    geometry_columns = [lon, lat] if lon is not None else [wkt]
    properties = [c for c in columns if c not in (*geometry_columns, id_column)]
    records = []
    for n, row in enumerate(frame.to_dict("records"), start=2):  # row 1 is the header
        label = f"row {n}"
        if lon is not None and lat is not None:
            geometry, problem = _point(row[lon], row[lat], lon, lat)
        else:
            assert wkt is not None
            geometry, problem = _wkt(row[wkt], wkt)
        props = {c: row[c] for c in properties}
        records.append(Record(label, row[id_column], props, geometry, problem))
    return Source(path, fmt, records, properties, None, notes)


def _find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    return None


def _given_or_found(path: Path, columns: Sequence[str], given: str | None,
                    candidates: Sequence[str], option: str) -> str | None:
    if given is None:
        return _find_column(columns, candidates)
    if given not in columns:
        raise SourceError(f"{path.name}: has no column {given!r} ({option}); "
                          f"columns: {', '.join(columns)}")
    return given


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) \
        or (isinstance(value, str) and not value.strip())


def _point(x: Any, y: Any, x_name: str, y_name: str) -> tuple[Geometry | None, str | None]:
    if _empty(x) or _empty(y):
        return None, f"{x_name}/{y_name} is empty"
    lon, lat = _number(x), _number(y)
    if lon is None or lat is None:
        return None, f"{x_name}/{y_name} {x!r}, {y!r} is not a pair of numbers"
    return shapely.Point(lon, lat), None


def _wkt(text: Any, name: str) -> tuple[Geometry | None, str | None]:
    if _empty(text):
        return None, f"{name} is empty"
    try:
        return shapely.from_wkt(str(text)), None
    except shapely.errors.GEOSException as e:
        return None, f"{name} is not WKT: {e}"


# ------------------------------------------------------------------ coordinates
def to_wgs84(source: Source, options: ReadOptions) -> None:
    """Reproject (or un-offset) every geometry to WGS84 lon/lat, 2D, 7 decimals, RFC 7946
    ring orientation."""
    given = parse_crs_option(options.crs) if options.crs is not None else None
    declared = source.declared_crs
    if given is not None and declared is not None and not isinstance(given, str) \
            and not _same_crs(given, declared):
        source.notes.append(f"the file declares {_crs_name(declared)}; --crs "
                            f"{_crs_name(given)} is used instead")
    if given is None and declared is None and source.format == "Shapefile":
        raise SourceError(f"{source.path.name}: the shapefile has no .prj (no CRS); "
                          "say which with --crs (EPSG:4326, EPSG:4490, EPSG:4548 ...)")
    crs = given if given is not None else (declared or CRS.from_epsg(4326))
    if isinstance(crs, str):  # gcj02 / bd09: lon/lat offsets
        if declared is not None and not declared.is_geographic:
            raise SourceError(f"--crs {crs}: {crs} is an offset of lon/lat, but the file's "
                              f"coordinates are projected ({_crs_name(declared)})")

        def convert(xy: np.ndarray) -> np.ndarray:
            lon, lat = chinacoords.to_wgs84(xy[:, 0], xy[:, 1], crs)
            return np.column_stack([lon, lat])
        source.notes.append(f"coordinates converted from {crs.upper()} to WGS84")
    elif _same_crs(crs, CRS.from_epsg(4326)):
        def convert(xy: np.ndarray) -> np.ndarray:
            return xy
    else:
        if not crs.is_geographic and not crs.is_projected:
            raise SourceError(f"{_crs_name(crs)} is neither geographic nor projected")
        to_wgs84 = transformer(crs, CRS.from_epsg(4326), always_xy=True)

        def convert(xy: np.ndarray) -> np.ndarray:
            x, y = to_wgs84.transform(xy[:, 0], xy[:, 1], errcheck=False)
            return np.column_stack([x, y])
        source.notes.append(f"coordinates reprojected from {_crs_name(crs)} to WGS84")

    for record in source.records:
        if record.geometry is None:
            continue
        with np.errstate(over="ignore", invalid="ignore"):  # validation names the row
            geometry = shapely.transform(shapely.force_2d(record.geometry),
                                         lambda xy: convert(xy).round(WGS84_DECIMALS))
        # RFC 7946: exterior rings counterclockwise (a Shapefile's run clockwise).
        record.geometry = shapely.orient_polygons(geometry, exterior_cw=False)


def _same_crs(a: CRS, b: CRS) -> bool:
    """Equal but for axis order (files store x = east, whatever EPSG says)."""
    return a.equals(b, ignore_axis_order=True)


def _crs_name(crs: CRS) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else crs.name
