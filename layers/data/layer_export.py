"""Exporting a layer as GeoJSON, GeoPackage, CSV or zipped Shapefile (all WGS84).

Every export holds the feature ids, the catalogue's fields and the measures the
service computes (area_m2 and area_mu of polygons, length_m of lines, in
EPSG:4548), and imports back unchanged: the importer drops the measures and
maps shortened Shapefile names back. List values are written as text joined
with "、"; CSV is UTF-8 with a byte-order mark (so that Excel reads the
Chinese right) and points carry lon/lat columns, other geometries a WKT column.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from layers.catalogue.entries import Layer
from layers.data.files import geojson_text, write_atomically
from layers.geo.crs import WGS84
from layers.stores.layers import LoadedLayer

EXPORT_FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "csv": ".csv", "shp": ".zip"}
LIST_JOIN = "、"
SHAPEFILE_NAME_LENGTH = 10  # dBase field names
SHAPEFILE_TEXT_BYTES = 254  # dBase text fields


class ExportError(ValueError):
    """The layer cannot be written in the format asked for (the message says why)."""


def format_for(output: Path, fmt: str | None) -> str:
    """The format asked for, or the one the output's suffix names."""
    if fmt is None:
        by_suffix = {suffix: name for name, suffix in EXPORT_FORMATS.items()} | {".json": "geojson"}
        try:
            return by_suffix[output.suffix.lower()]
        except KeyError:
            raise ExportError(f"cannot tell the format from {output.name!r}; give --format "
                              f"({', '.join(EXPORT_FORMATS)})") from None
    if fmt == "shp" and output.suffix.lower() != ".zip":
        raise ExportError("a Shapefile is exported zipped: give an output name ending in .zip")
    return fmt


def measure_names(layer: Layer) -> tuple[str, ...]:
    return {"Polygon": ("area_m2", "area_mu"), "LineString": ("length_m",)}.get(
        layer.geometry, ())


def column_names(layer: Layer) -> list[str]:
    return [f.name for f in layer.fields] + list(measure_names(layer))


def shapefile_names(layer: Layer) -> dict[str, str]:
    """Column name -> a dBase name of at most 10 characters, unique within the layer.

    Names that fit are kept; longer ones are cut to 10 characters, and where two
    cuts collide the later one ends in _1, _2 ... (as GDAL does), so the mapping
    is the same on every export and the importer can reverse it.
    """
    names: dict[str, str] = {"id": "id"}
    taken = {"id"}
    for name in column_names(layer):
        short = name[:SHAPEFILE_NAME_LENGTH]
        counter = 0
        while short.lower() in taken:
            counter += 1
            suffix = f"_{counter}"
            short = name[:SHAPEFILE_NAME_LENGTH - len(suffix)] + suffix
        names[name] = short
        taken.add(short.lower())
    del names["id"]
    return names


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return LIST_JOIN.join(str(v) for v in value)
    return value


def table(loaded: LoadedLayer) -> pd.DataFrame:
    """id and every column, one row per feature, with list values as text."""
    columns = column_names(loaded.layer)
    rows = [{"id": f["id"], **{c: _cell(f["properties"].get(c)) for c in columns}}
            for f in loaded.features]
    return pd.DataFrame(rows, columns=["id", *columns])


def export_layer(loaded: LoadedLayer, fmt: str, output: Path) -> int:
    """Write the layer to `output` (atomically); return the number of features."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    writers = {"geojson": _geojson, "gpkg": _gpkg, "csv": _csv, "shp": _shapefile}
    writers[fmt](loaded, output)
    return len(loaded)


def _geojson(loaded: LoadedLayer, output: Path) -> None:
    text = geojson_text(loaded.name, loaded.features)
    write_atomically(output, lambda p: p.write_text(text, encoding="utf-8"))


def _frame(loaded: LoadedLayer) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(table(loaded), geometry=list(loaded.geometries), crs=WGS84)


def _gpkg(loaded: LoadedLayer, output: Path) -> None:
    frame = _frame(loaded)
    write_atomically(output, lambda p: pyogrio.write_dataframe(
        frame, p, layer=loaded.name, driver="GPKG"))


def _csv(loaded: LoadedLayer, output: Path) -> None:
    frame = table(loaded)
    geometries = loaded.geometries
    if loaded.layer.geometry == "Point":
        frame.insert(1, "lon", shapely.get_x(geometries) if len(frame) else [])
        frame.insert(2, "lat", shapely.get_y(geometries) if len(frame) else [])
    else:
        frame["wkt"] = shapely.to_wkt(geometries, rounding_precision=7) if len(frame) else []
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    text = buffer.getvalue()
    write_atomically(output, lambda p: p.write_text(text, encoding="utf-8-sig"))


def _shapefile(loaded: LoadedLayer, output: Path) -> None:
    _check_dbase_text(loaded)
    frame = _frame(loaded).rename(columns=shapefile_names(loaded.layer))
    with tempfile.TemporaryDirectory() as work:
        shp = Path(work) / f"{loaded.name}.shp"
        pyogrio.write_dataframe(frame, shp, driver="ESRI Shapefile", encoding="UTF-8")
        parts = sorted(Path(work).iterdir())

        def write_zip(path: Path) -> None:
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                for part in parts:
                    z.write(part, part.name)
        write_atomically(output, write_zip)


def _check_dbase_text(loaded: LoadedLayer) -> None:
    too_long = [
        f"feature {f['id']}: {name} ({len(str(value).encode())} bytes)"
        for f in loaded.features for name, value in f["properties"].items()
        if isinstance(value, str | list) and
        len(str(_cell(value)).encode()) > SHAPEFILE_TEXT_BYTES
    ]
    if too_long:
        raise ExportError(_listing(
            f"a Shapefile holds at most {SHAPEFILE_TEXT_BYTES} bytes of text per value (about "
            f"{SHAPEFILE_TEXT_BYTES // 3} Chinese characters); export as gpkg instead. "
            "Too long:", too_long))


def _listing(head: str, items: Sequence[str]) -> str:
    return head + "\n  " + "\n  ".join(items)
