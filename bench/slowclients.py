"""Slow clients against a server on loopback: connections that hold partial headers
and connections that trickle a body, while ordinary clients measure their answers.

    python bench/slowclients.py URL [--headers 200] [--bodies 200] [--duration 30]

Used by `make loadtest SLOW=1` (bench/loadtest.py --slow) and tests/web/test_slow_clients.py.
Only loopback addresses are accepted: this is a test of our own server.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TRICKLE_EVERY_S = 4.0  # one byte of body this often
BODY_LENGTH = 1000


@dataclass
class SlowFigures:
    held_headers: int
    held_bodies: int
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    dropped_after_s: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return self.__dict__


class SlowAttack:
    """Opens the slow connections and keeps them slow until stopped; notes when the
    server closed the first of each kind (None: it never did while we watched)."""

    def __init__(self, host: str, port: int, headers: int, bodies: int):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("slow clients only against a server on loopback")
        self.host, self.port = host, port
        self.headers, self.bodies = headers, bodies
        self.stop = threading.Event()
        self.opened = time.monotonic()
        self.dropped: dict[str, float | None] = {"headers": None, "bodies": None}
        self._socks: list[tuple[str, socket.socket]] = []

    def _open(self, kind: str, first: bytes) -> None:
        try:
            s = socket.create_connection((self.host, self.port), timeout=5)
            s.sendall(first)
            self._socks.append((kind, s))
        except OSError:
            pass  # refused or reset: the server may limit connections

    def start(self) -> SlowAttack:
        self.opened = time.monotonic()
        for _ in range(self.headers):
            self._open("headers", b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
        for _ in range(self.bodies):
            self._open("bodies", b"POST /api/measure HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n{" % BODY_LENGTH)
        threading.Thread(target=self._trickle, daemon=True).start()
        return self

    def _trickle(self) -> None:
        while not self.stop.wait(TRICKLE_EVERY_S):
            for kind, s in list(self._socks):
                try:
                    s.sendall(b" " if kind == "bodies" else b"a")
                except OSError:
                    self._closed(kind, s)

    def _closed(self, kind: str, s: socket.socket) -> None:
        if self.dropped[kind] is None:
            self.dropped[kind] = round(time.monotonic() - self.opened, 1)
        self._socks.remove((kind, s))
        s.close()

    def close(self) -> None:
        self.stop.set()
        for _, s in self._socks:
            s.close()


def measure(url: str, duration: float, clients: int = 4) -> tuple[list[float], int]:
    """Ordinary clients: GET /api/layers and / in a loop; their latencies and errors."""
    times: list[float] = []
    errors = [0]
    end = time.monotonic() + duration

    def client() -> None:
        while time.monotonic() < end:
            for path in ("/api/layers", "/api/me"):
                began = time.monotonic()
                try:
                    with urllib.request.urlopen(url + path, timeout=10) as r:
                        r.read()
                    times.append((time.monotonic() - began) * 1000)
                except OSError:
                    errors[0] += 1

    workers = [threading.Thread(target=client) for _ in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return times, errors[0]


def run(url: str, headers: int = 200, bodies: int = 200, duration: float = 30) -> SlowFigures:
    parts = urlsplit(url)
    attack = SlowAttack(parts.hostname or "", parts.port or 80, headers, bodies).start()
    try:
        times, errors = measure(url, duration)
    finally:
        held = {"headers": 0, "bodies": 0}
        for kind, _ in attack._socks:
            held[kind] += 1
        attack.close()
    ordered = sorted(times) or [0.0]
    return SlowFigures(
        held_headers=headers, held_bodies=bodies, requests=len(times), errors=errors,
        p50_ms=round(statistics.median(ordered), 1),
        p99_ms=round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        max_ms=round(ordered[-1], 1), dropped_after_s=attack.dropped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--headers", type=int, default=200)
    parser.add_argument("--bodies", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30)
    args = parser.parse_args()
    print(json.dumps(run(args.url, args.headers, args.bodies, args.duration).as_dict(),
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
