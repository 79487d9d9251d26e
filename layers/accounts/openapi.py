"""The OpenAPI section of accounts and the audit log (routes.py, admin.py):
GET /api/csrf (a CSRF token for scripts) and GET /api/audit (admins).

The security schemes of logins (`cookieAuth`, and `csrfToken`, the header X-CSRFToken
that every state-changing operation sends besides the session cookie) are in
layers/web/openapi_helpers.py."""

from __future__ import annotations

from collections.abc import Sequence

from layers.catalogue.entries import Layer
from layers.records.audit import ACTIONS, DEFAULT_LIMIT, MAX_ACTOR_LENGTH, MAX_LIMIT
from layers.web.openapi_helpers import (
    COOKIE_AUTH,
    COUNT,
    INSTANT_TEXT,
    Schema,
    Section,
    array,
    enum,
    integer,
    json_content,
    nullable,
    obj,
    operation,
    query,
    ref,
    requires_login,
    string,
)

TAG = "accounts"
INSTANT = {**INSTANT_TEXT, "description": "an ISO date (2026-11-25) or date-time "
            "(2026-11-25T08:00:00Z), UTC when no offset is given"}


def _schemas() -> dict[str, Schema]:
    return {
        "AuditEntry": obj({
            "id": integer(minimum=1),
            "at": string("when (UTC, ISO 8601 with milliseconds)"),
            "actor": string("the user name; 'system' for the server's own reloads, "
                            "'anonymous' when nobody was logged in"),
            "action": enum(list(ACTIONS)),
            "action_label": string("the action in Chinese"),
            "object_type": nullable(string("inspection, hazard, user, layer, layers")),
            "object_id": nullable(string()),
            "summary": {"type": "object", "description": "what changed (never a password)"},
        }),
        "AuditPage": obj({
            "entries": array(ref("AuditEntry"), "newest first"),
            "total": COUNT,
            "limit": integer(minimum=1, maximum=MAX_LIMIT),
            "offset": COUNT,
            "query": obj({"actor": string(), "action": string(), "since": string(),
                          "until": string()}, required=[],
                         description="the filters as understood (since/until in UTC)"),
            "links": obj({"next": string(), "prev": string()}, required=[],
                         description="the next and previous pages, when there are any"),
        }),
    }


def admin_section(catalogue: Sequence[Layer]) -> Section:
    paths = {
        "/api/csrf": operation(
            TAG, "getCsrfToken", "A CSRF token for a script's writes",
            ok=json_content(obj({"csrf_token": string("send it as the X-CSRFToken header"),
                                 "header": enum(["X-CSRFToken"])})), error_codes=(),
            description="Every POST, PUT, PATCH and DELETE (but the read-only POST "
                        "/api/summary and /api/measure) needs the session's CSRF token: "
                        "GET this (keeping the session cookie it sets), log in with POST "
                        "/login and the form fields name, password and csrf_token, GET this "
                        "again (logging in starts a new session) and send the token in the "
                        "X-CSRFToken header. A missing or wrong token is 400."),
    }
    audit = {
        "/api/audit": operation(
            TAG, "getAuditLog", "The audit log (admin), newest first, in pages",
            parameters=[
                query("actor", string(maxLength=MAX_ACTOR_LENGTH), "only what this user did",
                      allow_empty=True),
                query("action", enum(list(ACTIONS)), "only this action", allow_empty=True),
                query("since", INSTANT, "from this date or time on (inclusive)",
                      allow_empty=True),
                query("until", INSTANT, "before this time; a date includes that whole day",
                      allow_empty=True),
                query("limit", integer(minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT),
                      "entries per page"),
                query("offset", integer(minimum=0, maximum=1_000_000_000, default=0),
                      "entries to skip"),
            ],
            ok=json_content(ref("AuditPage")), error_codes=(400,),
            description="Inspections, re-checks, hazard status changes, layer imports and "
                        "reloads, user administration and logins (success and failure), each "
                        "written in the transaction of the change it records."),
    }
    return Section(
        TAG, "Accounts: CSRF tokens for scripts, and the audit log (role admin)",
        paths | requires_login(audit, [{COOKIE_AUTH: []}]), _schemas())
