"""Load test: concurrent clients on loopback for a bounded time; prints the figures.

    python bench/loadtest.py                       # start the production server, 50 clients, 60 s
    python bench/loadtest.py --url http://127.0.0.1:5000 --clients 20 --duration 10
    python bench/loadtest.py --slow                # the same, with 200 + 200 slow clients

Each client is a thread with its own keep-alive HTTP/1.1 connection that sends
requests back to back, drawn at random (seeded) from a mix of what the pages
do: the map page, the layer list, whole layers as GeoJSON, layers by bbox and,
where the server has it, venues nearby. A request counts as an error unless it
gets 200 with its whole body. Only 127.0.0.1 is ever a target. Prints throughput,
latency p50/p99 overall and per kind, and the error count; exits 1 on any error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.production import ProductionServer  # noqa: E402
from bench.slowclients import SlowAttack  # noqa: E402

# The sub-district's extent (lon/lat), for bbox and nearby requests.
EXTENT = (116.9573, 36.6595, 116.9683, 36.6763)
BBOX_LAYERS = ("venues", "garbage", "parking", "grid")


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    path: Callable[[random.Random, list[str]], str]


def _bbox(rng: random.Random) -> str:
    minx, miny, maxx, maxy = EXTENT
    w, h = (maxx - minx) / 3, (maxy - miny) / 3
    x, y = rng.uniform(minx, maxx - w), rng.uniform(miny, maxy - h)
    return f"{x:.6f},{y:.6f},{x + w:.6f},{y + h:.6f}"


def _point(rng: random.Random) -> tuple[float, float]:
    minx, miny, maxx, maxy = EXTENT
    return rng.uniform(minx, maxx), rng.uniform(miny, maxy)


MIX = (
    Kind("map page", 10, lambda rng, layers: "/"),
    Kind("layer list", 10, lambda rng, layers: "/api/layers"),
    Kind("whole layer", 30, lambda rng, layers: f"/api/layers/{rng.choice(layers)}"),
    Kind("layer by bbox", 30,
         lambda rng, layers: f"/api/layers/{rng.choice(BBOX_LAYERS)}?bbox={_bbox(rng)}"),
    Kind("nearby", 20, lambda rng, layers: "/api/nearby?lon={:.6f}&lat={:.6f}&radius_m=300"
         "&limit=50&layer=venues".format(*_point(rng))),
)


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # seconds, by kind
    errors: dict[str, int] = field(default_factory=dict)  # "kind: what" -> count
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, seconds: float, size: int) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.bytes += size

    def error(self, kind: str, what: str) -> None:
        with self.lock:
            key = f"{kind}: {what}"
            self.errors[key] = self.errors.get(key, 0) + 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def served(host: str, port: int, path: str) -> bool:
    """Whether the server has the route (the nearby API, say): anything but 404."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status != 404
    finally:
        conn.close()


def client(host: str, port: int, kinds: list[Kind], layers: list[str], seed: int,
           deadline: float, results: Results) -> None:
    rng = random.Random(seed)
    weights = [k.weight for k in kinds]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        path = kind.path(rng, layers)
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Accept-Encoding": "identity"})
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as e:
            results.error(kind.name, type(e).__name__)
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            continue
        elapsed = time.perf_counter() - start
        if response.status == 200:
            results.ok(kind.name, elapsed, len(body))
        else:
            results.error(kind.name, f"HTTP {response.status}")
        if response.will_close:
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.close()


def run(url: str, clients: int, duration: float, seed: int = 7) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load test only targets the loopback address")
    with closing(http.client.HTTPConnection(host, port, timeout=10)) as conn:
        conn.request("GET", "/api/layers")
        layers = [row["name"] for row in json.loads(conn.getresponse().read())["layers"]]
    kinds = [k for k in MIX if served(host, port, k.path(random.Random(seed), layers))]
    skipped = [k.name for k in MIX if k not in kinds]
    results = Results()
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=client, daemon=True,
                                args=(host, port, kinds, layers, seed + i, deadline, results))
               for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    elapsed = time.monotonic() - started
    return summarize(results, clients, elapsed, skipped)


def summarize(results: Results, clients: int, elapsed: float, skipped: list[str]) -> dict:
    everything = [s for values in results.latencies.values() for s in values]
    errors = sum(results.errors.values())

    def figures(values: list[float]) -> dict:
        return {"requests": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1) if values else None,
                "p99_ms": round(percentile(values, 99) * 1000, 1) if values else None,
                "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else None}

    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "throughput_rps": round(len(everything) / elapsed, 1) if elapsed else 0.0,
        "megabytes": round(results.bytes / 1e6, 1),
        **figures(everything),
        "errors": errors,
        "error_kinds": results.errors,
        "by_kind": {kind: figures(values) for kind, values in sorted(results.latencies.items())},
        "not_served": skipped,
    }


def print_report(summary: dict) -> None:
    print(f"{summary['clients']} clients, {summary['seconds']} s: {summary['requests']} requests,"
          f" {summary['throughput_rps']} req/s, {summary['megabytes']} MB")
    print(f"latency p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms;"
          f" errors {summary['errors']}")
    print(f"{'kind':<16}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for kind, f in summary["by_kind"].items():
        print(f"{kind:<16}{f['requests']:>10}{f['p50_ms']:>10}{f['p99_ms']:>10}")
    for what, n in summary["error_kinds"].items():
        print(f"error: {what} x{n}")
    if summary["not_served"]:
        print("not served here (skipped): " + ", ".join(summary["not_served"]))
    if "slow" in summary:
        slow = summary["slow"]
        print(f"beside {slow['held_headers']} connections holding partial headers and "
              f"{slow['held_bodies']} trickling a body; the server dropped the first of each "
              f"after {slow['first_dropped_after_s']} s")


def run_with(url: str, args: argparse.Namespace) -> dict:
    """`run`, alone or beside the slow clients of `--slow` (their figures under "slow")."""
    if not args.slow:
        return run(url, args.clients, args.duration)
    parts = urlsplit(url)
    attack = SlowAttack(parts.hostname or "", parts.port or 80, 200, 200).start()
    try:
        summary = run(url, args.clients, args.duration)
    finally:
        attack.close()
    summary["slow"] = {"held_headers": 200, "held_bodies": 200,
                       "first_dropped_after_s": attack.dropped}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on loopback; by default the production"
                        " server is started on a free port and stopped afterwards")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds")
    parser.add_argument("--workers", type=int, help="gunicorn workers of the started server")
    parser.add_argument("--threads", type=int, help="threads per worker of the started server")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--slow", action="store_true",
                        help="while the clients run, hold 200 connections with partial headers"
                        " and 200 trickling a body (bench/slowclients.py)")
    args = parser.parse_args(argv)
    if args.url:
        summary = run_with(args.url, args)
    else:
        with tempfile.TemporaryDirectory() as tmp, ProductionServer(
                Path(tmp) / "inspections.sqlite", workers=args.workers,
                threads=args.threads) as server:
            summary = run_with(server.url, args)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print_report(summary)
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
