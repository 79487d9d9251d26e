"""Memory of the production server, with the app preloaded in the master and without.

    python bench/memory.py [--workers 4] [--requests 200]

Starts gunicorn on loopback each way, sends the same requests, and prints each
process's RSS, PSS (its fair share of shared pages) and private memory from
/proc/PID/smaps_rollup (Linux), with the totals.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import urllib.request
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.production import ROOT, ProductionServer  # noqa: E402

PATHS = ("/", "/api/layers", "/api/layers/venues", "/api/layers/garbage")


def memory_mb(pid: int) -> dict[str, int]:
    """Rss, Pss and Private (clean + dirty) of a process, in MB."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, *rest = line.split()
            if name.endswith(":") and rest and rest[-1] == "kB":
                fields[name[:-1]] = int(rest[0])
    private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"rss": fields["Rss"] // 1024, "pss": fields["Pss"] // 1024, "private": private // 1024}


def measure(preload: bool, workers: int, requests: int) -> list[dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "gunicorn.conf.py"
        config.write_text(f"exec(open({str(ROOT / 'gunicorn.conf.py')!r}).read())\n"
                          f"preload_app = {preload}\n")
        server = ProductionServer(Path(tmp) / "inspections.sqlite", workers=workers,
                                  gunicorn_args=["--config", str(config)])
        with server:
            for _ in range(requests):
                for path in PATHS:
                    with urllib.request.urlopen(server.url + path) as response:
                        response.read()
            return [memory_mb(pid) for pid in server.pids()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200, help="rounds of the 4 requests")
    args = parser.parse_args(argv)
    for preload in (True, False):
        rows = measure(preload, args.workers, args.requests)
        print(f"preload_app = {preload}, {args.workers} workers, "
              f"{args.requests * len(PATHS)} requests (MB):")
        for name, row in zip(["master"] + ["worker"] * args.workers, rows, strict=True):
            print(f"  {name:<8} RSS {row['rss']:>4}  PSS {row['pss']:>4}"
                  f"  private {row['private']:>4}")
        print(f"  {'total':<8} RSS {sum(r['rss'] for r in rows):>4}"
              f"  PSS {sum(r['pss'] for r in rows):>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
