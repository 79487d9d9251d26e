"""`flask db backup FILE` and `flask db restore FILE`, as an operator runs them."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from layers.records.inspections import NewInspection
from tests.conftest import TODAY, make_app


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path / "live" / "inspections.sqlite")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def live_db(app) -> Path:
    return Path(app.config["INSPECTIONS_DB"])


def rows(path: Path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT * FROM inspections ORDER BY id").fetchall()


def record(app, venue="V0001", note="after the backup") -> str:
    new = NewInspection(venue, TODAY, "测试", "合格", note, hazards=())
    return app.extensions["inspections"].record_inspection(new)["id"]


def venue_last_inspection(app, venue: str) -> str | None:
    features = app.test_client().get("/api/layers/venues").get_json()["features"]
    return next(f["properties"]["last_inspection"] for f in features if f["id"] == venue)


def test_backup_is_a_sound_self_contained_copy(app, runner, tmp_path):
    target = tmp_path / "backup.sqlite"
    result = runner.invoke(args=["db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output and "inspections" in result.output
    # One file is the whole backup: moved alone, it still holds every record.
    moved = tmp_path / "elsewhere.sqlite"
    shutil.copy(target, moved)
    assert rows(moved) == rows(live_db(app)) and len(rows(moved)) > 3000
    with closing(sqlite3.connect(moved)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_backup_while_inspections_are_written(app, runner, tmp_path):
    before = len(rows(live_db(app)))
    stop = threading.Event()
    written = []

    def write():
        while not stop.is_set():
            written.append(record(app, note="during the backup"))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        results = [runner.invoke(args=["db", "backup", str(tmp_path / f"b{i}.sqlite")])
                   for i in range(3)]
    finally:
        stop.set()
        writer.join()
    assert all(r.exit_code == 0 for r in results), [r.output for r in results]
    counts = [len(rows(tmp_path / f"b{i}.sqlite")) for i in range(3)]
    assert before + 20 <= counts[0] <= counts[1] <= counts[2] <= before + len(written)


def test_restore_brings_back_the_backup_and_keeps_what_it_replaced(app, runner, tmp_path):
    target = tmp_path / "backup.sqlite"
    assert runner.invoke(args=["db", "backup", str(target)]).exit_code == 0
    backed_up = rows(live_db(app))
    last_before = venue_last_inspection(app, "V0001")
    new_id = record(app)
    assert venue_last_inspection(app, "V0001") == TODAY != last_before

    result = runner.invoke(args=["db", "restore", str(target)])
    assert result.exit_code == 0, result.output
    assert rows(live_db(app)) == backed_up
    # The running app sees the restored store at once.
    assert venue_last_inspection(app, "V0001") == last_before
    with closing(sqlite3.connect(live_db(app))) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    safety = next(live_db(app).parent.glob("*.before-restore-*"))
    assert str(safety) in result.output
    assert new_id in {row[0] for row in rows(safety)}
    # The app goes on recording after the restore.
    record(app)
    assert venue_last_inspection(app, "V0001") == TODAY


def damaged_copies(good: Path, directory: Path) -> dict[str, Path]:
    data = good.read_bytes()
    page = 4096
    garbage_page = data[:-page] + bytes(range(256)) * (page // 256)
    not_a_store = directory / "other.sqlite"
    with closing(sqlite3.connect(not_a_store)) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.commit()
    copies = {"random bytes": b"\x00\x01 not sqlite " * 100, "truncated": data[: len(data) // 2],
              "a damaged page": garbage_page, "empty": b""}
    paths = {}
    for label, content in copies.items():
        paths[label] = directory / f"{label.replace(' ', '-')}.sqlite"
        paths[label].write_bytes(content)
    return {**paths, "another database": not_a_store, "missing": directory / "missing.sqlite"}


def test_restore_refuses_a_bad_backup_and_changes_nothing(app, runner, tmp_path):
    good = tmp_path / "good.sqlite"
    assert runner.invoke(args=["db", "backup", str(good)]).exit_code == 0
    record(app)
    before = rows(live_db(app))
    for label, path in damaged_copies(good, tmp_path).items():
        result = runner.invoke(args=["db", "restore", str(path)])
        assert result.exit_code != 0, label
        assert "Error:" in result.output and str(path) in result.output, (label, result.output)
        assert "Traceback" not in result.output
        assert rows(live_db(app)) == before, label
    assert list(live_db(app).parent.glob("*.before-restore-*")) == []


@pytest.mark.parametrize("target", ["self", "missing dir"])
def test_backup_refuses_a_bad_target(app, runner, tmp_path, target):
    path = live_db(app) if target == "self" else tmp_path / "no" / "such" / "dir.sqlite"
    before = rows(live_db(app))
    result = runner.invoke(args=["db", "backup", str(path)])
    assert result.exit_code != 0 and "Error:" in result.output
    assert rows(live_db(app)) == before


def test_backup_replaces_an_older_backup_whole(app, runner, tmp_path):
    target = tmp_path / "backup.sqlite"
    assert runner.invoke(args=["db", "backup", str(target)]).exit_code == 0
    record(app)
    assert runner.invoke(args=["db", "backup", str(target)]).exit_code == 0
    assert rows(target) == rows(live_db(app))
