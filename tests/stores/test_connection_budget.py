"""DATABASE_CONNECTIONS: a host's connections, split among its workers, checked at start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from layers.stores.opening import ConnectionBudgetError, share_connections
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]


def test_the_pool_size_follows_from_the_budget(tmp_path, store_backend):
    app = make_app(tmp_path / "db.sqlite", DATABASE_CONNECTIONS=20, DATABASE_POOL_SIZE=10)
    if store_backend == "sqlite":
        assert share_connections(app, 4) == 0  # no pool: nothing to split
        return
    database = app.extensions["database"]
    assert share_connections(app, 4) == 5 and database.pool_size == 5
    assert share_connections(app, 16) == 1  # 16 x 1 <= 20
    assert share_connections(app, 1) == 10  # never above DATABASE_POOL_SIZE
    app.config["DATABASE_CONNECTIONS"] = 0  # off: DATABASE_POOL_SIZE per process
    assert share_connections(app, 64) == 10


def test_a_budget_smaller_than_the_workers_says_so(tmp_path, postgis_only):
    app = make_app(tmp_path / "db.sqlite", DATABASE_CONNECTIONS=3)
    with pytest.raises(ConnectionBudgetError, match="DATABASE_CONNECTIONS.*at least 4"):
        share_connections(app, 4)


def test_a_budget_over_max_connections_is_refused_at_start(tmp_path, postgis_only):
    # The test cluster allows 300 connections (3 reserved for superusers).
    with pytest.raises(ConnectionBudgetError, match="max_connections") as refused:
        make_app(tmp_path / "db.sqlite", DATABASE_CONNECTIONS=1000)
    assert "超过 PostgreSQL 允许的 297 个连接" in str(refused.value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn(url: str, tmp_path: Path, workers: int, budget: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HUAISHU_DATABASE_URL": url,
           "HUAISHU_DATABASE_CONNECTIONS": str(budget), "HUAISHU_TESTING": "true",
           "HUAISHU_INSPECTIONS_DB": str(tmp_path / "unused.sqlite"),
           "HUAISHU_SECRET_KEY": "budget-test", "HUAISHU_CLIENT_RATE": "0"}
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "4"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    process.port = port  # type: ignore[attr-defined]
    return process


def test_gunicorn_workers_keep_to_the_budget(tmp_path, postgis_only, postgis_cluster):
    url = postgis_cluster.create_database()
    refused = _gunicorn(url, tmp_path, workers=3, budget=2)
    out, _ = refused.communicate(timeout=120)
    assert refused.returncode != 0
    assert "服务未启动" in out and "at least 3" in out, out[-2000:]

    server = _gunicorn(url, tmp_path, workers=2, budget=4)
    try:
        base = f"http://127.0.0.1:{server.port}"  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.3)
        from concurrent.futures import ThreadPoolExecutor

        def hit(_):
            with urllib.request.urlopen(base + "/api/venues/V0001/history", timeout=30) as r:
                return r.status

        with ThreadPoolExecutor(16) as pool:
            assert set(pool.map(hit, range(200))) == {200}
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(postgis_cluster.url("postgres")) as db:
            held = db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                              (name,)).fetchone()[0]
        assert 1 <= held <= 4, held
    finally:
        server.terminate()
        server.communicate(timeout=30)
