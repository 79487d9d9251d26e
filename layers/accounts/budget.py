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

import math
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, request

from layers.accounts.access import request_roles
from layers.errors import TooManyRequests

UNLIMITED_ROLES = frozenset({"inspector", "leader", "admin"})
EXEMPT_ENDPOINTS = frozenset({"static"})
IDLE_FORGET_S = 300.0  # a client silent this long is forgotten
MAX_CLIENTS = 100_000  # addresses remembered at once (memory bound)


@dataclass
class Client:
    tokens: float
    updated: float
    in_flight: int = 0


class Budget:
    """The budget of every client address seen by this process (thread-safe)."""

    def __init__(self, rate: float, burst: int, concurrency: int):
        self.rate, self.burst, self.concurrency = rate, burst, concurrency
        self._clients: dict[str, Client] = {}
        self._lock = threading.Lock()
        self._swept = time.monotonic()

    def take(self, address: str, now: float | None = None) -> int | None:
        """Start a request of `address`: None if it may go on, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._sweep(now)
            client = self._clients.get(address)
            if client is None:
                client = self._clients[address] = Client(tokens=self.burst, updated=now)
            client.tokens = min(self.burst, client.tokens + (now - client.updated) * self.rate)
            client.updated = now
            if client.in_flight >= self.concurrency:
                return 1
            if client.tokens < 1:
                return max(1, math.ceil((1 - client.tokens) / self.rate))
            client.tokens -= 1
            client.in_flight += 1
            return None

    def give_back(self, address: str) -> None:
        """End a request that `take` let through."""
        with self._lock:
            client = self._clients.get(address)
            if client is not None and client.in_flight > 0:
                client.in_flight -= 1

    def _sweep(self, now: float) -> None:
        if now - self._swept < 60 and len(self._clients) < MAX_CLIENTS:
            return
        self._swept = now
        idle = [a for a, c in self._clients.items()
                if not c.in_flight and now - c.updated > IDLE_FORGET_S]
        for address in idle:
            del self._clients[address]
        if len(self._clients) >= MAX_CLIENTS:  # still full: forget the longest idle
            oldest = sorted(self._clients.items(), key=lambda item: item[1].updated)
            for address, client in oldest[: len(oldest) // 2]:
                if not client.in_flight:
                    del self._clients[address]


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
