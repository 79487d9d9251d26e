"""Login attempts, limited so that guessing is slow and nobody can lock an owner out.

Failed attempts are rows of `login_failures` in the accounts store, so the limits
hold across gunicorn's worker processes and restarts. Within a window (15 minutes
by default):

- a user name from one client address (the pair) may fail `per_pair` times (5), and
  waits longer after each failure: 1 s after the second, then 2, 4, 8 s; past the
  limit the pair waits until its oldest failure leaves the window. An attacker who
  knows a name is slowed down on their own address, not on the owner's;
- a user name from anywhere may fail `per_name` times (100): a ceiling against a
  guess spread over many addresses, far above what a mistyping owner reaches;
- a client address may fail `per_address` times (20), whatever the names.

A device that has logged in as that user before carries a signed device cookie
(routes.py, as OWASP's "device cookies" describe): its attempts are counted per
device only, so failures from elsewhere never block it, and it is not slowed by the
name's or its address's count. A successful login clears the failures of its pair
(or device). An attempt that is refused is not counted (the wait does not grow).

The rules live here; each store keeps the rows with its own SQL (`LoginFailures`).
No Flask here: the accounts call these in the transaction that also writes the
audit row of the attempt.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layers.stores.interfaces import LoginFailures

clock = time.time  # seconds; tests replace it to move time on
DEVICE_PREFIX = "device:"  # a device's failures are kept under this "address"


@dataclass(frozen=True)
class Limits:
    per_pair: int = 5
    per_name: int = 100
    per_address: int = 20
    window_s: float = 900.0


def key(name: str) -> str:
    return name.strip().lower()


def source(address: str, device: str | None) -> str:
    """Where an attempt counts as coming from: its device, if it has one, or its address."""
    return f"{DEVICE_PREFIX}{device}" if device else address


def retry_after(db: LoginFailures, name: str, address: str, limits: Limits,
                device: str | None = None) -> int | None:
    """Seconds until a login for `name` from `address` (or `device`) may be tried
    again; None: now."""
    now = clock()
    since = now - limits.window_s
    waits = []
    pair = db.failure_times(since, limits.per_pair, name=key(name),
                            address=source(address, device))
    if len(pair) >= limits.per_pair:
        waits.append(pair[-1] + limits.window_s - now)
    elif len(pair) >= 2:  # 1 s after the second failure, then 2, 4, 8 s
        waits.append(pair[0] + 2.0 ** (len(pair) - 2) - now)
    if device is None:
        for count, limit in (
                (db.failure_times(since, limits.per_name, name=key(name)), limits.per_name),
                (db.failure_times(since, limits.per_address, address=address),
                 limits.per_address)):
            if len(count) >= limit:
                waits.append(count[-1] + limits.window_s - now)
    waits = [w for w in waits if w > 0]
    return max(1, math.ceil(max(waits))) if waits else None


def note_failure(db: LoginFailures, name: str, address: str, limits: Limits,
                 device: str | None = None) -> None:
    now = clock()
    db.forget_failures(now - limits.window_s)
    db.add_failure(key(name), source(address, device), now)


def clear(db: LoginFailures, name: str, address: str, device: str | None = None) -> None:
    """A successful login: its pair (or device) starts afresh."""
    db.clear_failures(key(name), source(address, device))
