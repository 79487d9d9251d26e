"""Idempotent writes: a retried request with the same `Idempotency-Key` is answered once.

A client (the pages' script, an offline queue, a script) sends one random key per
submission in the header `Idempotency-Key`. The key is claimed, per user, in the
same transaction that stores the record, with the record's result: so a retry of a
write whose commit succeeded but whose answer was lost (a 503 after the commit, a
dropped connection) finds the key and gets the first result, and nothing is stored
again. A retry while the first is still under way waits for it (the key's row is
locked by the first transaction; SQLite's writer lock does the same). A write that
failed (4xx, an outage) stored nothing, the key included: its retry is a new
attempt. Keys are kept KEY_TTL_S (24 h); the same key with another request (method,
path or body) is refused with 422.

The layers' versions take keys the same way (an inspector's venue edit,
layers/data/edits.py): claimed in the transaction that commits the version.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

from layers.errors import ApiError, BadRequest

KEY_TTL_S = 24 * 3600
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")  # visible ASCII, as the IETF draft's keys
CLEAN_ONE_IN = 100  # expired keys are deleted by about one write in this many


def now() -> float:
    """The clock of the keys' ages (tests move it)."""
    return time.time()


class KeyReused(ApiError):
    """The same key sent with a different request."""

    status = 422


@dataclass
class Once:
    """One submission: who, its key, a fingerprint of the request; `replayed` is set when
    the key had been stored by an earlier attempt (whose result was returned)."""

    user: str
    key: str
    fingerprint: str
    replayed: bool = False
    result: dict[str, Any] | None = None  # the first attempt's, when replayed


def once(user: str, key: str | None, method: str, path: str, body: bytes) -> Once | None:
    """The submission of a request with the header value `key` (None: no header)."""
    if key is None:
        return None
    if not KEY_PATTERN.fullmatch(key):
        raise BadRequest("请求头 Idempotency-Key 须为 1 至 200 个可见 ASCII 字符 (the "
                         "Idempotency-Key header must be 1 to 200 visible ASCII characters, "
                         "e.g. a UUID)")
    digest = hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()
    return Once(user, key, digest)


class KeyTable(Protocol):
    """The store's table of keys, in a write transaction (`RecordWrites`)."""

    def claim_key(self, user: str, key: str, fingerprint: str, now: float,
                  expired_before: float) -> dict[str, Any] | None:
        """Claim the key (None), or the earlier claim's row (fingerprint, result)."""
        ...

    def set_key_result(self, user: str, key: str, result: str) -> None: ...

    def forget_keys(self, expired_before: float) -> None: ...


def earlier_result(db: KeyTable, submission: Once | None) -> dict[str, Any] | None:
    """Claim the submission's key in this transaction: None to go on and write, or the
    result stored by the attempt that claimed it first."""
    if submission is None:
        return None
    at = now()
    if random.randrange(CLEAN_ONE_IN) == 0:
        db.forget_keys(at - KEY_TTL_S)
    row = db.claim_key(submission.user, submission.key, submission.fingerprint, at,
                       at - KEY_TTL_S)
    return answered(row, submission)


def answered(row: dict[str, Any] | None, submission: Once) -> dict[str, Any] | None:
    """The result an earlier attempt stored with the key (its row: fingerprint, result
    and, read outside a claim, at), None when there is none (or it has expired); 422
    when the key came with another request."""
    if row is None or row.get("result") is None or (
            "at" in row and float(row["at"]) < now() - KEY_TTL_S):
        return None
    if row["fingerprint"] != submission.fingerprint:
        raise KeyReused("此 Idempotency-Key 已用于另一请求,请为新的提交生成新的键 (this "
                        "Idempotency-Key was sent before with another request; make a new "
                        "key for each submission)")
    submission.replayed = True
    result: dict[str, Any] = json.loads(row["result"])
    submission.result = result
    return result


def keep_result(db: KeyTable, submission: Once | None, result: dict[str, Any]) -> None:
    """Store the result with the claimed key (in the record's transaction)."""
    if submission is not None:
        db.set_key_result(submission.user, submission.key,
                          json.dumps(result, ensure_ascii=False, default=str))
