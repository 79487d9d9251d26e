"""A token bucket per client address: how fast a client may ask (the per-client budget of
visitors and viewers, layers/accounts/budget.py, and the tile proxy's, layers/basemaps/).
Plain Python, kept per server process."""

from __future__ import annotations

import math
import threading
import time


class TokenBuckets:
    """A token bucket per client address: `rate` tiles a second, bursts of `burst`."""

    def __init__(self, rate: float, burst: float, max_clients: int = 10_000):
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, address: str, now: float | None = None) -> int | None:
        """Take a token; None if there was one, else the seconds until there is one."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(address, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                if address not in self._buckets and len(self._buckets) >= self.max_clients:
                    self._forget_full(now)
                self._buckets[address] = (tokens - 1, now)
                return None
            self._buckets[address] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate)) if self.rate > 0 else 60

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (they hold nothing worth keeping)."""
        full = [a for a, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self.rate >= self.burst]
        for address in full or list(self._buckets)[: self.max_clients // 10]:
            del self._buckets[address]
