"""Backup and restore of the SQLite inspection store, online, as Flask CLI commands.

    flask --app server db backup FILE     # a consistent copy, while the server runs
    flask --app server db restore FILE    # check FILE, keep the current store, replace it

Both go through SQLite's online backup API, never a file copy: a backup is a
consistent snapshot even while workers write (WAL), and a restore replaces the
live store's content in one step, under SQLite's lock, so that readers and
writers (each operation opens its own connection) see either the old store or
the restored one. A backup file is a single self-contained SQLite file.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from layers.accounts.auth import UserStore, cli_actor
from layers.records import audit

REQUIRED_TABLES = ("inspections", "hazards")

db_cli = AppGroup("db", help="Backup and restore of the inspection store (SQLite).")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def check_store_file(path: Path) -> dict[str, int]:
    """Raise BackupError unless `path` is a sound SQLite store; its tables' row counts."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        with closing(_open_read_only(path)) as db:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{path} is damaged (integrity_check): "
                                  + "; ".join(problems[:5]))
            tables = {row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [t for t in REQUIRED_TABLES if t not in tables]
            if missing:
                raise BackupError(f"{path} is not an inspection store: it has no table "
                                  + ", ".join(missing))
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                    for t in REQUIRED_TABLES}
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path} is not a readable SQLite database: {e}") from None


def backup(source: Path, target: Path) -> dict[str, int]:
    """Copy the store at `source` to `target` (replaced atomically); its row counts."""
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise BackupError(f"there is no store at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("the backup file must not be the store itself")
    if not target.parent.is_dir():
        raise BackupError(f"the directory {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    try:
        with closing(sqlite3.connect(source, timeout=30)) as src, \
                closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        counts = check_store_file(partial)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
        return counts
    except sqlite3.Error as e:
        raise BackupError(f"the backup failed: {e}") from None
    finally:
        partial.unlink(missing_ok=True)


def restore(backup_file: Path, store: Path) -> tuple[dict[str, int], Path | None]:
    """Replace the content of the store with a checked backup.

    What the store held is first backed up beside it; returns the restored row
    counts and that safety copy (None when there was no store yet).
    """
    backup_file, store = Path(backup_file), Path(store)
    counts = check_store_file(backup_file)  # before anything is touched
    if store.resolve() == backup_file.resolve():
        raise BackupError("the backup file is the store itself")
    safety = None
    if store.exists():
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        safety = store.with_name(f"{store.name}.before-restore-{stamp}")
        backup(store, safety)
    try:
        with closing(_open_read_only(backup_file)) as src, \
                closing(sqlite3.connect(store, timeout=30)) as dst:
            src.backup(dst)  # all pages in one step: one transaction on the store
            dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as e:
        raise BackupError(f"the restore failed, the store is unchanged: {e}") from None
    check_store_file(store)
    return counts, safety


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    # The accounts' tables as this version has them (a backup may predate them), and
    # the restore itself in the restored audit log.
    users = UserStore(_store_path())
    with users.write() as db:
        audit.record(db, cli_actor(by), "db.restore", "store", str(_store_path()),
                     {"file": str(file), "safety_copy": str(safety) if safety else None,
                      **counts})
    click.echo(f"restored {_store_path()} from {file}: {_describe(counts)}; integrity ok")
    if safety:
        click.echo(f"what it held before is kept in {safety}")
