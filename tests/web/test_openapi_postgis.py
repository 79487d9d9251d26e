"""schemathesis over the whole API again, with the app on the PostGIS store.

Like tests/web/test_openapi.py, the app is built at import (schemathesis needs it to
generate the tests), here over a cluster of this module's own.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests import pgcluster
from tests.conftest import make_app
from tests.web.test_openapi import CHECKS, _admin_session, fewer_edits

PROBLEM = pgcluster.missing()

if PROBLEM:
    def test_postgis_is_installed():
        if os.environ.get("HUAISHU_SKIP_POSTGIS") == "1":
            pytest.skip(PROBLEM)
        pytest.fail(PROBLEM, pytrace=False)
else:
    _CLUSTER = pgcluster.PgCluster().start()
    atexit.register(_CLUSTER.stop)
    _DB_DIR = Path(tempfile.mkdtemp(prefix="huaishu-schemathesis-pg-"))
    atexit.register(shutil.rmtree, _DB_DIR, ignore_errors=True)
    _APP = make_app(_DB_DIR / "inspections.sqlite", DATABASE_URL=_CLUSTER.create_database())
    atexit.register(_APP.extensions["database"].release)  # before the cluster stops
    schema = fewer_edits(schemathesis.openapi.from_wsgi("/ogc/api", _APP))
    ADMIN_COOKIE, ADMIN_CSRF = _admin_session(_APP)

    def test_the_app_is_on_postgis():
        assert _APP.extensions["database"].url.startswith("postgresql://")

    # Fewer examples than the SQLite run's 15, which explores the document; this one checks
    # that the PostGIS store's answers keep it too (the same routes, another store).
    @schema.parametrize()
    @settings(max_examples=8, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def test_the_api_keeps_its_document_on_postgis(case):
        case.call_and_validate(checks=CHECKS)
        if case.operation.definition.raw.get("security"):
            case.call_and_validate(checks=CHECKS, cookies=ADMIN_COOKIE, headers=ADMIN_CSRF)
