"""`make loadtest-cluster`: logged-in inspectors against `make cluster`, with an outage.

    python bench/cluster_load.py                         # 100 clients, 60 s, PostgreSQL
                                                         # stopped 30 s in the middle
    python bench/cluster_load.py --seed 1000000 --outage 0 --write-share 1
                                                         # write throughput at 1M stored
    python bench/cluster_load.py --seed 1000000 --outage 0 --rate 100 --clients 40
                                                         # 100 inspections/s offered, p99

Each client is a thread logged in as its own inspector (made beforehand, in the
cluster's database) that sends requests back to back through nginx: map reads
(the layer list, venues by bbox, a whole small layer, nearby) and, for a share of
them, an inspection (POST /api/inspections) with an Idempotency-Key; a write that
gets no 201 (503, a dropped connection) is sent again with the same key until it
does or the run ends. The key is written in the record's note, so that afterwards
the database says whether every acknowledged record is there (lost) and whether
any key was stored twice (duplicates). Prints, per phase (before, during and after
the outage): requests, statuses, p50/p99/max latency of reads and writes; the
time until service came back; lost and duplicated records.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

EXTENT = (116.9573, 36.6595, 116.9683, 36.6763)
PASSWORD = "load-test-pw-1"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    def __init__(self, base: str, name: str):
        self.base, self.name = base, name
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)
        self.token = ""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30
                ) -> tuple[int, bytes, dict[str, str]]:
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def log_in(self) -> None:
        _, body, _ = self.request("GET", "/api/csrf")
        token = json.loads(body)["csrf_token"]
        form = urllib.parse.urlencode({"name": self.name, "password": PASSWORD,
                                       "csrf_token": token}).encode()
        status, _, _ = self.request("POST", "/login", form,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise SystemExit(f"login of {self.name} failed: {status}")
        self.token = json.loads(self.request("GET", "/api/csrf")[1])["csrf_token"]


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.statuses: dict[tuple[str, str], dict[str, int]] = defaultdict(
            lambda: defaultdict(int))
        self.acked: dict[str, str] = {}  # key -> inspection id
        self.sent: set[str] = set()  # every key of this run
        self.first_write_after: float | None = None

    def add(self, phase: str, kind: str, status: str, seconds: float) -> None:
        with self.lock:
            self.latency[(phase, kind)].append(seconds)
            self.statuses[(phase, kind)][status] += 1


class Clock:
    """Which phase a moment is in: before, during or after the outage."""

    def __init__(self) -> None:
        self.stopped_at: float | None = None
        self.started_at: float | None = None

    def phase(self, at: float) -> str:
        if self.stopped_at is None or at < self.stopped_at:
            return "before"
        if self.started_at is None or at < self.started_at:
            return "during"
        return "after"


def read_path(rng: random.Random, venues: list[str]) -> tuple[str, str]:
    minx, miny, maxx, maxy = EXTENT
    x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
    choice = rng.random()
    if choice < 0.3:
        w = (maxx - minx) / 4
        return "bbox", f"/api/layers/venues?bbox={x - w:.6f},{y - w:.6f},{x + w:.6f},{y + w:.6f}"
    if choice < 0.5:
        return "layers", "/api/layers"
    if choice < 0.7:
        return "layer", "/api/layers/roads"
    if choice < 0.85:
        return "nearby", f"/api/nearby?lon={x:.6f}&lat={y:.6f}&radius_m=300&limit=20"
    return "history", f"/api/venues/{rng.choice(venues)}/history"


def new_write(rng: random.Random, venues: list[str], results: Results) -> tuple[str, bytes]:
    """A new inspection and its Idempotency-Key (written in its note), noted as sent."""
    key = uuid.uuid4().hex
    body = json.dumps({"venue_id": rng.choice(venues), "inspector": "压测",
                       "result": "合格", "note": f"lt:{key}"}, ensure_ascii=False).encode()
    with results.lock:
        results.sent.add(key)
    return key, body


def post_write(client: Client, key: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
    """POST the inspection with its key; status 0 when the connection failed."""
    try:
        return client.request("POST", "/api/inspections", body,
                              {"Content-Type": "application/json",
                               "X-CSRFToken": client.token, "Idempotency-Key": key})
    except OSError:
        return 0, b"", {}


def run_client(client: Client, venues: list[str], seed: int, write_share: float,
               deadline: float, clock: Clock, results: Results) -> None:
    rng = random.Random(seed)
    pending: tuple[str, bytes] | None = None  # a write not yet acknowledged
    while time.monotonic() < deadline:
        if pending is None and rng.random() < write_share:
            pending = new_write(rng, venues, results)
        start = time.monotonic()
        if pending is not None:
            key, body = pending
            kind = "write"
            status, answer, headers = post_write(client, key, body)
            if status == 201:
                with results.lock:
                    results.acked[key] = json.loads(answer)["inspection"]["id"]
                    if clock.started_at is not None and results.first_write_after is None \
                            and start >= clock.started_at:
                        results.first_write_after = time.monotonic() - clock.started_at
                pending = None
        else:
            kind, path = read_path(rng, venues)
            try:
                status, _, headers = client.request("GET", path)
            except OSError:
                status = 0
        results.add(clock.phase(start), kind, str(status), time.monotonic() - start)
        if status == 503:  # as a client should: wait as told (at most 1 s here)
            time.sleep(min(1.0, float(headers.get("Retry-After", "1"))))


def run_paced_writer(client: Client, venues: list[str], seed: int, index: int, rate: float,
                     clients: int, start: float, deadline: float, results: Results) -> None:
    """Client `index` of `clients`, writing its share of `rate` inspections a second
    on a fixed schedule; each write retried with its key until a 201 (as run_client)."""
    rng = random.Random(seed)
    due = start + index / rate
    while due < deadline:
        time.sleep(max(0.0, due - time.monotonic()))
        key, body = new_write(rng, venues, results)
        status, answer = 0, b""
        while status != 201 and time.monotonic() < deadline:
            status, answer, _ = post_write(client, key, body)
        if status == 201:
            with results.lock:
                results.acked[key] = json.loads(answer)["inspection"]["id"]
        results.add("before", "write", str(status), time.monotonic() - due)
        due += clients / rate


def prepare_users(database_url: str, n: int) -> list[str]:
    """Inspectors load-1 .. load-n in the cluster's database (made when missing)."""
    import tempfile

    from server import create_app

    app = create_app({"DATABASE_URL": database_url, "RELOAD_LAYERS": False,
                      "INSPECTIONS_DB": Path(tempfile.mkdtemp()) / "unused.sqlite"})
    users = app.extensions["users"]
    names = [f"load-{i}" for i in range(1, n + 1)]
    for name in names:
        if users.get(name) is None:
            users.create(name, PASSWORD, "inspector", f"压测{name[5:]}", by="loadtest")
    app.extensions["database"].close()
    return names


def seed_inspections(database_url: str, total: int) -> int:
    """Fill the inspections table up to `total` rows (numbered from the sequence)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        have = db.execute("SELECT count(*) FROM inspections").fetchone()[0]  # type: ignore[index]
        missing = max(0, total - have)
        if missing:
            db.execute(
                "INSERT INTO inspections (id, venue_id, date, inspector, result, note)"
                " SELECT 'INS' || CASE WHEN s < 1000000 THEN lpad(s::text, 6, '0')"
                " ELSE s::text END, v.ids[1 + (n %% array_length(v.ids, 1))],"
                " to_char(date '2020-01-01' + (n %% 2000), 'YYYY-MM-DD'), '种子', '合格', NULL"
                " FROM (SELECT n, nextval('inspections_number') AS s"
                " FROM generate_series(1, %s) n) g,"
                " (SELECT array_agg(id) AS ids FROM layer_venues) v", (missing,))
            db.execute("ANALYZE inspections")
        return int(db.execute("SELECT count(*) FROM inspections").fetchone()[0])  # type: ignore[index]


def check_records(database_url: str, acked: dict[str, str], sent: set[str]
                  ) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url) as db:
        rows = db.execute("SELECT note, count(*), min(id) FROM inspections"
                          " WHERE note LIKE 'lt:%%' GROUP BY note").fetchall()
    stored = {note[3:]: (count, first) for note, count, first in rows if note[3:] in sent}
    lost = sum(1 for key in acked if key not in stored)
    duplicates = sum(count - 1 for count, _ in stored.values())
    mismatched = sum(1 for key, iid in acked.items() if key in stored and stored[key][1] != iid)
    return {"acknowledged": len(acked), "lost": lost, "duplicates": duplicates,
            "answered_with_another_id": mismatched,
            # sent, stored, but the run ended before a retry got the answer
            "stored_without_acknowledgement": sum(1 for k in stored if k not in acked)}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5433/huaishu")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--outage", type=float, default=30, help="seconds PostgreSQL is stopped")
    parser.add_argument("--write-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0, help="fill inspections up to this many")
    parser.add_argument("--cluster-args", default="", help="extra arguments of ops/cluster.py")
    parser.add_argument("--rate", type=float, default=0,
                        help="write only, at this many inspections a second offered in all")
    args = parser.parse_args(argv)
    if args.rate > 0 and args.outage > 0:
        raise SystemExit("--rate measures writes without an outage: add --outage 0")
    if urllib.parse.urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("only a cluster on loopback is a target")

    names = prepare_users(args.database_url, args.clients)
    stored = seed_inspections(args.database_url, args.seed) if args.seed else None
    clients = [Client(args.url, name) for name in names]
    for client in clients:
        client.log_in()
    features = json.loads(clients[0].request("GET", "/api/layers/venues")[1])["features"]
    venues = [f["id"] for f in features]

    clock, results = Clock(), Results()
    start = time.monotonic()
    deadline = start + args.duration
    if args.rate > 0:
        threads = [threading.Thread(target=run_paced_writer,
                                    args=(c, venues, i, i, args.rate, len(clients), start,
                                          deadline, results))
                   for i, c in enumerate(clients)]
    else:
        threads = [threading.Thread(target=run_client, args=(c, venues, i, args.write_share,
                                                             deadline, clock, results))
                   for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    back_after: float | None = None
    if args.outage > 0:
        cluster = [sys.executable, str(ROOT / "ops" / "cluster.py"), *args.cluster_args.split()]
        time.sleep(max(0.0, (args.duration - args.outage) / 2))
        subprocess.run([*cluster, "db-stop"], check=True)
        clock.stopped_at = time.monotonic()
        time.sleep(args.outage)
        subprocess.run([*cluster, "db-start"], check=True)
        clock.started_at = time.monotonic()
        probe = Client(args.url, "")
        while time.monotonic() < deadline:
            if probe.request("GET", "/readyz", timeout=5)[0] == 200:
                back_after = time.monotonic() - clock.started_at
                break
            time.sleep(0.1)
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start

    report: dict[str, Any] = {"clients": args.clients, "duration_s": round(elapsed, 1),
                              "outage_s": args.outage, "stored_before": stored,
                              "phases": {}}
    for (phase, kind), values in sorted(results.latency.items()):
        group = "write" if kind == "write" else "read"
        entry = report["phases"].setdefault(phase, {}).setdefault(
            group, {"n": 0, "latencies": [], "statuses": defaultdict(int)})
        entry["n"] += len(values)
        entry["latencies"] += values
        for status, count in results.statuses[(phase, kind)].items():
            entry["statuses"][status] += count
    for phase in report["phases"].values():
        for entry in phase.values():
            values = entry.pop("latencies")
            entry.update(p50_ms=round(statistics.median(values) * 1000, 1),
                         p99_ms=round(percentile(values, 99) * 1000, 1),
                         max_ms=round(max(values) * 1000, 1),
                         statuses=dict(entry["statuses"]))
    written = report["phases"].get("before", {}).get("write") if args.outage <= 0 else None
    if args.rate > 0:
        report["rate_offered_per_s"] = args.rate
    if written:
        report["inspections_per_s"] = round(written["statuses"].get("201", 0) / elapsed, 1)
    report["readyz_back_after_s"] = None if back_after is None else round(back_after, 2)
    report["first_write_after_s"] = (None if results.first_write_after is None
                                     else round(results.first_write_after, 2))
    report["records"] = check_records(args.database_url, results.acked, results.sent)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
