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
import tempfile
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
    ".csv": "CSV", ".xlsx": "XLSX", ".gpx": "GPX",
}
# A GPX file always has GDAL's five layers; the one read unless the user chooses: the
# first that has features (waypoints for points, tracks or routes for lines).
GPX_LAYERS = ("waypoints", "tracks", "routes")
OFFSETS = ("gcj02", "bd09")  # not CRSs: offsets of WGS84 lon/lat (see chinacoords)
# Headers taken for the features' ids besides ReadOptions.id_column: the label the map's
# pages and exports give ids.
ID_COLUMNS = ("id", "编号")
# Text encodings a user may choose (page and CLI); None: found out (see `text_encoding`).
ENCODINGS = {"utf-8": "UTF-8", "gb18030": "GBK/GB18030", "big5": "Big5"}
# Formats whose features may come without ids (they get ids from the layer's pattern).
WITHOUT_IDS = ("KML", "GPX", "CSV", "XLSX")


class SourceError(ValueError):
    """The file cannot be read as a whole (every row-level problem is reported apart)."""


@dataclass
class Record:
    """One feature or row of the source, as read."""

    label: str  # where a person finds it: "第 5 行" (spreadsheets), "第 3 个要素"
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
    ids_missing: bool = False  # the file has no ids: the importer makes them


@dataclass(frozen=True)
class ReadOptions:
    crs: str | None = None  # EPSG:xxxx (or a bare code), gcj02, bd09, wgs84
    lon_column: str | None = None
    lat_column: str | None = None
    id_column: str = "id"
    sheet: str | None = None  # XLSX sheet (default: the first)
    source_layer: str | None = None  # layer of a GeoPackage or KML with several
    encoding: str | None = None  # of a Shapefile's .dbf or a CSV (ENCODINGS); None: found out


def source_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise SourceError(f"{path.name}: 不支持的文件格式 {path.suffix!r},可导入 "
                          f"{'、'.join(sorted(set(FORMATS.values())))} (unknown format "
                          f"{path.suffix!r}; import {', '.join(FORMATS)})") from None


def parse_crs_option(text: str) -> CRS | str:
    """`--crs`: an EPSG code (EPSG:4548 or 4548), or one of gcj02, bd09 (offsets), wgs84."""
    value = text.strip().lower().replace("-", "")
    if value in OFFSETS:
        return value
    if value in ("wgs84", "crs84"):
        return CRS.from_epsg(4326)
    code = value[5:] if value.startswith("epsg:") else value
    if not code.isdigit():
        raise SourceError(f"坐标系 {text!r} 无法识别,请填写 EPSG 代码(如 EPSG:4548)或选择 GCJ-02、"
                          f"BD-09 (--crs {text!r}: give an EPSG code (EPSG:4548, EPSG:4490 ...) "
                          "or gcj02 (Amap, Tencent, WeChat) or bd09 (Baidu))")
    try:
        return CRS.from_epsg(int(code))
    except CRSError:
        raise SourceError(f"没有这个 EPSG 代码:{text} (--crs {text!r}: EPSG knows no such "
                          "code)") from None


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
        raise SourceError(f"{path.name}: 文件无法读取 (cannot be read: {e.strerror or e})"
                          ) from None
    to_wgs84(source, options)
    return source


# ------------------------------------------------------------------ GeoJSON
def _read_geojson(path: Path, options: ReadOptions) -> Source:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceError(f"{path.name}: 不是 UTF-8 编码的文本,GeoJSON 须为 UTF-8 (is not UTF-8 "
                          "text)") from None
    except json.JSONDecodeError as e:
        raise SourceError(f"{path.name}: 不是有效的 JSON,文件可能不完整 (is not valid JSON: {e})"
                          ) from None
    except RecursionError:
        raise SourceError(f"{path.name}: 嵌套过深,不是 GeoJSON (is nested too deeply to be "
                          "GeoJSON)") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        raise SourceError(f"{path.name}: 不是 GeoJSON 要素集合(FeatureCollection) (is not a "
                          "GeoJSON FeatureCollection)")
    records, columns = [], {}
    for n, feature in enumerate(data["features"], start=1):
        label = f"第 {n} 个要素"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            records.append(Record(label, None, {}, None, "不是 GeoJSON 要素 (is not a GeoJSON "
                                  "Feature)"))
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            records.append(Record(label, feature.get("id"), {}, None,
                                  "属性不是对象 (its properties are not an object)"))
            continue
        fid = feature.get("id")
        id_key = _find_column(list(props), (options.id_column, *ID_COLUMNS))
        if fid is None and id_key is not None:
            fid = props[id_key]
        props = {k: v for k, v in props.items() if k != id_key}
        columns.update(dict.fromkeys(props))
        geometry, problem = None, None
        try:
            geometry = shape(feature["geometry"]) if feature.get("geometry") else None
        except (ValueError, TypeError, AttributeError, KeyError, IndexError,
                shapely.errors.ShapelyError) as e:
            problem = f"几何无法读取 (cannot be read: {e})"
        records.append(Record(label, fid, props, geometry,
                              problem or (None if geometry is not None else MISSING)))
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
        raise SourceError(f"文件声明的坐标系 {name!r} 无法识别 (the file's crs member {name!r} "
                          "is not a CRS pyproj knows)") from None


# ------------------------------------------------------------------ GDAL formats
MISSING = "缺少几何 (missing)"
SHAPEFILE_PARTS = "请把 .shp、.shx、.dbf、.prj 一起打包成 zip 上传"


def _zip_names(info: zipfile.ZipInfo) -> str:
    """A member's name as its maker meant it: zips made on Windows in China name files in
    GBK without saying so (no UTF-8 flag), which zipfile reads as CP437."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unpacked_shapefile(path: Path, folder: Path) -> Path:
    """The .shp of a zipped Shapefile, unpacked into `folder` under ASCII names (GDAL reads
    names as they are stored; a Windows zip stores GBK)."""
    try:
        with zipfile.ZipFile(path) as z:
            members = [(info, _zip_names(info)) for info in z.infolist() if not info.is_dir()]
            shps = [name for _, name in members if name.lower().endswith(".shp")]
            if not shps:
                raise SourceError(f"{path.name}: 压缩包中没有 .shp 文件,{SHAPEFILE_PARTS} (the zip "
                                  "holds no .shp file)")
            if len(shps) > 1:
                raise SourceError(f"{path.name}: 压缩包中有多个图层({'、'.join(shps)}),请每个图层"
                                  f"单独打包 (the zip holds several shapefiles: {', '.join(shps)}; "
                                  "zip one per layer)")
            stem = shps[0][:-4]
            for info, name in members:
                if name[:-4] == stem or name.rsplit(".", 1)[0] == stem:
                    suffix = name.rsplit(".", 1)[-1].lower()
                    (folder / f"layer.{suffix}").write_bytes(z.read(info))
    except zipfile.BadZipFile:
        raise SourceError(f"{path.name}: 不是有效的 zip 压缩包 (is not a zip file)") from None
    shp = folder / "layer.shp"
    _check_shapefile_parts(shp, shps[0])
    return shp


def _check_shapefile_parts(shp: Path, name: str) -> None:
    missing = [s for s in (".shx", ".dbf") if not shp.with_suffix(s).exists()
               and not shp.with_suffix(s.upper()).exists()]
    if missing:
        raise SourceError(f"{name}: 缺少 {'、'.join(missing)} 文件,{SHAPEFILE_PARTS} (a "
                          f"Shapefile is several files; {', '.join(missing)} is missing: zip "
                          ".shp, .shx, .dbf and .prj together)")


def dbf_encoding(shp: Path) -> str | None:
    """The encoding to read a Shapefile's .dbf in when the file does not say (no .cpg, no
    code page in the header): UTF-8 when its text is valid UTF-8, else GB18030 (GBK), what
    most tools in China write. None when the file says (GDAL follows it)."""
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()),
               None)
    if dbf is None or any(shp.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    data = dbf.read_bytes()
    if len(data) < 32 or data[29] != 0:  # byte 29: the code page (language driver id)
        return None
    header = int.from_bytes(data[8:10], "little")
    try:
        data[header:].decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _gdal_error(path: Path, fmt: str, error: Exception) -> SourceError:
    """GDAL's complaint as what the user should do."""
    text = str(error)
    if "SHAPE_RESTORE_SHX" in text or ".shx" in text.lower():
        return SourceError(f"{path.name}: 缺少 .shx 文件,{SHAPEFILE_PARTS} (GDAL: {text})")
    if "not recognized as" in text or "not a supported" in text:
        return SourceError(f"{path.name}: 无法识别为 {fmt} 文件,请检查文件是否完整、扩展名是否正确 "
                           f"(GDAL cannot read it as {fmt}: {text})")
    return SourceError(f"{path.name}: 无法按 {fmt} 读取,文件可能已损坏 (GDAL cannot read it as "
                       f"{fmt}: {text})")


def _read_vector(path: Path, fmt: str, options: ReadOptions, limits: ImportLimits) -> Source:
    with tempfile.TemporaryDirectory(prefix="huaishu-source-") as folder:
        if fmt == "Shapefile" and path.suffix.lower() == ".zip":
            gdal_path = _unpacked_shapefile(path, Path(folder))
        else:
            gdal_path = path
            if fmt == "Shapefile":
                _check_shapefile_parts(path, path.name)
        return _read_gdal(path, gdal_path, fmt, options, limits)


def _gpx_layer(gdal_path: Path, layers: list[str]) -> str | None:
    """The GPX layer with features: waypoints, else tracks, else routes (None: none has)."""
    for name in GPX_LAYERS:
        if name in layers:
            try:
                info = pyogrio.read_info(gdal_path, layer=name, force_feature_count=True)
            except Exception:  # the read of the file says what is wrong with it
                continue
            if info["features"]:
                return name
    return None


def _read_gdal(path: Path, gdal_path: Path, fmt: str, options: ReadOptions,
               limits: ImportLimits) -> Source:
    notes = []
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(gdal_path)]
    except Exception as e:  # pyogrio raises DataSourceError and GDAL's own errors
        raise _gdal_error(path, fmt, e) from None
    layer = options.source_layer
    if layer is None and fmt == "GPX":
        layer = _gpx_layer(gdal_path, layers)
        notes.append(f"读取 GPX 的 {layer} 图层 (read the GPX file's {layer})")
    if layer is None:
        if len(layers) != 1:
            raise SourceError(f"{path.name}: 含有 {len(layers)} 个图层({'、'.join(layers)}),请在"
                              f"「源图层」中选择一个 (holds {len(layers)} layers: "
                              f"{', '.join(layers)}; choose one with --source-layer)")
        layer = layers[0]
    elif layer not in layers:
        raise SourceError(f"{path.name}: 没有图层 {layer!r},只有 {'、'.join(layers)} (has no "
                          f"layer {layer!r}; it has {', '.join(layers)})")
    try:
        count = pyogrio.read_info(gdal_path, layer=layer, force_feature_count=True)["features"]
    except Exception:  # the read below says what is wrong with the file
        count = 0
    limits.check_feature_count(path, count)
    encoding = None
    if fmt == "Shapefile":
        encoding = options.encoding or dbf_encoding(gdal_path)
        if encoding is not None:
            how = "按所选" if options.encoding else "文件未注明编码(无 .cpg),按"
            notes.append(f"属性文本{how} {ENCODINGS.get(encoding, encoding)} 编码读取 (the .dbf "
                         f"was read as {encoding})")
    try:
        frame = pyogrio.read_dataframe(gdal_path, layer=layer, fid_as_index=True,
                                       encoding=encoding)
    except UnicodeDecodeError:
        raise SourceError(f"{path.name}: 属性文本不是 {ENCODINGS.get(encoding or '', encoding)} "
                          f"编码,请选择其他编码 (the text is not {encoding})") from None
    except Exception as e:
        raise _gdal_error(path, fmt, e) from None
    if fmt == "GPX":  # GPX's own fields that are empty go; extensions lose GDAL's prefix
        frame = frame.drop(columns=[c for c in frame.columns
                                    if c != "geometry" and frame[c].isna().all()])
        frame = frame.rename(columns={c: c[4:] for c in frame.columns
                                      if c.startswith("ogr_")})
    columns = [c for c in frame.columns if c != "geometry"]
    id_column = _find_column(columns, (options.id_column, *ID_COLUMNS))
    ids_missing = id_column is None
    if ids_missing and fmt not in WITHOUT_IDS:
        raise SourceError(f"{path.name}: 没有编号列(表头为 id 或 编号),请在「编号列」中填写 "
                          f"(has no {options.id_column!r} column for the features' ids "
                          f"(columns: {', '.join(columns)}); name it with --id-column)")
    if id_column is not None:
        columns.remove(id_column)
    records = []
    values = frame[columns].astype(object).to_dict("records")
    ids = frame[id_column].tolist() if id_column is not None else [None] * len(frame)
    if fmt in WITHOUT_IDS and all(_empty(v) for v in ids):  # KML's empty Placemark ids
        ids_missing = True
    for n, (row, fid, geometry) in enumerate(
            zip(values, ids, frame.geometry.tolist(), strict=True), start=1):
        records.append(Record(f"第 {n} 个要素", fid, row, geometry,
                              None if geometry is not None else MISSING))
    declared = CRS.from_user_input(frame.crs) if frame.crs is not None else None
    return Source(path, fmt, records, columns, declared, notes, ids_missing)


# ------------------------------------------------------------------ CSV and XLSX
def _read_csv(path: Path, options: ReadOptions, notes: list[str]) -> pd.DataFrame:
    def read(encoding: str) -> pd.DataFrame:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)

    try:
        if options.encoding:
            try:
                frame = read("utf-8-sig" if options.encoding == "utf-8" else options.encoding)
            except UnicodeDecodeError:
                raise SourceError(f"{path.name}: 文件不是 {ENCODINGS[options.encoding]} 编码,请选择"
                                  f"其他编码 (is not {options.encoding} text)") from None
            notes.append(f"按所选 {ENCODINGS[options.encoding]} 编码读取 (read as "
                         f"{options.encoding})")
            return frame
        try:
            return read("utf-8-sig")
        except UnicodeDecodeError:
            pass
        try:
            frame = read("gb18030")  # Excel in China saves CSV as GBK unless told otherwise
        except UnicodeDecodeError:
            raise SourceError(f"{path.name}: 既不是 UTF-8 也不是 GBK 编码,请在表格软件中另存为"
                              "「CSV UTF-8」 (is neither UTF-8 nor GB18030 (GBK) text)") from None
        notes.append("文件不是 UTF-8,已按 GBK/GB18030 编码读取 (read as GB18030 (GBK) text, "
                     "not UTF-8)")
        return frame
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise SourceError(f"{path.name}: 不是有效的 CSV 表格 (is not a CSV table: {e})") from None


def _read_table(path: Path, fmt: str, options: ReadOptions) -> Source:
    notes: list[str] = []
    if fmt == "CSV":
        frame = _read_csv(path, options, notes)
    else:
        try:
            frame = pd.read_excel(path, sheet_name=options.sheet or 0, dtype=object,
                                  engine="openpyxl")
        except ValueError as e:  # a missing sheet
            raise SourceError(f"{path.name}: 没有这个工作表 ({e})") from None
        except Exception as e:  # openpyxl raises zipfile and XML errors on broken files
            raise SourceError(f"{path.name}: 不是有效的 XLSX 工作簿 (is not an XLSX workbook: "
                              f"{e})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = list(frame.columns)
    if columns and columns[0] == "图层":  # the map's own CSV export: its layers' titles
        columns.remove("图层")
    id_column = _find_column(columns, (options.id_column, *ID_COLUMNS))
    lon = _given_or_found(path, columns, options.lon_column, LON_COLUMNS, "经度列",
                          "--lon-column")
    lat = _given_or_found(path, columns, options.lat_column, LAT_COLUMNS, "纬度列",
                          "--lat-column")
    wkt = _find_column(columns, WKT_COLUMNS)
    if (lon is None) != (lat is None):
        raise SourceError(f"{path.name}: 找到了{'经度' if lat is None else '纬度'}列,没有找到"
                          f"{'纬度' if lat is None else '经度'}列,请在「经度列」「纬度列」中填写 "
                          f"(found a {'lon' if lat is None else 'lat'} column but not the "
                          "other; name both with --lon-column and --lat-column)")
    if lon is None and wkt is None:
        raise SourceError(f"{path.name}: 没有坐标列(经度/纬度、lon/lat、x/y 或 wkt),表头为 "
                          f"{'、'.join(columns)};请在「经度列」「纬度列」中填写 (no coordinate "
                          "columns (lon/lat, 经度/纬度, x/y or wkt); name them with --lon-column "
                          "and --lat-column)")
    geometry_columns = [lon, lat] if lon is not None else [wkt]
    properties = [c for c in columns if c not in (*geometry_columns, id_column)]
    records = []
    for n, row in enumerate(frame.to_dict("records"), start=2):  # row 1 is the header
        label = f"第 {n} 行"
        if lon is not None and lat is not None:
            geometry, problem = _point(row[lon], row[lat], lon, lat)
        else:
            assert wkt is not None
            geometry, problem = _wkt(row[wkt], wkt)
        props = {c: row[c] for c in properties}
        fid = row[id_column] if id_column is not None else None
        records.append(Record(label, fid, props, geometry, problem))
    return Source(path, fmt, records, properties, None, notes, id_column is None)


def _find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    return None


def _given_or_found(path: Path, columns: Sequence[str], given: str | None,
                    candidates: Sequence[str], label: str, option: str) -> str | None:
    if given is None:
        return _find_column(columns, candidates)
    if given not in columns:
        raise SourceError(f"{path.name}: 没有「{label}」中填写的列 {given!r},表头为 "
                          f"{'、'.join(columns)} (has no column {given!r} ({option}); "
                          f"columns: {', '.join(columns)})")
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
        return None, f"坐标 {x_name}/{y_name} 为空 ({x_name}/{y_name} is empty)"
    lon, lat = _number(x), _number(y)
    if lon is None or lat is None:
        return None, (f"坐标 {x_name}/{y_name} 不是数值:{x!r}, {y!r} ({x_name}/{y_name} {x!r}, "
                      f"{y!r} is not a pair of numbers)")
    return shapely.Point(lon, lat), None


def _wkt(text: Any, name: str) -> tuple[Geometry | None, str | None]:
    if _empty(text):
        return None, f"{name} 为空 ({name} is empty)"
    try:
        return shapely.from_wkt(str(text)), None
    except shapely.errors.GEOSException as e:
        return None, f"{name} 不是有效的 WKT ({name} is not WKT: {e})"


# ------------------------------------------------------------------ coordinates
def to_wgs84(source: Source, options: ReadOptions) -> None:
    """Reproject (or un-offset) every geometry to WGS84 lon/lat, 2D, 7 decimals, RFC 7946
    ring orientation."""
    given = parse_crs_option(options.crs) if options.crs is not None else None
    declared = source.declared_crs
    if given is not None and declared is not None and not isinstance(given, str) \
            and not _same_crs(given, declared):
        source.notes.append(f"文件声明的坐标系为 {_crs_name(declared)},已按所选 "
                            f"{_crs_name(given)} 读取 (the file declares {_crs_name(declared)}; "
                            f"--crs {_crs_name(given)} is used instead)")
    if given is None and source.format in ("CSV", "XLSX"):
        raise SourceError(f"{source.path.name}: 表格不带坐标系,请选择坐标系:WGS84/CGCS2000 经纬度、"
                          "GCJ-02(高德/腾讯/微信)、BD-09(百度)或 EPSG:4548 (a table does not say "
                          "its CRS: choose one with --crs wgs84, gcj02, bd09 or EPSG:4548)")
    if given is None and declared is None and source.format == "Shapefile":
        raise SourceError(f"{source.path.name}: 缺少 .prj 文件(坐标系),请选择坐标系后再导入 (the "
                          "shapefile has no .prj (no CRS); say which with --crs (EPSG:4326, "
                          "EPSG:4490, EPSG:4548 ...))")
    crs = given if given is not None else (declared or CRS.from_epsg(4326))
    if isinstance(crs, str):  # gcj02 / bd09: lon/lat offsets
        if declared is not None and not declared.is_geographic:
            raise SourceError(f"所选 {crs.upper()} 是经纬度的偏移,而文件的坐标是投影坐标 "
                              f"({_crs_name(declared)}) (--crs {crs}: {crs} is an offset of "
                              f"lon/lat, but the file's coordinates are projected)")

        def convert(xy: np.ndarray) -> np.ndarray:
            lon, lat = chinacoords.to_wgs84(xy[:, 0], xy[:, 1], crs)
            return np.column_stack([lon, lat])
        source.notes.append(f"坐标已从 {crs.upper()} 转换为 WGS84 (coordinates converted from "
                            f"{crs.upper()} to WGS84)")
    elif _same_crs(crs, CRS.from_epsg(4326)):
        def convert(xy: np.ndarray) -> np.ndarray:
            return xy
    else:
        if not crs.is_geographic and not crs.is_projected:
            raise SourceError(f"{_crs_name(crs)} 既不是经纬度也不是投影坐标系 (is neither "
                              "geographic nor projected)")
        to_wgs84 = transformer(crs, CRS.from_epsg(4326), always_xy=True)

        def convert(xy: np.ndarray) -> np.ndarray:
            x, y = to_wgs84.transform(xy[:, 0], xy[:, 1], errcheck=False)
            return np.column_stack([x, y])
        source.notes.append(f"坐标已从 {_crs_name(crs)} 转换为 WGS84 (coordinates reprojected "
                            f"from {_crs_name(crs)} to WGS84)")

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
