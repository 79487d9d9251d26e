"""`flask --app server db ...`: the stores' commands.

The embedded store (SQLite, the default):

    flask --app server db backup FILE     # a consistent copy, while the server runs
    flask --app server db restore FILE    # check FILE, keep the current store, replace it

The PostGIS store (DATABASE_URL):

    HUAISHU_DATABASE_URL=postgresql://huaishu@db/huaishu flask --app server db init

Both stores:

    flask --app server db load [--by WHO]   # DATA_DIR's files as new layer versions

`init` is idempotent and safe while app servers run: the schema is created with
IF NOT EXISTS and the layers the database lacks are seeded from DATA_DIR (the app
does the same at start-up). `load` makes each file of DATA_DIR whose content
differs from its layer's current version that layer's next version (as an import
would); it refuses a file that holds an older version's content (it would undo
the newer ones), and names the newer version.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import shapely
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from layers.accounts.cli import cli_actor
from layers.catalogue.entries import CATALOGUE
from layers.errors import ApiError
from layers.records import audit
from layers.stores.embedded.backup import BackupError, backup, restore
from layers.stores.embedded.users import SqliteAccounts
from layers.stores.layers import read_layer_file
from layers.stores.versions import VersionedLayers, raw_features

if TYPE_CHECKING:
    from layers.stores.postgis.database import Database

db_cli = AppGroup("db", help="The stores: backup and restore (SQLite), init (PostGIS), load "
                             "(layer files as new versions).")


# --- the embedded store ---------------------------------------------------------------


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items())


def _store_path() -> Path:
    if current_app.config.get("DATABASE_URL"):
        raise click.ClickException("记录保存在 PostgreSQL 中,请用 pg_dump 备份、pg_restore 恢复 "
                                   "(the records are in PostgreSQL (DATABASE_URL): back them up "
                                   "with pg_dump and restore them with pg_restore)")
    return Path(current_app.config["INSPECTIONS_DB"])


@db_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(file: Path) -> None:
    """Write a consistent copy of the inspection store to FILE (safe while serving)."""
    try:
        counts = backup(_store_path(), file)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"backed up {_store_path()} to {file}: {_describe(counts)}; integrity ok")


@db_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--by", help="who restores, for the audit log (default: the OS user)")
def restore_command(file: Path, by: str | None) -> None:
    """Replace the inspection store with the backup FILE, once FILE is checked sound."""
    try:
        counts, safety = restore(file, _store_path())
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    # The tables as this version has them (a backup may predate some), and the restore
    # itself in the restored audit log.
    with SqliteAccounts(_store_path()).writing() as db:
        audit.record(db, cli_actor(by), "db.restore", "store", str(_store_path()),
                     {"file": str(file), "safety_copy": str(safety) if safety else None,
                      **counts})
    click.echo(f"restored {_store_path()} from {file}: {_describe(counts)}; integrity ok")
    if safety:
        click.echo(f"what it held before is kept in {safety}")


# --- the PostGIS store ----------------------------------------------------------------


def _database() -> Database:
    database: Database | None = current_app.extensions.get("database")
    if database is None:
        raise click.ClickException(
            "no database configured: set HUAISHU_DATABASE_URL=postgresql://user@host/dbname "
            "(without it the app uses the embedded SQLite store, which needs no set-up)")
    return database


def _report(database: Database) -> None:
    from layers.stores.postgis.layers import contents

    layers, rows = contents(database)
    for layer, version, features, at in layers:
        click.echo(f"  {layer:<12} {features:>8} features  (version {version}, {at[:16]})")
    for table, count in rows.items():
        click.echo(f"  {table:<12} {count:>8} rows")


@db_cli.command("init")
@with_appcontext
def init_command() -> None:
    """Create the PostGIS schema (tables, GiST indexes) and seed the layers it lacks."""
    database = _database()
    database.init_schema()
    click.echo("PostGIS ready (schema made; layers seeded where the database had none):")
    _report(database)


@db_cli.command("load")
@click.option("--by", help="who loads, for the audit log (default: the OS user)")
@with_appcontext
def load_command(by: str | None) -> None:
    """Make each layer file of DATA_DIR that differs from its layer's current version the
    layer's next version (refused when it holds an older version's content)."""
    history: VersionedLayers = current_app.extensions["layer_history"]
    boundary = current_app.extensions["layer_store"].get("boundary")
    fence = shapely.union_all(boundary.metric) if len(boundary) else None
    data_dir = Path(current_app.config["DATA_DIR"])
    written, refused = [], []
    for layer in CATALOGUE:
        valid, problems = read_layer_file(layer, data_dir / layer.file_name, fence)
        if problems:
            refused.append(f"{layer.name}: " + "; ".join(str(p) for p in problems[:5]))
            continue
        try:
            made = history.commit(layer, raw_features(valid), cli_actor(by), "layer.import",
                                  f"db load {layer.file_name}",
                                  summary={"file": layer.file_name})
        except ApiError as e:
            refused.append(f"{layer.name}: {e.message}")
            continue
        if made is not None:
            written.append(f"{layer.name} (version {made.version}, {made.describe()})")
    click.echo("loaded " + ", ".join(written) if written
               else "every layer file matches its layer's current version; nothing written")
    for line in refused:
        click.echo(f"refused {line}", err=True)
    if refused:
        raise SystemExit(1)
