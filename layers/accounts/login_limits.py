"""Login attempts, rate-limited per user name and per client address.

Failed attempts are rows of `login_failures` in the accounts store, so the
limit holds across gunicorn's worker processes and restarts. Within a window
(15 minutes by default) a user name may fail 5 times and a client address 20
times; then a login for that name, or from that address, is refused (429,
with Retry-After) until the oldest of those failures leaves the window, even
with the right password. A successful login clears its name's failures.
An attempt that is refused is not counted (the wait does not grow).

The rules live here; each store keeps the rows with its own SQL (`LoginFailures`).
No Flask here: the accounts call these in the transaction that also writes the
audit row of the attempt.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from layers.stores.interfaces import LoginFailures

clock = time.time  # seconds; tests replace it to move time on


@dataclass(frozen=True)
class Limits:
    per_name: int = 5
    per_address: int = 20
    window_s: float = 900.0


def key(name: str) -> str:
    return name.strip().lower()


def retry_after(db: LoginFailures, name: str, address: str, limits: Limits) -> int | None:
    """Seconds until a login for `name` from `address` may be tried again; None: now."""
    now = clock()
    waits = []
    checks: tuple[tuple[Literal["name", "address"], str, int], ...] = (
        ("name", key(name), limits.per_name), ("address", address, limits.per_address))
    for column, value, limit in checks:
        times = db.failure_times(column, value, now - limits.window_s, limit)
        if len(times) >= limit:
            waits.append(times[-1] + limits.window_s - now)
    return max(1, math.ceil(max(waits))) if waits else None


def note_failure(db: LoginFailures, name: str, address: str, limits: Limits) -> None:
    now = clock()
    db.forget_failures(now - limits.window_s)
    db.add_failure(key(name), address, now)


def clear_name(db: LoginFailures, name: str) -> None:
    db.clear_failures(key(name))
