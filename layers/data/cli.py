"""`flask --app server layers ...`: import, validate (a dry run) and export layer data.

    flask --app server layers import FILE --layer NAME [--crs EPSG:4548|gcj02|bd09]
    flask --app server layers validate FILE --layer NAME [...]
    flask --app server layers export NAME [--version N] [--format ...] --output FILE
    flask --app server layers versions NAME           # newest first
    flask --app server layers diff NAME A B           # features added, removed, changed
    flask --app server layers restore NAME VERSION [--by WHO]

The layers live in the app's database (INSPECTIONS_DB, or DATABASE_URL), as
versions: an import makes a new one, in one transaction with its audit row. An
import or a validation that finds problems prints every one of them (the file,
the row or feature, the field, why), changes nothing and exits with status 1.

`flask --app server` starts the app, which refuses to start on invalid data;
`python -m layers.cli import ...` runs the same commands without loading the
layers into memory first, to repair a layer that no longer loads.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from layers.accounts.cli import cli_actor
from layers.catalogue.entries import get_layer, layer_names
from layers.catalogue.validate import LayerDataError
from layers.data.importer import ImportReport, check_import, replace_layer
from layers.data.layer_export import EXPORT_FORMATS, ExportError, export_layer, format_for
from layers.data.limits import ImportLimits
from layers.data.sources import ENCODINGS, ReadOptions
from layers.errors import ApiError
from layers.stores.layers import LayerStore, LoadedLayer
from layers.stores.opening import embedded_records, layer_history
from layers.stores.versions import diff

MAX_VERSION = 2**31 - 1  # a version number (PostgreSQL integer)
# Files with at least this many features get a progress bar.
PROGRESS_MIN_FEATURES = 1000

layers_cli = AppGroup("layers", help="Import, validate and export the layers' data.")


def source_options(command: Callable) -> Callable:
    """The options shared by import and validate."""
    options = [
        click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--layer", "layer_name", required=True, type=click.Choice(layer_names()),
                     help="the layer to fill"),
        click.option("--crs", help="the coordinates' CRS: an EPSG code (EPSG:4326, EPSG:4490, "
                                   "EPSG:4548 ...), or gcj02 (Amap, Tencent, WeChat) or bd09 "
                                   "(Baidu), or wgs84; default: what the file says (CSV and "
                                   "XLSX say nothing: required)"),
        click.option("--encoding", type=click.Choice(list(ENCODINGS)),
                     help="the text encoding of a Shapefile's .dbf or a CSV; default: what "
                          "the file says, else UTF-8 when valid, else GB18030 (GBK)"),
        click.option("--lon-column", help="CSV/XLSX: the column of x (lon, or easting); "
                                          "default: lon, lng, longitude, x or 经度"),
        click.option("--lat-column", help="CSV/XLSX: the column of y (lat, or northing); "
                                          "default: lat, latitude, y or 纬度"),
        click.option("--id-column", default="id", show_default=True,
                     help="the column of the features' ids"),
        click.option("--sheet", help="XLSX: the sheet (default: the first)"),
        click.option("--source-layer", help="GeoPackage/KML/GPX with several layers: which "
                     "one (GPX: waypoints, else tracks, else routes)"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@contextmanager
def progress_bars() -> Iterator[Callable[[int, str], Callable[[int], None]]]:
    """`start(total, label)` gives an `advance(n)`; a bar is shown for large files only."""
    with ExitStack() as stack:
        def start(total: int, label: str) -> Callable[[int], None]:
            if total < PROGRESS_MIN_FEATURES:
                return lambda n: None
            bar = stack.enter_context(click.progressbar(
                length=total, label=label, file=sys.stderr, show_pos=True))
            return bar.update
        yield start


def layer_store() -> LayerStore:
    """The app's store; loaded here when the app runs without one (python -m layers.cli)."""
    store = current_app.extensions.get("layer_store")
    if store is None:
        try:
            with layer_history(current_app) as history:  # a layer that does not load: empty
                history.seed(Path(current_app.config["DATA_DIR"]), partial=True)
                store = history.store(partial=True)
        except LayerDataError as e:
            raise click.ClickException(str(e)) from None
    return store


def venues_with_records() -> list[str]:
    inspections = current_app.extensions.get("inspections")
    if inspections is None:
        path = Path(current_app.config["INSPECTIONS_DB"])
        if not path.exists():
            return []
        inspections = embedded_records(path)
    return list(inspections.last_inspections())


def os_error(e: OSError) -> str:
    """Why a file could not be written, in one line (no traceback)."""
    return f"{e.strerror} ({e.filename})" if e.strerror and e.filename else str(e)


def run_check(file: Path, layer_name: str, options: ReadOptions) -> ImportReport:
    records = venues_with_records() if layer_name == "venues" else []
    with progress_bars() as start:
        report = check_import(file, layer_name, layer_store(), options,
                              progress=lambda total: start(total, f"checking {file.name}"),
                              venues_with_records=records,
                              limits=ImportLimits.from_config(current_app.config))
    for note in report.notes:
        click.echo(f"说明 (note): {note}")
    for warning in report.warnings:
        click.echo(f"注意 (warning): {warning}")
    if not report.ok:
        click.echo(f"{file.name} 有 {len(report.problems)} 个问题,未导入图层 {layer_name} "
                   f"({len(report.problems)} problem(s) in {file.name} for layer {layer_name}):",
                   err=True)
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
    return report


def read_options(crs: str | None, lon_column: str | None, lat_column: str | None,
                 id_column: str, sheet: str | None, source_layer: str | None,
                 encoding: str | None = None) -> ReadOptions:
    return ReadOptions(crs=crs, lon_column=lon_column, lat_column=lat_column,
                       id_column=id_column, sheet=sheet, source_layer=source_layer,
                       encoding=encoding)


@layers_cli.command("import")
@source_options
@click.option("--by", help="who imports, for the audit log (default: the OS user)")
def import_command(file: Path, layer_name: str, by: str | None, **options: str | None) -> None:
    """Replace a layer's data with FILE (GeoJSON, GPKG, zipped SHP, KML, GPX, CSV, XLSX).

    Every feature is checked first; with any problem nothing is changed. The
    new data becomes the layer's next version in the database, in one transaction
    with its audit row. Running servers serve it within a second.
    """
    report = run_check(file, layer_name, read_options(**options))  # type: ignore[arg-type]
    if not report.ok:
        click.echo("未导入,图层未改变 (nothing was imported; the layer is unchanged)", err=True)
        raise SystemExit(1)
    with layer_history(current_app) as history:
        try:
            made = replace_layer(report, history, cli_actor(by))
        except ApiError as e:  # older content: it would undo newer versions
            raise click.ClickException(e.message) from None
    if made is None:
        click.echo(f"{file.name} 与图层 {layer_name} 的当前版本相同,未产生新版本 ({file.name} "
                   f"holds what layer {layer_name} holds already; no new version)")
        return
    click.echo(f"已导入 {len(report.features)} 个要素,成为图层 {layer_name} 的版本 {made.version} "
               f"(imported {len(report.features)} feature(s) into layer {layer_name} as "
               f"version {made.version} (+{len(made.added)} added, -{len(made.removed)} "
               f"removed, ~{len(made.changed)} changed); running servers serve it within "
               "a second)")


@layers_cli.command("validate")
@source_options
def validate_command(file: Path, layer_name: str, **options: str | None) -> None:
    """Check FILE for a layer as an import would, and change nothing (a dry run)."""
    report = run_check(file, layer_name, read_options(**options))  # type: ignore[arg-type]
    if not report.ok:
        raise SystemExit(1)
    click.echo(f"校验通过,未写入任何数据 ({len(report.features)} feature(s) in {file.name} are "
               f"valid for layer {layer_name}; nothing was written)")


@layers_cli.command("export")
@click.argument("layer_name", metavar="NAME", type=click.Choice(layer_names()))
@click.option("--format", "fmt", type=click.Choice(list(EXPORT_FORMATS)),
              help="default: from the output's suffix (.geojson .gpkg .csv .zip)")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the file to write (a Shapefile is written zipped: NAME.zip)")
@click.option("--version", "version", type=click.IntRange(min=1, max=MAX_VERSION),
              help="the version to write (default: the current one)")
def export_command(layer_name: str, fmt: str | None, output: Path, version: int | None
                   ) -> None:
    """Write layer NAME to a file, in WGS84, with its measures (m², 亩, m)."""
    loaded: LoadedLayer
    if version is None:
        loaded = layer_store().get(layer_name)
    else:
        with layer_history(current_app) as history:
            try:
                loaded = history.loaded(get_layer(layer_name), version)
            except (ApiError, LayerDataError) as e:
                raise click.ClickException(str(e)) from None
    try:
        count = export_layer(loaded, format_for(output, fmt), output)
    except ExportError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"cannot write {output}: {os_error(e)}") from None
    click.echo(f"exported {count} feature(s) of {layer_name} to {output}")


@layers_cli.command("versions")
@click.argument("layer_name", metavar="NAME", type=click.Choice(layer_names()))
def versions_command(layer_name: str) -> None:
    """List layer NAME's versions, newest first: when, who, what, why."""
    with layer_history(current_app) as history:
        rows = history.versions(layer_name)
    if not rows:
        click.echo(f"layer {layer_name} has no version in the database yet")
    for v in rows:
        click.echo(f"{v.version:>5}  {v.at}  {v.actor:<14} {v.action:<14} {v.features:>7} "
                   f"features  {v.describe()}  {v.reason}")


@layers_cli.command("diff")
@click.argument("layer_name", metavar="NAME", type=click.Choice(layer_names()))
@click.argument("old", type=click.IntRange(min=1, max=MAX_VERSION))
@click.argument("new", type=click.IntRange(min=1, max=MAX_VERSION))
def diff_command(layer_name: str, old: int, new: int) -> None:
    """What changed in layer NAME from version OLD to version NEW (feature ids)."""
    with layer_history(current_app) as history:
        try:
            _, before = history.features(layer_name, old)
            _, after = history.features(layer_name, new)
        except ApiError as e:
            raise click.ClickException(e.message) from None
    added, removed, changed = diff(before, after)
    click.echo(f"{layer_name} v{old} -> v{new}: {len(added)} added, {len(removed)} removed, "
               f"{len(changed)} changed")
    for sign, ids in (("+", added), ("-", removed), ("~", changed)):
        for fid in ids:
            click.echo(f"  {sign} {fid}")


@layers_cli.command("restore")
@click.argument("layer_name", metavar="NAME", type=click.Choice(layer_names()))
@click.argument("version", type=click.IntRange(min=1, max=MAX_VERSION))
@click.option("--by", help="who restores, for the audit log (default: the OS user)")
def restore_command(layer_name: str, version: int, by: str | None) -> None:
    """Make layer NAME's version VERSION current again, as a new version equal to it."""
    with layer_history(current_app) as history:
        try:
            made = history.restore(get_layer(layer_name), version, cli_actor(by))
        except ApiError as e:
            raise click.ClickException(e.message) from None
    if made is None:
        click.echo(f"version {version} holds what the current version holds; no new version")
        return
    click.echo(f"restored layer {layer_name} to the content of version {version}, as version "
               f"{made.version}; running servers serve it within a second")


def main(argv: list[str] | None = None) -> None:
    """`python -m layers.cli`: the commands with the app's configuration, without its data."""
    from flask import Flask

    from server import DEFAULTS

    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("HUAISHU")
    with app.app_context():
        layers_cli.main(args=argv, prog_name="python -m layers.cli")

