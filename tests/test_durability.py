"""Acknowledged records survive a SIGKILL mid-write, and the store stays sound.

Writers record inspections concurrently and report each record's id once it is
committed; they are SIGKILLed mid-way; then the store is opened again, as a
restarted server opens it, and must hold every acknowledged record and pass
`PRAGMA integrity_check`; the production server restarted on it shows the records.

`StoreWriters` writes through InspectionStore from several processes (as the
server's workers do). Once the HTTP endpoint for recording inspections exists,
a writer that POSTs to the production server (bench.production.ProductionServer) from
client threads, takes a record's id from each 201 answer as its acknowledgement
and whose kill() is ProductionServer.kill(), satisfies the same `Writers`
protocol and runs through the same `check_sigkill_mid_write`.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Protocol

from bench.production import ProductionServer
from layers.inspections import InspectionStore
from tests.conftest import TODAY

WRITER = Path(__file__).with_name("store_writer.py")
GEODATA = Path(__file__).resolve().parents[1] / "geodata"


class Writers(Protocol):
    def start(self) -> None: ...
    def acknowledged(self) -> set[str]: ...  # ids of the records reported committed
    def kill(self) -> None: ...  # SIGKILL, mid-write


class StoreWriters:
    """A few writer processes (tests/store_writer.py), each with several threads."""

    def __init__(self, db: Path, venues: list[str], processes: int = 3, threads: int = 4):
        self.command = [sys.executable, str(WRITER), str(db), "--threads", str(threads),
                        "--venues", ",".join(venues), "--date", TODAY, "--seconds", "60"]
        self.count = processes
        self.processes: list[subprocess.Popen[str]] = []
        self.readers: list[threading.Thread] = []
        self._acked: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        for _ in range(self.count):
            process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
            reader = threading.Thread(target=self._read, args=(process,), daemon=True)
            reader.start()
            self.processes.append(process)
            self.readers.append(reader)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.endswith("\n"):  # a line cut by the kill is not an acknowledgement
                with self._lock:
                    self._acked.add(line.strip())

    def acknowledged(self) -> set[str]:
        with self._lock:
            return set(self._acked)

    def kill(self) -> None:
        for process in self.processes:
            os.kill(process.pid, signal.SIGKILL)
        for process in self.processes:
            process.wait(10)
            assert process.returncode == -signal.SIGKILL  # killed mid-write, not finished
        for reader in self.readers:
            reader.join(10)
        for process in self.processes:
            assert process.stdout is not None
            process.stdout.close()


def check_sigkill_mid_write(writers: Writers, db: Path, kill_after: int = 1000) -> set[str]:
    """Start the writers, SIGKILL them once `kill_after` records are acknowledged,
    reopen the store and check it; the acknowledged ids."""
    writers.start()
    deadline = time.monotonic() + 60
    while len(writers.acknowledged()) < kill_after:
        assert time.monotonic() < deadline, "the writers did not get going"
        time.sleep(0.01)
    writers.kill()
    acked = writers.acknowledged()
    assert len(acked) >= kill_after

    InspectionStore(db)  # what a restarted server does first
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = {row[0] for row in conn.execute("SELECT id FROM inspections")}
    assert acked <= stored, f"{len(acked - stored)} acknowledged records lost"
    return acked


def venues_not_inspected_today(db: Path) -> list[str]:
    last = InspectionStore(db).last_inspections()
    venues = json.loads((GEODATA / "venues.geojson").read_text(encoding="utf-8"))["features"]
    return [v["id"] for v in venues if last.get(v["id"], "") < TODAY][:20]


def test_store_writes_survive_sigkill(tmp_path):
    db = tmp_path / "inspections.sqlite"
    store = InspectionStore(db)
    store.seed_from_csv(GEODATA / "inspections.csv", GEODATA / "hazards.csv")
    venues = venues_not_inspected_today(db)
    assert len(venues) == 20

    acked = check_sigkill_mid_write(StoreWriters(db, venues), db)

    # The production server restarted on the store shows what was written.
    with ProductionServer(db, workers=2, config={"TODAY": TODAY}) as server, \
            urllib.request.urlopen(server.url + "/api/layers/venues") as response:
        features = json.loads(response.read())["features"]
    last = {f["id"]: f["properties"]["last_inspection"] for f in features}
    with closing(sqlite3.connect(db)) as conn:
        written = {venue for record, venue in conn.execute("SELECT id, venue_id FROM inspections")
                   if record in acked}
    assert written and all(last[v] == TODAY for v in written)
