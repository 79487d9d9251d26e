"""`flask --app server db ...`: the stores' commands.

The embedded store (SQLite, the default):

    flask --app server db backup FILE     # a consistent copy, while the server runs
    flask --app server db restore FILE    # check FILE, keep the current store, replace it

The PostGIS store (DATABASE_URL):

    HUAISHU_DATABASE_URL=postgresql://huaishu@db/huaishu flask --app server db init
    HUAISHU_DATABASE_URL=... flask --app server db load [--force]

`init` and `load` are idempotent and safe while app servers run: the schema is
created with IF NOT EXISTS, and each load is one transaction under an advisory
lock that writes only the layers whose data differ from the database's (all of
them with --force). The app does the same at start-up, so these commands are
for deploys (run once, before the servers restart) and for checking.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from layers.accounts.cli import cli_actor
from layers.records import audit
from layers.stores.embedded.backup import BackupError, backup, restore
from layers.stores.embedded.users import SqliteAccounts

if TYPE_CHECKING:
    from layers.stores.postgis.database import Database

db_cli = AppGroup("db", help="The stores: backup and restore (SQLite), init and load (PostGIS).")


# --- the embedded store ---------------------------------------------------------------


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items())


def _store_path() -> Path:
    if current_app.config.get("DATABASE_URL"):
        raise click.ClickException("the records are in PostgreSQL (DATABASE_URL): back them up "
                                   "with pg_dump and restore them with pg_restore")
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
    for layer, features, loaded_at in layers:
        click.echo(f"  {layer:<12} {features:>8} features  (loaded {loaded_at:%Y-%m-%d %H:%M})")
    for table, count in rows.items():
        click.echo(f"  {table:<12} {count:>8} rows")


@db_cli.command("init")
@with_appcontext
def init_command() -> None:
    """Create the PostGIS schema (tables, GiST indexes) and load the layers into it."""
    from layers.stores.postgis.layers import load_layers

    database = _database()
    database.init_schema()
    written = load_layers(database, current_app.extensions["layer_store"])
    done = "loaded " + ", ".join(written) if written else "already current"
    click.echo(f"PostGIS ready (schema made; layers {done}):")
    _report(database)


@db_cli.command("load")
@click.option("--force", is_flag=True, help="Rewrite every layer, even those up to date.")
@with_appcontext
def load_command(force: bool) -> None:
    """Write the layers of DATA_DIR into PostGIS (those that differ; all with --force)."""
    from layers.stores.postgis.layers import load_layers

    database = _database()
    written = load_layers(database, current_app.extensions["layer_store"], force=force)
    click.echo("loaded " + ", ".join(f"{k} ({v})" for k, v in written.items())
               if written else "every layer is up to date; nothing written")
