"""Backup and restore of the embedded store's SQLite file, online (the commands
`flask --app server db backup|restore FILE`: layers/stores/cli.py).

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

REQUIRED_TABLES = ("inspections", "hazards")
COUNTED_TABLES = ("photos",)  # reported when present (a backup may predate them)


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
            counted = (*REQUIRED_TABLES, *(t for t in COUNTED_TABLES if t in tables))
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                    for t in counted}
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
