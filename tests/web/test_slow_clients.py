"""Slow clients cannot starve the production server (layers/web/serving.py).

The attack of the issue "Hardening, round two": connections that send half a header
and stop, and connections that trickle a body one byte every 4 s. gunicorn's threaded
worker gave every other client a time-out while they stayed open; waitress inside
gunicorn's workers reads requests whole before a thread takes them, and drops the slow
ones. Figures at full size: `make loadtest SLOW=1` (README).
"""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench import slowclients
from bench.production import ProductionServer, free_port
from layers.web import serving
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    db = tmp_path_factory.mktemp("slow") / "inspections.sqlite"
    with ProductionServer(db, workers=2, threads=4, config={"TODAY": TODAY}) as server:
        yield server


def test_other_clients_are_answered_while_slow_clients_hold_connections(production):
    figures = slowclients.run(production.url, headers=200, bodies=200, duration=25)
    assert figures.errors == 0, figures
    assert figures.requests > 100, figures
    assert figures.p99_ms < 1000, figures
    # Both kinds were dropped by the server while we watched (the deadlines of serving.py).
    limit = serving.IDLE_TIMEOUT_S + 10
    assert figures.dropped_after_s["headers"] is not None, figures
    assert figures.dropped_after_s["headers"] <= limit, figures
    assert figures.dropped_after_s["bodies"] is not None, figures
    assert figures.dropped_after_s["bodies"] <= limit, figures


def test_a_silent_connection_is_closed_after_the_idle_timeout(production):
    with socket.create_connection(("127.0.0.1", production.port), timeout=60) as s:
        s.sendall(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        began = time.monotonic()
        assert s.recv(100) == b""  # closed by the server, nothing answered
        waited = time.monotonic() - began
    assert serving.IDLE_TIMEOUT_S - 1 <= waited <= serving.IDLE_TIMEOUT_S + 10


def test_a_whole_request_sent_slowly_but_in_time_is_answered(production):
    """An honest slow client (a phone on a poor network) is served, not dropped."""
    body = (b'{"geometry": {"type": "LineString", '
            b'"coordinates": [[116.962, 36.668], [116.963, 36.669]]}}')
    head = (b"POST /api/measure HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    with socket.create_connection(("127.0.0.1", production.port), timeout=30) as s:
        for part in (head[:20], head[20:], body[:10], body[10:]):
            s.sendall(part)
            time.sleep(1)
        answer = s.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_python_server_py_serves_through_the_production_server(tmp_path):
    port = free_port()
    env = {"HUAISHU_INSPECTIONS_DB": str(tmp_path / "inspections.sqlite"),
           "HUAISHU_TODAY": TODAY, "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([sys.executable, "server.py", "--port", str(port),
                                "--workers", "1"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/layers",
                                            timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()[-2000:]
                assert time.monotonic() < deadline, "python server.py did not answer"
                time.sleep(0.2)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert "Using worker: layers.web.serving.WaitressWorker" in output
