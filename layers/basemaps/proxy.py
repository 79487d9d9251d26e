"""The tile proxy: tiles of the configured sources fetched by the server, cached on disk.

`TileProxy.tile(layer_id, z, x, y)` answers from the cache while a tile is fresh,
fetches it from its source otherwise (adding the key there: pages only ever see
/tiles URLs), and answers from the cache, however old, when the source cannot be
reached. It fetches only tiles of configured sources, within the allowed zooms
and area (`TileArea`), so it is no open proxy. A source's errors and bodies that
are not images (PNG, JPEG, WebP, GIF) are never cached.

`TileCache` keeps tiles as files (<root>/<tile set>/<z>/<x>/<y>.tile), written
to a temporary file and renamed, so readers never see half a tile and
concurrent writers of the same tile do no harm. Past `max_bytes` the oldest
tiles are removed; a full disk makes it evict and try once more, and then
serve the tile uncached: caching never fails a request. The byte count is
kept per process and counted again from the disk every `RECOUNT_EVERY` writes
(several server processes share one directory).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from layers.basemaps.sources import Basemaps, BasemapSource
from layers.geo.crs import lonlat_to_metric, metric_to_lonlat

log = logging.getLogger(__name__)

MAX_TILE_BYTES = 4 * 1024 * 1024  # a larger body is not a tile
RECOUNT_EVERY = 500  # writes between recounts of the cache's bytes on disk
EVICT_TO = 0.9  # eviction frees space down to this share of max_bytes
# ASCII only: http.client sends headers as latin-1
USER_AGENT = "huaishu-map-tile-proxy/1.0 (Zhongda Huaishu sub-district map service)"
MAX_LATITUDE = 85.0511287798


# -- tiles and areas -------------------------------------------------------------

def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator (XYZ) tile holding a point at zoom z."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


@dataclass(frozen=True)
class TileArea:
    """What the proxy may fetch: a lon/lat bbox and a range of zooms."""

    bbox: tuple[float, float, float, float]  # west, south, east, north (WGS84)
    min_zoom: int
    max_zoom: int

    @classmethod
    def around(cls, bbox: Sequence[float], margin_m: float, zooms: Sequence[int]) -> TileArea:
        """`bbox` grown by `margin_m` metres on every side (measured in EPSG:4548)."""
        west, south, east, north = bbox
        x0, y0 = lonlat_to_metric(west, south)
        x1, y1 = lonlat_to_metric(east, north)
        corners = [metric_to_lonlat(x, y) for x in (x0 - margin_m, x1 + margin_m)
                   for y in (y0 - margin_m, y1 + margin_m)]
        lons, lats = [c[0] for c in corners], [c[1] for c in corners]
        return cls((min(lons), min(lats), max(lons), max(lats)), int(zooms[0]), int(zooms[1]))

    def tile_range(self, z: int) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1 (inclusive) of the tiles covering the area at zoom z."""
        west, south, east, north = self.bbox
        x0, y0 = lonlat_to_tile(west, north, z)
        x1, y1 = lonlat_to_tile(east, south, z)
        return x0, y0, x1, y1

    def allows(self, z: int, x: int, y: int) -> bool:
        if not self.min_zoom <= z <= self.max_zoom:
            return False
        x0, y0, x1, y1 = self.tile_range(z)
        return x0 <= x <= x1 and y0 <= y <= y1

    def tiles(self, zooms: Sequence[int]) -> Iterator[tuple[int, int, int]]:
        for z in zooms:
            x0, y0, x1, y1 = self.tile_range(z)
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    yield z, x, y

    def count(self, zooms: Sequence[int]) -> int:
        total = 0
        for z in zooms:
            x0, y0, x1, y1 = self.tile_range(z)
            total += (x1 - x0 + 1) * (y1 - y0 + 1)
        return total

    def leaflet_bounds(self) -> list[list[float]]:
        west, south, east, north = self.bbox
        return [[south, west], [north, east]]


# -- images ----------------------------------------------------------------------

_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
               (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


def image_type(body: bytes) -> str | None:
    """The media type of an image body by its first bytes; None: not an image we serve."""
    for signature, media_type in _SIGNATURES:
        if body.startswith(signature):
            return media_type
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    return None


# -- the cache -------------------------------------------------------------------

@dataclass(frozen=True)
class CachedTile:
    body: bytes
    fetched: float  # time.time() of the fetch


class TileCache:
    def __init__(self, root: Path, max_bytes: int, max_age_s: float):
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.max_age_s = float(max_age_s)
        self._lock = threading.Lock()
        self._bytes: int | None = None  # counted on first write
        self._writes = 0

    def path(self, layer_id: str, z: int, x: int, y: int) -> Path:
        return self.root / layer_id / str(z) / str(x) / f"{y}.tile"

    def read(self, layer_id: str, z: int, x: int, y: int) -> CachedTile | None:
        path = self.path(layer_id, z, x, y)
        try:
            with path.open("rb") as f:
                fetched = os.fstat(f.fileno()).st_mtime
                return CachedTile(f.read(), fetched)
        except OSError:  # absent, or evicted just now
            return None

    def is_fresh(self, tile: CachedTile, now: float | None = None) -> bool:
        return (now or time.time()) - tile.fetched < self.max_age_s

    def has_fresh(self, layer_id: str, z: int, x: int, y: int) -> bool:
        try:
            mtime = self.path(layer_id, z, x, y).stat().st_mtime
        except OSError:
            return False
        return time.time() - mtime < self.max_age_s

    def write(self, layer_id: str, z: int, x: int, y: int, body: bytes) -> bool:
        """Keep a tile; False when it could not be kept (the request goes on without)."""
        path = self.path(layer_id, z, x, y)
        for attempt in (1, 2):
            try:
                self._write_file(path, body)
                break
            except OSError as e:  # the disk full, say: make room once, else go on
                log.warning("tile cache: cannot write %s (%s)", path, e)
                if attempt == 2:
                    return False
                self.evict(self.max_bytes // 2)
        self._added(len(body))
        return True

    def _write_file(self, path: Path, body: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _added(self, size: int) -> None:
        with self._lock:
            self._writes += 1
            recount = self._bytes is None or self._writes % RECOUNT_EVERY == 0
        if recount:
            total = self.total_bytes()
            with self._lock:
                self._bytes = total
        else:
            with self._lock:
                self._bytes = (self._bytes or 0) + size
        if (self._bytes or 0) > self.max_bytes:
            self.evict(int(self.max_bytes * EVICT_TO))

    def files(self) -> list[tuple[Path, os.stat_result]]:
        found: list[tuple[Path, os.stat_result]] = []
        if not self.root.is_dir():
            return found
        for dirpath, _dirs, names in os.walk(self.root):
            for name in names:
                if name.endswith(".tile"):
                    path = Path(dirpath) / name
                    try:
                        found.append((path, path.stat()))
                    except OSError:
                        continue
        return found

    def total_bytes(self) -> int:
        return sum(st.st_size for _p, st in self.files())

    def evict(self, target_bytes: int) -> int:
        """Remove the oldest tiles until at most `target_bytes` remain; the number removed."""
        found = sorted(self.files(), key=lambda f: f[1].st_mtime)
        total = sum(st.st_size for _p, st in found)
        removed = 0
        for path, st in found:
            if total <= target_bytes:
                break
            try:
                path.unlink()
            except OSError:
                continue
            total -= st.st_size
            removed += 1
        with self._lock:
            self._bytes = total
        if removed:
            log.info("tile cache: evicted %d oldest tiles, %d bytes left", removed, total)
        return removed

    def stats(self) -> dict[str, dict[str, float]]:
        """Per tile set: tiles, bytes, the oldest and newest fetch (time.time())."""
        out: dict[str, dict[str, float]] = {}
        for path, st in self.files():
            layer_id = path.relative_to(self.root).parts[0]
            row = out.setdefault(layer_id, {"tiles": 0, "bytes": 0, "oldest": st.st_mtime,
                                            "newest": st.st_mtime})
            row["tiles"] += 1
            row["bytes"] += st.st_size
            row["oldest"] = min(row["oldest"], st.st_mtime)
            row["newest"] = max(row["newest"], st.st_mtime)
        return out

    def clear(self, layer_ids: Sequence[str] | None = None) -> tuple[int, int]:
        """Remove the tiles of these tile sets (all: None); (tiles, bytes) removed."""
        tiles = size = 0
        for path, st in self.files():
            if layer_ids is not None and path.relative_to(self.root).parts[0] not in layer_ids:
                continue
            try:
                path.unlink()
            except OSError:
                continue
            tiles += 1
            size += st.st_size
        with self._lock:
            self._bytes = None
        return tiles, size


# -- fetching --------------------------------------------------------------------

class FetchError(Exception):
    """A tile the source did not give: unreachable, an error status, or not an image."""

    def __init__(self, message: str, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


def fetch(url: str, timeout_s: float) -> bytes:
    """One tile from its source. Errors never carry the URL (it holds the key)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                   "Accept": "image/*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            status = response.status
            body = response.read(MAX_TILE_BYTES + 1)
    except urllib.error.HTTPError as e:
        e.close()
        raise FetchError(f"HTTP {e.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or type(e).__name__
        raise FetchError(f"unreachable ({reason})", unreachable=True) from None
    if status != 200:
        raise FetchError(f"HTTP {status}")
    if len(body) > MAX_TILE_BYTES:
        raise FetchError("body too large for a tile")
    if image_type(body) is None:
        raise FetchError("the body is not an image")
    return body


@dataclass(frozen=True)
class Tile:
    body: bytes
    media_type: str
    cache: str  # "hit" (fresh), "miss" (fetched now), "stale" (old, the source failed)


class TileProxy:
    """`retry_s`: after a source could not be reached `DOWN_AFTER` times in a row, the
    proxy answers from the cache alone for that long before it tries the source again
    (offline, a page does not wait a time-out per tile; one dropped connection is not
    an outage)."""

    DOWN_AFTER = 3

    def __init__(self, basemaps: Basemaps, cache: TileCache, timeout_s: float,
                 retry_s: float = 60.0):
        self.basemaps = basemaps
        self.cache = cache
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self._down_until: dict[str, float] = {}  # source key -> time.monotonic()
        self._failures: dict[str, int] = {}  # source key -> unreachable in a row
        self._lock = threading.Lock()

    def source(self, layer_id: str) -> BasemapSource | None:
        return self.basemaps.by_layer_id(layer_id)

    def fresh(self, layer_id: str, z: int, x: int, y: int) -> Tile | None:
        """The tile if the cache holds it fresh (no fetch)."""
        cached = self.cache.read(layer_id, z, x, y)
        if cached is not None and self.cache.is_fresh(cached):
            media_type = image_type(cached.body)
            if media_type:
                return Tile(cached.body, media_type, "hit")
        return None

    def tile(self, layer_id: str, z: int, x: int, y: int) -> Tile | None:
        """The tile, from the cache or the source; None: neither has it. The caller has
        checked that the source is configured and the tile allowed."""
        cached = self.cache.read(layer_id, z, x, y)
        if cached is not None and self.cache.is_fresh(cached):
            media_type = image_type(cached.body)
            if media_type:
                return Tile(cached.body, media_type, "hit")
        source = self.source(layer_id)
        key = source.key if source else layer_id
        down = self._down_until.get(key)
        try:
            if down is not None and time.monotonic() < down:
                raise FetchError("unreachable a moment ago")  # not tried: no new mark
            body = self.fetch(layer_id, z, x, y)
        except FetchError as e:
            if e.unreachable:
                self._unreachable(key, e)
            elif down is None:
                log.warning("tile %s/%d/%d/%d not fetched: %s", layer_id, z, x, y, e)
            if cached is not None and (media_type := image_type(cached.body)):
                return Tile(cached.body, media_type, "stale")
            return None
        with self._lock:
            self._down_until.pop(key, None)
            self._failures.pop(key, None)
        return Tile(body, image_type(body) or "application/octet-stream", "miss")

    def _unreachable(self, key: str, error: FetchError) -> None:
        with self._lock:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            if failures < self.DOWN_AFTER:
                return
            first = key not in self._down_until
            self._down_until[key] = time.monotonic() + self.retry_s
        if first:
            log.warning("tile source %s unreachable (%s): the cache alone answers for %g s "
                        "at a time", key, error, self.retry_s)

    def fetch(self, layer_id: str, z: int, x: int, y: int) -> bytes:
        """Fetch a tile from its source into the cache (no lock is held meanwhile)."""
        source = self.source(layer_id)
        if source is None:
            raise FetchError(f"no proxied source {layer_id}")
        body = fetch(source.upstream_url(layer_id, z, x, y), self.timeout_s)
        self.cache.write(layer_id, z, x, y, body)
        return body


# -- per-client limits -----------------------------------------------------------

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
