"""What one single-feature edit costs at N venues (issue 12), and a follower's catch-up.

    python bench/edit_cost.py 100000 [--database-url postgresql://...] [--edits 3]

Writes a data directory of N synthetic venues (bench/synthetic.py), makes two apps
over one database (the embedded store's SQLite file, or the PostGIS database given:
a scratch one, its layers' versions are emptied first) and prints, each the median of
`--edits` edits of one venue's address:

- edit: `edit_feature` in-process on app A (the commit path: check, version, audit);
- own: A following its own edit (`follow_now`'s refresh);
- follower: B, the other server, following the new head (its reloader's refresh);
- http: an OGC API - Features PATCH of one venue as admin on A (test client), its
  follow_now included.

EDITCOST_ROOT=/work/main runs the same figures against another checkout (the code
before): run the two in turn (A B A B) and quote the load average with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("EDITCOST_ROOT") or str(Path(__file__).resolve().parents[1]))

from bench.synthetic import write_data_dir  # noqa: E402
from layers.data.edits import edit_feature  # noqa: E402
from server import create_app  # noqa: E402

PASSWORD = "bench-password-1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("venues", type=int)
    parser.add_argument("--database-url")
    parser.add_argument("--edits", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="editcost-"))
    write_data_dir(work / "data", args.venues)
    config: dict[str, object] = {
              "TESTING": True, "SESSION_COOKIE_SECURE": False, "CLIENT_RATE": 0,
              "DATA_DIR": str(work / "data"),
              "INSPECTIONS_DB": str(work / "db.sqlite")}
    if args.database_url:
        import psycopg
        with psycopg.connect(args.database_url, autocommit=True) as db:
            if (db.execute("SELECT to_regclass('layer_heads')").fetchone() or [None])[0]:
                db.execute("TRUNCATE layer_versions, layer_heads")  # seeded again
        config["DATABASE_URL"] = args.database_url
    t = time.perf_counter()
    a = create_app(config)
    b = create_app(config)
    print(f"{args.venues} venues, {'PostGIS' if args.database_url else 'embedded'}: two apps "
          f"in {time.perf_counter() - t:.1f} s; code {sys.path[0]}; load "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    history = a.extensions["layer_history"]
    ids = a.extensions["layer_store"].get("venues").ids
    figures: dict[str, list[float]] = {"edit": [], "own": [], "follower": [], "http": []}
    for i in range(args.edits):
        t = time.perf_counter()
        edit_feature(history, a.extensions["layer_store"], "venues", "update", ids[i],
                     {"type": "Feature", "properties": {"address": f"新址 {i}"}}, None, "bench")
        figures["edit"].append(time.perf_counter() - t)
        t = time.perf_counter()
        a.extensions["layer_reloader"].refresh()
        figures["own"].append(time.perf_counter() - t)
        t = time.perf_counter()
        b.extensions["layer_reloader"].refresh()
        figures["follower"].append(time.perf_counter() - t)
    admin = a.test_client()
    a.extensions["users"].create("bench-admin", PASSWORD, "admin", by="bench")
    token = admin.get("/api/csrf").get_json()["csrf_token"]
    admin.post("/login", data={"name": "bench-admin", "password": PASSWORD, "csrf_token": token})
    admin.environ_base["HTTP_X_CSRFTOKEN"] = admin.get("/api/csrf").get_json()["csrf_token"]
    for i in range(args.edits):
        t = time.perf_counter()
        answer = admin.patch(f"/ogc/collections/venues/items/{ids[10 + i]}",
                             data=json.dumps({"type": "Feature", "properties": {
                                 "address": f"又一新址 {i}"}}, ensure_ascii=False),
                             content_type="application/geo+json")
        figures["http"].append(time.perf_counter() - t)
        assert answer.status_code == 204, answer.get_data(as_text=True)[:300]
    for name, values in figures.items():
        print(f"  {name:9s} median {statistics.median(values):7.3f} s   "
              f"({', '.join(f'{v:.3f}' for v in values)})")
    print(f"  load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for app in (a, b):
        if "database" in app.extensions:
            app.extensions["database"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
