"""The tile cache: tiles as files (<root>/<tile set>/<z>/<x>/<y>.tile), written to a
temporary file and renamed, so readers never see half a tile and concurrent writers of
the same tile do no harm. Past `max_bytes` the oldest tiles are removed; a full disk
makes it evict and try once more, and then serve the tile uncached: caching never fails
a request. The byte count is kept per process and counted again from the disk every
`RECOUNT_EVERY` writes (several server processes share one directory)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

RECOUNT_EVERY = 500  # writes between recounts of the cache's bytes on disk
EVICT_TO = 0.9  # eviction frees space down to this share of max_bytes
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
