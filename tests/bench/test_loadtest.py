"""A short run of the load generator (bench/loadtest.py) against the production server.

The figures themselves are a benchmark (`make loadtest`), not asserted here.
"""

import time

import pytest

from bench import loadtest
from bench.production import ProductionServer
from tests.conftest import TODAY


def test_load_generator_runs_clean_against_gunicorn(tmp_path):
    with ProductionServer(tmp_path / "inspections.sqlite", workers=2,
                          config={"TODAY": TODAY}) as server:
        summary = loadtest.run(server.url, clients=4, duration=2)
    assert summary["errors"] == 0, summary["error_kinds"]
    assert summary["requests"] > 0
    # Every kind of the mix is served and sent (nearby included): none is skipped.
    assert summary["not_served"] == []
    assert set(summary["by_kind"]) == {kind.name for kind in loadtest.MIX}
    assert all(f["p50_ms"] is not None for f in summary["by_kind"].values())


def test_load_generator_counts_errors(tmp_path):
    """Requests that fail are counted, not hidden: a stopped server gives errors."""
    server = ProductionServer(tmp_path / "inspections.sqlite", workers=1).start()
    server.kill()
    results = loadtest.Results()
    loadtest.client("127.0.0.1", server.port, list(loadtest.MIX), ["venues"], seed=1,
                    deadline=time.monotonic() + 0.2, results=results)
    assert sum(results.errors.values()) > 0 and not results.latencies


def test_only_loopback_is_a_target():
    with pytest.raises(SystemExit):
        loadtest.run("http://10.0.0.1:5000", clients=1, duration=1)
