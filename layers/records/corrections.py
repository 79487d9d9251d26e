"""Corrections of inspection records: void one (作废), or correct its date, venue, result
or note, always with a reason. Nothing is deleted.

Who: the user who recorded it (`recorded_by`) within CORRECTION_WINDOW of recording it,
or an admin at any time. A correction is one row of `inspection_corrections` (who,
when, why, each field's old and new value); the inspection's row then holds the
corrected values, so every status, list, figure and export follows them; a voided
inspection keeps its row, marked `voided`, and counts nowhere (its hazards neither).

What a correction means for the hazard flow (立案 → 整改中 → 已整改), as a 网格员
expects it:

- voiding an inspection voids the hazards it filed, while they are still 立案; once one
  has moved on (整改中 or 已整改), later records depend on it and the void is refused
  (409): the note can still be corrected to say what was wrong;
- correcting an inspection's result from 发现隐患 to 合格 voids its hazards, on the same
  condition; to 发现隐患 is refused (a hazard needs its own description and deadline:
  record a new inspection); a re-check's (复查) result follows the hazards it closed and
  cannot be corrected;
- voiding a re-check reopens the hazards it closed (已整改 → 整改中, a new event);
- correcting the venue moves the hazards the inspection filed along (same condition);
  a re-check that closed hazards cannot change venue (void it and record it again);
- correcting the date moves the hazards' date found (or, for a re-check, their date
  rectified) with it; it may not pass a hazard's deadline nor a later step.

Every correction has its audit row (inspection.correct, inspection.void).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from layers.errors import BadRequest, Conflict, Forbidden, NotFound
from layers.records import audit
from layers.records.inspections import (
    MAX_DEADLINE_DAYS,
    RECHECK_CAMPAIGN,
    RESULTS,
    Label,
    _date,
    _optional_text,
    _text,
    _venue,
)

if TYPE_CHECKING:
    from layers.stores.interfaces import RecordReads, RecordWrites, Row

CORRECTION_WINDOW = dt.timedelta(hours=24)
FILED, RECTIFYING, RECTIFIED = "立案", "整改中", "已整改"
FIELDS = {
    "date": Label("检查日期", "date"),
    "venue_id": Label("场所", "venue_id"),
    "result": Label("检查结果", "result"),
    "note": Label("备注", "note"),
}
REASON = Label("更正原因", "reason")
VOIDED = "已作废"


def now() -> dt.datetime:
    """The clock of the correction window (tests move it)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Correction:
    """A correction as sent: its reason, a void, or the fields' new values."""

    reason: str
    void: bool = False
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Corrector:
    """Who corrects: the login name, the name shown, and whether an admin."""

    name: str
    display_name: str
    admin: bool


def parse_correction(data: Mapping[str, Any], today: dt.date,
                     venue_exists: Callable[[str], bool]) -> Correction:
    """A correction from a JSON object; BadRequest naming the first problem."""
    for key in data:
        if key not in ("reason", "void", *FIELDS):
            raise BadRequest(f"不能更正 {key!r}:可更正的是检查日期、场所、检查结果、备注,"
                             "或作废记录 "
                             f"({key!r} cannot be corrected: send date, venue_id, result or "
                             "note, or void: true, with a reason)")
    void = data.get("void", False)
    if not isinstance(void, bool):
        raise BadRequest(f"作废 void 须为 true 或 false (void must be true or false, not "
                         f"{void!r})")
    reason = data.get("reason")
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        what = "作废记录" if void else "更正记录"
        raise BadRequest(f"{what}须填写原因 (a {'void' if void else 'correction'} needs a "
                         "reason: send reason)")
    values = {k: data[k] for k in FIELDS if k in data}
    if void and values:
        raise BadRequest("作废记录时不能同时更正其内容 (a void cannot also correct fields)")
    if not void and not values:
        raise BadRequest("请给出要更正的内容:检查日期、场所、检查结果或备注,或作废记录 "
                         "(send the fields to correct, date, venue_id, result or note, or "
                         "void: true)")
    parsed: dict[str, Any] = {}
    if "date" in values:
        parsed["date"] = _date(values["date"], FIELDS["date"], today).isoformat()
    if "venue_id" in values:
        parsed["venue_id"] = _venue(values, venue_exists)
    if "result" in values:
        result = values["result"]
        if result not in RESULTS:
            raise BadRequest(f"检查结果须为 {'、'.join(RESULTS)} 之一,而不是 {result!r} "
                             f"(result must be one of {', '.join(RESULTS)}, not {result!r})")
        parsed["result"] = result
    if "note" in values:
        parsed["note"] = _optional_text(values["note"], "note", FIELDS["note"])
    return Correction(_text(reason, "note", REASON), void, parsed)


def refusal(recorded_by: str | None, recorded_at: str | None, user: Corrector,
            at: dt.datetime) -> Forbidden | None:
    """Why `user` may not correct a record (403), or None when they may."""
    if user.admin:
        return None
    if recorded_by != user.name:
        return Forbidden("只能更正自己记录的检查,他人的记录请联系管理员更正 (only the user who "
                         "recorded an inspection, or an admin, may correct it)")
    hours = int(CORRECTION_WINDOW.total_seconds() // 3600)
    if recorded_at is None or at - _instant(recorded_at) > CORRECTION_WINDOW:
        return Forbidden(f"记录已超过 {hours} 小时,只有管理员可以更正 (an inspection can be "
                         f"corrected by its author within {hours} hours of recording it; "
                         "after that, by an admin)")
    return None


def _instant(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def correct(db: RecordWrites, inspection_id: str, correction: Correction, user: Corrector,
            today: dt.date) -> None:
    """Apply a correction in the write transaction `db`, with its row and audit row;
    NotFound, Forbidden, BadRequest or Conflict (nothing written) when it may not."""
    row = db.inspection(inspection_id)
    if row is None:
        raise NotFound(f"没有编号为 {inspection_id!r} 的检查 (no inspection with id "
                       f"{inspection_id!r})")
    for venue_id in sorted({row["venue_id"], correction.values.get("venue_id",
                                                                   row["venue_id"])}):
        db.lock_venue(venue_id)
    row = db.inspection(inspection_id) or row  # again, now that no one else changes it
    state = db.correction_state(inspection_id) or {}
    if (refused := refusal(row["recorded_by"], state.get("recorded_at"), user, now())):
        raise refused
    if state.get("voided"):
        raise Conflict(f"检查 {inspection_id} 已作废,不能再更正 (inspection {inspection_id} "
                       "is void; it cannot be corrected)")
    changes = {name: {"old": row[name], "new": value}
               for name, value in correction.values.items() if value != row[name]}
    if not correction.void and not changes:
        raise BadRequest("更正的内容与原记录相同,没有需要更正之处 (the correction changes "
                         "nothing: the record already holds these values)")
    found = db.hazards_found(inspection_id)
    closed = db.hazards_moved(inspection_id, RECTIFIED)
    summary: dict[str, Any] = {"venue_id": row["venue_id"], "reason": correction.reason}
    if correction.void:
        summary["hazards_voided"] = _void_hazards(db, inspection_id, found, "作废此检查")
        summary["hazards_reopened"] = _reopen(db, closed, today, user)
        db.update_inspection(inspection_id, {"voided": 1})
    else:
        if "result" in changes:
            voided = _correct_result(db, row, found, changes["result"]["new"])
            summary["hazards_voided"] = voided
            found = [h for h in found if h["id"] not in voided]
        if "venue_id" in changes:
            _move(db, row, found, closed, changes["venue_id"]["new"])
        if "date" in changes:
            _redate(db, inspection_id, found, closed, changes["date"]["new"])
        db.update_inspection(inspection_id, {k: c["new"] for k, c in changes.items()})
        summary["changes"] = changes
    db.add_correction({"inspection_id": inspection_id, "actor": user.name,
                       "actor_name": user.display_name, "reason": correction.reason,
                       "void": int(correction.void),
                       "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True)})
    audit.record(db, user.name, "inspection.void" if correction.void else "inspection.correct",
                 "inspection", inspection_id, summary)


def _depended_on(inspection_id: str, hazards: list[Row], what: str) -> None:
    """Conflict when a hazard the inspection filed has moved on (a later step depends on it)."""
    moved = [h for h in hazards if h["status"] != FILED and not h.get("voided")]
    if moved:
        ids = "、".join(f"{h['id']}（{h['status']}）" for h in moved)
        raise Conflict(f"此检查登记的隐患 {ids} 已有后续的整改记录,不能{what};如确有误,"
                       f"请更正备注说明 (hazards filed by {inspection_id} have moved on: "
                       f"{', '.join(h['id'] for h in moved)}; later steps depend on them)")


def _void_hazards(db: RecordWrites, inspection_id: str, found: list[Row], what: str
                  ) -> list[str]:
    _depended_on(inspection_id, found, what)
    ids = [h["id"] for h in found if not h.get("voided")]
    for hazard_id in ids:
        db.update_hazard(hazard_id, {"voided": 1})
    return ids


def _reopen(db: RecordWrites, closed: list[Row], today: dt.date, user: Corrector
            ) -> list[str]:
    """A voided re-check's hazards go back to 整改中 (a new event says so)."""
    ids = [h["id"] for h in closed if h["status"] == RECTIFIED]
    for hazard_id in ids:
        db.update_hazard(hazard_id, {"status": RECTIFYING, "rectified": None})
        db.add_hazard_event(hazard_id, RECTIFYING, today.isoformat(), None, user.display_name)
    return ids


def _correct_result(db: RecordWrites, row: Row, found: list[Row], result: str) -> list[str]:
    if row["campaign"] == RECHECK_CAMPAIGN:
        raise Conflict("复查的结果由其关闭的隐患决定,不能更正;如复查有误,请作废后重新记录 (a "
                       "re-check's result follows the hazards it closed; void it and record "
                       "it again)")
    if result == "发现隐患":
        raise BadRequest("不能把结果更正为发现隐患:隐患须有描述和整改期限,请作废此记录后重新记录"
                         "检查 (result cannot be corrected to 发现隐患: void the record and "
                         "record the inspection again with its hazards)")
    return _void_hazards(db, row["id"], found, "改为合格")


def _move(db: RecordWrites, row: Row, found: list[Row], closed: list[Row], venue_id: str
          ) -> None:
    if closed:
        raise Conflict("此复查关闭了原场所的隐患,不能改到别的场所;如确有误,请作废后重新记录 "
                       "(a re-check that closed hazards cannot move to another venue; void it "
                       "and record it again)")
    _depended_on(row["id"], found, "改到别的场所")
    for h in found:
        db.update_hazard(h["id"], {"venue_id": venue_id})


def _redate(db: RecordWrites, inspection_id: str, found: list[Row], closed: list[Row],
            date: str) -> None:
    for h in found:
        if h.get("voided"):
            continue
        if h["deadline"] and date > h["deadline"]:
            raise BadRequest(f"检查日期 {date} 晚于所登记隐患 {h['id']} 的整改期限 {h['deadline']} "
                             f"(date {date} is after the deadline {h['deadline']} of hazard "
                             f"{h['id']})")
        if h["deadline"] and (dt.date.fromisoformat(h["deadline"])
                              - dt.date.fromisoformat(date)).days > MAX_DEADLINE_DAYS:
            raise BadRequest(f"检查日期 {date} 距隐患 {h['id']} 的整改期限 {h['deadline']} 超过 "
                             f"{MAX_DEADLINE_DAYS} 天 (date {date} is more than "
                             f"{MAX_DEADLINE_DAYS} days before the deadline of hazard "
                             f"{h['id']})")
        later = [e["date"] for e in db.hazard_events(h["id"]) if e["status"] != FILED]
        if later and date > min(later):
            raise Conflict(f"检查日期 {date} 晚于隐患 {h['id']} 的后续步骤（{min(later)}）,"
                           f"不能这样更正 (date {date} is after a later step of hazard "
                           f"{h['id']} on {min(later)})")
        db.update_hazard(h["id"], {"found": date})
    db.set_event_dates(inspection_id, FILED, date)
    for h in closed:
        if date < h["found"]:
            raise BadRequest(f"复查日期 {date} 早于隐患 {h['id']} 的发现日期 {h['found']} "
                             f"(re-check date {date} is before hazard {h['id']} was found on "
                             f"{h['found']})")
        db.update_hazard(h["id"], {"rectified": date})
    db.set_event_dates(inspection_id, RECTIFIED, date)


# --- what the history shows -------------------------------------------------------------


def correction_fields(db: RecordReads, inspection_id: str) -> dict[str, Any]:
    """An inspection's `voided`, `void_reason`, `recorded_at` and `corrections` (oldest
    first: id, at, actor, actor_name, reason, void, changes {field: {old, new}})."""
    state = db.correction_state(inspection_id) or {}
    corrections = [{**c, "void": bool(c["void"]), "changes": json.loads(c["changes"])}
                   for c in db.corrections(inspection_id)]
    voids = [c["reason"] for c in corrections if c["void"]]
    return {"voided": bool(state.get("voided")), "void_reason": voids[-1] if voids else None,
            "recorded_at": state.get("recorded_at"), "corrections": corrections}


def with_correctable(history: dict[str, Any], user: Corrector | None, at: dt.datetime
                     ) -> dict[str, Any]:
    """A venue's history with each inspection's `correctable`: whether `user` may correct
    it now (None: nobody who may write records)."""

    def inspection(i: dict[str, Any]) -> dict[str, Any]:
        may = (user is not None and not i.get("voided")
               and refusal(i.get("recorded_by"), i.get("recorded_at"), user, at) is None)
        return {**i, "correctable": may}

    return {**history, "inspections": [inspection(i) for i in history["inspections"]]}
