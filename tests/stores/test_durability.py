"""Acknowledged records survive a SIGKILL mid-write, and the store stays sound.

Writers record inspections concurrently and report each record once it is
committed; they are SIGKILLed mid-way; then the store is opened again, as a
restarted server opens it, and must hold every acknowledged record (with what
was sent, and its audit row) and pass `PRAGMA integrity_check`; the production
server restarted on it shows the records. Two kinds of writers run through the
same `check_sigkill_mid_write`:

- `ServerWriters`: the production server (gunicorn, several workers) and client
  threads logged in as an inspector that POST /api/inspections back to back; a
  record is acknowledged by its 201 answer; the master and every worker are
  SIGKILLed while requests are in flight. This is what the users do.
- `StoreWriters`: processes that write through the embedded records store directly (as the
  workers do), SIGKILLed between and inside transactions at a far higher rate.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Protocol

from bench.production import ProductionServer
from layers.stores.opening import embedded_accounts, embedded_records
from tests.conftest import PASSWORD, TODAY

WRITER = Path(__file__).resolve().parents[1] / "store_writer.py"
GEODATA = Path(__file__).resolve().parents[2] / "geodata"


class Writers(Protocol):
    def start(self) -> None: ...
    def acknowledged(self) -> dict[str, str]: ...  # id -> note of each record reported committed
    def kill(self) -> None: ...  # SIGKILL, mid-write


class StoreWriters:
    """A few writer processes (tests/store_writer.py), each with several threads."""

    def __init__(self, db: Path, venues: list[str], processes: int = 3, threads: int = 4):
        self.command = [sys.executable, str(WRITER), str(db), "--threads", str(threads),
                        "--venues", ",".join(venues), "--date", TODAY, "--seconds", "60"]
        self.count = processes
        self.processes: list[subprocess.Popen[str]] = []
        self.readers: list[threading.Thread] = []
        self._acked: dict[str, str] = {}
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
                record_id, note = line.rstrip("\n").split("\t")
                with self._lock:
                    self._acked[record_id] = note

    def acknowledged(self) -> dict[str, str]:
        with self._lock:
            return dict(self._acked)

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


class ServerWriters:
    """The production server on the store, and client threads that record inspections
    through it as an inspector, each acknowledged by its 201 answer (the record's id)."""

    USER = "durability"

    def __init__(self, db: Path, venues: list[str], clients: int = 8, workers: int = 2):
        self.db = db
        self.venues = venues
        self.clients = clients
        self.server = ProductionServer(db, workers=workers, config={"TODAY": TODAY})
        self.threads: list[threading.Thread] = []
        self._acked: dict[str, str] = {}
        self._cut = 0  # requests sent whose answer the kill cut off
        self._failures: list[str] = []  # anything but a 201 before the kill
        self._killed = threading.Event()
        self._lock = threading.Lock()
        self._counter = itertools.count()

    def start(self) -> None:
        embedded_accounts(self.db).create(self.USER, PASSWORD, "inspector", "压力测试", by="tests")
        self.server.start()
        self.threads = [threading.Thread(target=self._client, daemon=True)
                        for _ in range(self.clients)]
        for thread in self.threads:
            thread.start()

    def _client(self) -> None:
        try:
            self._write()
        except Exception as e:  # reported by kill(): a thread's exception fails no test
            with self._lock:
                self._failures.append(repr(e))

    def _write(self) -> None:
        session = HttpSession(self.server.port)
        try:
            self._write_on(session)
        finally:
            session.conn.close()  # its socket too, when the kill cut the answer off

    def _write_on(self, session: HttpSession) -> None:
        session.log_in(self.USER, PASSWORD)
        while not self._killed.is_set():
            n = next(self._counter)
            note = f"durability test request {n}"
            body = {"venue_id": self.venues[n % len(self.venues)], "inspector": "压力测试",
                    "result": "合格", "note": note}
            try:
                status, answer = session.post_json("/api/inspections", body)
            except SentButCut:
                with self._lock:
                    self._cut += 1
                return
            except OSError:  # refused: the server is gone
                return
            if status != 201:
                raise AssertionError(f"HTTP {status}: {answer[:300]}")
            with self._lock:
                self._acked[json.loads(answer)["inspection"]["id"]] = note

    def acknowledged(self) -> dict[str, str]:
        with self._lock:
            assert self._failures == []
            return dict(self._acked)

    def kill(self) -> None:
        pids = self.server.pids()
        assert len(pids) == 1 + 2, pids  # the master and its workers
        self._killed.set()  # the clients stop after their answer, or its failure
        self.server.kill()  # SIGKILL to the master and every worker at once
        assert self.server.process is not None
        assert self.server.process.returncode == -signal.SIGKILL
        for thread in self.threads:
            thread.join(30)
        assert not any(pid_alive(pid) for pid in pids)
        with self._lock:
            assert self._failures == []
            assert self._cut > 0, "no request was in flight when the server was killed"


class SentButCut(Exception):
    """A request went out but its answer never came (the server was killed meanwhile)."""


class HttpSession:
    """One keep-alive connection with the session cookie and CSRF token, as a page's
    script has them."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.token = ""

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        headers = {**(headers or {}), **({"Cookie": cookie} if cookie else {})}
        self.conn.request(method, path, body, headers)  # OSError: not sent
        try:
            response = self.conn.getresponse()
            answer = response.read().decode()
        except (OSError, http.client.HTTPException) as e:
            raise SentButCut() from e
        for set_cookie in response.headers.get_all("Set-Cookie") or []:  # session, device
            name, _, value = set_cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return response.status, answer

    def refresh_token(self) -> None:
        self.token = json.loads(self.send("GET", "/api/csrf")[1])["csrf_token"]

    def log_in(self, name: str, password: str) -> None:
        self.refresh_token()
        form = urllib.parse.urlencode({"name": name, "password": password,
                                       "csrf_token": self.token}).encode()
        status, _ = self.send("POST", "/login", form,
                              {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302
        self.refresh_token()  # logging in starts a new session

    def post_json(self, path: str, data: object) -> tuple[int, str]:
        return self.send("POST", path, json.dumps(data, ensure_ascii=False).encode(),
                         {"Content-Type": "application/json", "X-CSRFToken": self.token})


def pid_alive(pid: int, wait: float = 10) -> bool:
    """Whether `pid` still runs (not gone, not a zombie) after up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


def check_sigkill_mid_write(writers: Writers, db: Path, kill_after: int) -> dict[str, str]:
    """Start the writers, SIGKILL them once `kill_after` records are acknowledged,
    reopen the store and check it; the acknowledged records (id -> note)."""
    writers.start()
    deadline = time.monotonic() + 60
    while len(writers.acknowledged()) < kill_after:
        assert time.monotonic() < deadline, "the writers did not get going"
        time.sleep(0.01)
    writers.kill()
    acked = writers.acknowledged()
    assert len(acked) >= kill_after

    embedded_records(db)  # what a restarted server does first
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = dict(conn.execute("SELECT id, note FROM inspections"))
        audited = {row[0] for row in conn.execute(
            "SELECT object_id FROM audit_log WHERE action = 'inspection.create'")}
    lost = {i for i in acked if i not in stored}
    assert not lost, f"{len(lost)} acknowledged records lost, e.g. {sorted(lost)[:5]}"
    changed = {i for i, note in acked.items() if stored[i] != note}
    assert not changed, f"{len(changed)} acknowledged records differ, e.g. {sorted(changed)[:5]}"
    assert set(acked) <= audited, "acknowledged records without their audit row"
    return acked


def check_restarted_server_shows(db: Path, acked: dict[str, str]) -> None:
    """The production server restarted on the store shows what was written."""
    with ProductionServer(db, workers=2, config={"TODAY": TODAY}) as server, \
            urllib.request.urlopen(server.url + "/api/layers/venues") as response:
        features = json.loads(response.read())["features"]
    last = {f["id"]: f["properties"]["last_inspection"] for f in features}
    with closing(sqlite3.connect(db)) as conn:
        written = {venue for record, venue in conn.execute("SELECT id, venue_id FROM inspections")
                   if record in acked}
    assert written and all(last[v] == TODAY for v in written)


def venues_not_inspected_today(db: Path) -> list[str]:
    last = embedded_records(db).last_inspections()
    venues = json.loads((GEODATA / "venues.geojson").read_text(encoding="utf-8"))["features"]
    return [v["id"] for v in venues if last.get(v["id"], "") < TODAY][:20]


def seeded_store(tmp_path: Path) -> tuple[Path, list[str]]:
    db = tmp_path / "inspections.sqlite"
    embedded_records(db).seed_from_csv(GEODATA / "inspections.csv", GEODATA / "hazards.csv")
    venues = venues_not_inspected_today(db)
    assert len(venues) == 20
    return db, venues


def test_the_server_killed_mid_write_loses_no_acknowledged_inspection(tmp_path):
    db, venues = seeded_store(tmp_path)
    acked = check_sigkill_mid_write(ServerWriters(db, venues), db, kill_after=300)
    check_restarted_server_shows(db, acked)


def test_store_writes_survive_sigkill(tmp_path):
    db, venues = seeded_store(tmp_path)
    acked = check_sigkill_mid_write(StoreWriters(db, venues), db, kill_after=1000)
    check_restarted_server_shows(db, acked)
