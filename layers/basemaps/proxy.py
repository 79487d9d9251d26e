"""The tile proxy: tiles of the configured sources fetched by the server, cached on disk.

`TileProxy.tile(layer_id, z, x, y)` answers from the cache while a tile is fresh,
fetches it from its source otherwise (adding the key there: pages only ever see
/tiles URLs), and answers from the cache, however old, when the source cannot be
reached. It fetches only tiles of configured sources, within the allowed zooms
and area (`TileArea`), so it is no open proxy. A source's errors and bodies that
are not images (PNG, JPEG, WebP, GIF) are never cached.

The cache is `cache.TileCache`, the allowed tiles `area.TileArea`.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from layers.basemaps.cache import TileCache, image_type
from layers.basemaps.sources import Basemaps, BasemapSource

log = logging.getLogger(__name__)

MAX_TILE_BYTES = 4 * 1024 * 1024  # a larger body is not a tile
RECOUNT_EVERY = 500  # writes between recounts of the cache's bytes on disk
EVICT_TO = 0.9  # eviction frees space down to this share of max_bytes
# ASCII only: http.client sends headers as latin-1
USER_AGENT = "huaishu-map-tile-proxy/1.0 (Zhongda Huaishu sub-district map service)"
MAX_LATITUDE = 85.0511287798


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
