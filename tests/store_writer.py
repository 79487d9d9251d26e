"""Records inspections through the embedded records store from several threads, printing each
record's id and note (tab-separated) as soon as its transaction is committed
(acknowledged).

    python tests/store_writer.py DB --threads 4 --venues V0001,V0002 --date 2026-11-25

tests/stores/test_durability.py starts a few of these side by side, as the server's
workers would be, and SIGKILLs them mid-way. It stops by itself after
--seconds or --max-records.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time
from pathlib import Path

# The repository instead of the script's own directory, tests/, whose packages (tests/inspect)
# would shadow the standard library's modules of the same names.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layers.records.inspections import RESULTS, NewInspection
from layers.stores.opening import embedded_records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--venues", required=True, help="comma-separated venue ids")
    parser.add_argument("--date", required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-records", type=int, default=100_000)
    args = parser.parse_args(argv)
    store = embedded_records(args.db)
    venues = args.venues.split(",")
    deadline = time.monotonic() + args.seconds
    counter = itertools.count()
    print_lock = threading.Lock()

    def write(worker: int) -> None:
        for n in counter:
            if n >= args.max_records or time.monotonic() > deadline:
                return
            note = f"durability test record {n}"
            record_id = store.record_inspection(NewInspection(
                venues[n % len(venues)], args.date, f"写入{worker}", RESULTS[0],
                note=note, hazards=()))["id"]
            with print_lock:
                print(f"{record_id}\t{note}", flush=True)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
