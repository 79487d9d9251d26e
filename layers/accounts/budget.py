"""A budget per client for visitors and viewers: how fast, and how many at once.

One anonymous script looping on the largest OGC pages used to slow every user down.
Requests of visitors who are not logged in and of the role viewer now draw on a
budget per client address (the address as the app sees it: behind a proxy, the
proxy's, until the app is told which proxies to trust):

- a rate: a token bucket of CLIENT_BURST requests that refills at CLIENT_RATE a
  second; an empty bucket answers 429 with `Retry-After` (the seconds until a token);
- concurrency: at most CLIENT_CONCURRENCY of its requests at once in this process;
  more answer 429 with `Retry-After: 1`.

Logged-in inspectors, leaders and admins are not limited (they are few and known).
Static files are not counted (a page load fetches a dozen). The budget is kept per
server process, in memory: with W workers a client may use up to W times the figures
before every process refuses it. Settings (server.py DEFAULTS): CLIENT_RATE,
CLIENT_BURST, CLIENT_CONCURRENCY; CLIENT_RATE = 0 turns the budget off.
"""

from __future__ import annotations

import threading

from flask import Flask, current_app, g, request

from layers.accounts.access import request_roles
from layers.errors import TooManyRequests
from layers.web import health
from layers.web.ratelimit import TokenBuckets

UNLIMITED_ROLES = frozenset({"inspector", "leader", "admin"})
EXEMPT_ENDPOINTS = frozenset({"static"}) | health.ENDPOINTS  # a load balancer's probes
MAX_CLIENTS = 100_000  # addresses remembered at once (memory bound)


class Budget:
    """The budget of every client address seen by this process (thread-safe): a token
    bucket each (`TokenBuckets`) and the requests each has under way."""

    def __init__(self, rate: float, burst: int, concurrency: int):
        self.buckets = TokenBuckets(rate, burst, MAX_CLIENTS)
        self.concurrency = concurrency
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, address: str, now: float | None = None) -> int | None:
        """Start a request of `address`: None if it may go on, else the seconds to wait."""
        with self._lock:
            if self._in_flight.get(address, 0) >= self.concurrency:
                return 1
            wait = self.buckets.take(address, now)
            if wait is None:
                self._in_flight[address] = self._in_flight.get(address, 0) + 1
            return wait

    def give_back(self, address: str) -> None:
        """End a request that `take` let through."""
        with self._lock:
            left = self._in_flight.get(address, 0) - 1
            if left > 0:
                self._in_flight[address] = left
            else:
                self._in_flight.pop(address, None)


def init_app(app: Flask) -> None:
    """Register after access.init_app: the budget needs to know who is asking."""
    rate = float(app.config["CLIENT_RATE"])
    if rate <= 0:
        return
    app.extensions["client_budget"] = Budget(rate, int(app.config["CLIENT_BURST"]),
                                             int(app.config["CLIENT_CONCURRENCY"]))
    app.before_request(spend)
    app.teardown_request(give_back)


def spend() -> None:
    if request.endpoint in EXEMPT_ENDPOINTS or request_roles() & UNLIMITED_ROLES:
        return
    address = request.remote_addr or "unknown"
    wait = current_app.extensions["client_budget"].take(address)
    if wait is not None:
        raise TooManyRequests(f"请求过于频繁,请 {wait} 秒后再试 (too many requests from "
                              f"this address; retry after {wait} s)", wait)
    g.budget_address = address


def give_back(_error: BaseException | None) -> None:
    address = g.pop("budget_address", None)
    if address is not None:
        current_app.extensions["client_budget"].give_back(address)
