"""Errors that reach users: each carries its HTTP status and a message for them.

The web layer turns any ApiError into `{"ok": false, "error": ..., "status": ...}`.
"""

from __future__ import annotations


class ApiError(Exception):
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    status = 404


class UnknownLayer(NotFound):
    def __init__(self, name: str, known: tuple[str, ...]):
        super().__init__(f"no layer named {name!r}; layers are: {', '.join(known)}")


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class Conflict(ApiError):
    """The request is well formed but does not fit the current state (e.g. a hazard's flow)."""

    status = 409
