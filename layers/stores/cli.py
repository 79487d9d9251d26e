"""`flask --app server db init` and `db load`: the PostGIS store's schema and layers.

    HUAISHU_DATABASE_URL=postgresql://huaishu@db/huaishu flask --app server db init
    HUAISHU_DATABASE_URL=... flask --app server db load [--force]

Both are idempotent and safe while app servers run: the schema is created
with IF NOT EXISTS, and each load is one transaction under an advisory lock
that writes only the layers whose data differ from the database's (all of
them with --force). The app does the same at start-up, so these commands are
for deploys (run once, before the servers restart) and for checking.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from layers.stores.backup import db_cli


def _database():
    database = current_app.extensions.get("database")
    if database is None:
        raise click.ClickException(
            "no database configured: set HUAISHU_DATABASE_URL=postgresql://user@host/dbname "
            "(without it the app uses the embedded SQLite store, which needs no set-up)")
    return database


def _report(database) -> None:
    with database.transaction() as db:
        for layer, features, loaded_at in db.execute(
                "SELECT layer, features, loaded_at FROM layer_meta ORDER BY layer"):
            click.echo(f"  {layer:<12} {features:>8} features  (loaded {loaded_at:%Y-%m-%d %H:%M})")
        for table in ("inspections", "hazards", "users"):
            count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            click.echo(f"  {table:<12} {count:>8} rows")


@db_cli.command("init")
@with_appcontext
def init_command() -> None:
    """Create the PostGIS schema (tables, GiST indexes) and load the layers into it."""
    from layers.stores.postgis import load_layers

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
    from layers.stores.postgis import load_layers

    database = _database()
    written = load_layers(database, current_app.extensions["layer_store"], force=force)
    click.echo("loaded " + ", ".join(f"{k} ({v})" for k, v in written.items())
               if written else "every layer is up to date; nothing written")
