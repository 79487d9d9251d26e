"""Health for load balancers: /healthz (the process answers) and /readyz (it can serve).

- `/healthz` touches nothing: 200 while the process answers requests.
- `/readyz` is 200 when the layers are loaded and the database answers within
  READY_TIMEOUT_S (`SELECT 1` on PostGIS, a read of the SQLite file), else 503 with
  `Retry-After` and a Chinese message. nginx (`make cluster`) sends traffic only to
  servers that are ready.

Both are open to everyone, outside the per-client budget and the Host check: a load
balancer probes by address, often many times a second.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, Response, current_app, jsonify

from layers.catalogue.entries import Layer
from layers.stores.opening import database_problem
from layers.web.openapi_helpers import Section, json_content, operation

bp = Blueprint("health", __name__)
ENDPOINTS = frozenset({"health.healthz", "health.readyz"})
PATHS = ("/healthz", "/readyz")
READY_TIMEOUT_S = 1.0
RETRY_AFTER_S = 5


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return _no_store(jsonify({"ok": True, "status": "alive"}))


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    store = current_app.extensions.get("layer_store")
    layers = len(store.names()) if store else 0
    problem = ("图层尚未载入 (the layers are not loaded)" if not layers
               else database_problem(current_app, READY_TIMEOUT_S))
    if problem:
        response = jsonify({"ok": False, "status": 503,
                            "error": f"服务暂不可用:{problem}"})
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return _no_store(response), 503
    database = "postgis" if current_app.config.get("DATABASE_URL") else "sqlite"
    return _no_store(jsonify({"ok": True, "status": "ready", "database": database,
                              "layers": layers})), 200


def health_section(_catalogue: Sequence[Layer]) -> Section:
    """The OpenAPI section of /healthz and /readyz."""
    alive = json_content({"type": "object", "required": ["ok", "status"],
                          "properties": {"ok": {"type": "boolean"},
                                         "status": {"type": "string", "enum": ["alive"]}}})
    ready = json_content({"type": "object", "required": ["ok", "status"],
                          "properties": {"ok": {"type": "boolean"},
                                         "status": {"type": "string", "enum": ["ready"]},
                                         "database": {"type": "string",
                                                      "enum": ["sqlite", "postgis"]},
                                         "layers": {"type": "integer",
                                                    "description": "layers loaded"}}})
    return Section(
        tag="health", description="Health checks for load balancers (no login, no budget).",
        paths={
            "/healthz": operation("health", "healthz", "The process answers (touches nothing)",
                                  ok=alive, error_codes=()),
            "/readyz": operation("health", "readyz",
                                 "Ready to serve: the layers are loaded and the database "
                                 "answers within 1 s; else 503 with Retry-After",
                                 ok=ready, error_codes=(503,)),
        })
