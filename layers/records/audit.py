"""The audit log: who did what, when, to which object. One table, `audit_log`, in the
accounts store (the SQLite file INSPECTIONS_DB, or PostGIS with DATABASE_URL). A row
is written with `record(db, ...)` on the transaction of the change it records (an
`AuditSink` of the store): the change and its audit row are committed together or not at
all (a layer's new version too: layers/stores/versions.py). Reading is for
admins: /admin/audit and GET /api/audit.

The rules live here (the actions and their labels, the query's arguments, the page);
each store keeps the rows with its own SQL. No Flask here: the stores and the CLI call it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from layers.errors import BadRequest

if TYPE_CHECKING:
    from layers.stores.interfaces import AuditReader, AuditSink

# Every action the app records, with its Chinese label (the admin page's filter).
ACTIONS = {
    "inspection.create": "记录检查",
    "recheck.create": "记录复查",
    "hazard.status": "隐患状态变更",
    "inspection.correct": "更正检查记录",
    "inspection.void": "作废检查记录",
    "layer.import": "导入图层",
    "layer.seed": "图层初始数据",
    "layer.restore": "恢复图层版本",
    "layer.edit": "编辑图层要素",
    "layers.reload": "重新加载图层",
    "db.restore": "恢复备份",
    "user.create": "创建用户",
    "user.role": "修改角色",
    "user.password": "重置密码",
    "user.disable": "停用用户",
    "user.enable": "启用用户",
    "login.success": "登录成功",
    "login.failure": "登录失败",
    "login.limited": "登录受限",
    "logout": "退出登录",
    "user.logout_all": "全部设备退出登录",
}
SYSTEM_ACTOR = "system"  # what the server does by itself (reloads)
ANONYMOUS_ACTOR = "anonymous"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def record(db: AuditSink, actor: str | None, action: str,
           object_type: str | None = None, object_id: str | None = None,
           summary: Mapping[str, Any] | None = None) -> None:
    """Add a row on `db`, in the transaction of the change it records."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    db.add_audit_row(actor or ANONYMOUS_ACTOR, action, object_type, object_id,
                     json.dumps(dict(summary or {}), ensure_ascii=False, sort_keys=True))


def summarise(db: AuditSink, actor: str | None, action: str, object_id: str,
              summary: Mapping[str, Any], group: str, since: dt.datetime) -> None:
    """Count an event in the row of `action` on `object_id` whose summary has the same
    `group` value (e.g. the address) since `since`; a new row when there is none. The
    row keeps its first summary, with `count` and the time of the `last` one."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    start = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    for row_id, text in db.recent_audit_rows(action, object_id, start):
        kept = json.loads(text)
        if kept.get(group) == summary.get(group):
            kept.update({"count": int(kept.get("count", 1)) + 1, "last": stamp})
            db.set_audit_summary(row_id, json.dumps(kept, ensure_ascii=False, sort_keys=True))
            return
    record(db, actor, action, "user", object_id, {**summary, "count": 1, "last": stamp})


MAX_ACTOR_LENGTH = 100  # the filter `actor`: a user name


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    since: str | None = None  # ISO timestamp (UTC), inclusive
    until: str | None = None  # ISO timestamp (UTC), exclusive
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def as_args(self) -> dict[str, Any]:
        """The filters as query arguments (paging left out)."""
        return {k: v for k, v in (("actor", self.actor), ("action", self.action),
                                  ("since", self.since), ("until", self.until)) if v}


def parse_query(args: Mapping[str, str]) -> AuditQuery:
    """Filters and paging from query arguments; BadRequest naming a bad one."""
    actor = (args.get("actor") or "").strip() or None
    if actor is not None and len(actor) > MAX_ACTOR_LENGTH:
        raise BadRequest(f"用户名 actor 至多 {MAX_ACTOR_LENGTH} 个字 (actor is at most "
                         f"{MAX_ACTOR_LENGTH} characters)")
    action = (args.get("action") or "").strip() or None
    if action is not None and action not in ACTIONS:
        raise BadRequest(f"未知操作 {action!r} (action must be one of: {', '.join(ACTIONS)})")
    return AuditQuery(
        actor=actor, action=action,
        since=_instant(args.get("since"), "since", end=False),
        until=_instant(args.get("until"), "until", end=True),
        limit=_integer(args.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_integer(args.get("offset"), "offset", 0, 0, 10**9),
    )


LABELS = {"limit": "每页条数", "offset": "起始位置", "since": "起始时间", "until": "截止时间"}


def _integer(text: str | None, name: str, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit():
        raise BadRequest(f"{LABELS[name]} {name} 必须是整数 ({name} must be a whole number, "
                         f"{low} to {high})")
    value = int(text)
    if not low <= value <= high:
        raise BadRequest(f"{LABELS[name]} {name} 超出范围 ({name} must be {low} to {high})")
    return value


# The sub-district's clock (UTC+8): a date, or a date-time without a zone, in a filter is
# Beijing time, as the audit page shows the rows.
BEIJING = dt.timezone(dt.timedelta(hours=8), "UTC+8")


def _instant(text: str | None, name: str, end: bool) -> str | None:
    """An ISO date or date-time as the log's UTC text; a date `until` covers that day; a
    date or a date-time without a zone is Beijing time."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            when = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(),
                                       BEIJING)
        else:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=BEIJING)
        utc = when.astimezone(dt.UTC)  # 0001-01-01T00:00:00+14:00 lies before year 1
    except (ValueError, OverflowError):
        raise BadRequest(f"{LABELS[name]} {name} 不是有效的日期或时间 ({name} must be an ISO date, "
                         "2026-11-25, or date-time, 2026-11-25T08:00:00Z)") from None
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def search(db: AuditReader, query: AuditQuery) -> dict[str, Any]:
    """The matching rows, newest first, one page of them, and their total."""
    total, rows = db.audit_rows(query)
    entries = [{**row, "action_label": ACTIONS.get(row["action"], row["action"]),
                "summary": json.loads(row["summary"])} for row in rows]
    return {"entries": entries, "total": total, "limit": query.limit, "offset": query.offset}
