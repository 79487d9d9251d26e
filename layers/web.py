"""Flask wiring shared by the blueprints: the store accessor and JSON errors."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from .errors import ApiError
from .store import LayerStore

log = logging.getLogger(__name__)


def get_store() -> LayerStore:
    """The layer store built once by create_app."""
    return current_app.extensions["layer_store"]


def error_response(message: str, status: int):
    return jsonify({"ok": False, "error": message, "status": status}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return error_response(e.message, e.status)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return error_response(e.description or e.name, e.code or 500)
        return e

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error on %s", request.path)
        return error_response("internal error; it has been logged", 500)
