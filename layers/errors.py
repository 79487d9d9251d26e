"""Errors that reach users: each carries its HTTP status and a message for them.

The web layer turns any ApiError into `{"ok": false, "error": ..., "status": ...}`.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def chinese_part(message: str) -> tuple[str, str]:
    """A "中文 (English detail)" message split into what a page shows and the detail for
    developers and the command line (it may name CLI flags; a page does not show it)."""
    head, sep, tail = message.partition(" (")
    if sep and _CJK.search(head) and message.endswith(")"):
        return head, tail[:-1]
    return message, ""


class ApiError(Exception):
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides the error body (e.g. Retry-After)."""
        return {}


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    status = 404


class UnknownLayer(NotFound):
    def __init__(self, name: str, known: tuple[str, ...]):
        super().__init__(f"没有图层 {name!r} (no layer named {name!r}; layers are: "
                         f"{', '.join(known)})")


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class Conflict(ApiError):
    """The request is well formed but does not fit the current state (e.g. a hazard's flow)."""

    status = 409


class TooManyRequests(ApiError):
    """A client over its budget: `Retry-After` says when it may ask again."""

    status = 429

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class DatabaseUnavailable(ApiError):
    """The database cannot be reached now (an outage) or is saturated: try again soon."""

    status = 503

    def __init__(self, message: str, retry_after_s: int = 2):
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}
