"""The map service of 中大槐树街道: app factory and `python server.py`."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import Application

from layers.accounts import access, admin, budget
from layers.accounts import routes as auth
from layers.basemaps import routes as basemaps
from layers.basemaps.sources import BasemapConfigError
from layers.catalogue.validate import LayerDataError
from layers.data import admin_routes as admin_layers
from layers.data import api, reload
from layers.data.cli import layers_cli
from layers.help import routes as help_routes
from layers.inspectors import photo_routes
from layers.inspectors import routes as inspect_routes
from layers.ogc import routes as ogcapi
from layers.openapi import openapi_document
from layers.planners import analysis_routes as analysis_api
from layers.planners import pages
from layers.review import routes as review
from layers.stores.cli import db_cli
from layers.stores.opening import init_app as init_stores
from layers.stores.postgis.database import PostgisError
from layers.web import hardening, health, openapi
from layers.web.context import register_error_handlers

ROOT = Path(__file__).resolve().parent

DEFAULTS: dict[str, Any] = {
    # The shipped GeoJSON layers (they seed an empty database) and inspection history.
    "DATA_DIR": ROOT / "geodata",
    "INSPECTIONS_DB": ROOT / "instance" / "inspections.sqlite",  # records (SQLite, WAL)
    # PostgreSQL + PostGIS for records, accounts and spatial queries (postgresql://...);
    # None: the embedded stores (SQLite INSPECTIONS_DB, in-process STRtrees).
    "DATABASE_URL": None,
    "DATABASE_POOL_SIZE": 10,  # at most this many connections per app process
    # The connections this host's server may use in all (gunicorn: split among the workers,
    # each pool gets DATABASE_CONNECTIONS // workers, at most DATABASE_POOL_SIZE); checked
    # against PostgreSQL's max_connections at start. 0: DATABASE_POOL_SIZE per process.
    "DATABASE_CONNECTIONS": 20,
    # Seconds a start waits for an unreachable database, trying every 2 s with a log line
    # ("inf": until it answers; the production server's default); 0: fail at once.
    "DATABASE_START_WAIT_S": 0,
    # A request's SQL statement running longer is cancelled, answered 503 in Chinese, and
    # changes nothing (a stuck lock or runaway query holds a connection that long at most);
    # loading and writing layers are not limited. 0: no limit.
    "DATABASE_STATEMENT_TIMEOUT_S": 30,
    "TODAY": None,  # ISO date to pin "today" (tests, demos); None: the real date
    "RELOAD_LAYERS": True,  # follow the layers' versions in the database (at most 1 s late)
    "SECRET_KEY": None,  # signs session cookies; None: generated once, kept in instance/
    # Basemaps (layers/basemaps/): BASEMAPS, a list of sources, or BASEMAPS_FILE, a JSON or
    # TOML file of them; neither: none / OpenStreetMap / 天地图矢量 and 天地图影像 (with a key).
    "BASEMAPS": None,
    "BASEMAPS_FILE": None,
    "TIANDITU_KEY": None,  # 天地图 key (tk): adds the 天地图 basemaps; only the tile proxy sees it
    # The tile proxy (/tiles/<source>/<z>/<x>/<y>) and its disk cache.
    "TILE_CACHE_DIR": ROOT / "instance" / "tiles",
    "TILE_CACHE_MAX_BYTES": 2 * 1024**3,  # past this the oldest tiles are removed
    "TILE_CACHE_MAX_AGE_S": 30 * 24 * 3600,  # older tiles are fetched again (kept if that fails)
    # What the proxy may fetch: TILE_AREA (west, south, east, north; WGS84), or None: the
    # sub-district's extent grown by TILE_AREA_MARGIN_M metres; at zooms TILE_ZOOMS.
    "TILE_AREA": None,
    "TILE_AREA_MARGIN_M": 2000,
    "TILE_ZOOMS": (10, 18),
    "TILE_FETCH_TIMEOUT_S": 10,  # seconds for a source to answer
    "TILE_SOURCE_RETRY_S": 60,  # after a source was unreachable: the cache alone, this long
    # Per client address: tiles a second and the burst a page may ask for at once.
    "TILE_RATE_PER_S": 30,
    "TILE_RATE_BURST": 400,
    "FIGURES_FILE": ROOT / "geodata" / "figures_2022.json",  # the dashboard's figures
    "JSON_AS_ASCII": False,
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # bytes; a larger request body gets 413
    "IMPORT_MAX_CONTENT_LENGTH": 100 * 1024 * 1024,  # bytes: a layer file uploaded on /admin/layers
    # bytes: a record with its photos (at most 12 of 10 MB each: layers/records/photos.py)
    "RECORD_MAX_CONTENT_LENGTH": 125 * 1024 * 1024,
    # What an imported file may hold (layers/data/limits.py), checked before the work.
    "IMPORT_MAX_EXPANDED_BYTES": 300 * 1024 * 1024,  # an archive (zip, kmz, xlsx) unpacked
    "IMPORT_MAX_ARCHIVE_FILES": 100,
    "IMPORT_MAX_FEATURES": 200_000,
    "IMPORT_MAX_VERTICES_PER_FEATURE": 50_000,
    "IMPORT_MAX_VERTICES": 2_000_000,
    "IMPORT_TIME_BUDGET_S": 120,
    # Image servers pages may load from besides the app and the basemaps' own (CSP img-src).
    "CSP_TILE_SOURCES": (),
    # The service's address as its users reach it (https://map.example.gov.cn): links and
    # redirects start with it. Requests may name it, loopback, or a host of ALLOWED_HOSTS
    # (a list; JSON in HUAISHU_ALLOWED_HOSTS); any other Host header is refused with 400.
    "EXTERNAL_URL": None,
    "ALLOWED_HOSTS": (),
    # Proxies (addresses or networks, e.g. ["127.0.0.1", "10.0.0.0/8"]) whose
    # X-Forwarded-For names the client; from any other peer the header is ignored.
    "TRUSTED_PROXIES": (),
    # Accounts (see layers/records/users.py, access.py): what visitors who are not logged in may do
    # ("viewer": the maps; "none": only log in), the session cookie over HTTPS only
    # (false for plain HTTP on loopback), and the login rate limits.
    "ANONYMOUS_ROLE": "viewer",
    "SESSION_COOKIE_SECURE": True,
    # Seconds a login lasts without a request (a working day); each request renews it.
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    "LOGIN_MAX_FAILURES_PER_PAIR": 5,  # one name from one address (or device)
    "LOGIN_MAX_FAILURES_PER_NAME": 100,  # one name from anywhere: a ceiling, not a lock
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
    "LOGIN_WINDOW_S": 900,
    # The budget of each client address for visitors and viewers (layers/accounts/budget.py):
    # requests a second, a burst, and requests at once, per server process; 0 rate: off.
    "CLIENT_RATE": 20,
    "CLIENT_BURST": 200,
    "CLIENT_CONCURRENCY": 6,
    # A point layer with more features is clustered by the server (by zoom), not the browser.
    "SERVER_CLUSTER_THRESHOLD": 5000,
    # Any other layer with more features is drawn from vector tiles (OGC API - Tiles).
    "VECTOR_TILE_THRESHOLD": 20000,
    # Bytes of vector tiles a worker keeps per layer version (0: none; see layers/geo/tiles.py).
    "VECTOR_TILE_CACHE_BYTES": 8 * 1024 * 1024,
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; the layer store is loaded and indexed once, here."""
    app = Flask(__name__, static_folder=str(ROOT / "static"),
                template_folder=str(ROOT / "templates"))
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("HUAISHU")  # e.g. HUAISHU_DATA_DIR=/srv/geodata
    if "HUAISHU_TIANDITU_KEY" in os.environ:  # as text: from_prefixed_env would parse digits
        app.config["TIANDITU_KEY"] = os.environ["HUAISHU_TIANDITU_KEY"]
    if config:
        app.config.from_mapping(config)
    hardening.init_app(app)  # body limit, strict UTF-8 and JSON, security headers
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    data_dir = Path(app.config["DATA_DIR"])
    # Records, accounts, spatial, and the layers (from the database; DATA_DIR seeds an
    # empty one): embedded or PostGIS.
    init_stores(app, data_dir)
    reload.init_app(app)  # follow the layers' versions in the database
    register_error_handlers(app)
    basemaps.init_app(app)  # BasemapConfigError on a bad source; /tiles and `flask tiles`
    app.register_blueprint(api.bp)
    app.register_blueprint(analysis_api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(ogcapi.bp)
    app.register_blueprint(health.bp)  # /healthz, /readyz for load balancers
    openapi.init_app(app, openapi_document)  # every section's document, served at /ogc/api
    app.cli.add_command(layers_cli)
    auth.init_app(app)
    app.register_blueprint(inspect_routes.bp)
    app.register_blueprint(photo_routes.bp)  # /api/photos/<id>: logged-in users only
    review.init_app(app)
    admin.init_app(app)  # /admin/users, /admin/audit, /api/audit
    admin_layers.init_app(app)  # /admin/layers: download and import layer files
    help_routes.init_app(app)  # /help: the users' guide in Chinese
    access.init_app(app)  # roles per route and layer (catalogue), CSRF tokens
    budget.init_app(app)  # after access: visitors' and viewers' requests per client address
    app.cli.add_command(db_cli)  # flask --app server db backup|restore FILE, db init|load
    return app


def production_app() -> Flask:
    """The app for the production server (gunicorn.conf.py); invalid data ends the start."""
    try:
        return create_app(start_waiting())
    except PostgisError as e:
        sys.exit(report_unreachable_database(e))
    except LayerDataError as e:
        sys.exit(report_invalid_data(e))
    except BasemapConfigError as e:
        sys.exit(report_invalid_basemaps(e))


def start_waiting() -> dict[str, Any]:
    """A production server started during a database outage waits for it (load balancers
    keep sending to the others meanwhile), unless HUAISHU_DATABASE_START_WAIT_S says
    otherwise."""
    if "HUAISHU_DATABASE_START_WAIT_S" in os.environ:
        return {}
    return {"DATABASE_START_WAIT_S": math.inf}


def report_invalid_data(e: LayerDataError) -> int:
    print(f"error: the layer data is not valid, the service did not start.\n{e}",
          file=sys.stderr)
    return 2


def report_unreachable_database(e: Exception) -> int:
    print(f"服务未启动:数据库无法连接 (the service did not start).\n{e}", file=sys.stderr)
    return 2


def report_invalid_basemaps(e: BasemapConfigError) -> int:
    print(f"服务未启动 (the service did not start).\n{e}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """`python server.py`: the production server (gunicorn.conf.py: gunicorn's workers
    reading requests through waitress) over an app built and checked here, once."""
    parser = argparse.ArgumentParser(description="Serve the 中大槐树街道 map service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--data-dir", type=Path, help="directory of the GeoJSON layers")
    parser.add_argument("--workers", type=int, help="worker processes (default: per core, >= 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        app = create_app({**start_waiting(), **({"DATA_DIR": args.data_dir}
                                                 if args.data_dir else {})})
    except PostgisError as e:
        return report_unreachable_database(e)
    except LayerDataError as e:
        return report_invalid_data(e)
    except BasemapConfigError as e:
        return report_invalid_basemaps(e)
    options: dict[str, Any] = {"bind": [f"{args.host}:{args.port}"]}
    if args.workers:
        options["workers"] = args.workers
    ProductionServer(app, options).run()
    return 0


class ProductionServer(Application):
    """gunicorn with gunicorn.conf.py's settings, serving an app already built."""

    def __init__(self, app: Flask, options: dict[str, Any]):
        self.application, self.options = app, options
        super().__init__()

    def load_config(self) -> None:
        self.load_config_from_file(str(ROOT / "gunicorn.conf.py"))
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


if __name__ == "__main__":
    sys.exit(main())
