"""`make cluster` (ops/cluster.py): nginx in front of two app servers over one PostGIS.

Started for real (in a temporary directory, on free ports): requests through nginx
reach both servers, and with one server stopped the URL keeps answering.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import pgcluster

ROOT = Path(__file__).resolve().parents[2]


# Ports are taken below Linux's ephemeral range (32768-60999 by default), which the kernel
# hands to outgoing connections and port-0 binds of the other tests running beside this
# one: a free port found there can be taken again before the cluster binds it.
PORT_RANGE = (20000, 32000)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports() -> tuple[int, int, int]:
    """nginx's port, the first app server's (the second takes the next one) and
    PostgreSQL's: all free now, none of them next to another."""
    rng = random.Random()
    while True:
        port, app_port, pg_port = (rng.randrange(*PORT_RANGE) for _ in range(3))
        wanted = {port, app_port, app_port + 1, pg_port}
        if len(wanted) == 4 and all(_bindable(p) for p in wanted):
            return port, app_port, pg_port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("X-Upstream", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("X-Upstream", "")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if pgcluster.missing() or not shutil.which("nginx"):
        pytest.fail("make cluster needs PostgreSQL 15 + PostGIS and nginx (make cluster-deps "
                    "installs them)", pytrace=False)
    directory = tmp_path_factory.mktemp("cluster")
    port, app_port, pg_port = _free_ports()
    args = ["--dir", str(directory), "--port", str(port), "--app-port", str(app_port),
            "--pg-port", str(pg_port), "--workers", "1", "--threads", "4"]

    def run(*command: str) -> str:
        done = subprocess.run([sys.executable, "ops/cluster.py", *command, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        out = run("start")
        assert f"http://127.0.0.1:{port}/" in out
        yield {"url": f"http://127.0.0.1:{port}", "apps": (app_port, app_port + 1), "run": run}
    finally:
        subprocess.run([sys.executable, "ops/cluster.py", "stop", *args], cwd=ROOT,
                       capture_output=True, timeout=120)
        shutil.rmtree(f"/tmp/huaishu-cluster-pg-{pg_port}", ignore_errors=True)


def test_requests_through_nginx_reach_both_servers_and_survive_one_stopping(cluster):
    url = cluster["url"]
    seen = set()
    for _ in range(10):
        status, upstream = _get(url + "/api/layers")
        assert status == 200
        seen.add(upstream)
    assert seen == {f"127.0.0.1:{p}" for p in cluster["apps"]}
    assert _get(url + "/readyz")[0] == 200

    cluster["run"]("app-stop", "1")
    try:
        start = time.monotonic()
        answers = [_get(url + path) for _ in range(10)
                   for path in ("/api/layers", "/", "/readyz")]
        assert {status for status, _ in answers} == {200}, answers
        assert time.monotonic() - start < 30
        assert {upstream.split(", ")[-1] for _, upstream in answers} == {
            f"127.0.0.1:{cluster['apps'][1]}"}
    finally:
        cluster["run"]("app-start", "1")
