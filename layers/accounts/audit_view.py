"""The audit log as /admin/audit shows it: Beijing time, objects and contents in Chinese.

The rows stay as the stores keep them (UTC timestamps, English keys, JSON summaries,
which GET /api/audit serves as they are); here each row becomes what an admin reads:
「2026-11-25 16:02:11」, 「用户 zhangwei」, and the summary as labelled fields
(「角色:巡查员 → 领导」) instead of JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from layers.records.users import ROLE_LABELS

BEIJING = dt.timezone(dt.timedelta(hours=8), "UTC+8")

OBJECT_LABELS = {"inspection": "检查记录", "hazard": "隐患", "user": "用户", "layer": "图层",
                 "layers": "图层", "store": "数据库"}
FIELD_LABELS = {
    "venue_id": "场所编号", "date": "日期", "inspector": "检查人", "result": "检查结果",
    "hazards": "隐患", "closed": "已整改隐患", "from": "原为", "to": "改为",
    "display_name": "姓名", "role": "角色", "address": "来源地址", "reason": "原因",
    "retry_after_s": "需等待(秒)", "count": "次数", "last": "最近一次", "file": "文件",
    "features": "要素数", "before": "原要素数", "changed": "变更的图层", "loaded": "载入的要素数",
    "pid": "进程号", "sessions": "结束的会话数", "safety_copy": "安全副本",
}
REASONS = {"unknown user": "用户名不存在", "disabled": "账号已停用", "wrong password": "密码错误"}
TIME_KEYS = ("last",)


def beijing_time(at: str | None) -> str:
    """A stored UTC timestamp (2026-11-25T08:02:11.123Z) as Beijing time, to the second."""
    if not at:
        return ""
    try:
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def object_text(object_type: str | None, object_id: str | None) -> str:
    label = OBJECT_LABELS.get(object_type or "", object_type or "")
    return " ".join(part for part in (label, object_id or "") if part)


def _value(action: str, key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key in TIME_KEYS and isinstance(value, str):
        return beijing_time(value)
    if key in ("role", "from", "to") and action.startswith("user.") and value in ROLE_LABELS:
        return ROLE_LABELS[value]
    if key == "reason":
        return REASONS.get(str(value), str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) if value else "无"
    if isinstance(value, dict):
        return ",".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def summary_fields(action: str, summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of each part of a row's summary, in a stable order."""
    known = [k for k in FIELD_LABELS if k in summary]
    others = sorted(k for k in summary if k not in FIELD_LABELS)
    return [(FIELD_LABELS.get(k, k), _value(action, k, summary[k])) for k in known + others]


def page_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**e, "at_local": beijing_time(e.get("at")),
             "object_text": object_text(e.get("object_type"), e.get("object_id")),
             "fields": summary_fields(e["action"], e.get("summary") or {})} for e in entries]
